"""Dates and times as people type them, read against a fixed local clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.typed_dates import read_when

# Monday 2026-11-30 10:00 local: the last day of a month.
MONDAY = datetime(2026, 11, 30, 10, 0)
# Wednesday 2026-12-30 16:00 local: two days before a new year.
YEAR_END = datetime(2026, 12, 30, 16, 0)
# Saturday 2027-02-27 09:00 local: February of a common year; a 调休 Saturday changes nothing.
FEBRUARY = datetime(2027, 2, 27, 9, 0)

# (clock, typed, expected "YYYY-MM-DD" or "YYYY-MM-DD HH:MM", literal ISO?)
EXPRESSIONS: list[tuple[datetime, str, str, bool]] = [
    # Chinese: relative days
    (MONDAY, "今天", "2026-11-30", False),
    (MONDAY, "明天", "2026-12-01", False),
    (MONDAY, "后天", "2026-12-02", False),
    (MONDAY, "大后天", "2026-12-03", False),
    (MONDAY, "明天下午3点", "2026-12-01 15:00", False),
    (MONDAY, "明天 下午 3点", "2026-12-01 15:00", False),
    (MONDAY, "明天上午10点", "2026-12-01 10:00", False),
    (MONDAY, "明天上午", "2026-12-01", False),
    (MONDAY, "明天中午", "2026-12-01 12:00", False),
    (MONDAY, "明天中午1点", "2026-12-01 13:00", False),
    (MONDAY, "明天晚上8点", "2026-12-01 20:00", False),
    (MONDAY, "今晚8点", "2026-11-30 20:00", False),
    (MONDAY, "后天下午3点半", "2026-12-02 15:30", False),
    (MONDAY, "明天下午3点15", "2026-12-01 15:15", False),
    (MONDAY, "明天下午3点15分", "2026-12-01 15:15", False),
    (MONDAY, "明天下午三点", "2026-12-01 15:00", False),
    (MONDAY, "明天下午三点半", "2026-12-01 15:30", False),
    (MONDAY, "明天下午两点一刻", "2026-12-01 14:15", False),
    (MONDAY, "明天十点半", "2026-12-01 10:30", False),
    (MONDAY, "明天十二点", "2026-12-01 12:00", False),
    (MONDAY, "明天15:00", "2026-12-01 15:00", False),
    (MONDAY, "明天 15：00", "2026-12-01 15:00", False),
    (MONDAY, "明天３点", "2026-12-01 15:00", False),
    (MONDAY, "大后天早上9点", "2026-12-03 09:00", False),
    # Chinese: weekdays (today is Monday)
    (MONDAY, "下周一", "2026-12-07", False),
    (MONDAY, "下周一上午10点", "2026-12-07 10:00", False),
    (MONDAY, "下周日", "2026-12-13", False),
    (MONDAY, "下个星期三", "2026-12-09", False),
    (MONDAY, "下下周二", "2026-12-15", False),
    (MONDAY, "本周五", "2026-12-04", False),
    (MONDAY, "这周五下午2点", "2026-12-04 14:00", False),
    (MONDAY, "周三", "2026-12-02", False),
    (MONDAY, "星期三", "2026-12-02", False),
    (MONDAY, "礼拜五", "2026-12-04", False),
    (MONDAY, "周一", "2026-11-30", False),
    (MONDAY, "星期天", "2026-12-06", False),
    (MONDAY, "周日上午9点", "2026-12-06 09:00", False),
    # Chinese: calendar dates (month boundary: the 3rd is next month's)
    (MONDAY, "3号", "2026-12-03", False),
    (MONDAY, "30号", "2026-11-30", False),
    (MONDAY, "31号", "2026-12-31", False),
    (MONDAY, "12月3日", "2026-12-03", False),
    (MONDAY, "12月3号", "2026-12-03", False),
    (MONDAY, "12月3日 14:30", "2026-12-03 14:30", False),
    (MONDAY, "12月3日下午2点半", "2026-12-03 14:30", False),
    (MONDAY, "十二月三日", "2026-12-03", False),
    (MONDAY, "11月1日", "2027-11-01", False),
    (MONDAY, "2026年12月3日", "2026-12-03", False),
    (MONDAY, "2026年12月3日 15:00", "2026-12-03 15:00", False),
    (MONDAY, "12/3", "2026-12-03", False),
    (MONDAY, "12-03", "2026-12-03", False),
    (MONDAY, "12/3 9:30", "2026-12-03 09:30", False),
    (MONDAY, "2026.12.3", "2026-12-03", False),
    (MONDAY, "2026/12/3", "2026-12-03", False),
    (MONDAY, "2026-12-03", "2026-12-03", True),
    (MONDAY, "2026-12-03 14:30", "2026-12-03 14:30", True),
    (MONDAY, " 2026-12-03 14:30 ", "2026-12-03 14:30", True),
    # Chinese: a time alone (today, or tomorrow once passed; it is 10:00)
    (MONDAY, "下午3点", "2026-11-30 15:00", False),
    (MONDAY, "3点", "2026-11-30 15:00", False),
    (MONDAY, "上午9点", "2026-12-01 09:00", False),
    (MONDAY, "15:00", "2026-11-30 15:00", False),
    (MONDAY, "9:30", "2026-12-01 09:30", False),
    (MONDAY, "晚上七点", "2026-11-30 19:00", False),
    # English
    (MONDAY, "today", "2026-11-30", False),
    (MONDAY, "tomorrow", "2026-12-01", False),
    (MONDAY, "tomorrow 3pm", "2026-12-01 15:00", False),
    (MONDAY, "Tomorrow at 3 PM", "2026-12-01 15:00", False),
    (MONDAY, "tomorrow 9:30am", "2026-12-01 09:30", False),
    (MONDAY, "tomorrow 15:00", "2026-12-01 15:00", False),
    (MONDAY, "tomorrow noon", "2026-12-01 12:00", False),
    (MONDAY, "the day after tomorrow", "2026-12-02", False),
    (MONDAY, "next Monday", "2026-12-07", False),
    (MONDAY, "next monday 10am", "2026-12-07 10:00", False),
    (MONDAY, "Friday", "2026-12-04", False),
    (MONDAY, "fri 2pm", "2026-12-04 14:00", False),
    (MONDAY, "this Friday", "2026-12-04", False),
    (MONDAY, "Wednesday", "2026-12-02", False),
    (MONDAY, "next Thursday", "2026-12-10", False),
    (MONDAY, "Dec 3", "2026-12-03", False),
    (MONDAY, "December 3", "2026-12-03", False),
    (MONDAY, "Dec 3rd 3pm", "2026-12-03 15:00", False),
    (MONDAY, "3 Dec", "2026-12-03", False),
    (MONDAY, "3 December 2026", "2026-12-03", False),
    (MONDAY, "Dec 3, 2026 9:30am", "2026-12-03 09:30", False),
    (MONDAY, "3pm", "2026-11-30 15:00", False),
    (MONDAY, "9:30am", "2026-12-01 09:30", False),
    (MONDAY, "12pm", "2026-11-30 12:00", False),
    (MONDAY, "Nov 1", "2027-11-01", False),
    # Year boundary (Wednesday 2026-12-30 16:00)
    (YEAR_END, "明天", "2026-12-31", False),
    (YEAR_END, "后天", "2027-01-01", False),
    (YEAR_END, "大后天上午9点", "2027-01-02 09:00", False),
    (YEAR_END, "下周一", "2027-01-04", False),
    (YEAR_END, "周一", "2027-01-04", False),
    (YEAR_END, "1月5日", "2027-01-05", False),
    (YEAR_END, "3号", "2027-01-03", False),
    (YEAR_END, "12月3日", "2027-12-03", False),
    (YEAR_END, "1/2", "2027-01-02", False),
    (YEAR_END, "Jan 5", "2027-01-05", False),
    (YEAR_END, "3点", "2026-12-31 15:00", False),
    (YEAR_END, "next Monday", "2027-01-04", False),
    # February of a common year; a leap day is years away
    (FEBRUARY, "30号", "2027-03-30", False),
    (FEBRUARY, "明天", "2027-02-28", False),
    (FEBRUARY, "后天", "2027-03-01", False),
    (FEBRUARY, "2月29日", "2028-02-29", False),
    (FEBRUARY, "周六", "2027-02-27", False),
    (FEBRUARY, "下周六", "2027-03-06", False),
]

NOT_DATES = [
    "",
    "   ",
    "hello",
    "明天再说吧，我还要问领导",
    "2026-13-45",
    "2026-02-30",
    "13月3日",
    "32号",
    "明天25点",
    "明天10:75",
    "=cmd|' /C calc'!A0",
    "QP-2026-0002",
    "a" * 5000,
]


def _shown(clock: datetime, typed: str) -> tuple[str, bool] | None:
    reading = read_when(typed, clock)
    if reading is None:
        return None
    shown = reading.day.isoformat()
    if reading.at is not None:
        shown += " " + reading.at.strftime("%H:%M")
    return shown, reading.literal


def test_the_table_has_enough_expressions() -> None:
    assert len(EXPRESSIONS) >= 80


@pytest.mark.parametrize(("clock", "typed", "expected", "literal"), EXPRESSIONS)
def test_expression(clock: datetime, typed: str, expected: str, literal: bool) -> None:
    assert _shown(clock, typed) == (expected, literal)


@pytest.mark.parametrize("typed", NOT_DATES)
def test_not_a_date(typed: str) -> None:
    assert read_when(typed, MONDAY) is None
