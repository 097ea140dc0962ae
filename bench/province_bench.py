"""A province's size through `qabot import` and the next sweep (issue 13 item 0).

Generates one import file (CSV, the documented columns): 140 bureau people (a supervisor per
city and two at the province), 10,000 enterprises, 30,000 commitments with due dates from
June 2026 to June 2027; imports it into a fresh SQLite database the way `qabot import` does
(read the file, check every row, write in one transaction) and reports rows/s; re-imports it
(nothing may change); binds every bureau person to a chat; then runs the sweep of Tuesday
2026-12-01 09:00 (Asia/Shanghai) and reports its time and the messages it queued.

Run:  .venv/bin/python bench/province_bench.py [--runs 3] [--keep DIR]
Targets: import >= 2,000 rows/s; sweep < 10 s; one escalation message per supervisor and one
notice per officer.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.importer import read_rows  # noqa: E402
from domain.calendar import WorkingCalendar  # noqa: E402
from domain.clock import FixedClock  # noqa: E402
from domain.roles import Role  # noqa: E402
from handlers.core import Core  # noqa: E402
from handlers.usecases.bulk_import import TEMPLATE_COLUMNS, import_rows  # noqa: E402
from handlers.usecases.reminders import sweep  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.files import LocalFileStore  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import ChannelIdentity, OutboxMessage, Person  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai
CITIES = [
    "杭州市",
    "宁波市",
    "温州市",
    "嘉兴市",
    "湖州市",
    "绍兴市",
    "金华市",
    "衢州市",
    "舟山市",
    "台州市",
    "丽水市",
]
PEOPLE, ENTERPRISES, COMMITMENTS = 140, 10_000, 30_000


def write_file(path: Path, seed: int = 13) -> int:
    """The import file; returns its number of data rows."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    officers_by_city: dict[str, list[str]] = {city: [] for city in CITIES}
    rows += [
        ["officer", f"p{n}", f"省局领导{n}", "省局", "supervisor", "", "", "", "", "", ""]
        for n in range(2)
    ]
    for city in CITIES:
        rows.append(
            ["officer", f"s-{city}", f"{city}领导", city, "supervisor", "", "", "", "", "", ""]
        )
    for n in range(PEOPLE - len(rows)):
        city = CITIES[n % len(CITIES)]
        officers_by_city[city].append(f"o{n}")
        rows.append(["officer", f"o{n}", f"干部{n:03d}", city, "officer", "", "", "", "", "", ""])
    for n in range(ENTERPRISES):
        city = CITIES[n % len(CITIES)]
        officer = officers_by_city[city][n // len(CITIES) % len(officers_by_city[city])]
        rows.append(
            [
                "enterprise",
                f"e{n}",
                f"{city}企业{n:05d}有限公司",
                city,
                "",
                officer,
                "",
                "",
                "",
                "",
                "",
            ]
        )
    first_due = date(2026, 6, 1)
    for n in range(COMMITMENTS):
        due = first_due + timedelta(days=rng.randrange(0, 395))
        party = "局方" if n % 2 else "企业"
        rows.append(
            [
                "commitment",
                "",
                "",
                "",
                "",
                "",
                "",
                f"e{n % ENTERPRISES}",
                party,
                f"整改事项{n:05d}",
                due.isoformat(),
            ]
        )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TEMPLATE_COLUMNS)
        writer.writerows(rows)
    return len(rows)


def make_core(path: Path) -> Core:
    return Core(
        sessions=session_factory(create_engine(f"sqlite+aiosqlite:///{path}")),
        clock=FixedClock(NOW),
        tz=SHANGHAI,
        files=LocalFileStore(path.parent / "files"),
        calendar=WorkingCalendar(),
    )


async def import_file(core: Core, source: Path) -> tuple[float, dict[str, object]]:
    """Read, check and write the file in one transaction, as `qabot import` does."""
    started = time.perf_counter()
    rows = read_rows(source)
    async with core.sessions() as session, session.begin():
        result = await import_rows(session, rows, NOW)
    elapsed = time.perf_counter() - started
    return elapsed, {
        "officers": len(result.officers),
        "enterprises": len(result.enterprises),
        "commitments": result.commitments,
        "unchanged": result.unchanged,
    }


async def bind_bureau(core: Core) -> None:
    async with core.sessions() as session, session.begin():
        ids = list(await session.scalars(select(Person.id).where(Person.role != Role.STAFF)))
        await session.execute(
            insert(ChannelIdentity),
            [
                {
                    "person_id": i,
                    "channel": "telegram",
                    "external_id": str(i),
                    "chat_id": str(i),
                    "last_seen_at": NOW,
                }
                for i in ids
            ],
        )


async def run(runs: int, keep: Path | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="qabot-province-"))
    source = folder / "province.csv"
    rows = write_file(source)
    print(
        f"import file: {rows:,} rows ({PEOPLE} people, {ENTERPRISES:,} enterprises, "
        f"{COMMITMENTS:,} commitments)"
    )
    imports, sweeps = [], []
    for attempt in range(runs):
        db = folder / f"run{attempt}.sqlite3"
        await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{db}")
        core = make_core(db)
        elapsed, result = await import_file(core, source)
        imports.append(elapsed)
        again, repeated = await import_file(core, source)
        assert repeated["officers"] == repeated["enterprises"] == repeated["commitments"] == 0, (
            repeated
        )
        await bind_bureau(core)
        started = time.perf_counter()
        swept = await sweep(core)
        sweeps.append(time.perf_counter() - started)
        async with core.sessions() as session:
            counted = select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)
            kinds = Counter({kind: n for kind, n in await session.execute(counted)})
            per_person = (
                await session.execute(
                    select(OutboxMessage.person_id, func.count())
                    .where(OutboxMessage.kind.in_(["escalation", "escalated"]))
                    .group_by(OutboxMessage.person_id, OutboxMessage.kind)
                )
            ).all()
        await core.sessions.kw["bind"].dispose()
        print(
            f"run {attempt + 1}: import {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s "
            f"(created {result['officers']} people, {result['enterprises']:,} enterprises, "
            f"{result['commitments']:,} commitments); re-import {again:.1f} s, nothing changed; "
            f"sweep {sweeps[-1]:.2f} s: {swept.escalations:,} escalated items, "
            f"{kinds['escalation']} supervisor messages, {kinds['escalated']} officer notices, "
            f"{kinds['digest']} digests; most messages of one kind to one person: "
            f"{max((n for _, n in per_person), default=0)}"
        )
        if keep is None:
            db.unlink()
    import_median = statistics.median(imports)
    print(
        f"\nmedian of {runs}: import {rows / import_median:,.0f} rows/s "
        f"({import_median:.1f} s; target >= 2,000), "
        f"sweep {statistics.median(sweeps):.2f} s (target < 10 s)"
    )
    if keep is not None:
        shutil.copytree(folder, keep, dirs_exist_ok=True)
    shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="copy the file and databases here")
    args = parser.parse_args()
    asyncio.run(run(args.runs, args.keep))


if __name__ == "__main__":
    main()
