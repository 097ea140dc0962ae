"""Reminder benchmarks (issue 4).

1. One reminder sweep over 100,000 commitments (1,000 of them due soon or overdue) on SQLite:
   the median of several runs, each on a fresh copy of the same database, plus the query plan
   (EXPLAIN QUERY PLAN) of every SELECT the sweep issues.
2. 300 people due a digest at once, delivered by the outbox worker to a server that enforces
   30 messages/s: the achieved rate as a fraction of that limit, and the 429s it answered.
   Through the real Telegram channel against the fake Bot API when bot/telegram/ is
   present, and always through an in-process sender that declares its limit.

Run:  .venv/bin/python bench/reminders_bench.py [--runs 5] [--people 300] [--skip-delivery]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.delivery import Delivery, DeliveryError  # noqa: E402
from domain.calendar import WorkingCalendar  # noqa: E402
from domain.clock import FixedClock  # noqa: E402
from domain.commitments import CommitmentStatus  # noqa: E402
from domain.roles import Party, Role  # noqa: E402
from handlers.core import Core  # noqa: E402
from handlers.messages import Reply  # noqa: E402
from handlers.usecases.reminders import sweep  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.files import LocalFileStore  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Agreement,
    Bureau,
    ChannelIdentity,
    Commitment,
    Enterprise,
    Person,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 2026-12-01 09:00 in Shanghai.
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


def make_core(path: Path, clock: FixedClock) -> Core:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    return Core(
        sessions=session_factory(engine),
        clock=clock,
        tz=SHANGHAI,
        files=LocalFileStore(path.parent / "files"),
        calendar=WorkingCalendar(),
    )


async def build_database(
    path: Path,
    commitments: int,
    due: int,
    enterprises: int,
    officers: int,
    enterprise_side_only: bool = False,
) -> None:
    """Officers, enterprises with one bound contact each, and `commitments` commitments of
    which `due` are open and due within 3 days or recently overdue; the rest are confirmed
    ones in the past and open ones further ahead."""
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    core = make_core(path, FixedClock(NOW))
    async with core.sessions() as session, session.begin():
        await session.execute(
            insert(Bureau), [{"id": 1, "name": "杭州市市场监督管理局", "city": "杭州市"}]
        )
        people: list[dict[str, Any]] = [
            {
                "id": n + 1,
                "name": f"干部{n}",
                "role": Role.OFFICER,
                "bureau_id": 1,
                "created_at": NOW,
            }
            for n in range(officers)
        ]
        firms = [
            {
                "id": n + 1,
                "name": f"企业{n}",
                "bureau_id": 1,
                "officer_id": n % officers + 1,
                "created_at": NOW,
            }
            for n in range(enterprises)
        ]
        await session.execute(insert(Person), people)
        await session.execute(insert(Enterprise), firms)
        staff = [
            {
                "id": officers + n + 1,
                "name": f"联系人{n}",
                "role": Role.STAFF,
                "enterprise_id": n + 1,
                "created_at": NOW,
            }
            for n in range(enterprises)
        ]
        await session.execute(insert(Person), staff)
        await session.execute(
            insert(ChannelIdentity),
            [
                {
                    "person_id": p["id"],
                    "channel": "telegram",
                    "external_id": str(p["id"]),
                    "chat_id": str(p["id"]),
                    "last_seen_at": NOW,
                }
                for p in people + staff
            ],
        )
        await session.execute(
            insert(Agreement),
            [{"id": n + 1, "enterprise_id": n + 1, "created_at": NOW} for n in range(enterprises)],
        )
        rows = []
        for n in range(commitments):
            firm = n % enterprises + 1
            if n < due:
                # Due from 3 days ago to 3 days ahead: in digests, none old enough to escalate.
                due_on, status = TODAY + timedelta(days=n % 7 - 3), CommitmentStatus.OPEN
            elif n % 2:
                due_on, status = TODAY - timedelta(days=30 + n % 300), CommitmentStatus.CONFIRMED
            else:
                due_on, status = TODAY + timedelta(days=10 + n % 300), CommitmentStatus.OPEN
            rows.append(
                {
                    "agreement_id": firm,
                    "enterprise_id": firm,
                    "party": Party.ENTERPRISE if n % 2 or enterprise_side_only else Party.BUREAU,
                    "text": f"承诺事项{n}",
                    "due_on": due_on,
                    "status": status,
                    "created_at": NOW,
                    "version": 1,
                }
            )
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Commitment), rows[start : start + 5000])
    await core.sessions.kw["bind"].dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("ANALYZE")


def fresh_copy(template: Path, path: Path) -> None:
    shutil.copyfile(template, path)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


async def time_sweep(template: Path, folder: Path) -> tuple[float, float, int, list[str]]:
    """Sweep a fresh copy; return (first sweep s, repeated sweep s, digests, statements)."""
    path = folder / "run.sqlite3"
    fresh_copy(template, path)
    core = make_core(path, FixedClock(NOW))
    statements: list[str] = []

    @event.listens_for(core.sessions.kw["bind"].sync_engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async with core.sessions() as session:  # open the pool before timing
        await session.get(Bureau, 1)
    started = time.perf_counter()
    report = await sweep(core)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = await sweep(core)
    repeat = time.perf_counter() - started
    assert again.digests == 0
    await core.sessions.kw["bind"].dispose()
    return first, repeat, report.digests, statements


def query_plans(path: Path, statements: list[str]) -> list[tuple[str, list[str]]]:
    """EXPLAIN QUERY PLAN of each distinct SELECT the sweep issued (SQLite chooses the plan
    without looking at bound values, so NULLs stand in for the parameters)."""
    seen: dict[str, list[str]] = {}
    with sqlite3.connect(path) as connection:
        for statement in statements:
            text = " ".join(statement.split())
            if not text.upper().startswith("SELECT") or text in seen:
                continue
            count = text.count("?")
            rows = connection.execute(f"EXPLAIN QUERY PLAN {text}", [None] * count).fetchall()
            seen[text] = [row[-1] for row in rows]
    return list(seen.items())


# --- delivery rate -------------------------------------------------------------------------


class LimitedServer:
    """An in-process sender that answers 429 beyond `limit` sends in any rolling second."""

    channel = "telegram"

    def __init__(self, limit: int) -> None:
        self.max_per_second = limit
        self.limit = limit
        self.window: deque[float] = deque()
        self.rejected = 0
        self.sent = 0

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.rejected += 1
            raise DeliveryError("429", retry_after=1)
        self.window.append(now)
        await asyncio.sleep(0.002)  # a fast local round trip
        self.sent += 1


async def prepare_digests(folder: Path, people: int) -> Path:
    path = folder / f"people{people}.sqlite3"
    # Every commitment on the enterprise side: each of the `people` contacts gets one digest
    # (and their one officer a digest of the overdue ones).
    await build_database(
        path,
        commitments=people,
        due=people,
        enterprises=people,
        officers=1,
        enterprise_side_only=True,
    )
    return path


async def deliver_in_process(template: Path, folder: Path, people: int) -> dict[str, float]:
    path = folder / "deliver.sqlite3"
    fresh_copy(template, path)
    core = make_core(path, FixedClock(NOW))
    digests = (await sweep(core)).digests
    server = LimitedServer(30)
    started = time.perf_counter()
    report = await Delivery(core, [server]).run_once()
    elapsed = time.perf_counter() - started
    await core.sessions.kw["bind"].dispose()
    assert report.sent == digests, report
    return {"messages": digests, "seconds": elapsed, "rejected_429": server.rejected}


async def deliver_via_telegram(template: Path, folder: Path) -> dict[str, float] | None:
    try:
        from bot.delivery import close_senders, open_senders
        from bot.settings import Settings
        from bot.telegram import TelegramChannel
        from tests.fakes.fake_telegram import FakeTelegram
    except ImportError as error:
        print(f"(Telegram channel not available: {error}; in-process figure only)")
        return None
    path = folder / "telegram.sqlite3"
    fresh_copy(template, path)
    core = make_core(path, FixedClock(NOW))
    digests = (await sweep(core)).digests
    async with FakeTelegram(token="123:BENCH") as tg:
        with sqlite3.connect(path) as connection:
            chats = [
                int(row[0]) for row in connection.execute("SELECT chat_id FROM channel_identities")
            ]
        for chat in chats:
            tg.add_user(chat)
        settings = Settings(
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_file_base_url=tg.base_file_url,
        )
        channel = TelegramChannel(settings, core)
        await open_senders([channel])
        try:
            started = time.perf_counter()
            report = await Delivery(core, [channel]).run_once()
            elapsed = time.perf_counter() - started
        finally:
            await close_senders([channel])
        rate_limited = tg.rate_limited
    await core.sessions.kw["bind"].dispose()
    assert report.sent == digests, report
    return {"messages": digests, "seconds": elapsed, "rejected_429": rate_limited}


def rate_line(name: str, result: dict[str, float]) -> str:
    rate = result["messages"] / result["seconds"]
    return (
        f"{name}: {int(result['messages'])} digests in {result['seconds']:.2f} s = "
        f"{rate:.1f} msg/s = {rate / 30:.0%} of the 30 msg/s limit; "
        f"429 answers: {int(result['rejected_429'])}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = folder / "bench.sqlite3"
        started = time.perf_counter()
        await build_database(template, args.commitments, args.due, 10_000, 100)
        print(
            f"database: {args.commitments:,} commitments ({args.due:,} due within 3 days or "
            f"overdue), 10,000 enterprises with one bound contact, 100 officers "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        firsts, repeats = [], []
        statements: list[str] = []
        digests = 0
        for _ in range(args.runs):
            first, repeat, digests, statements = await time_sweep(template, folder)
            firsts.append(first)
            repeats.append(repeat)
        print(
            f"sweep: median {statistics.median(firsts) * 1000:.0f} ms over {args.runs} runs "
            f"(min {min(firsts) * 1000:.0f}, max {max(firsts) * 1000:.0f}); "
            f"{digests} digests queued"
        )
        print(
            f"repeated sweep (nothing new to queue): median "
            f"{statistics.median(repeats) * 1000:.0f} ms"
        )
        print("\nquery plans of the sweep's SELECTs:")
        for text, plan in query_plans(template, statements):
            print(f"- {text[:160]}{'…' if len(text) > 160 else ''}")
            for step in plan:
                print(f"    {step}")
        if args.skip_delivery:
            return
        print()
        people_db = await prepare_digests(folder, args.people)
        print(
            rate_line(
                "in-process sender (declares 30/s)",
                await deliver_in_process(people_db, folder, args.people),
            )
        )
        telegram = await deliver_via_telegram(people_db, folder)
        if telegram is not None:
            print(rate_line("Telegram channel vs fake Bot API (enforces 30/s)", telegram))


if __name__ == "__main__":
    asyncio.run(main())
