"""Research (专题研究) rules: when the target date is reminded and when it is escalated."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from domain.calendar import WorkingCalendar

# The lead hears of the target date from this many working days before it.
TARGET_NOTICE_WORKING_DAYS = 3


class TargetState(StrEnum):
    SOON = "soon"
    PASSED = "passed"


def target_state(calendar: WorkingCalendar, target_on: date, today: date) -> TargetState | None:
    """SOON from 3 working days before the target date (the day itself included), PASSED
    once the day is over; None while it is further away."""
    if today > target_on:
        return TargetState.PASSED
    if calendar.working_days_between(today, target_on) <= TARGET_NOTICE_WORKING_DAYS:
        return TargetState.SOON
    return None
