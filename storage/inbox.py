"""The inbox: every incoming update is stored here before it is confirmed to the platform,
then taken per chat in arrival order (README "Telegram", "One turn").

Dedupe is the unique `key` (the platform's update id): a redelivered update is stored once.
A crash after `store` loses nothing: the rows still without `done_at` are handled at start-up.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState, InboxUpdate, ProcessedUpdate

# Kept after handling: Telegram keeps an unconfirmed update for 24 hours and WeCom retries
# within seconds, so a week covers every redelivery with room to spare.
KEEP_HANDLED = timedelta(days=7)
# A chat with no flow in progress and no language of its own holds nothing worth keeping.
KEEP_IDLE_STATES = timedelta(days=30)


@dataclass(frozen=True)
class Arrival:
    """One update as received: its platform-unique key, its chat and its raw body."""

    key: str
    channel: str
    chat_id: str
    body: dict[str, Any]


async def store(session: AsyncSession, arrivals: list[Arrival], now: datetime) -> int:
    """Store a batch in one statement, skipping keys already stored; return how many are new."""
    if not arrivals:
        return 0
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        dict(key=a.key, channel=a.channel, chat_id=a.chat_id, body=a.body, received_at=now)
        for a in arrivals
    ]
    statement = (
        insert(InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(InboxUpdate.id)
    )
    return len((await session.execute(statement)).scalars().all())


async def first_time(session: AsyncSession, update_key: str, now: datetime) -> bool:
    """Record an update id as handled in this transaction; False if it was handled before.
    One statement, no look-up first; a concurrent turn with the same id waits for ours."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedUpdate)
        .values(key=update_key, processed_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ProcessedUpdate.key)
    )
    return (await session.execute(statement)).first() is not None


async def pending(
    session: AsyncSession, channel: str, after_id: int, limit: int
) -> list[InboxUpdate]:
    """Unhandled updates of a channel newer than `after_id`, oldest first."""
    rows = await session.scalars(
        select(InboxUpdate)
        .where(
            InboxUpdate.done_at.is_(None),
            InboxUpdate.id > after_id,
            InboxUpdate.channel == channel,
        )
        .order_by(InboxUpdate.id)
        .limit(limit)
    )
    return list(rows)


async def mark_done(session: AsyncSession, ids: Collection[int], now: datetime) -> None:
    await session.execute(
        update(InboxUpdate).where(InboxUpdate.id.in_(list(ids))).values(done_at=now)
    )


@dataclass
class Pruned:
    inbox: int = 0
    processed_updates: int = 0
    conversation_states: int = 0


async def prune(session: AsyncSession, now: datetime) -> Pruned:
    """Delete what nothing needs any more, so these tables do not grow forever."""
    handled_before = now - KEEP_HANDLED
    inbox = await session.execute(delete(InboxUpdate).where(InboxUpdate.done_at < handled_before))
    processed = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < handled_before)
    )
    states = await session.execute(
        delete(ConversationState).where(
            ConversationState.updated_at < now - KEEP_IDLE_STATES,
            ConversationState.flow.is_(None),
            ConversationState.language.is_(None),
        )
    )
    return Pruned(
        inbox=inbox.rowcount or 0,  # type: ignore[attr-defined]
        processed_updates=processed.rowcount or 0,  # type: ignore[attr-defined]
        conversation_states=states.rowcount or 0,  # type: ignore[attr-defined]
    )
