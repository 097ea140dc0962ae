"""`qabot calendar import|set|show`: the working-day calendar as the bureau publishes it."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.cli import CliError, _print, _with_runtime
from bot.runtime import Runtime
from bot.settings import Settings
from domain.calendar import CalendarDay, DayKind, WorkingCalendar
from domain.dates import parse_date
from handlers.usecases.calendar import (
    CalendarChange,
    clean_day_name,
    load_calendar_days,
    parse_kind,
    store_calendar_days,
)

WEEKDAYS = "一二三四五六日"
HEADER_WORDS = {"date", "日期", "day"}


def add_parsers(commands: Any) -> None:
    """Register `qabot calendar …` on the CLI's subcommands."""
    calendar = commands.add_parser("calendar", help="the working-day calendar (holidays, 调休)")
    calendar.set_defaults(run=cmd_calendar)
    actions = calendar.add_subparsers(dest="action", required=True)
    importing = actions.add_parser("import", help="a CSV or xlsx of dates: date, kind, name")
    importing.add_argument("file", help="FILE.csv or FILE.xlsx")
    importing.add_argument("--json", action="store_true")
    setting = actions.add_parser("set", help="declare one day a holiday or a working day")
    setting.add_argument("date", help="YYYY-MM-DD")
    setting.add_argument("kind", choices=["holiday", "workday"])
    setting.add_argument("--name", help="e.g. 春节")
    setting.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="a year's days off and adjusted working days")
    show.add_argument("year", type=int)
    show.add_argument("--json", action="store_true")


def cmd_calendar(args: argparse.Namespace, settings: Settings) -> None:
    {"import": _import, "set": _set, "show": _show}[args.action](args, settings)


def read_calendar_file(path: Path) -> list[CalendarDay]:
    """Rows of date, holiday|workday (or 休/班), optional name; a header row is allowed."""
    from bot.importer import ImportFileError, read_table

    try:
        table = read_table(path)
    except ImportFileError as error:
        raise CliError(str(error)) from None
    days = []
    for number, cells in enumerate(table, start=1):
        cells = [cell for cell in cells] + [None, None, None]
        first = cells[0]
        if first in (None, "") and all(cell in (None, "") for cell in cells[1:3]):
            continue
        if number == 1 and str(first).strip().lower() in HEADER_WORDS:
            continue
        day = _cell_date(first)
        if day is None:
            raise CliError(f"row {number}: {first!r} is not a date (YYYY-MM-DD); nothing stored")
        kind = parse_kind(str(cells[1] or ""))
        if kind is None:
            raise CliError(
                f"row {number}: {cells[1]!r} is neither holiday nor workday (休/班); nothing stored"
            )
        try:
            name = clean_day_name(None if cells[2] is None else str(cells[2]))
        except Exception:
            raise CliError(f"row {number}: the name is too long; nothing stored") from None
        days.append(CalendarDay(day, kind, name))
    if not days:
        raise CliError(f"{path.name}: no dates in the file")
    return days


def _cell_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(str(value or ""))


def _store(settings: Settings, days: list[CalendarDay]) -> CalendarChange:
    async def work(runtime: Runtime) -> CalendarChange:
        async with runtime.core.sessions() as session, session.begin():
            return await store_calendar_days(session, days, runtime.core.clock.now())

    result: CalendarChange = _with_runtime(settings, work)
    return result


def _change_text(change: CalendarChange) -> str:
    if not (change.added or change.changed):
        return f"nothing changed: all {change.unchanged} days were already stored like this"
    return f"{change.added} days added, {change.changed} changed, {change.unchanged} unchanged"


def _import(args: argparse.Namespace, settings: Settings) -> None:
    days = read_calendar_file(Path(args.file))
    change = _store(settings, days)
    years = sorted({entry.day.year for entry in days})
    _print(
        args,
        {**change.__dict__, "years": years},
        f"{_change_text(change)} ({', '.join(map(str, years))})",
    )


def _set(args: argparse.Namespace, settings: Settings) -> None:
    day = parse_date(args.date)
    if day is None:
        raise CliError(f"{args.date!r} is not a date (YYYY-MM-DD)")
    if args.name is not None and len(" ".join(args.name.split())) > 50:
        raise CliError("--name: at most 50 characters")
    change = _store(settings, [CalendarDay(day, DayKind(args.kind), clean_day_name(args.name))])
    _print(
        args,
        {**change.__dict__, "date": day.isoformat(), "kind": args.kind},
        f"{day.isoformat()}: {args.kind} ({_change_text(change)})",
    )


def _show(args: argparse.Namespace, settings: Settings) -> None:
    if not 1 <= args.year <= 9999:
        raise CliError(f"year {args.year}: out of range")

    async def work(runtime: Runtime) -> WorkingCalendar:
        async with runtime.core.sessions() as session:
            return WorkingCalendar(await load_calendar_days(session))

    calendar: WorkingCalendar = _with_runtime(settings, work)
    imported = {d for d in calendar.overrides if d.year == args.year}
    days = calendar.days_off_and_adjusted(args.year)
    covered = calendar.is_covered(args.year)
    lines = [
        f"{args.year}: "
        + (
            "holiday data loaded"
            if covered
            else "NO holiday data: only weekends are days off (qabot calendar import FILE)"
        )
    ]
    for day, working, name in days:
        lines.append(
            f"{day.isoformat()} 周{WEEKDAYS[day.weekday()]}  "
            f"{'班 workday' if working else '休 holiday'}  {name or ''}"
            f"{'  (imported)' if day in imported else ''}".rstrip()
        )
    _print(
        args,
        {
            "year": args.year,
            "covered": covered,
            "days": [
                {
                    "date": day.isoformat(),
                    "working": working,
                    "name": name,
                    "imported": day in imported,
                }
                for day, working, name in days
            ],
        },
        "\n".join(lines),
    )
