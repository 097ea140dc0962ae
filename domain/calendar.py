"""Working-day calendar for mainland China and local-date helpers.

The package `chinese-calendar` supplies the State Council's schedules it knows; the bureau's own
entries (`qabot calendar import|set`, stored in the database) override it day by day. Working
days are counted arithmetically: weekdays by formula, corrected by the few days whose status
differs from the weekday rule, so a due date decades away costs what a near one does.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from itertools import accumulate

import chinese_calendar

__all__ = [
    "CalendarDay",
    "DayKind",
    "WorkingCalendar",
    "covered_years",
    "is_covered",
    "local_date",
    "local_day_bounds",
]

logger = logging.getLogger(__name__)

_ONE_DAY = timedelta(days=1)


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclass(frozen=True)
class CalendarDay:
    """A day the bureau declared a holiday or an (adjusted) working day."""

    day: date
    kind: DayKind
    name: str | None = None


@lru_cache(maxsize=1)
def covered_years() -> range:
    """Return the years whose holidays the installed chinese-calendar knows."""
    # The library rejects exactly the years outside the span of its holiday table.
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def is_covered(year: int) -> bool:
    """Tell whether the installed chinese-calendar has the public holidays of `year`."""
    return year in covered_years()


def _is_weekday(d: date) -> bool:
    return d.weekday() < 5


def _weekdays_through(d: date) -> int:
    """Count Monday-Friday days from 0001-01-01 (a Monday) through `d`."""
    ordinal = d.toordinal()
    return ordinal // 7 * 5 + min(ordinal % 7, 5)


@lru_cache(maxsize=1)
def _library_exceptions() -> dict[date, bool]:
    """The library's days whose status differs from the weekday rule: date -> is working."""
    exceptions = {d: False for d in chinese_calendar.holidays if _is_weekday(d)}
    exceptions.update({d: True for d in chinese_calendar.workdays if not _is_weekday(d)})
    return exceptions


class WorkingCalendar:
    """Mainland-China working days: weekends and public holidays off, 调休 days on."""

    def __init__(self, overrides: Mapping[date, CalendarDay] | None = None) -> None:
        """Start from the package's data, overridden by the bureau's `overrides`."""
        # Per instance, so one shared calendar warns once per year and tests stay isolated.
        self._warned_years: set[int] = set()
        self.set_overrides(overrides or {})

    def set_overrides(self, overrides: Mapping[date, CalendarDay]) -> None:
        """Replace the bureau's entries (read from the database) and rebuild the index."""
        self._overrides = dict(overrides)
        self._override_years = {d.year for d in self._overrides}
        exceptions = dict(_library_exceptions())
        for d, entry in self._overrides.items():
            working = entry.kind is DayKind.WORKDAY
            if working == _is_weekday(d):
                exceptions.pop(d, None)
            else:
                exceptions[d] = working
        self._exception_days = sorted(exceptions)
        # Running sum of the corrections: +1 for a working weekend day, -1 for a weekday off.
        self._exception_sums = [
            0,
            *accumulate(1 if exceptions[d] else -1 for d in self._exception_days),
        ]
        self._exceptions = exceptions

    @property
    def overrides(self) -> Mapping[date, CalendarDay]:
        return self._overrides

    def is_working_day(self, d: date) -> bool:
        """Tell whether `d` is a working day."""
        if isinstance(d, datetime):
            # A datetime is a date subclass; its time part must not leak into the lookup.
            d = d.date()
        self._warn_if_uncovered(d.year)
        answer = self._exceptions.get(d)
        return _is_weekday(d) if answer is None else answer

    def day_off_name(self, d: date) -> str | None:
        """The holiday's or adjusted day's name, when the data gives one."""
        entry = self._overrides.get(d)
        if entry is not None:
            return entry.name
        return chinese_calendar.holidays.get(d) or chinese_calendar.workdays.get(d)

    def _warn_if_uncovered(self, year: int) -> None:
        if self.is_covered(year) or year in self._warned_years:
            return
        self._warned_years.add(year)
        logger.warning(
            "Public holidays of %d are unknown to chinese-calendar %s (covers %d-%d) and none "
            "were imported; treating Monday-Friday as working days. Load the year with "
            "`qabot calendar import FILE` or upgrade the package chinese-calendar.",
            year,
            getattr(chinese_calendar, "__version__", "?"),
            covered_years().start,
            covered_years().stop - 1,
        )

    def _working_days_through(self, d: date) -> int:
        """Working days from 0001-01-01 through `d` (a running count, for differences)."""
        corrections = self._exception_sums[bisect_right(self._exception_days, d)]
        return _weekdays_through(d) + corrections

    def next_working_day(self, d: date) -> date:
        """Return `d` if it is a working day, else the first working day after it."""
        return d if self.is_working_day(d) else self.add_working_days(d, 1)

    def add_working_days(self, start: date, n: int) -> date:
        """Return the n-th working day strictly after `start` (`start` itself for n == 0)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return start
        target = self._working_days_through(start) + n
        # Every 7 days hold 5 weekdays, so n working days lie within about 7n/5 days plus the
        # days off among them; widen until enough are inside, then bisect.
        low, span = start, max(7, n * 7 // 5 + 7)
        while self._working_days_through(start + timedelta(days=span)) < target:
            low, span = start + timedelta(days=span), span * 2
        high = start + timedelta(days=span)
        while low < high:
            middle = low + timedelta(days=(high - low).days // 2)
            if self._working_days_through(middle) >= target:
                high = middle
            else:
                low = middle + _ONE_DAY
        self._warn_if_uncovered(low.year)
        return low

    def working_days_between(self, start: date, end: date) -> int:
        """Count working days d with start < d <= end (0 when end <= start)."""
        if end <= start:
            return 0
        self._warn_if_uncovered(end.year)
        return self._working_days_through(end) - self._working_days_through(start)

    def is_covered(self, year: int) -> bool:
        """Tell whether `year` has real holiday data (package or imported) rather than the
        weekday fallback."""
        return is_covered(year) or year in self._override_years

    def days_off_and_adjusted(self, year: int) -> list[tuple[date, bool, str | None]]:
        """The year's weekday holidays and working weekend days, plus every imported day:
        (day, is working, name), in date order."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        days = {d for d in self._exceptions if first <= d <= last}
        days |= {d for d in chinese_calendar.holidays if first <= d <= last}
        days |= {d for d in self._overrides if first <= d <= last}
        return [(d, self.is_working_day(d), self.day_off_name(d)) for d in sorted(days)]


def local_date(instant: datetime, tz: tzinfo) -> date:
    """Return the calendar date of an aware `instant` in `tz`."""
    if instant.utcoffset() is None:
        # A naive value could be UTC or local; guessing would shift due dates by a day.
        raise ValueError("local_date needs a timezone-aware datetime")
    return instant.astimezone(tz).date()


def local_day_bounds(d: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return the UTC [start, end) instants of local day `d` in `tz`."""
    # Both ends are local midnights, so a day that spans a DST change is not assumed 24 h.
    start = datetime.combine(d, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(d + _ONE_DAY, time.min, tzinfo=tz).astimezone(UTC)
    return start, end
