"""The daily sweep runs once per day across a cluster (issue 11): instances on one database
each tick at QABOT_REMIND_AT; the one that takes the day's lease sweeps, the others do nothing,
and if it dies mid-sweep another sweeps once the lease has expired. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bot.scheduler import SWEEP_TTL, Scheduler, sweep_lease
from domain.clock import FixedClock
from handlers.core import Core
from handlers.usecases.reminders import sweep
from storage.models import Lease, OutboxMessage, SweepRun
from tests.conftest import build_world, make_core
from tests.integration.test_reminders import at, bind_people, set_due

MONDAY = date(2026, 11, 30)


@pytest.fixture
async def two_cores(
    database_url: str, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[tuple[Core, Core]]:
    """Two instances: each its own engine (connections) on the one database, one clock."""
    cores = (
        make_core(database_url, clock, tmp_path / "files"),
        make_core(database_url, clock, tmp_path / "files"),
    )
    world = await build_world(cores[0])
    await bind_people(cores[0], world)
    # Overdue: the sweep has an escalation to queue besides the digests.
    await set_due(cores[0], world.enterprise_commitment, date(2026, 11, 2))
    clock.instant = at(MONDAY, 9, 0)
    yield cores
    for core in cores:
        await core.sessions.kw["bind"].dispose()


async def _count(core: Core, what: type[OutboxMessage] | type[SweepRun]) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(what)) or 0)


async def _holder(core: Core, day: date) -> str | None:
    async with core.sessions() as session:
        lease = await session.get(Lease, sweep_lease(day))
        return lease.holder if lease else None


async def test_two_instances_ticking_at_nine_sweep_once(two_cores: tuple[Core, Core]) -> None:
    a = Scheduler(two_cores[0], time(9, 0), instance="a")
    b = Scheduler(two_cores[1], time(9, 0), instance="b")
    reports = await asyncio.gather(a.tick(), b.tick())
    ran = [name for name, report in zip("ab", reports, strict=True) if report is not None]
    assert len(ran) == 1, reports
    assert await _holder(two_cores[0], MONDAY) == ran[0]
    assert await _count(two_cores[0], SweepRun) == 1
    swept = [r for r in reports if r is not None][0]
    assert swept.digests > 0 and swept.escalations > 0
    queued = await _count(two_cores[0], OutboxMessage)
    # Later checks of the day, by either instance, find it done.
    for scheduler in (a, b):
        assert await scheduler.tick() is None
    assert await _count(two_cores[0], OutboxMessage) == queued


async def test_a_sweep_left_by_a_dead_instance_is_taken_over_once_its_lease_expires(
    two_cores: tuple[Core, Core], clock: FixedClock
) -> None:
    first, second = two_cores
    # Instance "a" took the day and queued the sweep's messages, then died before recording
    # the run (SIGKILL): its lease stays until it expires.
    assert await Scheduler(first, time(9, 0), instance="a")._take_the_day(MONDAY, clock.now())
    await sweep(first)
    async with first.sessions() as session, session.begin():
        await session.execute(delete(SweepRun))
    queued = await _count(first, OutboxMessage)
    b = Scheduler(second, time(9, 0), instance="b")
    assert await b.tick() is None  # still a's
    clock.advance(SWEEP_TTL + timedelta(seconds=1))
    report = await b.tick()
    assert report is not None and report.digests == 0  # its dedupe keys: nothing twice
    assert await _holder(second, MONDAY) == "b"
    assert await _count(second, SweepRun) == 1
    assert await _count(second, OutboxMessage) == queued


async def test_a_failed_sweep_gives_the_day_back_at_once(
    two_cores: tuple[Core, Core], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("bot.scheduler.sweep_elsewhere", broken)
    with pytest.raises(RuntimeError):
        await Scheduler(two_cores[0], time(9, 0), instance="a").tick()
    monkeypatch.undo()
    assert await Scheduler(two_cores[1], time(9, 0), instance="b").tick() is not None
