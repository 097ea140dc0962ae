"""Validity cycles and reminder thresholds of the instrument and certificate registers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.registers import (
    add_months,
    certificate_stage,
    instrument_stage,
    is_late,
    parse_cycle,
    stage_to_remind,
    valid_until,
)


@pytest.mark.parametrize(
    ("verified_on", "months", "expected"),
    [
        # Monthly and yearly cycles: the day before the same calendar day one cycle later.
        (date(2026, 3, 15), 1, date(2026, 4, 14)),
        (date(2026, 3, 15), 12, date(2027, 3, 14)),
        (date(2026, 11, 20), 3, date(2027, 2, 19)),
        (date(2026, 1, 1), 12, date(2026, 12, 31)),
        # Month ends: no 31 April, so a month from 31 March is 1 May, valid through 30 April.
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        # Leap years: 29 February exists in 2028 only.
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2027, 3, 1), 12, date(2028, 2, 29)),
        (date(2028, 2, 29), 48, date(2032, 2, 28)),
        (date(2026, 2, 28), 24, date(2028, 2, 27)),
    ],
)
def test_valid_until_is_the_day_before_the_next_cycle(
    verified_on: date, months: int, expected: date
) -> None:
    assert valid_until(verified_on, months) == expected


def test_add_months_rolls_to_the_first_when_the_day_does_not_exist() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 3, 1)
    assert add_months(date(2028, 1, 30), 1) == date(2028, 3, 1)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 5, 10), -5) == date(2025, 12, 10)


@pytest.mark.parametrize("months", [0, -1, 121])
def test_an_impossible_cycle_is_refused(months: int) -> None:
    with pytest.raises(ValueError):
        valid_until(date(2026, 1, 1), months)


@pytest.mark.parametrize(
    ("typed", "months"),
    [
        ("12", 12),
        ("12个月", 12),
        ("6月", 6),
        ("1年", 12),
        ("2 年", 24),
        ("半年", 6),
        ("6 months", 6),
        ("1 year", 12),
        ("0", None),
        ("十二个月", None),
        ("", None),
        ("999", None),
    ],
)
def test_cycles_are_read_as_people_type_them(typed: str, months: int | None) -> None:
    assert parse_cycle(typed) == months


def test_instrument_stages_at_30_days_and_overdue() -> None:
    until = date(2026, 12, 31)
    assert instrument_stage(until, until - timedelta(days=31)) is None
    assert instrument_stage(until, until - timedelta(days=30)) == "due"
    assert instrument_stage(until, until) == "due"
    assert instrument_stage(until, until + timedelta(days=1)) == "overdue"


def test_certificate_stages_at_90_30_7_days_and_expired() -> None:
    expires = date(2027, 6, 30)
    stage_by_days_left = {
        91: None,
        90: "90",
        31: "90",
        30: "30",
        8: "30",
        7: "7",
        0: "7",
        -1: "expired",
    }
    for days_left, stage in stage_by_days_left.items():
        assert certificate_stage(expires, expires - timedelta(days=days_left)) == stage, days_left


def test_each_stage_is_reminded_once_and_never_an_earlier_one() -> None:
    assert stage_to_remind("90", None) == "90"
    assert stage_to_remind("90", "90") is None
    assert stage_to_remind("30", "90") == "30"
    assert stage_to_remind("7", "30") == "7"
    assert stage_to_remind("expired", "7") == "expired"
    assert stage_to_remind("expired", "expired") is None
    # Registered late: straight to the tightest threshold reached, and nothing before it.
    assert stage_to_remind("7", None) == "7"
    assert stage_to_remind("30", "7") is None
    assert stage_to_remind("due", None) == "due"
    assert stage_to_remind("overdue", "due") == "overdue"
    assert stage_to_remind(None, "due") is None
    assert is_late("overdue") and is_late("expired") and not is_late("7")
