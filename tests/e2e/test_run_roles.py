"""`qabot run --role web|worker|all` (issue 11): on one database, a web instance receives and
takes turns, a worker instance delivers the outbox, each serves /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from domain.clock import SystemClock
from handlers.messages import Reply
from storage import outbox
from storage.models import ChannelIdentity
from tests.conftest import World, make_core
from tests.e2e.telegram_support import QABOT, BotProcess
from tests.e2e.test_telegram_polling import bind_staff, tg, until, world, world_db  # noqa: F401
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class RoleProcess(BotProcess):
    role: str = "all"

    async def start(self) -> None:
        """Start `qabot run --role …` and wait until it answers /healthz."""
        log = (self.workdir / f"qabot-{self.role}-{self.starts}.log").open("wb")
        self.starts += 1
        self.process = await asyncio.create_subprocess_exec(
            QABOT, "run", "--role", self.role, cwd=self.workdir, env=self.env(),
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        async with httpx.AsyncClient(base_url=f"http://{self.listen}") as client:
            for _ in range(300):
                if await _get(client, "/healthz") == 200:
                    return
                if self.process.returncode is not None:
                    break
                await asyncio.sleep(0.05)
        raise RuntimeError(f"qabot run --role {self.role} did not come up:\n{self.log()}")

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"http://{self.listen}") as client:
            return await client.get(path)


async def _get(client: httpx.AsyncClient, path: str) -> int:
    try:
        return (await client.get(path)).status_code
    except httpx.TransportError:
        return 0


def sample(metrics: str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name + (f"{{{wanted}}}" if wanted else "")) + r" (\S+)"
    found = re.search(r"^" + pattern + "$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def settles(process: RoleProcess, name: str, value: float, **labels: str) -> str:
    """Scrape until the sample has the value (within 5 s); the last scrape."""
    for _ in range(100):
        metrics = (await process.get("/metrics")).text
        if sample(metrics, name, **labels) == value:
            return metrics
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name}{labels} != {value}:\n{metrics}")


@pytest.fixture
async def instances(
    tg: FakeTelegram,  # noqa: F811
    world_db: tuple[str, World],  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[tuple[RoleProcess, RoleProcess]]:
    web = RoleProcess(tg, world_db[0], tmp_path, webhook=True, role="web")
    worker = RoleProcess(tg, world_db[0], tmp_path, webhook=True, role="worker")
    yield web, worker
    for process in (web, worker):
        await process.stop()
        assert "Traceback" not in process.log(), process.log()


async def _queue_notice(url: str, files: Path, text: str) -> None:
    core = make_core(url, SystemClock(), files)  # type: ignore[arg-type]
    try:
        async with core.sessions() as session, session.begin():
            person_id = await session.scalar(
                select(ChannelIdentity.person_id).where(ChannelIdentity.channel == "telegram")
            )
            assert person_id is not None
            note = outbox.Notification(person_id, "test", f"test:{text}", Reply(text).to_json())
            await outbox.enqueue(session, note, core.clock.now())
    finally:
        await core.sessions.kw["bind"].dispose()


async def test_web_takes_turns_and_the_worker_delivers(
    instances: tuple[RoleProcess, RoleProcess],
    tg: FakeTelegram,  # noqa: F811
    world: World,  # noqa: F811
    world_db: tuple[str, World],  # noqa: F811
    tmp_path: Path,
) -> None:
    web, worker = instances
    await web.start()
    await until(lambda: any(call.method == "setWebhook" for call in tg.requests))
    staff = await bind_staff(tg, world)  # the web instance alone answers a turn
    metrics = (await web.get("/metrics")).text
    assert sample(metrics, "qabot_updates_received_total", channel="telegram") >= 1
    assert sample(metrics, "qabot_updates_handled_total", channel="telegram") >= 1
    assert sample(metrics, "qabot_turn_seconds_count", channel="telegram") >= 1
    # Handled rows are marked in batches, a moment after their replies went out.
    await settles(web, "qabot_inbox_depth", 0, channel="telegram")

    # A notification queued by a turn waits: no instance delivers yet.
    await _queue_notice(world_db[0], tmp_path / "var" / "files", "queued for the worker")
    await asyncio.sleep(1.5)
    assert not any("queued for the worker" in (m.text or "") for m in staff.messages())
    assert sample((await web.get("/metrics")).text, "qabot_outbox_depth") == 1

    calls_before = len(tg.requests)
    await worker.start()
    await tg.wait_for(lambda m: "queued for the worker" in (m.text or ""), timeout=8)
    # The worker only sends: it neither polls nor touches the webhook, nor serves it.
    methods = {call.method for call in tg.requests[calls_before:]}
    assert not methods & {"getUpdates", "setWebhook", "deleteWebhook"}, methods
    assert (await worker.get("/readyz")).status_code == 200
    assert (await worker.get("/telegram/webhook")).status_code == 404
    # Marked sent right after the send.
    metrics = await settles(worker, "qabot_outbox_depth", 0)
    assert sample(metrics, "qabot_deliveries_total", channel="telegram", result="sent") == 1
    assert tg.rejected == []


async def test_an_unknown_role_is_one_line_and_exit_2(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        QABOT, "run", "--role", "cron", cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "--role" in lines[0] and "cron" in lines[0], lines
