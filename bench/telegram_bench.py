"""Telegram benchmark (issues 3 and 10): N simulated people through the fake Bot API.

For each run, four bots are measured against the same fake server (tests/fakes/fake_telegram.py):
- qabot: the real Telegram channel (bot/telegram/) with the inbox and the conversation core on a
  fresh SQLite (or PostgreSQL) database, in its own process, long polling;
- echo: a bare python-telegram-bot Application (run_polling, one MessageHandler that answers
  with the text it got), in its own process: the floor set by the library and the HTTP round trip;
- durable echo: the same, but each update is first stored durably in SQLite (one transaction per
  update: update id + chat state, WAL, synchronous=NORMAL), then answered — what a careful
  hand-written PTB bot pays for durability;
- durable echo, aiohttp: the same on the Bot API client qabot uses (bot/telegram/http.py) instead
  of python-telegram-bot's default httpx one, whose connection pool costs CPU quadratic in the
  requests in flight (at 200 people the httpx anchors spend ~8 ms of CPU per update, ~2 ms at 20).

Workloads, every person acting as soon as the previous answer arrives (no think time):
- echo     — text → the same text back;
- myreports — /myreports → the list of the enterprise's reports;
- report   — the full /report conversation (two areas, product, description, skip files, urgency,
  submit: 9 round trips, 2 of them edits of the pressed message) up to the reference.

Latency is bot-side as the fake sees it: from the update being queued at the fake to the bot's
answer (sendMessage or editMessageText) arriving there; it includes the long-poll hand-over,
the turn and the HTTP send, not any client or network time. The fake's rate limits are OFF and
qabot's own pacing (30/s overall, ~1/s per chat) is lifted to far above the load, for both bots:
with them on, a person pressing 9 buttons in a row is paced at ~1 message/s by design and the
figures would measure the limit, not the bot.

Run:  .venv/bin/python bench/telegram_bench.py [--users 20 200 1000] [--rounds 3] [--runs 1]
                                               [--database sqlite postgresql]
The ratios printed at the end are qabot's throughput over the durable echo's in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fake_telegram import QUERY_TOO_OLD, FakeTelegram, StoredMessage  # noqa: E402

TOKEN = "424242:BENCH-token"
# The python-telegram-bot anchors, in the order they run.
ANCHORS = ("echo", "durable echo", "durable echo, aiohttp")


# --------------------------------------------------------------------------- the bots


def serve_echo() -> None:
    """A bare python-telegram-bot echo bot."""
    from telegram import Update
    from telegram.ext import ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    application = _echo_application("httpx")
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(drop_pending_updates=False, close_loop=False)


def serve_durable_echo(http: str = "httpx") -> None:
    """python-telegram-bot echo that stores each update durably in SQLite before answering;
    `http="aiohttp"`: on the same Bot API client as qabot (bot/telegram/http.py)."""
    import sqlite3

    from telegram import Update
    from telegram.ext import ContextTypes, MessageHandler, filters

    database = sqlite3.connect(
        Path(os.environ["QABOT_DATA_DIR"]) / "durable-echo.sqlite3", isolation_level=None
    )
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute("CREATE TABLE IF NOT EXISTS seen (update_id INTEGER PRIMARY KEY)")
    database.execute(
        "CREATE TABLE IF NOT EXISTS chats (chat_id INTEGER PRIMARY KEY, last_text TEXT)"
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        database.execute("BEGIN IMMEDIATE")
        database.execute("INSERT OR IGNORE INTO seen VALUES (?)", (update.update_id,))
        database.execute(
            "INSERT INTO chats VALUES (?, ?) ON CONFLICT (chat_id) DO UPDATE SET last_text = ?",
            (update.message.chat_id, update.message.text, update.message.text),
        )
        database.execute("COMMIT")
        await update.message.reply_text(update.message.text)

    application = _echo_application(http)
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(drop_pending_updates=False, close_loop=False)


def _echo_application(http: str) -> Any:
    from telegram.ext import Application

    builder = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .base_file_url(os.environ["TELEGRAM_FILE_BASE_URL"])
        .concurrent_updates(True)
    )
    if http == "aiohttp":
        from bot.telegram.http import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connections=1)
        )
    return builder.build()


def serve_qabot() -> None:
    """qabot's Telegram channel and outbox worker, as `qabot run` wires them, pacing lifted."""
    from bot.delivery import Delivery
    from bot.pacing import Limiter
    from bot.runtime import build_runtime, settle_heap
    from bot.settings import Settings
    from bot.telegram import Pacer, TelegramChannel

    async def main() -> None:
        settings = Settings()
        runtime = build_runtime(settings)
        unlimited = Pacer(Limiter(), overall_per_second=100_000, chat_per_second=100_000)
        channel = TelegramChannel(settings, runtime.core, pacer=unlimited)
        delivery = Delivery(runtime.core, [channel])
        channel.after_turn = delivery.wakeup.set
        await channel.start()
        settle_heap()
        try:
            await delivery.run_forever()
        finally:
            await channel.stop()
            await runtime.close()

    asyncio.run(main())


# --------------------------------------------------------------------------- measuring


@dataclass
class Inbox:
    """Every bot message and edit per chat, as they arrive at the fake."""

    arrivals: dict[int, asyncio.Queue[StoredMessage]] = field(
        default_factory=lambda: defaultdict(asyncio.Queue)
    )

    def attach(self, tg: FakeTelegram) -> None:
        store, apply_edit = tg._store, tg._apply_edit

        def stored(chat_id: int, *, from_bot: bool, kind: str, **fields: Any) -> StoredMessage:
            message = store(chat_id, from_bot=from_bot, kind=kind, **fields)
            if from_bot:
                self.arrivals[chat_id].put_nowait(message)
            return message

        def edited(m: StoredMessage, *args: Any) -> Any:
            result = apply_edit(m, *args)
            self.arrivals[m.chat_id].put_nowait(m)
            return result

        tg._store = stored  # type: ignore[method-assign]
        tg._apply_edit = edited  # type: ignore[method-assign,assignment]

    async def next(self, chat_id: int, contains: str = "") -> StoredMessage:
        while True:
            # Generous: 1,000 people at ~100 updates/s queue ~10 s per answer, some longer.
            message = await asyncio.wait_for(self.arrivals[chat_id].get(), 120)
            if contains in (message.text or "") or contains in str(message.reply_markup):
                return message


@dataclass
class Person:
    tg: FakeTelegram
    inbox: Inbox
    user_id: int
    latest: dict[str, int] = field(default_factory=dict)  # callback data -> message id

    def _remember(self, message: StoredMessage) -> None:
        for data in message.callback_data:
            self.latest[data] = message.message_id

    async def text(self, text: str, contains: str = "") -> float:
        started = time.perf_counter()
        self.tg.user_sends_text(self.user_id, text, language_code="en")
        message = await self.inbox.next(self.user_id, contains)
        elapsed = time.perf_counter() - started
        self._remember(message)
        return elapsed

    async def press(self, data: str, contains: str = "") -> float:
        started = time.perf_counter()
        self.tg.user_presses_button(self.user_id, self.latest[data], data)
        message = await self.inbox.next(self.user_id, contains)
        elapsed = time.perf_counter() - started
        self._remember(message)
        return elapsed

    async def drain(self, seconds: float = 0.3) -> None:
        """Take the further answers of the last step (e.g. help after binding)."""
        while True:
            try:
                message = await asyncio.wait_for(self.inbox.arrivals[self.user_id].get(), seconds)
            except TimeoutError:
                return
            self._remember(message)


async def full_report(person: Person) -> list[float]:
    """One report from /report to its reference: the latency of each of the 9 steps."""
    return [
        await person.text("/report", "rp:area:std"),
        await person.press("rp:area:std", "☑"),
        await person.press("rp:area:met", "☑"),
        await person.press("rp:areas", "(2/6)"),
        await person.text("M8 bolts, line 3", "(3/6)"),
        await person.text("Thread pitch out of tolerance since the new die.", "(4/6)"),
        await person.press("rp:files", "(5/6)"),
        await person.press("rp:urg:normal", "(6/6)"),
        await person.press("rp:submit", "QP-"),
    ]


@dataclass
class Result:
    bot: str
    workload: str
    users: int
    operations: int
    seconds: float
    latencies: list[float]
    database: str = ""
    # Button presses taken later than Telegram's 15 s to answer (the spinner ran out).
    late_answers: int = 0

    @property
    def throughput(self) -> float:
        return self.operations / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def run_users(
    bot: str, workload: str, people: list[Person], rounds: int, action: Any
) -> Result:
    latencies: list[float] = []

    async def one(person: Person) -> int:
        done = 0
        for _ in range(rounds):
            latencies.extend(await action(person))
            done += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(one(p) for p in people))
    return Result(bot, workload, len(people), sum(counts), time.perf_counter() - started, latencies)


async def start_bot(kind: str, tg: FakeTelegram, env: dict[str, str]) -> asyncio.subprocess.Process:
    before = len(tg.requests)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        kind,
        env={**os.environ, **env},
        cwd=env.get("QABOT_DATA_DIR", str(ROOT)),
        stdout=asyncio.subprocess.DEVNULL,
    )
    for _ in range(400):
        if any(call.method == "getUpdates" for call in tg.requests[before:]):
            return process
        await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{kind} bot did not start")


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


PG_ADMIN = os.environ.get("QABOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def prepare_database(folder: Path, database: str) -> tuple[str, str]:
    """A migrated database with one officer and one enterprise; the staff binding code."""
    from bot.runtime import build_runtime
    from bot.settings import Settings
    from domain.roles import Role
    from handlers.usecases.people import add_enterprise, add_officer
    from storage.migrate import upgrade_async

    if database == "postgresql":
        name = f"qabot_bench_{os.getpid()}"
        await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await _pg_admin(f"CREATE DATABASE {name}")
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url += f"/{name}"
    else:
        url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    await upgrade_async(url)
    runtime = build_runtime(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
    now = runtime.core.clock.now()
    async with runtime.core.sessions() as session, session.begin():
        officer, _ = await add_officer(session, "王丽", "杭州市", Role.OFFICER, now)
        _, code = await add_enterprise(
            session, "杭州精工机械有限公司", "杭州市", officer.id, None, now
        )
    await runtime.close()
    return url, code


async def one_run(users: int, rounds: int, database: str) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="qabot-bench-") as tmp:
        folder = Path(tmp)
        for kind in ANCHORS + ("qabot",):
            async with FakeTelegram(token=TOKEN, enforce_rate_limits=False) as tg:
                inbox = Inbox()
                inbox.attach(tg)
                env = {
                    "TELEGRAM_BOT_TOKEN": tg.token,
                    "TELEGRAM_API_BASE_URL": tg.base_url,
                    "TELEGRAM_FILE_BASE_URL": tg.base_file_url,
                    "QABOT_DATA_DIR": str(folder),
                }
                people = [Person(tg, inbox, 10_000 + i) for i in range(users)]
                if kind != "qabot":
                    process = await start_bot(kind, tg, env)
                    try:

                        async def echo(person: Person) -> list[float]:
                            return [await person.text("ping 你好 <b>&", "ping")]

                        await run_users(kind, "echo", people, 1, echo)  # warm-up
                        results.append(await run_users(kind, "echo", people, rounds, echo))
                    finally:
                        await stop_bot(process)
                    continue
                url, code = await prepare_database(folder, database)
                env |= {"DATABASE_URL": url, "QABOT_TIMEZONE": "Etc/GMT-13"}
                # Pacing far above the load, as for the anchors (which do not pace).
                env["TELEGRAM_MESSAGES_PER_SECOND"] = "100000"
                env["TELEGRAM_CHAT_MESSAGES_PER_SECOND"] = "100000"
                env["QABOT_REMIND_AT"] = "23:59"  # no daily sweep during the bench
                process = await start_bot(kind, tg, env)
                try:

                    async def bind(person: Person, code: str = code) -> None:  # not measured
                        await person.text(f"/start {code}", "Bound")
                        await person.drain()

                    await asyncio.gather(*(bind(person) for person in people))

                    async def my_reports(person: Person) -> list[float]:
                        return [await person.text("/myreports", "QP-")]

                    # Each person's steps come in order, 9 per report: whole = a sum of 9.
                    per_person: dict[int, list[float]] = defaultdict(list)

                    async def report(
                        person: Person, per_person: dict[int, list[float]] = per_person
                    ) -> list[float]:
                        steps = await full_report(person)
                        per_person[person.user_id].extend(steps)
                        return steps

                    # Warm-up, as for the other workloads: one report each, not measured (the
                    # first pass compiles statements and fills caches; it was half the samples).
                    await run_users(kind, "report steps", people, 1, full_report)
                    steps = await run_users(kind, "report steps", people, rounds, report)
                    whole = [
                        sum(chunk[i : i + 9])
                        for chunk in per_person.values()
                        for i in range(0, len(chunk), 9)
                    ]
                    results.append(
                        Result(
                            kind,
                            "report, whole (9 steps)",
                            users,
                            steps.operations,
                            steps.seconds,
                            whole,
                        )
                    )
                    steps.operations *= 9
                    results.append(steps)
                    await run_users(kind, "myreports", people, 1, my_reports)  # warm-up
                    results.append(await run_users(kind, "myreports", people, rounds, my_reports))
                    # A press answered too late is counted (the run is too slow for its load);
                    # any other refusal is a bug.
                    late = [r for r in tg.rejected if r.description == QUERY_TOO_OLD]
                    assert len(late) == len(tg.rejected), tg.rejected[:3]
                    steps.late_answers = len(late)
                finally:
                    await stop_bot(process)
                if database == "postgresql":
                    await _pg_admin(
                        f"DROP DATABASE IF EXISTS qabot_bench_{os.getpid()} WITH (FORCE)"
                    )
                else:
                    (folder / "bench.sqlite3").unlink()
    for result in results:
        result.database = database
    return results


def table(runs: list[list[Result]]) -> str:
    lines = [
        "| database | people | bot | workload | ops per run | updates/s | p50 (ms) | p99 (ms) "
        "| presses answered too late |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for index, first in enumerate(runs[0]):
        same = [run[index] for run in runs]
        database = first.database if first.bot == "qabot" else "(SQLite)" * (first.bot != "echo")
        lines.append(
            f"| {database} | {first.users} | {first.bot} | {first.workload} | {first.operations} | "
            f"{statistics.median(r.throughput for r in same):.1f} | "
            f"{statistics.median(r.percentile(50) for r in same):.1f} | "
            f"{statistics.median(r.percentile(99) for r in same):.1f} | "
            f"{max(r.late_answers for r in same) if first.workload == 'report steps' else ''} |"
        )
    return "\n".join(lines)


def ratios(runs: list[list[Result]]) -> str:
    """qabot's throughput over the durable echo's, per workload, in the same run."""
    lines = [
        "| database | people | workload | qabot ÷ durable echo | qabot ÷ durable echo, aiohttp "
        "| qabot ÷ bare echo |"
    ]
    lines.append("|---|---:|---|---:|---:|---:|")
    first = runs[0]
    for index, result in enumerate(first):
        if result.bot != "qabot" or "whole" in result.workload:
            continue
        same = [run[index] for run in runs]
        anchors = {
            r.bot: i
            for i, r in enumerate(first)
            if r.bot != "qabot" and (r.users, r.database) == (result.users, result.database)
        }
        mine = statistics.median(r.throughput for r in same)
        shares = [
            mine / statistics.median(run[anchors[anchor]].throughput for run in runs)
            for anchor in ("durable echo", "durable echo, aiohttp", "echo")
        ]
        lines.append(
            f"| {result.database} | {result.users} | {result.workload} | "
            + " | ".join(f"{share:.2f}" for share in shares)
            + " |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[20])
    parser.add_argument("--rounds", type=int, default=3, help="operations per person per run")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--database", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"]
    )
    args = parser.parse_args()
    runs: list[list[Result]] = []
    for number in range(args.runs):
        run: list[Result] = []
        for database in args.database:
            for users in args.users:
                run += await one_run(users, args.rounds, database)
                print(f"run {number + 1}: {database}, {users} people done", file=sys.stderr)
        runs.append(run)
    print(f"medians of {args.runs} runs; {args.rounds} operations per person\n")
    print(table(runs))
    print()
    print(ratios(runs))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        {
            "echo": serve_echo,
            "durable echo": serve_durable_echo,
            "durable echo, aiohttp": partial(serve_durable_echo, "aiohttp"),
            "qabot": serve_qabot,
        }[sys.argv[2]]()
    else:
        asyncio.run(main())
