"""Dates and times as people type them on phones."""

from __future__ import annotations

import re
from datetime import date, datetime, time

_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_DATE_TIME = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[T ]?"
    r"\s*(\d{1,2})\s*[:：点]\s*(\d{2})?\s*分?\s*$"
)


def parse_date(text: str) -> date | None:
    """Read 2026-12-03, 2026/12/3 or 2026年12月3日; None when it is no real date."""
    match = _DATE.match(text)
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day if in_bounds(day) else None


def parse_date_time(text: str) -> datetime | None:
    """Read a date with a time (2026-12-03 14:30); a naive local datetime, or None."""
    match = _DATE_TIME.match(text)
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        when = datetime.combine(day, time(int(match.group(4)), int(match.group(5) or 0)))
    except ValueError:
        return None
    return when if in_bounds(day) else None


# Dates people enter (due dates, target dates, consultations) must lie in this span: a typo
# such as 0206-12-01 for 2026-12-01 is refused at the door instead of living in the data.
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def in_bounds(day: date) -> bool:
    """Tell whether `day` lies within the years qabot accepts as input."""
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR
