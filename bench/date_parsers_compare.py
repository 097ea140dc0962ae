"""Score candidate date libraries on the expression table of tests/unit/test_typed_dates.py.

Not a dependency of qabot: install the candidates in a scratch environment first, e.g.
    python3 -m venv /tmp/datecmp && /tmp/datecmp/bin/pip install dateparser parsedatetime ctparse
    PYTHONPATH=. /tmp/datecmp/bin/python bench/date_parsers_compare.py
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime

from domain.typed_dates import read_when
from tests.unit.test_typed_dates import EXPRESSIONS

warnings.filterwarnings("ignore")


def ours(text: str, now: datetime) -> str | None:
    reading = read_when(text, now)
    if reading is None:
        return None
    shown = reading.day.isoformat()
    return shown if reading.at is None else f"{shown} {reading.at.strftime('%H:%M')}"


def _shown(found: datetime | None, expected: str) -> str | None:
    if found is None:
        return None
    # A library always returns a full instant: compare only what the table expects.
    return found.strftime("%Y-%m-%d %H:%M" if " " in expected else "%Y-%m-%d")


def with_dateparser() -> Callable[[str, datetime, str], str | None]:
    import dateparser

    def parse(text: str, now: datetime, expected: str) -> str | None:
        settings = {"RELATIVE_BASE": now, "PREFER_DATES_FROM": "future"}
        found = dateparser.parse(text, languages=["zh", "en"], settings=settings)  # type: ignore[arg-type]
        return _shown(found, expected)

    return parse


def with_parsedatetime() -> Callable[[str, datetime, str], str | None]:
    import parsedatetime

    calendar = parsedatetime.Calendar()

    def parse(text: str, now: datetime, expected: str) -> str | None:
        found, status = calendar.parseDT(text, sourceTime=now)
        return _shown(found if status else None, expected)

    return parse


def with_ctparse() -> Callable[[str, datetime, str], str | None]:
    from ctparse import ctparse
    from ctparse.types import Time

    def parse(text: str, now: datetime, expected: str) -> str | None:
        result = ctparse(text, ts=now, timeout=1)
        if result is None or not isinstance(result.resolution, Time):
            return None
        t = result.resolution
        if t.year is None or t.month is None or t.day is None:
            return None
        found = datetime(t.year, t.month, t.day, t.hour or 0, t.minute or 0)
        return _shown(found, expected)

    return parse


def main() -> None:
    candidates: dict[str, Callable[[str, datetime, str], str | None]] = {
        "domain.typed_dates": lambda text, now, expected: ours(text, now)
    }
    for name, make in (
        ("dateparser", with_dateparser),
        ("parsedatetime", with_parsedatetime),
        ("ctparse", with_ctparse),
    ):
        try:
            candidates[name] = make()
        except ImportError:
            print(f"{name}: not installed")
    chinese = [e for e in EXPRESSIONS if not e[1].isascii()]
    for name, parse in candidates.items():
        right = right_zh = 0
        for now, text, expected, _ in EXPRESSIONS:
            try:
                ok = parse(text, now, expected) == expected
            except Exception:
                ok = False
            right += ok
            right_zh += ok and not text.isascii()
        print(
            f"{name}: {right}/{len(EXPRESSIONS)} right "
            f"(Chinese {right_zh}/{len(chinese)}, "
            f"English and ISO {right - right_zh}/{len(EXPRESSIONS) - len(chinese)})"
        )


if __name__ == "__main__":
    main()
