"""Measuring-instrument and certificate registers: validity cycles and reminder thresholds.

No I/O. A verification "valid until" day is the day before the same calendar day one cycle
later, as printed on Chinese verification certificates (检定 2026-03-15, 有效期至 2027-03-14).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum

# Instruments: reminded once when due within this many days, once more when overdue.
INSTRUMENT_DUE_SOON_DAYS = 30
# Certificates: reminded once at each of these days before expiry, and once when expired.
CERTIFICATE_THRESHOLDS = (90, 30, 7)
MAX_CYCLE_MONTHS = 120


class RegisterKind(StrEnum):
    INSTRUMENT = "instrument"
    CERTIFICATE = "certificate"


def add_months(day: date, months: int) -> date:
    """The same calendar day `months` later; the 1st of the next month when it does not exist.

    31 January + 1 month is 1 March (there is no 31 February), so a monthly cycle started on
    the 31st never ends early.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    if day.day <= last_day:
        return date(year, month, day.day)
    return date(year, month, last_day) + timedelta(days=1)


def valid_until(verified_on: date, cycle_months: int) -> date:
    """The last day a verification made on `verified_on` is valid."""
    if not 1 <= cycle_months <= MAX_CYCLE_MONTHS:
        raise ValueError(f"cycle must be 1..{MAX_CYCLE_MONTHS} months")
    return add_months(verified_on, cycle_months) - timedelta(days=1)


def parse_cycle(text: str) -> int | None:
    """Read a cycle as people write it: 12, 12个月, 1年, 半年, 6 months, 1 year; None if not."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned in ("半年", "halfyear"):
        return 6
    for suffix, factor in (
        ("个月", 1),
        ("月", 1),
        ("months", 1),
        ("month", 1),
        ("m", 1),
        ("年", 12),
        ("years", 12),
        ("year", 12),
        ("y", 12),
    ):
        if cleaned.endswith(suffix) and cleaned[: -len(suffix)].isdigit():
            months = int(cleaned[: -len(suffix)]) * factor
            return months if 1 <= months <= MAX_CYCLE_MONTHS else None
    if cleaned.isdigit() and 1 <= int(cleaned) <= MAX_CYCLE_MONTHS:
        return int(cleaned)
    return None


def instrument_stage(valid_until_on: date, today: date) -> str | None:
    """ "overdue", "due" (within 30 days) or None: the instrument's reminder threshold today."""
    days_left = (valid_until_on - today).days
    if days_left < 0:
        return "overdue"
    if days_left <= INSTRUMENT_DUE_SOON_DAYS:
        return "due"
    return None


def certificate_stage(expires_on: date, today: date) -> str | None:
    """ "expired", "7", "30", "90" or None: the tightest threshold the certificate has reached."""
    days_left = (expires_on - today).days
    if days_left < 0:
        return "expired"
    for threshold in sorted(CERTIFICATE_THRESHOLDS):
        if days_left <= threshold:
            return str(threshold)
    return None


# Later stages rank higher; a stage is reminded only when it ranks above the last one reminded.
STAGE_RANK = {"90": 1, "30": 2, "due": 2, "7": 3, "overdue": 4, "expired": 4}


def stage_to_remind(current: str | None, last_reminded: str | None) -> str | None:
    """The stage to remind now, once: only a stage beyond the last one reminded."""
    if current is None:
        return None
    if last_reminded is not None and STAGE_RANK[current] <= STAGE_RANK.get(last_reminded, 0):
        return None
    return current


def is_late(stage: str | None) -> bool:
    """Overdue instruments and expired certificates also go to the enterprise's officer."""
    return stage in ("overdue", "expired")
