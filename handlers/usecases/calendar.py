"""The bureau's working-day calendar: stored days that override the package's data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import CalendarDay, DayKind
from domain.errors import DomainError
from handlers.core import Core
from handlers.usecases.notify import audit
from storage.models import CalendarEntry

MAX_DAY_NAME = 50
# What a State Council notice or a hand-made sheet may write in the kind column.
KIND_WORDS = {
    "holiday": DayKind.HOLIDAY,
    "off": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "假": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "假日": DayKind.HOLIDAY,
    "节假日": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY,
    "working": DayKind.WORKDAY,
    "work": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    "上班": DayKind.WORKDAY,
    "调休上班": DayKind.WORKDAY,
    "补班": DayKind.WORKDAY,
    "工作日": DayKind.WORKDAY,
}


def parse_kind(text: str) -> DayKind | None:
    return KIND_WORDS.get(text.strip().lower())


def clean_day_name(name: str | None) -> str | None:
    cleaned = " ".join((name or "").split())
    if len(cleaned) > MAX_DAY_NAME:
        raise DomainError("error.calendar_name_invalid", limit=MAX_DAY_NAME)
    return cleaned or None


async def load_calendar_days(session: AsyncSession) -> dict[date, CalendarDay]:
    rows = await session.scalars(select(CalendarEntry))
    return {row.day: CalendarDay(row.day, DayKind(row.kind), row.name) for row in rows}


async def refresh_calendar(core: Core) -> None:
    """Load the bureau's days into the core's calendar (another process may have set them)."""
    async with core.sessions() as session:
        core.calendar.set_overrides(await load_calendar_days(session))


@dataclass
class CalendarChange:
    added: int = 0
    changed: int = 0
    unchanged: int = 0


async def store_calendar_days(
    session: AsyncSession, days: Iterable[CalendarDay], now: datetime, actor_id: int | None = None
) -> CalendarChange:
    """Insert or update the given days (the last entry of a day wins); audit what changed."""
    wanted = {entry.day: entry for entry in days}
    existing = {
        row.day: row
        for row in await session.scalars(
            select(CalendarEntry).where(CalendarEntry.day.in_(list(wanted)))
        )
    }
    change = CalendarChange()
    for day, entry in sorted(wanted.items()):
        row = existing.get(day)
        if row is None:
            session.add(
                CalendarEntry(day=day, kind=entry.kind.value, name=entry.name, updated_at=now)
            )
            change.added += 1
        elif row.kind == entry.kind.value and row.name == entry.name:
            change.unchanged += 1
            continue
        else:
            row.kind, row.name, row.updated_at = entry.kind.value, entry.name, now
            change.changed += 1
        audit(
            session,
            actor_id,
            "calendar.set",
            "calendar",
            None,
            now,
            day=day.isoformat(),
            kind=entry.kind.value,
            name=entry.name,
        )
    return change
