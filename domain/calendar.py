"""Working-day calendar for mainland China and local-date helpers."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

import chinese_calendar

__all__ = ["WorkingCalendar", "covered_years", "is_covered", "local_date", "local_day_bounds"]

logger = logging.getLogger(__name__)

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=1)
def covered_years() -> range:
    """Return the years whose holidays the installed chinese-calendar knows."""
    # The library rejects exactly the years outside the span of its holiday table.
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def is_covered(year: int) -> bool:
    """Tell whether the installed chinese-calendar has the public holidays of `year`."""
    return year in covered_years()


@lru_cache(maxsize=4096)
def _library_is_workday(d: date) -> bool | None:
    """Return the library's answer for `d`, or None when its year is not covered."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return None


class WorkingCalendar:
    """Mainland-China working days: weekends and public holidays off, 调休 days on."""

    def __init__(self) -> None:
        """Start with no uncovered year reported yet."""
        # Per instance, so one shared calendar warns once per year and tests stay isolated.
        self._warned_years: set[int] = set()

    def is_working_day(self, d: date) -> bool:
        """Tell whether `d` is a working day."""
        if isinstance(d, datetime):
            # A datetime is a date subclass; its time part must not leak into the cache key.
            d = d.date()
        answer = _library_is_workday(d)
        if answer is not None:
            return answer
        if d.year not in self._warned_years:
            self._warned_years.add(d.year)
            logger.warning(
                "Public holidays of %d are unknown to chinese-calendar %s (covers %d-%d); "
                "treating Monday-Friday as working days. Upgrade the package chinese-calendar.",
                d.year,
                getattr(chinese_calendar, "__version__", "?"),
                covered_years().start,
                covered_years().stop - 1,
            )
        return d.weekday() < 5

    def next_working_day(self, d: date) -> date:
        """Return `d` if it is a working day, else the first working day after it."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """Return the n-th working day strictly after `start` (`start` itself for n == 0)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        d = start
        while n > 0:
            d += _ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Count working days d with start < d <= end (0 when end <= start)."""
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count

    def is_covered(self, year: int) -> bool:
        """Tell whether `year` uses real holiday data rather than the weekday fallback."""
        return is_covered(year)


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
