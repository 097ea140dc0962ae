"""Two `qabot run` instances on one PostgreSQL database, Telegram webhooks spread over both
(some delivered to both), 50 people each reporting a problem from binding to the reference:
every report stored once, every conversation whole and in order, every officer told once —
and the same with one instance killed with SIGKILL half-way and started again (issue 11)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from tests.e2e.cluster_support import (
    Instance,
    Progress,
    Province,
    Spreader,
    SpreadingTelegram,
    crash_and_restart,
    differences,
    extra_messages,
    missing_messages,
    most_common,
    notices_once_all_arrived,
    seed,
    stored_reports,
    transcripts,
)
from tests.e2e.telegram_support import TOKEN, USERNAME, Person
from tests.fakes.fake_telegram import NOT_MODIFIED, QUERY_TOO_OLD, StoredMessage

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

PEOPLE, OFFICERS, ENTERPRISES = 50, 5, 10
# A step waits this long for its answer: far more than a turn takes; after a crash, long
# enough for another instance to take over the dead one's chats (bot/inbox.py LEASE_TTL).
STEP_WITHIN, RECOVERY_WITHIN = 20.0, 45.0
MOST_REPLIES_OF_A_STEP = 2  # binding: "Bound" and the help


# What a person does, and a piece of the answer each step waits for.
REPORT_STEPS = (
    ("send", "/report", "Standards"),
    ("press", "rp:area:std", "☑ Standards"),
    ("press", "rp:area:met", "☑ Metrology"),
    ("press", "rp:areas", "(2/6)"),
    ("send", "M8 bolts, line 3", "(3/6)"),
    ("send", "Thread pitch out of tolerance since the new die.", "(4/6)"),
    ("press", "rp:files", "(5/6)"),
    ("press", "rp:urg:normal", "(6/6)"),
    ("press", "rp:submit", "Report submitted"),
)


@dataclass
class Cluster:
    tg: SpreadingTelegram
    instances: list[Instance]
    spreader: Spreader
    province: Province
    url: str
    progress: Progress = field(default_factory=lambda: Progress(PEOPLE * (1 + len(REPORT_STEPS))))

    def logs(self) -> str:
        return "\n".join(f"--- {i.name}\n{i.log()}" for i in self.instances)


@pytest.fixture
async def cluster(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    shared = tmp_path / "shared"
    province = await seed(pg_url, OFFICERS, ENTERPRISES, shared / "files")
    tg = SpreadingTelegram(token=TOKEN, username=USERNAME, enforce_rate_limits=False)
    async with tg:
        instances = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            instances.append(
                Instance(tg, pg_url, tmp_path / name, webhook=True, name=name, shared=shared)
            )
        headers = {"Content-Type": "application/json", SECRET_HEADER: "s3cret-Token_1"}
        spreader = Spreader(list(instances), WEBHOOK_PATH, headers)
        tg.spreader = spreader
        try:
            for instance in instances:
                await instance.start()
            yield Cluster(tg, instances, spreader, province, pg_url)
        finally:
            await spreader.close()
            for instance in instances:
                await instance.stop()


async def bind_officers(cluster: Cluster) -> list[Person]:
    officers = [Person(cluster.tg, 2000 + n, language="zh-hans") for n in range(OFFICERS)]
    for officer, code in zip(officers, cluster.province.officer_codes, strict=True):
        await officer.send(f"/start {code}", expect="/inbox", within=STEP_WITHIN)
    return officers


async def report(cluster: Cluster, person: Person, code: str, within: float) -> list[int]:
    """Bind, then report up to the reference, waiting for each answer; the ids of the answers.
    A person whose answer never comes is stuck: the step they wait at is the failure."""
    steps = (("send", f"/start {code}", "/myreports"), *REPORT_STEPS)
    answers: list[StoredMessage] = []
    for action, what, expect in steps:
        act = person.send if action == "send" else person.press
        try:
            answers.append(await act(what, expect=expect, within=within))
        except TimeoutError:
            raise AssertionError(f"chat {person.user_id} stuck after {what!r}") from None
        cluster.progress.step()
    return [answer.message_id for answer in answers]


async def everyone_reports(cluster: Cluster, within: float) -> list[Person]:
    people = [Person(cluster.tg, 10_000 + n, language="en") for n in range(PEOPLE)]
    codes = cluster.province.enterprise_codes
    outcomes = await asyncio.gather(
        *(report(cluster, p, codes[n % len(codes)], within) for n, p in enumerate(people)),
        return_exceptions=True,
    )
    stuck = [str(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
    assert stuck == [], f"{len(stuck)} of {PEOPLE} people never got an answer: {stuck}"
    for person, ids in zip(people, outcomes, strict=True):
        assert isinstance(ids, list) and ids == sorted(ids), (
            f"chat {person.user_id}: answers out of order {ids}"
        )
    return people


async def officer_notices(
    cluster: Cluster, officers: list[Person], references: list[str]
) -> Counter[str]:
    """How many times each report's officer was told of it, once all were told (or 30 s)."""
    chats = {officer.user_id for officer in officers}

    def counted() -> Counter[str]:
        told: Counter[str] = Counter()
        for message in cluster.tg.sent_messages():
            if message.chat_id in chats:
                told.update(re.findall(r"QP-[0-9-]+", message.text or "")[:1])
        return told

    return await notices_once_all_arrived(counted, references)


async def test_two_instances_take_every_update_once(cluster: Cluster) -> None:
    started = asyncio.get_running_loop().time()
    officers = await bind_officers(cluster)
    people = await everyone_reports(cluster, STEP_WITHIN)
    took = asyncio.get_running_loop().time() - started

    references = await stored_reports(cluster.url, [str(10_000 + n) for n in range(PEOPLE)])
    told = await officer_notices(cluster, officers, references)
    assert {ref: told[ref] for ref in references} == dict.fromkeys(references, 1), told

    names = cluster.province.enterprise_names
    chats = transcripts(people, names)
    usual = most_common(chats)
    assert usual[-1].startswith("Report submitted"), usual
    assert differences(chats, usual) == {}, f"usual: {usual}"
    assert cluster.tg.rejected == []
    # Both instances took a share; each 7th update reached both.
    assert min(cluster.spreader.accepted.values()) > PEOPLE, cluster.spreader.accepted
    assert "Traceback" not in cluster.logs(), cluster.logs()
    print(
        f"\n{PEOPLE} reports through 2 instances in {took:.1f} s; "
        f"{cluster.spreader.deliveries} updates, posts taken {dict(cluster.spreader.accepted)}"
    )


async def test_an_instance_killed_half_way_loses_nothing(cluster: Cluster) -> None:
    officers = await bind_officers(cluster)
    crash = asyncio.create_task(crash_and_restart(cluster.instances[0], cluster.progress.half_way))
    people = await everyone_reports(cluster, RECOVERY_WITHIN)
    killed_at = await crash
    finished = asyncio.get_running_loop().time() - killed_at

    references = await stored_reports(cluster.url, [str(10_000 + n) for n in range(PEOPLE)])
    told = await officer_notices(cluster, officers, references)
    never_told = [ref for ref in references if told[ref] == 0]
    assert never_told == [], f"officers never told of {never_told}"
    doubled_notices = sum(count - 1 for count in told.values())

    names = cluster.province.enterprise_names
    chats = transcripts(people, names)
    usual = most_common(chats)
    assert usual[-1].startswith("Report submitted"), usual
    missing = {chat: missing_messages(t, usual) for chat, t in chats.items()}
    assert sum(missing.values()) == 0, {c: n for c, n in missing.items() if n}
    doubled = {chat: extra_messages(t, usual) for chat, t in chats.items()}
    # A chat had at most one turn in hand when the instance died: only its replies may
    # come twice (sent, then re-sent because the send was never confirmed).
    assert max(doubled.values()) <= MOST_REPLIES_OF_A_STEP, doubled
    assert max(told.values()) <= 2, told
    # Repeats of what was in flight, which Telegram refuses harmlessly: an edit it already
    # applied ("not modified"), a press answered before the crash ("query is too old").
    repeats = [r for r in cluster.tg.rejected if r.description in (NOT_MODIFIED, QUERY_TOO_OLD)]
    assert len(repeats) == len(cluster.tg.rejected), cluster.tg.rejected
    print(
        f"\nkilled half-way, everyone done {finished:.1f} s later; doubled replies "
        f"{sum(doubled.values())} in {sum(1 for n in doubled.values() if n)} chats, "
        f"doubled officer notices {doubled_notices}, repeats refused {len(repeats)}; "
        f"posts taken {dict(cluster.spreader.accepted)}"
    )
