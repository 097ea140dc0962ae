"""Storage contract, run on SQLite and on PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import func, select

from domain.clock import FixedClock
from domain.roles import Actor, Role
from handlers.core import Core
from handlers.usecases.people import bind
from handlers.usecases.reports import ReportDraft, next_reference, submit_report
from storage import outbox
from storage.migrate import alembic_config
from storage.models import OutboxMessage, Report
from tests.conftest import build_world


async def test_migrations_match_the_models(database_url: str) -> None:
    # The fixture upgraded an empty database to head; the models need nothing more.
    await asyncio.to_thread(command.check, alembic_config(database_url))


async def test_references_are_unique_under_concurrency(any_core: Core) -> None:
    async def take() -> str:
        async with any_core.sessions() as session, session.begin():
            return (await next_reference(session, 2026))[1]

    references = await asyncio.gather(*(take() for _ in range(20)))
    assert sorted(references) == [f"QP-2026-{n:04d}" for n in range(1, 21)]
    async with any_core.sessions() as session, session.begin():
        assert (await next_reference(session, 2027))[1] == "QP-2027-0001"


async def test_notification_is_written_with_the_report_or_not_at_all(any_core: Core) -> None:
    world = await build_world(any_core)
    draft = ReportDraft(areas=["std"], product="M8", description="尺寸超差")
    async with any_core.sessions() as session, session.begin():
        person = await bind(
            session, "test", "u", "u", world.enterprise[1], "张三", any_core.clock.now()
        )
    actor = Actor(person_id=person.id, role=Role.STAFF, enterprise_id=world.enterprise[0])
    with pytest.raises(RuntimeError):
        async with any_core.sessions() as session, session.begin():
            await submit_report(session, actor, draft, 2026, any_core.clock.now())
            raise RuntimeError("crash before commit")
    async with any_core.sessions() as session:
        assert await session.scalar(select(func.count(Report.id))) == 0
        assert await session.scalar(select(func.count(OutboxMessage.id))) == 0
    async with any_core.sessions() as session, session.begin():
        await submit_report(session, actor, draft, 2026, any_core.clock.now())
    async with any_core.sessions() as session:
        assert await session.scalar(select(func.count(Report.id))) == 1
        assert await session.scalar(select(func.count(OutboxMessage.id))) == 1


async def test_outbox_dedupe_and_exclusive_claims(any_core: Core) -> None:
    world = await build_world(any_core)
    clock = any_core.clock
    assert isinstance(clock, FixedClock)
    note = outbox.Notification(world.officer[0], "digest", "digest:2026-11-30", {"text": "hi"})
    async with any_core.sessions() as session, session.begin():
        assert await outbox.enqueue(session, note, clock.now())
        assert not await outbox.enqueue(session, note, clock.now())
        for n in range(9):
            await outbox.enqueue(
                session,
                outbox.Notification(world.officer[0], "x", f"x:{n}", {"text": str(n)}),
                clock.now(),
            )

    async def claim() -> list[int]:
        async with any_core.sessions() as session:
            rows = await outbox.claim_due(session, clock.now(), 6, timedelta(minutes=5))
            return [row.id for row in rows]

    first, second = await asyncio.gather(claim(), claim())
    assert not set(first) & set(second)
    assert len(first) + len(second) == 10
    # A worker that died before sending: its claims go back to the queue, once.
    clock.advance(timedelta(minutes=6))
    async with any_core.sessions() as session, session.begin():
        assert await outbox.recover_stale_claims(session, clock.now()) == 10
        assert await outbox.recover_stale_claims(session, clock.now()) == 0
    async with any_core.sessions() as session:
        again = await outbox.claim_due(session, clock.now(), 50, timedelta(minutes=5))
    assert len(again) == 10 and {row.attempts for row in again} == {1}
