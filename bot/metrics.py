"""`/metrics` in Prometheus' text format (README "Running several instances").

Counters and histograms count what this process did; queue depths, ages and the sweep's state
are read from the shared database at each scrape, so every instance reports the same cluster
figures (aggregate those with max(), the counters with sum()).

No `instance` label: Prometheus labels each scraped target with its address already, and a
label of our own named so would clash with it.

Each `Metrics` has its own registry, so several apps (tests, in-process benchmarks) never
collide. The parts of the bot that record find the running app's `Metrics` with `current()`
(a context variable set by `qabot run`), so recording is one line where it happens and no
constructor has to carry it; outside `qabot run` the records go to an unexposed registry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from datetime import time as day_time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from domain.calendar import local_date
from domain.reminders import sweep_is_due
from handlers.core import Core
from storage.db import read_only
from storage.models import InboxUpdate, OutboxMessage, SweepRun
from storage.outbox import PENDING

CONTENT_TYPE = CONTENT_TYPE_LATEST
DELIVERY_RESULTS = ("sent", "retried", "failed", "deferred")
# A turn is mostly database round trips: milliseconds, up to a slow PostgreSQL's seconds.
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A sweep takes seconds for a city, minutes for a province.
SWEEP_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "qabot_updates_received", "Updates stored in the inbox", ["channel"], registry=r
        )
        self.handled = Counter(
            "qabot_updates_handled", "Updates whose turn ran", ["channel"], registry=r
        )
        self.turn_seconds = Histogram(
            "qabot_turn_seconds", "One update's turn, replies included", ["channel"],
            buckets=TURN_BUCKETS, registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "qabot_deliveries", "Outbox sends by result", ["channel", "result"], registry=r
        )
        self.sweep_seconds = Histogram(
            "qabot_sweep_seconds", "Reminder sweeps run by this instance", buckets=SWEEP_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.inbox_depth = Gauge(
            "qabot_inbox_depth", "Unhandled updates (all instances)", ["channel"], registry=r
        )
        self.inbox_oldest = Gauge(
            "qabot_inbox_oldest_age_seconds", "Age of the oldest unhandled update", ["channel"],
            registry=r,
        )  # fmt: skip
        self.outbox_depth = Gauge(
            "qabot_outbox_depth", "Pending outbox messages, due or not", registry=r
        )
        self.outbox_oldest = Gauge(
            "qabot_outbox_oldest_age_seconds",
            "Age of the oldest pending message that is due now (deferred ones wait their turn)",
            registry=r,
        )
        self.sweep_last = Gauge(
            "qabot_sweep_last_run_timestamp_seconds", "When the newest sweep ran (any instance)",
            registry=r,
        )  # fmt: skip
        self.sweep_overdue = Gauge(
            "qabot_sweep_overdue_seconds",
            "How long today's sweep has been due without having run (0: not due, or ran)",
            registry=r,
        )

    # ---- recording (one line at each place that does the work)
    def record_received(self, channel: str, count: int = 1) -> None:
        self.received.labels(channel).inc(count)

    def record_turn(self, channel: str, seconds: float) -> None:
        self.handled.labels(channel).inc()
        self.turn_seconds.labels(channel).observe(seconds)

    def record_delivery(self, channel: str, result: str) -> None:
        self.deliveries.labels(channel, result).inc()

    def record_sweep(self, seconds: float) -> None:
        self.sweep_seconds.observe(seconds)

    # ---- scraping
    async def exposition(self, core: Core, remind_at: day_time) -> bytes:
        """Read the shared figures (each one read-only query) and render everything."""
        now = core.clock.now()
        async with core.sessions() as session:
            # A reader: never waits for, nor holds, SQLite's write lock.
            await read_only(session)
            inbox_rows = await session.execute(
                select(InboxUpdate.channel, func.count(), func.min(InboxUpdate.received_at))
                .where(InboxUpdate.done_at.is_(None))
                .group_by(InboxUpdate.channel)
            )
            pending = (OutboxMessage.status == PENDING,)
            depth = await session.scalar(select(func.count()).where(*pending))
            oldest_due = await session.scalar(
                select(func.min(OutboxMessage.created_at)).where(
                    *pending, OutboxMessage.next_attempt_at <= now
                )
            )
            last_sweep = await session.scalar(select(func.max(SweepRun.ran_at)))
            today = local_date(now, core.tz)
            ran_today = await session.get(SweepRun, today) is not None
        self.inbox_depth.clear()
        self.inbox_oldest.clear()
        for channel, count, oldest in inbox_rows:
            self.inbox_depth.labels(channel).set(count)
            self.inbox_oldest.labels(channel).set(_age(now, oldest))
        self.outbox_depth.set(depth or 0)
        self.outbox_oldest.set(_age(now, oldest_due))
        self.sweep_last.set(last_sweep.timestamp() if last_sweep else 0)
        overdue = 0.0
        if sweep_is_due(core.calendar, now, core.tz, remind_at, ran_today):
            due_at = datetime.combine(today, remind_at, tzinfo=core.tz)
            overdue = _age(now, due_at)
        self.sweep_overdue.set(overdue)
        return generate_latest(self.registry)


def _age(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return max(0.0, (now - since).total_seconds())


_current: ContextVar[Metrics] = ContextVar("qabot_metrics")
# Where records go outside `qabot run` (tests of single parts, `qabot remind`): never exposed.
_UNEXPOSED = Metrics()


def current() -> Metrics:
    """The running app's metrics (set by `use`), or the unexposed ones."""
    return _current.get(_UNEXPOSED)


def use(metrics: Metrics) -> None:
    """Make `metrics` the current ones for this task and every task and thread it starts."""
    _current.set(metrics)


@contextmanager
def turn(channel: str) -> Iterator[None]:
    """Count and time one update's turn, if it ends (a busy database's retry is not one)."""
    started = time.perf_counter()
    yield
    current().record_turn(channel, time.perf_counter() - started)
