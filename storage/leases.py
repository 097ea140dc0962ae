"""Leases: a named piece of work that one instance holds at a time, for a while.

Several instances share one database (README "Running several instances"). Work that must not
run twice at once — a chat's turns, which must follow each other in order; the day's reminder
sweep — is taken under a lease: one statement takes it when it is free or expired, or renews it
for its holder. An instance that dies simply stops renewing, and the lease passes to another
once it expires. Both SQLite and PostgreSQL run the same upsert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_of, per_dialect
from storage.models import Lease


async def acquire(
    session: AsyncSession, key: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the lease `key` for `holder` until now + ttl, or renew it if `holder` has it;
    False while another holder's lease runs."""
    params = {"key": key, "holder": holder, "expires_at": now + ttl, "now": now}
    return (await session.execute(_ACQUIRE[dialect_of(session)], params)).first() is not None


def _acquire(insert: Any) -> Any:
    wanted = insert(_LEASES).values(
        key=bindparam("key"), holder=bindparam("holder"), expires_at=bindparam("expires_at")
    )
    return wanted.on_conflict_do_update(
        index_elements=["key"],
        set_={"holder": wanted.excluded.holder, "expires_at": wanted.excluded.expires_at},
        where=or_(
            _LEASES.c.holder == bindparam("holder"), _LEASES.c.expires_at <= bindparam("now")
        ),
    ).returning(_LEASES.c.key)


# Built once, on the table: with several instances every chat's turns take and give up a lease.
_LEASES = cast(Table, Lease.__table__)
_ACQUIRE = per_dialect(_acquire)
_RELEASE = delete(_LEASES).where(
    _LEASES.c.key == bindparam("key"), _LEASES.c.holder == bindparam("holder")
)


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
    await session.execute(_RELEASE, {"key": key, "holder": holder})


async def prune(session: AsyncSession, now: datetime) -> int:
    """Delete expired leases (nobody holds them; a new taker would insert afresh)."""
    result = await session.execute(delete(Lease).where(Lease.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
