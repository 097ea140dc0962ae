"""Profile 1,000 turns through `dispatcher.handle` in-process (issue 10, "a lean turn").

A migrated SQLite (or PostgreSQL) database with one officer, one enterprise with 3 reports and
one bound staff member; then `/myreports` (read-only) or a report step (writes the state)
1,000 times under cProfile. Prints the mean time per turn and the top functions.

Run:  .venv/bin/python bench/profile_turns.py [--turns 1000] [--workload myreports|step]
                                             [--top 25] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.calendar import WorkingCalendar  # noqa: E402
from domain.clock import SystemClock  # noqa: E402
from domain.roles import Role  # noqa: E402
from handlers.core import Core  # noqa: E402
from handlers.dispatcher import handle  # noqa: E402
from handlers.messages import IncomingEvent  # noqa: E402
from handlers.usecases.people import add_enterprise, add_officer, bind  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.files import LocalFileStore  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402


async def prepare(url: str, folder: Path) -> Core:
    await upgrade_async(url)
    engine = create_engine(url)
    core = Core(
        sessions=session_factory(engine),
        clock=SystemClock(),
        tz=ZoneInfo("Asia/Shanghai"),
        files=LocalFileStore(folder / "files"),
        calendar=WorkingCalendar(),
        default_language="en",
    )
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        officer, _ = await add_officer(session, "王丽", "杭州市", Role.OFFICER, now)
        _, code = await add_enterprise(
            session, "杭州精工机械有限公司", "杭州市", officer.id, None, now
        )
        await bind(session, "telegram", "1001", "1001", code, "Zhang", now)
    return core


async def turns(core: Core, count: int, workload: str, first_id: int) -> None:
    for number in range(count):
        key = f"telegram:{first_id + number}"
        if workload == "myreports":
            event = IncomingEvent.from_text(
                "telegram", "1001", "1001", "/myreports", update_key=key
            )
        else:
            # Alternating steps of the report flow: each one changes the saved state.
            text = "/report" if number % 2 == 0 else "/cancel"
            event = IncomingEvent.from_text("telegram", "1001", "1001", text, update_key=key)
        # As the inbox runs its own rows on SQLite: known never to have been taken before.
        handled = await handle(core, event, may_repeat=False)
        assert handled.replies, "every turn answers"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--workload", choices=["myreports", "step"], default="myreports")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qabot-profile-") as tmp:
        folder = Path(tmp)
        url = args.database or f"sqlite+aiosqlite:///{folder / 'profile.sqlite3'}"
        core = await prepare(url, folder)
        await turns(core, 50, args.workload, 1)  # warm-up: caches, statement compilation
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        await turns(core, args.turns, args.workload, 1_000_000)
        profiler.disable()
        elapsed = time.perf_counter() - started
        await core.sessions.kw["bind"].dispose()
    print(f"{args.turns} `{args.workload}` turns: {elapsed * 1000 / args.turns:.2f} ms per turn")
    print("(under cProfile; without it turns are about 2x faster)\n")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    asyncio.run(main())
