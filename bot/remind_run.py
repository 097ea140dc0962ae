"""`qabot remind` from cron: deliver what the sweep queued, retrying within the run.

A run that delivers once and exits leaves a digest whose send met a 429 or a 502 for the
next run, the next working day. Here it is retried (each message at its own backoff, Telegram's
retry_after included) for up to RETRY_BUDGET, and what is still undelivered is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from bot.delivery import Delivery, DeliveryReport
from domain.clock import Clock, FixedClock
from handlers.core import Core
from storage.models import OutboxMessage
from storage.outbox import PENDING

RETRY_BUDGET = timedelta(minutes=10)

Sleeper = Callable[[float], Awaitable[None]]


@dataclass
class RemindDelivery:
    report: DeliveryReport
    # Tried and not delivered: waiting for a retry after this run, or given up.
    undelivered: int


def sleeper_for(clock: Clock) -> Sleeper:
    """Sleep for real; a clock standing still (`--now`) moves on by as much."""

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)
        if isinstance(clock, FixedClock):
            clock.advance(timedelta(seconds=seconds))

    return sleep


async def deliver_until_done(
    delivery: Delivery, core: Core, sleep: Sleeper, budget: timedelta = RETRY_BUDGET
) -> RemindDelivery:
    """Deliver, then wait for each retry that falls within the budget and deliver again."""
    total = DeliveryReport()
    deadline = core.clock.now() + budget
    while True:
        round_report = await delivery.run_once()
        total.sent += round_report.sent
        total.retried += round_report.retried
        total.failed += round_report.failed
        total.deferred = round_report.deferred  # the last round's: deferrals repeat each round
        retry_at = await _next_retry(core)
        if retry_at is None or retry_at > deadline:
            break
        await sleep(max(0.0, (retry_at - core.clock.now()).total_seconds()))
    return RemindDelivery(total, await _waiting_retries(core) + total.failed)


def _retrying() -> ColumnElement[bool]:
    # A failed send counts an attempt; a deferral (quiet hours, no channel) gives it back.
    return (OutboxMessage.status == PENDING) & (OutboxMessage.attempts > 0)


async def _next_retry(core: Core) -> datetime | None:
    async with core.sessions() as session:
        return await session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(_retrying())
        )


async def _waiting_retries(core: Core) -> int:
    async with core.sessions() as session:
        return int(
            await session.scalar(select(func.count(OutboxMessage.id)).where(_retrying())) or 0
        )
