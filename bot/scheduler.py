"""The daily reminder sweep inside `qabot run`: at QABOT_REMIND_AT on working days, and at
start-up when today's sweep was missed while the bot was down (table `sweep_runs`)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time

from bot.delivery import Delivery
from domain.calendar import local_date
from domain.reminders import QuietHours, next_sweep_at, sweep_is_due
from handlers.core import Core
from handlers.usecases.calendar import refresh_calendar
from handlers.usecases.reminders import SweepReport, sweep, swept_on
from storage import inbox
from storage.db import create_engine, session_factory

log = logging.getLogger(__name__)

# Wake at least this often, so a changed system clock or a long suspend is noticed.
MAX_SLEEP_SECONDS = 15 * 60.0


class Scheduler:
    def __init__(
        self,
        core: Core,
        remind_at: time,
        delivery: Delivery | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.core = core
        self.remind_at = remind_at
        self.delivery = delivery
        self.sleep = sleep

    async def tick(self) -> SweepReport | None:
        """Sweep if today's sweep is due and has not run yet; return what it did."""
        now = self.core.clock.now()
        # `qabot calendar …` may have changed the days off since the last check.
        await refresh_calendar(self.core)
        already = await swept_on(self.core, local_date(now, self.core.tz))
        if not sweep_is_due(self.core.calendar, now, self.core.tz, self.remind_at, already):
            return None
        report = await asyncio.to_thread(sweep_elsewhere, self.core, now)
        log.warning("reminder sweep ran: %s", report.summary())
        # Once a day is often enough to keep the inbox and its companions from growing.
        async with self.core.sessions() as session, session.begin():
            pruned = await inbox.prune(session, now)
        log.info("pruned: %s", pruned)
        if self.delivery is not None:
            # Deliver at once rather than at the worker's next idle wake-up.
            self.delivery.wakeup.set()
        return report

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


async def deliver_and_remind(core: Core, remind_at: time, delivery: Delivery) -> None:
    """`qabot run`'s background work: the outbox worker (with quiet hours) and the sweep."""
    if delivery.quiet_hours is None:
        delivery.quiet_hours = QuietHours(core.tz)
    await asyncio.gather(delivery.run_forever(), Scheduler(core, remind_at, delivery).run_forever())
