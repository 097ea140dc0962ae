"""The inbox: every incoming update is stored here before it is confirmed to the platform,
then taken per chat in arrival order (README "Telegram", "One turn").

Dedupe is the unique `key` (the platform's update id): a redelivered update is stored once.
A crash after `store` loses nothing: the rows still without `done_at` are handled at start-up.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of, insert_for, per_dialect
from storage.models import ConversationState, InboxUpdate, Lease, ProcessedUpdate

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


@dataclass(frozen=True, slots=True)
class Stored:
    """An update waiting in the inbox, as the worker hands it to its channel."""

    id: int
    key: str
    chat_id: str
    body: dict[str, Any]


# Hot statements run on the tables, not the mapped classes: no ORM bulk machinery per update.
_INBOX = cast(Table, InboxUpdate.__table__)


async def store(session: AsyncSession, arrivals: list[Arrival], now: datetime) -> list[Stored]:
    """Store a batch in one statement, skipping keys already stored; return the new rows,
    oldest first."""
    if not arrivals:
        return []
    rows = [
        dict(key=a.key, channel=a.channel, chat_id=a.chat_id, body=a.body, received_at=now)
        for a in arrivals
    ]
    # Rows as parameters of one prebuilt statement: SQLAlchemy sends them as one multi-row
    # INSERT ("insertmanyvalues") but compiles it once, not once per batch.
    new = sorted((await session.execute(_STORE[dialect_of(session)], rows)).all())
    by_key = {a.key: a for a in arrivals}
    return [Stored(id, key, by_key[key].chat_id, by_key[key].body) for id, key in new]


_STORE = per_dialect(
    lambda insert: insert(_INBOX)
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(_INBOX.c.id, _INBOX.c.key)
)


async def first_time(session: AsyncSession, update_key: str, now: datetime) -> bool:
    """Record an update id as handled in this transaction; False if it was handled before.
    One statement, no look-up first; a concurrent turn with the same id waits for ours."""
    statement = (
        insert_for(session)(ProcessedUpdate)
        .values(key=update_key, processed_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ProcessedUpdate.key)
    )
    return (await session.execute(statement)).first() is not None


async def handled_once(
    session: AsyncSession, update_key: str, now: datetime, replies: list[dict[str, Any]]
) -> None:
    """Record a turn that cannot have run before, with its replies, in one INSERT (instead of
    `first_time` then `keep_replies`); a row already there raises IntegrityError."""
    await session.execute(
        _HANDLED_ONCE, {"key": update_key, "processed_at": now, "replies": replies or None}
    )


# Built once, on the table rather than the mapped class (no ORM bulk machinery): every turn.
_HANDLED_ONCE = insert(cast(Table, ProcessedUpdate.__table__))


async def keep_replies(
    session: AsyncSession, update_key: str, replies: list[dict[str, Any]]
) -> None:
    """Keep a turn's replies (Reply.to_json each) with its update id, in the turn's
    transaction: if they are never sent, the update is taken again and these are sent."""
    await session.execute(
        update(ProcessedUpdate).where(ProcessedUpdate.key == update_key).values(replies=replies)
    )


async def kept_replies(session: AsyncSession, update_key: str) -> list[dict[str, Any]]:
    """The replies kept by the turn that handled `update_key` (none for a turn without)."""
    kept = await session.scalar(
        select(ProcessedUpdate.replies).where(ProcessedUpdate.key == update_key)
    )
    return list(kept or [])


async def pending(session: AsyncSession, channel: str, after_id: int, limit: int) -> list[Stored]:
    """Unhandled updates of a channel newer than `after_id`, oldest first."""
    params = {"channel": channel, "after_id": after_id, "limit": limit}
    return [Stored(*row) for row in await session.execute(_PENDING, params)]


# Read as plain rows, not mapped objects: half the cost of a look at the inbox (each batch).
_STORED = select(_INBOX.c.id, _INBOX.c.key, _INBOX.c.chat_id, _INBOX.c.body).where(
    _INBOX.c.done_at.is_(None), _INBOX.c.channel == bindparam("channel")
)
_PENDING = (
    _STORED.where(_INBOX.c.id > bindparam("after_id"))
    .order_by(_INBOX.c.id)
    .limit(bindparam("limit"))
)
_WAITING = _STORED.where(_INBOX.c.chat_id == bindparam("chat_id")).order_by(_INBOX.c.id)


def chat_lease(channel: str, chat_id: str) -> str:
    """The lease an instance holds while it runs a chat's turns (storage/leases.py)."""
    return f"chat:{channel}:{chat_id}"


async def waiting_chats(
    session: AsyncSession, channel: str, holder: str, now: datetime, limit: int
) -> list[str]:
    """Chats of a channel with unhandled updates whose lease no other instance holds now,
    the longest waiting first."""
    params = {
        "channel": channel,
        "lease_prefix": chat_lease(channel, ""),
        "holder": holder,
        "now": now,
        "limit": limit,
    }
    return list(await session.scalars(_WAITING_CHATS, params))


_HELD_BY_ANOTHER = exists().where(
    Lease.key == bindparam("lease_prefix", type_=String) + _INBOX.c.chat_id,
    Lease.holder != bindparam("holder"),
    Lease.expires_at > bindparam("now"),
)
_WAITING_CHATS = (
    select(_INBOX.c.chat_id)
    .where(
        _INBOX.c.done_at.is_(None),
        _INBOX.c.channel == bindparam("channel"),
        ~_HELD_BY_ANOTHER,
    )
    .group_by(_INBOX.c.chat_id)
    .order_by(func.min(_INBOX.c.id))
    .limit(bindparam("limit"))
)


async def waiting(session: AsyncSession, channel: str, chat_id: str) -> list[Stored]:
    """One chat's unhandled updates, oldest first."""
    params = {"channel": channel, "chat_id": chat_id}
    return [Stored(*row) for row in await session.execute(_WAITING, params)]


async def mark_done(session: AsyncSession, ids: Collection[int], now: datetime) -> None:
    await session.execute(_MARK_DONE, {"ids": list(ids), "done_at": now})


_MARK_DONE = (
    update(_INBOX)
    .where(_INBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(done_at=bindparam("done_at"))
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
