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
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_date_time(text: str) -> datetime | None:
    """Read a date with a time (2026-12-03 14:30); a naive local datetime, or None."""
    match = _DATE_TIME.match(text)
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return datetime.combine(day, time(int(match.group(4)), int(match.group(5) or 0)))
    except ValueError:
        return None
