"""Issue 12 item 6: a far-past due date (from before dates were bounded) costs the sweep time,
but never the bot's event loop: turns and /healthz go on meanwhile."""

from __future__ import annotations

import asyncio
import time as clock
from datetime import date, time

import pytest

from bot.scheduler import Scheduler
from domain.clock import FixedClock
from handlers.core import Core
from tests.conftest import World
from tests.integration.test_reminders import bind_people, set_due


@pytest.mark.wallclock
async def test_a_slow_sweep_does_not_stall_the_event_loop(core: Core, world: World) -> None:
    await bind_people(core, world)
    # Written before input was bounded to 2000-2100 (a typo for 2026). Working days are counted
    # arithmetically now (tests/unit/test_calendar_arithmetic.py), so this sweep is quick too;
    # the sweep runs in a worker thread all the same, so however long it takes the loop is free.
    await set_due(core, world.enterprise_commitment, date(1806, 12, 1))
    assert isinstance(core.clock, FixedClock)
    longest_gap = 0.0
    ticking = True

    async def heartbeat() -> None:
        nonlocal longest_gap
        last = clock.perf_counter()
        while ticking:
            await asyncio.sleep(0.005)
            now = clock.perf_counter()
            longest_gap, last = max(longest_gap, now - last), now

    beating = asyncio.create_task(heartbeat())
    started = clock.perf_counter()
    report = await Scheduler(core, time(9, 0)).tick()
    took = clock.perf_counter() - started
    ticking = False
    await beating
    assert report is not None and report.escalations >= 1
    # The loop answered every few milliseconds however long the sweep took.
    assert longest_gap < 0.25, (longest_gap, took)
