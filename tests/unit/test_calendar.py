"""Tests for the mainland-China working-day calendar and local-date helpers."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import WorkingCalendar, covered_years, is_covered, local_date, local_day_bounds

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_national_day_2026_is_off(cal: WorkingCalendar) -> None:
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), day
    assert cal.is_working_day(date(2026, 10, 8))


def test_adjusted_working_days_2026_are_on(cal: WorkingCalendar) -> None:
    # 调休: a Sunday before and a Saturday after National Day 2026 are worked.
    assert date(2026, 9, 20).weekday() == 6
    assert cal.is_working_day(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5
    assert cal.is_working_day(date(2026, 10, 10))


def test_normal_tuesday_and_saturday(cal: WorkingCalendar) -> None:
    assert date(2026, 3, 10).weekday() == 1
    assert cal.is_working_day(date(2026, 3, 10))
    assert date(2026, 3, 14).weekday() == 5
    assert not cal.is_working_day(date(2026, 3, 14))


def test_datetime_argument_uses_its_date(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(datetime(2026, 10, 1, 12, 0))


def test_add_working_days_across_national_day(cal: WorkingCalendar) -> None:
    # Wed 30 Sep is the last day before the break; 8, 9 and (Saturday) 10 Oct are worked.
    assert cal.add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    # Starting on a holiday counts from the next working day.
    assert cal.add_working_days(date(2026, 10, 3), 1) == date(2026, 10, 8)


def test_add_working_days_rejects_negative(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 9, 30), -1)


def test_working_days_between(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    # start is excluded, end included.
    assert cal.working_days_between(date(2026, 10, 8), date(2026, 10, 9)) == 1
    assert cal.working_days_between(date(2026, 10, 9), date(2026, 10, 9)) == 0
    assert cal.working_days_between(date(2026, 10, 12), date(2026, 10, 8)) == 0


def test_between_and_add_agree(cal: WorkingCalendar) -> None:
    start = date(2026, 9, 18)
    for n in range(0, 15):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


def test_next_working_day(cal: WorkingCalendar) -> None:
    assert cal.next_working_day(date(2026, 10, 8)) == date(2026, 10, 8)
    assert cal.next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    assert cal.next_working_day(date(2026, 10, 11)) == date(2026, 10, 12)


def test_coverage() -> None:
    assert 2026 in covered_years()
    assert is_covered(2004) and is_covered(2026)
    assert not is_covered(2027)
    assert not WorkingCalendar().is_covered(2027)


def test_uncovered_year_falls_back_to_weekdays_with_one_warning(
    cal: WorkingCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="domain.calendar")
    # 1 Jan 2027 is a Friday and surely a holiday, but without data only weekends are off.
    assert cal.is_working_day(date(2027, 1, 1))
    assert not cal.is_working_day(date(2027, 1, 2))
    assert cal.next_working_day(date(2027, 1, 2)) == date(2027, 1, 4)
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    for offset in range(60):
        cal.is_working_day(date(2027, 3, 1) + timedelta(days=offset))
    warnings = [r for r in caplog.records if r.name == "domain.calendar"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "2027" in message and "chinese-calendar" in message
    assert warnings[0].levelno == logging.WARNING


def test_local_date_around_midnight() -> None:
    # 23:59 in Shanghai is 15:59 UTC the same day; 00:01 is 16:01 UTC the day before.
    late = datetime(2026, 10, 8, 15, 59, tzinfo=UTC)
    early = datetime(2026, 10, 8, 16, 1, tzinfo=UTC)
    assert local_date(late, SHANGHAI) == date(2026, 10, 8)
    assert local_date(early, SHANGHAI) == date(2026, 10, 9)
    assert local_date(early, UTC) == date(2026, 10, 8)
    assert local_date(datetime(2026, 10, 9, 0, 1, tzinfo=SHANGHAI), SHANGHAI) == date(2026, 10, 9)


def test_local_date_rejects_naive() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2026, 10, 8, 12, 0), SHANGHAI)


def test_local_day_bounds() -> None:
    start, end = local_day_bounds(date(2026, 10, 8), SHANGHAI)
    assert start == datetime(2026, 10, 7, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
    assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
    assert local_date(start, SHANGHAI) == date(2026, 10, 8)
    assert local_date(end - timedelta(microseconds=1), SHANGHAI) == date(2026, 10, 8)
    assert local_date(end, SHANGHAI) == date(2026, 10, 9)


def test_local_day_bounds_across_dst() -> None:
    # A 23-hour day: bounds are local midnights, not start + 24 h.
    berlin = ZoneInfo("Europe/Berlin")
    start, end = local_day_bounds(date(2026, 3, 29), berlin)
    assert end - start == timedelta(hours=23)
