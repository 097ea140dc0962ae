"""Two `qabot run` instances on one PostgreSQL database, WeCom callbacks spread over both and
some redelivered to both (as WeCom does when an answer is slow): members report from binding
to the reference; every report stored once, every conversation whole, every officer told once
— and the same with one instance killed with SIGKILL half-way and started again (issue 11)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from tests.e2e.cluster_support import (
    Progress,
    Province,
    Spreader,
    crash_and_restart,
    differences,
    extra_messages,
    missing_messages,
    most_common,
    notices_once_all_arrived,
    seed,
    stored_reports,
)
from tests.e2e.telegram_support import QabotRun, afternoon_zone, free_port, operator_environment
from tests.e2e.test_wecom_channel import AES_KEY, AGENT, CORP, SECRET, TOKEN, WeCom, encrypted
from tests.fakes.fake_wecom import FakeWeCom

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

MEMBERS, OFFICERS, ENTERPRISES = 20, 5, 10
# A step waits this long for its answer: far more than a turn takes; after a crash, long
# enough for another instance to take over the dead one's chats (bot/inbox.py LEASE_TTL, 30 s).
STEP_WITHIN, RECOVERY_WITHIN = 20.0, 45.0
MOST_REPLIES_OF_A_STEP = 4  # binding: "bound", the help card in two parts, the help text
CALLBACK_PATH = "/wecom/callback"

# What a member does, and a piece of the answer each step waits for (a card's key or text).
REPORT_STEPS = (
    ("text", "/report", "rp:areas"),
    ("press", "rp:areas", "2/6"),
    ("text", "数控车床主轴", "3/6"),
    ("text", "主轴温升过高，停机后仍有异响。", "rp:files"),
    ("press", "rp:files", "rp:urg:normal"),
    ("press", "rp:urg:normal", "rp:submit"),
    ("press", "rp:submit", "QP-"),
)


@dataclass
class WeComInstance(QabotRun):
    """`qabot run` serving WeCom callbacks, configured by environment as an operator would."""

    fake: FakeWeCom
    database_url: str
    workdir: Path
    shared: Path
    name: str
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def listen(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return operator_environment() | {
            "WECOM_CORP_ID": CORP,
            "WECOM_AGENT_ID": str(AGENT),
            "WECOM_SECRET": SECRET,
            "WECOM_TOKEN": TOKEN,
            "WECOM_AES_KEY": AES_KEY,
            "WECOM_API_BASE_URL": self.fake.base_url,
            "DATABASE_URL": self.database_url,
            "QABOT_LISTEN": self.listen,
            "QABOT_DATA_DIR": str(self.shared),
            "QABOT_INSTANCE": self.name,
            "QABOT_TIMEZONE": afternoon_zone(),  # outside quiet hours: notices go out at once
            "QABOT_REMIND_AT": "23:59",  # no daily sweep during the test
            "PYTHONUNBUFFERED": "1",
        }

    async def start(self) -> None:
        """Start and wait until it answers /readyz."""
        await self.spawn()
        async with httpx.AsyncClient(base_url=f"http://{self.listen}") as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                if self.process.returncode is not None:
                    break
                await asyncio.sleep(0.05)
        raise RuntimeError(f"qabot run did not come up; log:\n{self.log()}")


@dataclass
class Member:
    """A WeCom member writing to the app and pressing its cards; callbacks go out through the
    spreader, answers are read from what the fake WeCom server received."""

    fake: FakeWeCom
    spreader: Spreader
    user: str
    peer: WeChatCrypto = field(default_factory=lambda: WeChatCrypto(TOKEN, AES_KEY, CORP))

    def received(self) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent if m["touser"] == self.user]

    def card_with(self, key: str) -> dict[str, Any]:
        for message in reversed(self.received()):
            if message["msgtype"] == "template_card" and key in json.dumps(message):
                return message
        raise LookupError(f"{self.user} has no card with {key!r}")

    async def text(self, content: str, expect: str, within: float) -> None:
        inner = WeCom.message(self.user, "text", Content=escape(content))
        await self._callback(inner, expect, within)

    async def press(self, key: str, expect: str, within: float) -> None:
        card = self.card_with(key)
        selected = ["std", "met"] if card["template_card"].get("checkbox") else None
        await self._callback(WeCom.card_event(self.user, card, key, selected), expect, within)

    async def _callback(self, inner: str, expect: str, within: float) -> None:
        before = len(self.received())
        body, params = encrypted(self.peer, inner)
        self.spreader.deliver(body, params)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(expect in shown(m) for m in self.received()[before:]):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError


def shown(message: dict[str, Any]) -> str:
    """A message's text, or a card's titles and the keys of its buttons."""
    if message["msgtype"] != "template_card":
        return WeCom.texts([message])
    return WeCom.texts([message]) + json.dumps(message["template_card"])


@dataclass
class Cluster:
    fake: FakeWeCom
    instances: list[WeComInstance]
    spreader: Spreader
    province: Province
    url: str
    progress: Progress = field(default_factory=lambda: Progress(MEMBERS * (1 + len(REPORT_STEPS))))

    def logs(self) -> str:
        return "\n".join(f"--- {i.name}\n{i.log()}" for i in self.instances)


@pytest.fixture
async def cluster(pg_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:  # noqa: F811
    shared = tmp_path / "shared"
    province = await seed(pg_url, OFFICERS, ENTERPRISES, shared / "files")
    async with FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake:
        instances = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            instances.append(WeComInstance(fake, pg_url, tmp_path / name, shared, name))
        spreader = Spreader(list(instances), CALLBACK_PATH)
        try:
            for instance in instances:
                await instance.start()
            yield Cluster(fake, instances, spreader, province, pg_url)
        finally:
            await spreader.close()
            for instance in instances:
                await instance.stop()


async def bind_officers(cluster: Cluster) -> list[Member]:
    officers = [Member(cluster.fake, cluster.spreader, f"officer{n}") for n in range(OFFICERS)]
    for officer, code in zip(officers, cluster.province.officer_codes, strict=True):
        await officer.text(f"绑定 {code}", "绑定成功", STEP_WITHIN)
    return officers


async def report(cluster: Cluster, member: Member, code: str, within: float) -> None:
    for action, what, expect in (("text", f"绑定 {code}", "绑定成功"), *REPORT_STEPS):
        act = member.text if action == "text" else member.press
        try:
            await act(what, expect, within)
        except TimeoutError:
            raise AssertionError(f"{member.user} stuck after {what!r}") from None
        cluster.progress.step()


async def everyone_reports(cluster: Cluster, within: float) -> list[Member]:
    members = [Member(cluster.fake, cluster.spreader, f"staff{n}") for n in range(MEMBERS)]
    codes = cluster.province.enterprise_codes
    outcomes = await asyncio.gather(
        *(report(cluster, m, codes[n % len(codes)], within) for n, m in enumerate(members)),
        return_exceptions=True,
    )
    stuck = [str(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
    assert stuck == [], f"{len(stuck)} of {MEMBERS} members never got an answer: {stuck}"
    return members


async def officer_notices(
    cluster: Cluster, officers: list[Member], references: list[str]
) -> Counter[str]:
    """How many notice cards told each report's officer of it, once all did (or 30 s)."""
    users = {officer.user for officer in officers}

    def counted() -> Counter[str]:
        told: Counter[str] = Counter()
        for message in cluster.fake.sent:
            if message["touser"] in users and message["msgtype"] == "template_card":
                title = message["template_card"].get("main_title", {}).get("title", "")
                told.update(re.findall(r"QP-[0-9-]+", title)[:1])
        return told

    return await notices_once_all_arrived(counted, references)


def transcripts(cluster: Cluster, members: list[Member]) -> dict[str, tuple[str, ...]]:
    def normalised(message: dict[str, Any]) -> str:
        text = re.sub(r"QP-[0-9-]+", "QP-#", WeCom.texts([message]))
        for name in cluster.province.enterprise_names:
            text = text.replace(name, "<firm>")
        return text

    return {m.user: tuple(normalised(message) for message in m.received()) for m in members}


async def test_two_instances_take_every_callback_once(cluster: Cluster) -> None:
    started = asyncio.get_running_loop().time()
    officers = await bind_officers(cluster)
    members = await everyone_reports(cluster, STEP_WITHIN)
    took = asyncio.get_running_loop().time() - started

    references = await stored_reports(cluster.url, [f"staff{n}" for n in range(MEMBERS)])
    told = await officer_notices(cluster, officers, references)
    assert {ref: told[ref] for ref in references} == dict.fromkeys(references, 1), told
    chats = transcripts(cluster, members)
    assert differences(chats, most_common(chats)) == {}, f"usual: {most_common(chats)}"
    assert cluster.fake.dropped == []
    assert min(cluster.spreader.accepted.values()) > MEMBERS, cluster.spreader.accepted
    assert "Traceback" not in cluster.logs(), cluster.logs()
    print(
        f"\n{MEMBERS} reports through 2 instances in {took:.1f} s; "
        f"{cluster.spreader.deliveries} callbacks, posts taken {dict(cluster.spreader.accepted)}"
    )


async def test_an_instance_killed_half_way_loses_nothing(cluster: Cluster) -> None:
    officers = await bind_officers(cluster)
    crash = asyncio.create_task(crash_and_restart(cluster.instances[0], cluster.progress.half_way))
    members = await everyone_reports(cluster, RECOVERY_WITHIN)
    finished = asyncio.get_running_loop().time() - await crash

    references = await stored_reports(cluster.url, [f"staff{n}" for n in range(MEMBERS)])
    told = await officer_notices(cluster, officers, references)
    assert [ref for ref in references if told[ref] == 0] == [], told
    assert max(told.values()) <= 2, told
    chats = transcripts(cluster, members)
    common = most_common(chats)
    missing = {user: missing_messages(t, common) for user, t in chats.items()}
    assert sum(missing.values()) == 0, {user: n for user, n in missing.items() if n}
    doubled = {user: extra_messages(t, common) for user, t in chats.items()}
    # At most the replies of the one turn a chat had in hand when the instance died.
    assert max(doubled.values()) <= MOST_REPLIES_OF_A_STEP, doubled
    assert cluster.fake.dropped == []
    print(
        f"\nkilled half-way, everyone done {finished:.1f} s later; doubled replies "
        f"{sum(doubled.values())} in {sum(1 for n in doubled.values() if n)} chats, "
        f"doubled officer notices {sum(n - 1 for n in told.values())}; "
        f"posts taken {dict(cluster.spreader.accepted)}"
    )
