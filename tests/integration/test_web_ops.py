"""/readyz and /metrics for an operator (issue 11), on SQLite and PostgreSQL: ready only on a
reachable database at this code's migrations; queue depths, ages and the sweep's state read at
each scrape, without taking SQLite's write lock."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, time, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.util import CommandError
from sqlalchemy import text

from bot.metrics import Metrics
from bot.web import build_app
from domain.clock import FixedClock
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.reminders import sweep
from storage import inbox, outbox
from storage.migrate import alembic_config, upgrade, upgrade_unless_newer
from tests.conftest import build_world, make_core
from tests.e2e.test_inbox import write_locked
from tests.integration.test_reminders import at

MONDAY = date(2026, 11, 30)


@pytest.fixture
async def client(any_core: Core) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(any_core, [], Metrics(), time(9, 0))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://qabot") as http:
        yield http


def sample(metrics: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = "^" + re.escape(name + (f"{{{wanted}}}" if wanted else "")) + r" (\S+)$"
    found = re.search(pattern, metrics, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_ready_at_head_and_not_one_revision_behind(
    client: httpx.AsyncClient, database_url: str
) -> None:
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready")
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "-1")
    behind = await client.get("/readyz")
    assert (behind.status_code, behind.text) == (503, "migrations not at head")
    assert (await client.get("/healthz")).status_code == 200  # alive all the same


async def test_still_ready_when_a_newer_release_migrated_the_database(
    client: httpx.AsyncClient, any_core: Core
) -> None:
    # Rolling upgrade: `qabot db upgrade` of the next release ran; this instance is not rolled
    # yet and keeps serving on the expanded schema.
    async with any_core.sessions() as session, session.begin():
        await session.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # Nothing listens on port 1.
        ("postgresql+asyncpg://postgres@127.0.0.1:1/qabot", "database unreachable"),
        ("sqlite+aiosqlite:///{tmp}/never-migrated.db", "migrations not at head"),
    ],
)
async def test_not_ready_without_a_database_or_its_schema(
    url: str, reason: str, tmp_path: Path
) -> None:
    core = make_core(url.format(tmp=tmp_path), FixedClock(), tmp_path)
    try:
        transport = httpx.ASGITransport(app=build_app(core, []))
        async with httpx.AsyncClient(transport=transport, base_url="http://qabot") as http:
            answer = await http.get("/readyz")
    finally:
        await core.sessions.kw["bind"].dispose()
    assert (answer.status_code, answer.text) == (503, reason)


async def test_metrics_show_queues_their_ages_and_an_overdue_sweep(
    any_core: Core, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    core = any_core
    await build_world(core)
    clock.instant = at(MONDAY, 9, 0)
    async with core.sessions() as session, session.begin():
        arrival = inbox.Arrival("telegram:1", "telegram", "5", {"update_id": 1})
        await inbox.store(session, [arrival], clock.now())
        note = outbox.Notification(1, "test", "test:1", Reply("hi").to_json())
        await outbox.enqueue(session, note, clock.now())
    clock.advance(timedelta(minutes=40))
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    metrics = scraped.text
    assert sample(metrics, "qabot_inbox_depth", channel="telegram") == 1
    assert sample(metrics, "qabot_inbox_oldest_age_seconds", channel="telegram") == 2400
    assert sample(metrics, "qabot_outbox_depth") == 1
    assert sample(metrics, "qabot_outbox_oldest_age_seconds") == 2400
    # 09:40 on a working day and no sweep yet: due for 40 minutes.
    assert sample(metrics, "qabot_sweep_overdue_seconds") == 2400
    assert sample(metrics, "qabot_sweep_last_run_timestamp_seconds") == 0

    await sweep(core)
    metrics = (await client.get("/metrics")).text
    assert sample(metrics, "qabot_sweep_overdue_seconds") == 0
    assert sample(metrics, "qabot_sweep_last_run_timestamp_seconds") == clock.now().timestamp()


async def test_scrapes_do_not_wait_for_the_write_lock(core: Core, sqlite_url: str) -> None:
    app = build_app(core, [], Metrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://qabot") as http:
        with write_locked(Path(sqlite_url.split("///", 1)[1])):
            # The writers' busy timeout is 30 s; a reader does not queue behind the lock.
            metrics = await asyncio.wait_for(http.get("/metrics"), timeout=3)
            ready = await asyncio.wait_for(http.get("/readyz"), timeout=3)
    assert metrics.status_code == 200 and ready.status_code == 200


async def test_two_apps_in_one_process_count_apart(core: Core) -> None:
    first, second = Metrics(), Metrics()
    first.record_delivery("telegram", "sent")
    text = (await first.exposition(core, time(9, 0))).decode()
    assert sample(text, "qabot_deliveries_total", channel="telegram", result="sent") == 1
    text = (await second.exposition(core, time(9, 0))).decode()
    assert sample(text, "qabot_deliveries_total", channel="telegram", result="sent") is None


def test_an_old_release_restarted_mid_roll_out_runs_on_the_newer_schema(
    sqlite_url: str,
) -> None:
    path = Path(sqlite_url.split("///", 1)[1])
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE alembic_version SET version_num = '9001'")
        db.commit()
    assert upgrade_unless_newer(sqlite_url) is False  # no error: `qabot run` starts
    with pytest.raises(CommandError):
        upgrade(sqlite_url)  # `qabot db upgrade` of the old release refuses
