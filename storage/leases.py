"""Leases: a named piece of work that one instance holds at a time, for a while.

Several instances share one database (README "Running several instances"). Work that must not
run twice at once — a chat's turns, which must follow each other in order; the day's reminder
sweep — is taken under a lease: one statement takes it when it is free or expired, or renews it
for its holder. An instance that dies simply stops renewing, and the lease passes to another
once it expires. Both SQLite and PostgreSQL run the same upsert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lease


async def acquire(
    session: AsyncSession, key: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the lease `key` for `holder` until now + ttl, or renew it if `holder` has it;
    False while another holder's lease runs."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    wanted = insert(Lease).values(key=key, holder=holder, expires_at=now + ttl)
    statement = wanted.on_conflict_do_update(
        index_elements=["key"],
        set_={"holder": wanted.excluded.holder, "expires_at": wanted.excluded.expires_at},
        where=or_(Lease.holder == holder, Lease.expires_at <= now),
    ).returning(Lease.key)
    return (await session.execute(statement)).first() is not None


async def renew(
    session: AsyncSession, keys: list[str], holder: str, now: datetime, ttl: timedelta
) -> int:
    """Extend every lease of `keys` that `holder` still has to now + ttl, in one statement;
    return how many it still had."""
    result = await session.execute(
        update(Lease)
        .where(Lease.key.in_(keys), Lease.holder == holder)
        .values(expires_at=now + ttl)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release(session: AsyncSession, key: str, holder: str) -> None:
    """Give the lease up now (only if `holder` still has it)."""
    await session.execute(delete(Lease).where(Lease.key == key, Lease.holder == holder))


async def prune(session: AsyncSession, now: datetime) -> int:
    """Delete expired leases (nobody holds them; a new taker would insert afresh)."""
    result = await session.execute(delete(Lease).where(Lease.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
