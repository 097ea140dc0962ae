"""Queue notifications in the recipient's language, and write the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.roles import Party, Role
from handlers.i18n import DEFAULT_LANGUAGE
from handlers.messages import Reply
from storage.models import AuditEntry, Bureau, Person
from storage.outbox import Notification, enqueue


def language_of(person: Person, default: str = DEFAULT_LANGUAGE) -> str:
    return person.language or default


async def notify(
    session: AsyncSession,
    person: Person,
    kind: str,
    dedupe_key: str,
    render: Callable[[str], Reply],
    now: datetime,
    urgent: bool = False,
) -> bool:
    """Queue one message for a person, rendered in their language; once per dedupe key.
    A deactivated person gets nothing."""
    if person.deactivated_at is not None:
        return False
    reply = render(language_of(person))
    return await enqueue(
        session,
        Notification(person.id, kind, f"{person.id}:{dedupe_key}", reply.to_json(), urgent),
        now,
    )


def audit_row(
    now: datetime, action: str, subject_type: str, subject_id: int | None, **detail: Any
) -> dict[str, Any]:
    """An audit entry of the system (actor None) as a row for a bulk insert."""
    return {
        "at": now,
        "actor_id": None,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "detail": detail,
    }


def audit(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    now: datetime,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail,
        )
    )


async def staff_of(session: AsyncSession, enterprise_id: int) -> list[Person]:
    rows = await session.execute(
        select(Person)
        .where(Person.enterprise_id == enterprise_id, Person.role == Role.STAFF)
        .order_by(Person.id)
    )
    return list(rows.scalars())


async def other_side(
    session: AsyncSession, acting: Party | None, enterprise_id: int, officer_id: int | None
) -> list[Person]:
    """Who hears of an action: the officer when the enterprise acted, else the enterprise's
    staff (also when the system acted)."""
    if acting is Party.ENTERPRISE:
        officer = await session.get(Person, officer_id) if officer_id else None
        return [officer] if officer else []
    return await staff_of(session, enterprise_id)


async def supervisors_for(session: AsyncSession, bureau_id: int) -> list[Person]:
    """The city's supervisors, or the province's when the city has none."""
    rows = await session.execute(
        select(Person).where(
            Person.role == Role.SUPERVISOR,
            Person.bureau_id == bureau_id,
            Person.deactivated_at.is_(None),
        )
    )
    found = list(rows.scalars())
    if found:
        return found
    rows = await session.execute(
        select(Person)
        .join(Bureau, Person.bureau_id == Bureau.id)
        .where(
            Person.role == Role.SUPERVISOR,
            Bureau.is_province.is_(True),
            Person.deactivated_at.is_(None),
        )
    )
    return list(rows.scalars())
