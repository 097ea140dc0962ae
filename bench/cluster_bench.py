"""Cluster benchmark (issue 11): the same load on one `qabot run` on SQLite, one on PostgreSQL
and two on one PostgreSQL database, in the same run.

Each configuration gets a fresh database, fresh instances (real `qabot run` subprocesses in
webhook mode, as tests/e2e/test_cluster_telegram.py starts them) and a fresh fake Bot API whose
updates a spreader posts to the instances in turn (tests/e2e/cluster_support.py). The people
and workloads are those of bench/telegram_bench.py: the full /report conversation (9 round
trips) and /myreports, every person acting as soon as the previous answer arrives, pacing
lifted far above the load (the figures measure the bot, not Telegram's limits).

Besides throughput and latency, the CPU time the qabot processes and the PostgreSQL server
spent per 100 updates (from /proc): on a shared machine the wall-clock figures move with the
neighbours' load, the CPU per update much less — and it names the bottleneck.

Run:  .venv/bin/python bench/cluster_bench.py [--users 200] [--rounds 1] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.telegram_bench import (  # noqa: E402
    PG_ADMIN,
    TOKEN,
    Inbox,
    Person,
    Result,
    _pg_admin,
    full_report,
    prepare_database,
    run_users,
)
from bot.telegram.channel import SECRET_HEADER, WEBHOOK_PATH  # noqa: E402
from tests.e2e.cluster_support import Instance, Spreader, SpreadingTelegram  # noqa: E402

CONFIGURATIONS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


async def backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving this database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", url.rsplit("/", 1)[1]
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


@dataclass
class Measured:
    result: Result
    qabot_cpu: float  # CPU seconds of the qabot processes per 100 updates
    postgres_cpu: float


async def measured(
    instances: list[Instance], updates_per_operation: int, work: asyncio.Future[Result]
) -> Measured:
    """CPU per 100 updates of the qabot processes and of the database's server processes
    (those serving it at the end; a pooled connection lives through the workload)."""
    url = instances[0].database_url
    pids = [i.process.pid for i in instances if i.process is not None]
    server = {pid: cpu_seconds([pid]) for pid in await backends(url)}
    qabot_before = cpu_seconds(pids)
    result = await work
    qabot = cpu_seconds(pids) - qabot_before
    database = sum(cpu_seconds([pid]) - server.get(pid, 0.0) for pid in await backends(url))
    updates = result.operations * updates_per_operation / 100
    return Measured(result, qabot / updates, database / updates)


async def one_configuration(
    database: str, count: int, users: int, rounds: int, folder: Path
) -> list[Measured]:
    tg = SpreadingTelegram(token=TOKEN, enforce_rate_limits=False)
    async with tg:
        inbox = Inbox()
        inbox.attach(tg)
        url, code = await prepare_database(folder, database)
        instances = []
        for number in range(count):
            workdir = folder / f"instance-{number}"
            workdir.mkdir()
            instances.append(
                Instance(tg, url, workdir, webhook=True, name=f"i{number}", shared=folder)
            )
        headers = {"Content-Type": "application/json", SECRET_HEADER: "s3cret-Token_1"}
        # No redeliveries here: every configuration gets exactly the same updates.
        tg.spreader = spreader = Spreader(list(instances), WEBHOOK_PATH, headers, both_every=0)
        people = [Person(tg, inbox, 10_000 + i) for i in range(users)]
        label = f"{count} × {database}"
        print(f"{label}: {users} people", file=sys.stderr)
        try:
            for instance in instances:
                await instance.start()
            for person in people:  # bind (not measured)
                await person.text(f"/start {code}", "Bound")
                await person.drain()
            reports = await measured(
                instances,
                9,
                asyncio.ensure_future(
                    run_users(label, "report steps", people, rounds, full_report)
                ),
            )
            reports.result.operations *= 9

            async def my_reports(person: Person) -> list[float]:
                return [await person.text("/myreports", "QP-")]

            await run_users(label, "myreports", people, 1, my_reports)  # warm-up
            lists = await measured(
                instances,
                1,
                asyncio.ensure_future(run_users(label, "myreports", people, rounds, my_reports)),
            )
            if tg.rejected:
                refused = Counter(f"{r.method}: {r.description[:60]}" for r in tg.rejected)
                print(f"{label}: requests refused {dict(refused)}", file=sys.stderr)
        finally:
            await spreader.close()
            for instance in instances:
                await instance.stop()
            if database == "postgresql":
                await _pg_admin(f"DROP DATABASE IF EXISTS qabot_bench_{os.getpid()} WITH (FORCE)")
    for item in (reports, lists):
        item.result.database = database
    return [reports, lists]


async def one_run(users: int, rounds: int) -> list[Measured]:
    results: list[Measured] = []
    for database, count in CONFIGURATIONS:
        folder = Path(tempfile.mkdtemp(prefix="qabot-cluster-bench-"))
        try:
            results += await one_configuration(database, count, users, rounds, folder)
        except BaseException:
            print(f"the instances' logs are kept in {folder}", file=sys.stderr)
            raise
        shutil.rmtree(folder)
    return results


def table(runs: list[list[Measured]]) -> str:
    lines = [
        "| instances | workload | updates per run | updates/s | p50 (ms) | p99 (ms) "
        "| qabot CPU s / 100 updates | PostgreSQL CPU s / 100 updates |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for index, first in enumerate(runs[0]):
        same = [run[index] for run in runs]
        database = statistics.median(m.postgres_cpu for m in same)
        lines.append(
            f"| {first.result.bot} | {first.result.workload} | {first.result.operations} | "
            f"{statistics.median(m.result.throughput for m in same):.1f} | "
            f"{statistics.median(m.result.percentile(50) for m in same):.0f} | "
            f"{statistics.median(m.result.percentile(99) for m in same):.0f} | "
            f"{statistics.median(m.qabot_cpu for m in same):.2f} |"
            + (" – |" if first.result.database == "sqlite" else f" {database:.2f} |")
        )
    return "\n".join(lines)


def ratios(runs: list[list[Measured]]) -> str:
    """Throughput of each configuration over one instance on SQLite, per workload."""
    throughput: dict[tuple[str, str], float] = {}
    for index, first in enumerate(runs[0]):
        key = (first.result.bot, first.result.workload)
        throughput[key] = statistics.median(run[index].result.throughput for run in runs)
    base = {w: t for (bot, w), t in throughput.items() if bot == "1 × sqlite"}
    lines = ["| instances | workload | ÷ 1 × SQLite | ÷ 1 × PostgreSQL |", "|---|---|---:|---:|"]
    by_workload: dict[str, dict[str, float]] = defaultdict(dict)
    for (bot, workload), value in throughput.items():
        by_workload[workload][bot] = value
    for workload, bots in by_workload.items():
        for bot, value in bots.items():
            lines.append(
                f"| {bot} | {workload} | {value / base[workload]:.2f} | "
                f"{value / bots['1 × postgresql']:.2f} |"
            )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="operations per person per run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for number in range(args.runs):
        started = time.perf_counter()
        runs.append(await one_run(args.users, args.rounds))
        print(f"run {number + 1} done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"medians of {args.runs} runs; {args.users} people, {args.rounds} operations each\n")
    print(table(runs))
    print()
    print(ratios(runs))


if __name__ == "__main__":
    asyncio.run(main())
