"""Build the running pieces from settings: database, core, file store, pacing."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.pacing import Limiter, limiter_for
from bot.settings import Settings
from domain.calendar import WorkingCalendar
from domain.clock import Clock, SystemClock
from handlers.core import Core
from storage.db import create_engine, session_factory
from storage.files import build_file_store


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    core: Core
    # The pacing budgets every channel and the outbox worker draw on (cluster-wide on PostgreSQL).
    limiter: Limiter

    async def close(self) -> None:
        await self.engine.dispose()


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    clock = clock or SystemClock()
    core = Core(
        sessions=sessions,
        clock=clock,
        tz=settings.tz,
        files=build_file_store(settings.file_store, settings.data_dir / "files", sessions, clock),
        calendar=WorkingCalendar(),
        default_language=settings.language,
        first_response_working_days=settings.first_response_working_days,
    )
    return Runtime(settings=settings, engine=engine, core=core, limiter=limiter_for(engine))


def settle_heap() -> None:
    """Call once everything is started. What start-up built (modules, mappers, the channels'
    clients) lives as long as the process: frozen out of the garbage collector's view, a full
    collection no longer walks it. Under load each one paused every turn in flight for
    100-160 ms (bench/PROFILE-turn.md), the largest part of the worst latencies."""
    gc.collect()
    gc.freeze()
