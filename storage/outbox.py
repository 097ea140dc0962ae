"""The durable outbox: notifications are queued in the transaction that causes them,
then claimed, sent and marked by a delivery worker (see README "Delivery guarantees")."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of, per_dialect, read_only
from storage.models import ChannelIdentity, OutboxMessage

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
# Before revision 0010 a claimed row whose worker vanished was parked here and never sent;
# recovery now re-queues such rows (see `recover_stale_claims`). Old rows keep the status.
UNCERTAIN = "uncertain"
RESENT_AFTER_CRASH = "sent before a crash but never confirmed; sent again (may arrive twice)"
# Never sent because a newer message replaced it (yesterday's digest once today's exists).
SUPERSEDED = "superseded"

MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Notification:
    person_id: int
    kind: str
    dedupe_key: str
    message: dict[str, Any]
    urgent: bool = False


_QUEUED = "outbox.queued"


async def enqueue(session: AsyncSession, note: Notification, now: datetime) -> bool:
    """Queue a notification unless one with the same dedupe key exists; True if queued."""
    return await enqueue_many(session, [note], now) == 1


async def enqueue_many(session: AsyncSession, notes: list[Notification], now: datetime) -> int:
    """Queue many notifications in few statements, skipping known dedupe keys; count queued."""
    if not notes:
        return 0
    rows = [
        dict(
            person_id=note.person_id,
            kind=note.kind,
            dedupe_key=note.dedupe_key,
            message=note.message,
            urgent=note.urgent,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for note in notes
    ]
    # One prebuilt statement, the rows as its parameters: SQLAlchemy sends them in multi-row
    # INSERTs ("insertmanyvalues", up to 1,000 rows each) and compiles the statement once.
    queued = len((await session.execute(_ENQUEUE[dialect_of(session)], rows)).scalars().all())
    if queued:
        session.info[_QUEUED] = True
    return queued


_OUTBOX = cast(Table, OutboxMessage.__table__)
_ENQUEUE = per_dialect(
    lambda insert: insert(_OUTBOX)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(_OUTBOX.c.id)
)


def queued_in(session: AsyncSession) -> bool:
    """Whether this session queued a notification (the turn wakes the delivery worker)."""
    return bool(session.info.get(_QUEUED))


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    urgent_only: bool = False,
    channels: Collection[str] | None = None,
) -> list[OutboxMessage]:
    """Mark up to `limit` due messages as being sent by us, and commit that claim.

    The claim is committed before anything is sent: a second worker (or this one after a
    restart) then never picks the same row, which is what prevents a second copy.
    """
    due = _due(now, urgent_only, channels)
    candidates = select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
    if dialect_of(session) == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await session.execute(candidates)).scalars())
    if not ids:
        await session.commit()
        return []
    # The status guard makes the claim safe even where SKIP LOCKED does not exist.
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING)
        .values(status=SENDING, claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = (
        await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == SENDING)
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
    ).scalars()
    claimed = list(rows)
    await session.commit()
    return claimed


async def any_due(session: AsyncSession, now: datetime, channels: Collection[str]) -> bool:
    """Whether `claim_due` would find anything: a plain read, no write lock (on SQLite a
    claim is a write transaction, which would queue behind the turns for nothing)."""
    await read_only(session)
    found = await session.scalar(
        select(OutboxMessage.id).where(_due(now, False, channels)).limit(1)
    )
    return found is not None


def _due(now: datetime, urgent_only: bool, channels: Collection[str] | None) -> Any:
    due = and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
    if urgent_only:
        due = and_(due, OutboxMessage.urgent.is_(True))
    if channels is not None:
        # Only people reachable on a channel this worker runs; the others' messages wait
        # untouched until they bind or that channel runs.
        reachable = (
            select(ChannelIdentity.id)
            .where(
                ChannelIdentity.person_id == OutboxMessage.person_id,
                ChannelIdentity.channel.in_(list(channels)),
                ChannelIdentity.unreachable_since.is_(None),
            )
            .exists()
        )
        due = and_(due, reachable)
    return due


async def extend_claims(session: AsyncSession, ids: list[int], until: datetime) -> None:
    """Keep the claims of a batch still being sent (rows done meanwhile are left alone)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == SENDING)
        .values(claimed_until=until)
    )


async def mark_started(session: AsyncSession, message_id: int, now: datetime) -> None:
    """Record that the send of a claimed message begins; commit it before sending."""
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(send_started_at=now)
    )


async def mark_sent(session: AsyncSession, message_id: int, channel: str, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=SENT, sent_at=now, channel=channel, claimed_until=None, last_error=None)
    )


async def mark_retry(
    session: AsyncSession, message_id: int, error: str, retry_at: datetime, give_up: bool
) -> None:
    """Put a message back for another try at `retry_at`, or give it up with the reason."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=FAILED if give_up else PENDING,
            next_attempt_at=retry_at,
            claimed_until=None,
            send_started_at=None,
            last_error=error[:1000],
        )
    )


async def defer(session: AsyncSession, message_id: int, until: datetime, reason: str) -> None:
    """Hand a claimed message back untouched, e.g. during quiet hours; not an attempt."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=PENDING,
            next_attempt_at=until,
            claimed_until=None,
            send_started_at=None,
            attempts=OutboxMessage.attempts - 1,
            last_error=reason,
        )
    )


async def recover_stale_claims(session: AsyncSession, now: datetime) -> int:
    """Put rows left `sending` by a worker that died back in the queue; count them.

    A row whose send never started was certainly not sent: it simply goes back, and the
    attempt does not count. A row whose send started may or may not have reached the
    person; it is sent again. A rare second copy is the lesser harm: a new report that
    never reaches its officer is worse than one that reaches them twice.
    """
    stale = and_(
        OutboxMessage.status == SENDING,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )
    never_started = await session.execute(
        update(OutboxMessage)
        .where(stale, OutboxMessage.send_started_at.is_(None))
        .values(
            status=PENDING,
            next_attempt_at=now,
            claimed_until=None,
            attempts=OutboxMessage.attempts - 1,
        )
    )
    started = await session.execute(
        update(OutboxMessage)
        .where(stale, OutboxMessage.send_started_at.is_not(None))
        .values(
            status=PENDING,
            next_attempt_at=now,
            claimed_until=None,
            send_started_at=None,
            last_error=RESENT_AFTER_CRASH,
        )
    )
    return int(getattr(never_started, "rowcount", 0) or 0) + int(
        getattr(started, "rowcount", 0) or 0
    )


async def supersede(session: AsyncSession, kind: str, created_before: datetime, reason: str) -> int:
    """Drop still-pending messages of `kind` queued before an instant; count them."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == kind,
            OutboxMessage.status == PENDING,
            OutboxMessage.created_at < created_before,
        )
        .values(status=SUPERSEDED, last_error=reason[:1000])
    )
    return int(getattr(result, "rowcount", 0) or 0)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff from 1 s, capped at 10 min; a server's retry_after wins if longer."""
    delay = min(600.0, 2.0 ** max(0, attempts - 1))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)
