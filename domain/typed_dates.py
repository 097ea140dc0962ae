"""Dates and times as people type them, in Chinese or English ("明天下午3点", "Dec 3 9:30am").

Pure: the local "now" is passed in. The whole text must be read as a date and/or a time;
anything left over means it was not a date (better to ask again than to guess).

Readings that are not obvious from the text alone:
- a date without a year is the next such date (today included); "3号" the next 3rd;
- a weekday alone ("周三", "Friday") is the next such day, today included; "下周三" and
  "next Wednesday" are that day of next week (weeks run Monday to Sunday); "本周五" this week's;
- a time without a date is today, or tomorrow when it has already passed;
- "3点" without 上午/下午 and without a colon is read as office hours: 1–6 o'clock is p.m.
  The caller echoes every non-literal reading for confirmation, so a guess is never silent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_NUM = r"(\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_WEEKDAYS_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
                "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}  # fmt: skip
_WEEKDAYS_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MONTHS_EN = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7,
              "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}  # fmt: skip
_RELATIVE_DAYS = {"大后天": 3, "后天": 2, "明天": 1, "明日": 1, "今天": 0, "今日": 0,
                  "the day after tomorrow": 2, "tomorrow": 1, "today": 0}  # fmt: skip
_EN_MONTH = (
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"(?:uary|ruary|ch|il|e|y|ust|t|tember|ober|ember)?(?![a-z])\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"

_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ t]\d{2}:\d{2})?")
_FULL_DATE = re.compile(rf"(\d{{4}})\s*[-/.年]\s*{_NUM}\s*[-/.月]\s*{_NUM}\s*[日号]?")
_CN_MONTH_DAY = re.compile(rf"{_NUM}\s*月\s*{_NUM}\s*[日号]?")
_NUMERIC_MONTH_DAY = re.compile(r"(?<![\d:])(\d{1,2})\s*[/-]\s*(\d{1,2})(?![\d:])")
_EN_MONTH_DAY = re.compile(rf"\b{_EN_MONTH}\s*(\d{{1,2}}){_ORDINAL}\b(?:,?\s*(\d{{4}})\b)?")
_EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}}){_ORDINAL}\s*(?:of\s+)?{_EN_MONTH}(?:\s*(\d{{4}})\b)?")
_RELATIVE = re.compile("|".join(re.escape(word) for word in _RELATIVE_DAYS))
_TONIGHT = re.compile(r"今晚|tonight")
_CN_WEEKDAY = re.compile(r"(下下个?|下个?|本|这个?)?\s*(?:周|星期|礼拜)([一二三四五六日天1-7])")
_EN_WEEKDAY = re.compile(
    r"\b(next\s+|this\s+)?(mon|tue|wed|thu|fri|sat|sun)"
    r"(?:day|sday|s|nesday|rsday|rs|r|urday)?\.?(?![a-z])"
)
_DAY_ONLY = re.compile(rf"{_NUM}\s*[号日]")

_PERIOD = r"(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?"
_CN_TIME = re.compile(rf"{_PERIOD}\s*{_NUM}\s*(?:点钟?|时)\s*(半|一刻|三刻|{_NUM}\s*分?)?")
_COLON_TIME = re.compile(rf"{_PERIOD}\s*(\d{{1,2}})\s*:\s*(\d{{2}})\s*(a\.?m\.?|p\.?m\.?)?")
_EN_TIME = re.compile(r"\b(\d{1,2})\s*(a\.?m\.?|p\.?m\.?)(?![a-z])")
_NOON = re.compile(r"\bnoon\b|\bmidday\b|中午")
_LEFTOVER = re.compile(r"[\s,，.。的]|\bat\b|\bon\b|\bthe\b|\bof\b|左右|上午|下午|晚上|早上")


@dataclass(frozen=True)
class TypedWhen:
    """What a text said: a day, maybe a time of day, and whether it was typed as plain ISO."""

    day: date
    at: time | None
    # Typed as 2026-12-03 or 2026-12-03 14:30: nothing was interpreted, nothing to confirm.
    literal: bool
    # Whether the text named a day at all ("15:00" alone did not).
    day_typed: bool = True


def read_when(text: str, now: datetime) -> TypedWhen | None:
    """Read a date and/or a time of day against the local naive `now`; None if it is neither."""
    normal = _normalise(text)
    if not normal or len(normal) > 60:
        return None
    literal = _LITERAL.fullmatch(normal) is not None
    today = now.date()
    found_day, rest = _take_day(normal, today)
    if rest is None:
        return None
    at, rest = _take_time(rest)
    if _TONIGHT.search(normal) and at is not None and at.hour < 12:
        at = at.replace(hour=at.hour + 12)
    if _LEFTOVER.sub("", rest):
        return None
    if found_day is None and at is None:
        return None
    if found_day is None:
        assert at is not None
        day = today if at > now.time() else today + timedelta(days=1)
        return TypedWhen(day, at, literal=False, day_typed=False)
    return TypedWhen(found_day, at, literal)


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return re.sub(r"\s+", " ", folded)


def _number(token: str) -> int:
    """12, 十二, 二十三, 三十一, 两 → int."""
    if token.isdigit():
        return int(token)
    if "十" in token:
        tens, _, ones = token.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    value = 0
    for char in token:
        value = value * 10 + _CN_DIGITS[char]
    return value


def _cut(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " + text[match.end() :]


def _take_day(text: str, today: date) -> tuple[date | None, str | None]:
    """The day the text names and the text without it; rest None when a day is impossible."""
    try:
        return _find_day(text, today)
    except (ValueError, KeyError):
        return None, None


def _find_day(text: str, today: date) -> tuple[date | None, str | None]:
    if match := _FULL_DATE.search(text):
        day = date(int(match[1]), _number(match[2]), _number(match[3]))
        return day, _cut(text, match)
    if match := _CN_MONTH_DAY.search(text):
        return _next_month_day(today, _number(match[1]), _number(match[2])), _cut(text, match)
    if match := _EN_MONTH_DAY.search(text):
        month, day_of_month = _MONTHS_EN[match[1]], int(match[2])
        return _month_day(today, month, day_of_month, match[3]), _cut(text, match)
    if match := _EN_DAY_MONTH.search(text):
        month, day_of_month = _MONTHS_EN[match[2]], int(match[1])
        return _month_day(today, month, day_of_month, match[3]), _cut(text, match)
    if match := _NUMERIC_MONTH_DAY.search(text):
        return _next_month_day(today, int(match[1]), int(match[2])), _cut(text, match)
    if match := _RELATIVE.search(text):
        return today + timedelta(days=_RELATIVE_DAYS[match[0]]), _cut(text, match)
    if match := _TONIGHT.search(text):
        return today, text[: match.start()] + " " + text[match.end() :]
    if match := _CN_WEEKDAY.search(text):
        return _weekday(today, _WEEKDAYS_CN[match[2]], match[1] or ""), _cut(text, match)
    if match := _EN_WEEKDAY.search(text):
        which = (match[1] or "").strip()
        prefix = {"next": "下", "this": "本"}.get(which, "")
        return _weekday(today, _WEEKDAYS_EN[match[2]], prefix), _cut(text, match)
    if match := _DAY_ONLY.search(text):
        return _next_day_of_month(today, _number(match[1])), _cut(text, match)
    return None, text


def _month_day(today: date, month: int, day_of_month: int, year: str | None) -> date:
    if year:
        return date(int(year), month, day_of_month)
    return _next_month_day(today, month, day_of_month)


def _next_month_day(today: date, month: int, day_of_month: int) -> date:
    """The next such date, today included (29 February may be years away)."""
    if not (1 <= month <= 12 and 1 <= day_of_month <= 31):
        raise ValueError("no such date")
    for year in range(today.year, today.year + 5):
        try:
            candidate = date(year, month, day_of_month)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise ValueError("no such date")


def _next_day_of_month(today: date, day_of_month: int) -> date:
    """The next date with this day of the month, skipping months too short for it."""
    if not 1 <= day_of_month <= 31:
        raise ValueError("no such day")
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day_of_month)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise ValueError("no such day")


def _weekday(today: date, weekday: int, prefix: str) -> date:
    monday = today - timedelta(days=today.weekday())
    if prefix.startswith("下下"):
        return monday + timedelta(days=14 + weekday)
    if prefix.startswith("下"):
        return monday + timedelta(days=7 + weekday)
    if prefix:  # 本周 / 这周 / this: this week's, even when it has passed (the caller refuses)
        return monday + timedelta(days=weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _take_time(text: str) -> tuple[time | None, str]:
    try:
        return _find_time(text)
    except (ValueError, KeyError):
        return None, "?"  # a time that cannot be: not a reading at all


def _find_time(text: str) -> tuple[time | None, str]:
    if match := _COLON_TIME.search(text):
        hour = _with_period(int(match[2]), match[1] or _english_period(match[4]), bare=False)
        return time(hour, int(match[3])), _cut(text, match)
    if match := _EN_TIME.search(text):
        hour = _with_period(int(match[1]), _english_period(match[2]), bare=False)
        return time(hour, 0), _cut(text, match)
    if match := _CN_TIME.search(text):
        hour = _with_period(_number(match[2]), match[1] or "", bare=True)
        minute_text = match[3] or ""
        minute = {"": 0, "半": 30, "一刻": 15, "三刻": 45}.get(minute_text)
        if minute is None:
            minute = _number(minute_text.rstrip("分").strip())
        return time(hour, minute), _cut(text, match)
    if match := _NOON.search(text):
        return time(12, 0), _cut(text, match)
    return None, text


def _english_period(marker: str | None) -> str:
    if not marker:
        return ""
    return "上午" if marker.startswith("a") else "下午"


def _with_period(hour: int, period: str, bare: bool) -> int:
    """The 24-hour hour of "下午3点" / "3pm" / "3点"."""
    if hour > 12 or (hour == 12 and period in ("", "中午", "下午")):
        return hour
    if period in ("下午", "傍晚", "晚上"):
        return hour + 12
    if period == "中午":
        return hour + 12 if hour <= 5 else hour
    if period in ("凌晨", "早上", "早晨", "上午"):
        return 0 if hour == 12 else hour
    # No period: office hours, nobody means a 3 a.m. consultation.
    return hour + 12 if bare and 1 <= hour <= 6 else hour
