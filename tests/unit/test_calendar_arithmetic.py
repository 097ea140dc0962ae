"""Working days counted arithmetically, and the bureau's own entries overriding the package."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import pytest

from domain.calendar import CalendarDay, DayKind, WorkingCalendar


def count_one_by_one(cal: WorkingCalendar, start: date, end: date) -> int:
    return sum(
        cal.is_working_day(start + timedelta(days=k)) for k in range(1, (end - start).days + 1)
    )


def add_one_by_one(cal: WorkingCalendar, start: date, n: int) -> date:
    d = start
    while n > 0:
        d += timedelta(days=1)
        n -= cal.is_working_day(d)
    return d


def test_counts_agree_with_walking_day_by_day_around_the_package_years() -> None:
    cal = WorkingCalendar()
    rng = random.Random(13)
    for _ in range(300):
        start = date(2003, 6, 1) + timedelta(days=rng.randrange(0, 9000))
        end = start + timedelta(days=rng.randrange(-5, 400))
        assert cal.working_days_between(start, end) == max(0, count_one_by_one(cal, start, end))
        n = rng.randrange(0, 200)
        assert cal.add_working_days(start, n) == add_one_by_one(cal, start, n)


def test_spring_festival_2026_is_counted() -> None:
    cal = WorkingCalendar()
    # 2026-02-15..23 off; Sat 14 Feb and Sat 28 Feb worked.
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert cal.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


@pytest.mark.wallclock
def test_a_far_due_date_costs_no_more_than_a_near_one() -> None:
    cal = WorkingCalendar()
    started = time.perf_counter()
    for _ in range(1000):
        assert cal.working_days_between(date(206, 3, 1), date(2026, 12, 1)) > 470_000
        cal.working_days_between(date(2000, 1, 1), date(2026, 12, 1))
        cal.add_working_days(date(206, 3, 1), 100_000)
    # One by one, a single one of these would walk 665,000 days.
    assert time.perf_counter() - started < 1.0
    # Year 206 knows only weekends: 5 working days per week.
    assert cal.working_days_between(date(206, 3, 1), date(206, 3, 29)) == 20


def test_bureau_entries_override_the_package() -> None:
    cal = WorkingCalendar(
        {
            date(2027, 2, 10): CalendarDay(date(2027, 2, 10), DayKind.HOLIDAY, "春节"),
            date(2027, 2, 7): CalendarDay(date(2027, 2, 7), DayKind.WORKDAY, "春节"),
            # A Wednesday the package calls National Day, declared worked after all.
            date(2026, 10, 7): CalendarDay(date(2026, 10, 7), DayKind.WORKDAY),
        }
    )
    assert not cal.is_working_day(date(2027, 2, 10))
    assert cal.is_working_day(date(2027, 2, 7))
    assert cal.is_working_day(date(2026, 10, 7))
    assert cal.is_covered(2027) and not WorkingCalendar().is_covered(2027)
    assert cal.working_days_between(date(2027, 2, 5), date(2027, 2, 12)) == 5  # 7, 8, 9, 11, 12
    assert cal.working_days_between(date(2027, 2, 5), date(2027, 2, 12)) == count_one_by_one(
        cal, date(2027, 2, 5), date(2027, 2, 12)
    )
    assert cal.add_working_days(date(2027, 2, 9), 1) == date(2027, 2, 11)
    assert cal.day_off_name(date(2027, 2, 10)) == "春节"


@pytest.mark.parametrize("n", [0, 1, 5, 250])
def test_next_and_add_never_land_on_a_day_off(n: int) -> None:
    cal = WorkingCalendar()
    landed = cal.add_working_days(date(2026, 9, 30), n)
    assert n == 0 or cal.is_working_day(landed)
    assert cal.is_working_day(cal.next_working_day(date(2026, 10, 1)))
