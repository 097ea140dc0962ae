"""Shared fixtures: migrated databases (SQLite always, PostgreSQL when reachable), a fixed
clock, the conversation core, and demo-like master data."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import WorkingCalendar
from domain.clock import FixedClock
from domain.roles import Party, Role
from handlers.core import Core
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer
from storage.db import create_engine, session_factory
from storage.files import FileStoreKind, build_file_store
from storage.migrate import upgrade

PG_ADMIN_URL = os.environ.get("QABOT_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Monday 2026-11-30 10:00 in Asia/Shanghai: a working day, inside office hours.
MONDAY_10AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


# With parallel workers (pytest-xdist, see pyproject) the tests marked `wallclock` run alone:
# they measure real time, which the other workers' load would stretch. They come first, one
# after another on one worker, holding the turn for themselves; every other test shares it.
# New tests wait at the gate while a `wallclock` one waits for the running ones to finish.
LOCKS = ("gate.lock", "turn.lock")
_alone: list[int] = []  # the gate and the turn, held from the first to the last of them


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if "PYTEST_XDIST_WORKER" in os.environ:
        items.sort(key=lambda item: item.get_closest_marker("wallclock") is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nothing else runs meanwhile
        return (yield)
    folder = Path(item.config._tmp_path_factory.getbasetemp()).parent  # type: ignore[attr-defined]
    if item.get_closest_marker("wallclock") is None:
        with open(folder / LOCKS[0], "a") as gate, open(folder / LOCKS[1], "a") as turn:
            fcntl.flock(gate, fcntl.LOCK_EX)
            fcntl.flock(turn, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
            try:
                return (yield)
            finally:
                fcntl.flock(turn, fcntl.LOCK_UN)
    if not _alone:
        _alone.extend(os.open(folder / name, os.O_RDWR | os.O_CREAT) for name in LOCKS)
        fcntl.flock(_alone[0], fcntl.LOCK_EX)
        fcntl.flock(_alone[1], fcntl.LOCK_EX)
    try:
        return (yield)
    finally:
        if nextitem is None or nextitem.get_closest_marker("wallclock") is None:
            for held in reversed(_alone):
                os.close(held)  # which lets go of its lock
            _alone.clear()


def _pg_reachable() -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(_dsn(PG_ADMIN_URL), timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def go() -> None:
        connection = await asyncpg.connect(_dsn(PG_ADMIN_URL))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; tests get a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as the template of each test's database."""
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}; PostgreSQL variants skipped")
    name = f"qabot_template_{os.getpid()}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name}")
    _pg_admin(f"CREATE DATABASE {name}")
    upgrade(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield name
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def sqlite_copy(template: Path, folder: Path) -> str:
    target = folder / "qabot.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def sqlite_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    return sqlite_copy(migrated_sqlite, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, migrated_sqlite: Path, tmp_path: Path
) -> Iterator[str]:
    """Each storage/outbox test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_copy(migrated_sqlite, tmp_path)
        return
    yield from _pg_database(request.getfixturevalue("pg_template"))


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of its own (skipped when PostgreSQL is unreachable)."""
    yield from _pg_database(pg_template)


def _pg_database(template: str) -> Iterator[str]:
    """A copy of the migrated template for one test, dropped after it."""
    name = f"qabot_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10AM)


def make_core(
    url: str, clock: FixedClock, files: Path, file_store: FileStoreKind = "local"
) -> Core:
    engine = create_engine(url)
    sessions = session_factory(engine)
    return Core(
        sessions=sessions,
        clock=clock,
        tz=ZoneInfo("Asia/Shanghai"),
        files=build_file_store(file_store, files, sessions, clock),
        calendar=WorkingCalendar(),
    )


@pytest.fixture
async def core(sqlite_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Core]:
    core = make_core(sqlite_url, clock, tmp_path / "files")
    yield core
    bind = core.sessions.kw["bind"]
    await bind.dispose()


@pytest.fixture
async def any_core(database_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Core]:
    """The core on SQLite and on PostgreSQL."""
    core = make_core(database_url, clock, tmp_path / "files")
    yield core
    await core.sessions.kw["bind"].dispose()


@dataclass
class World:
    """Master data most tests need: two cities, officers, two enterprises, commitments."""

    province_supervisor: tuple[int, str]
    city_supervisor: tuple[int, str]
    officer: tuple[int, str]
    other_officer: tuple[int, str]
    enterprise: tuple[int, str]
    other_enterprise: tuple[int, str]
    bureau_commitment: int
    enterprise_commitment: int


async def build_world(core: Core) -> World:
    now, today = core.clock.now(), core.today()
    from datetime import timedelta

    async with core.sessions() as session, session.begin():
        province, province_code = await add_officer(
            session, "省局领导", "省局", Role.SUPERVISOR, now
        )
        lead, lead_code = await add_officer(session, "杭州领导", "杭州市", Role.SUPERVISOR, now)
        officer, officer_code = await add_officer(session, "王丽", "杭州市", Role.OFFICER, now)
        other, other_code = await add_officer(session, "李强", "宁波市", Role.OFFICER, now)
        firm, firm_code = await add_enterprise(
            session, "杭州精工机械有限公司", "杭州市", officer.id, None, now
        )
        rival, rival_code = await add_enterprise(
            session, "宁波海曙电器有限公司", "宁波市", other.id, None, now
        )
        bureau_c = await add_commitment(
            session, firm.id, Party.BUREAU, "上门校准量具", today + timedelta(days=2), now
        )
        firm_c = await add_commitment(
            session, firm.id, Party.ENTERPRISE, "建立追溯台账", today - timedelta(days=1), now
        )
        return World(
            (province.id, province_code),
            (lead.id, lead_code),
            (officer.id, officer_code),
            (other.id, other_code),
            (firm.id, firm_code),
            (rival.id, rival_code),
            bureau_c.id,
            firm_c.id,
        )


@pytest.fixture
async def world(core: Core) -> World:
    return await build_world(core)
