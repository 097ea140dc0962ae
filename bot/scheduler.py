"""The daily reminder sweep inside `qabot run`: at QABOT_REMIND_AT on working days, and at
start-up when today's sweep was missed while the bot was down (table `sweep_runs`). Of several
instances on one database, the one that takes the day's lease sweeps (storage/leases.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from datetime import time as day_time

from bot import metrics
from bot.delivery import Delivery
from bot.logs import default_instance_name
from domain.calendar import local_date
from domain.reminders import QuietHours, next_sweep_at, sweep_is_due
from handlers.core import Core
from handlers.usecases.calendar import refresh_calendar
from handlers.usecases.reminders import SweepReport, sweep, swept_on
from storage import inbox, leases
from storage.db import create_engine, session_factory

log = logging.getLogger(__name__)

# Comfortably longer than a province's sweep: the lease must not run out while it sweeps.
SWEEP_TTL = timedelta(minutes=30)
# Wake at least this often, so a changed system clock or a long suspend is noticed.
MAX_SLEEP_SECONDS = 15 * 60.0


class Scheduler:
    def __init__(
        self,
        core: Core,
        remind_at: day_time,
        delivery: Delivery | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        instance: str | None = None,
    ) -> None:
        self.core = core
        self.remind_at = remind_at
        self.delivery = delivery
        self.sleep = sleep
        # The sweep lease's holder: tells in the leases table (and the log) who swept.
        self.instance = instance or default_instance_name()

    async def tick(self) -> SweepReport | None:
        """Sweep if today's sweep is due and has not run yet; return what it did."""
        now = self.core.clock.now()
        # `qabot calendar …` may have changed the days off since the last check.
        await refresh_calendar(self.core)
        today = local_date(now, self.core.tz)
        already = await swept_on(self.core, today)
        if not sweep_is_due(self.core.calendar, now, self.core.tz, self.remind_at, already):
            return None
        if not await self._take_the_day(today, now):
            return None
        started = time.perf_counter()
        try:
            report = await asyncio.to_thread(sweep_elsewhere, self.core, now)
        except BaseException:
            # Another instance may try at once rather than when the lease runs out.
            async with self.core.sessions() as session, session.begin():
                await leases.release(session, sweep_lease(today), self.instance)
            raise
        metrics.current().record_sweep(time.perf_counter() - started)
        log.warning("reminder sweep ran on %s: %s", self.instance, report.summary())
        # Once a day is often enough to keep the inbox and its companions from growing.
        async with self.core.sessions() as session, session.begin():
            pruned = await inbox.prune(session, now)
            await leases.prune(session, now)
        log.info("pruned: %s", pruned)
        if self.delivery is not None:
            # Deliver at once rather than at the worker's next idle wake-up.
            self.delivery.wakeup.set()
        return report

    async def _take_the_day(self, today: date, now: datetime) -> bool:
        """Take the day's sweep lease: one instance of a cluster sweeps, the others do nothing.

        Kept after the sweep (it expires, and is pruned the next day): an instance that looked
        before the winner recorded its run then finds the lease taken. If the holder dies
        mid-sweep, the next instance to look after the lease expired sweeps; what the dead one
        queued carries the same dedupe keys, so nothing goes out twice.
        """
        async with self.core.sessions() as session, session.begin():
            taken = await leases.acquire(session, sweep_lease(today), self.instance, now, SWEEP_TTL)
        if not taken:
            log.info("the sweep of %s is another instance's", today)
            return False
        # The lease may have expired after a sweep that finished: then it has run.
        return not await swept_on(self.core, today)

    def seconds_to_next(self) -> float:
        now = self.core.clock.now()
        due = next_sweep_at(self.core.calendar, now, self.core.tz, self.remind_at)
        return min(MAX_SLEEP_SECONDS, max(1.0, (due - now).total_seconds()))

    async def run_forever(self) -> None:
        """Check at start-up (the catch-up), then at each scheduled time, until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("reminder sweep failed; trying again at the next check")
            await self.sleep(self.seconds_to_next())


def sweep_lease(day: date) -> str:
    return f"sweep:{day.isoformat()}"


def sweep_elsewhere(core: Core, now: datetime) -> SweepReport:
    """Run a sweep in this (worker) thread, on its own event loop and connections.

    The sweep counts working days in Python; however long that takes, the bot's event loop
    (turns, webhooks, /healthz) keeps running. Connections belong to the loop that opened
    them, so the sweep gets its own engine on the same database.
    """

    async def go() -> SweepReport:
        engine = create_engine(core.sessions.kw["bind"].url.render_as_string(hide_password=False))
        try:
            own = dataclasses.replace(core, sessions=session_factory(engine), _turn_slots=None)
            return await sweep(own, now)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def deliver_and_remind(
    core: Core, remind_at: day_time, delivery: Delivery, instance: str | None = None
) -> None:
    """`qabot run`'s background work: the outbox worker (with quiet hours) and the sweep."""
    if delivery.quiet_hours is None:
        delivery.quiet_hours = QuietHours(core.tz)
    scheduler = Scheduler(core, remind_at, delivery, instance=instance)
    await asyncio.gather(delivery.run_forever(), scheduler.run_forever())
