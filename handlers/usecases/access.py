"""Who may reach the bot: reissuing and revoking codes, unbinding accounts, removing staff.

The operator's way back when a phone is lost, a code leaks or a person leaves. Every change
is in the audit trail (actor None: the command line).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, NotFound
from domain.roles import BUREAU_ROLES, Role
from handlers.usecases.notify import audit
from handlers.usecases.people import (
    OFFICER_CODE_LIFETIME,
    STAFF_CODE_LIFETIME,
    _issue_code,
    normalise_code,
)
from storage.models import BindingCode, ChannelIdentity, Enterprise, Person


async def _expire_codes(session: AsyncSession, now: datetime, **owner: int) -> None:
    """End every still-valid code of a person or enterprise (a reissue replaces them)."""
    column = BindingCode.person_id if "person_id" in owner else BindingCode.enterprise_id
    await session.execute(
        update(BindingCode)
        .where(
            column == next(iter(owner.values())),
            BindingCode.used_at.is_(None) | BindingCode.reusable.is_(True),
            BindingCode.expires_at.is_(None) | (BindingCode.expires_at > now),
        )
        .values(expires_at=now)
    )


async def reissue_person_code(
    session: AsyncSession, person_id: int, now: datetime
) -> tuple[str, datetime]:
    """A new one-time code for an officer, supervisor or admin; their old codes stop working."""
    person = await session.get(Person, person_id)
    if person is None or person.role not in BUREAU_ROLES:
        raise NotFound("error.officer_unknown", id=person_id)
    await _expire_codes(session, now, person_id=person_id)
    expires_at = now + OFFICER_CODE_LIFETIME
    code = await _issue_code(session, now, person_id=person_id, expires_at=expires_at)
    audit(session, None, "code.reissue", "person", person_id, now)
    return code, expires_at


async def reissue_enterprise_code(
    session: AsyncSession, enterprise_id: int, now: datetime
) -> tuple[str, datetime]:
    """A new staff code for an enterprise; the old one stops working (bound staff stay)."""
    if await session.get(Enterprise, enterprise_id) is None:
        raise NotFound("error.enterprise_unknown", id=enterprise_id)
    await _expire_codes(session, now, enterprise_id=enterprise_id)
    expires_at = now + STAFF_CODE_LIFETIME
    code = await _issue_code(
        session, now, enterprise_id=enterprise_id, reusable=True, expires_at=expires_at
    )
    audit(session, None, "code.reissue", "enterprise", enterprise_id, now)
    return code, expires_at


async def revoke_code(session: AsyncSession, code_text: str, now: datetime) -> BindingCode:
    """Make a code unusable from now on; accounts already bound with it stay bound."""
    code = await session.scalar(
        select(BindingCode).where(BindingCode.code == normalise_code(code_text))
    )
    if code is None:
        raise NotFound("error.code_not_found")
    if code.expires_at is None or code.expires_at > now:
        code.expires_at = now
    subject = ("person", code.person_id) if code.person_id else ("enterprise", code.enterprise_id)
    audit(session, None, "code.revoke", subject[0], subject[1], now, code_id=code.id)
    return code


async def unbind_person(
    session: AsyncSession, person_id: int, channel: str | None, now: datetime
) -> int:
    """Detach the person's chat accounts (all, or one channel's); return how many."""
    if await session.get(Person, person_id) is None:
        raise NotFound("error.person_unknown", id=person_id)
    query = select(ChannelIdentity).where(ChannelIdentity.person_id == person_id)
    if channel:
        query = query.where(ChannelIdentity.channel == channel)
    identities = (await session.scalars(query)).all()
    for identity in identities:
        await session.delete(identity)
    removed = len(identities)
    audit(session, None, "binding.unbind", "person", person_id, now, channel=channel, count=removed)
    return removed


async def list_staff(session: AsyncSession, enterprise_id: int) -> list[dict[str, Any]]:
    """The enterprise's staff with their bound channels, in the order they joined."""
    if await session.get(Enterprise, enterprise_id) is None:
        raise NotFound("error.enterprise_unknown", id=enterprise_id)
    people = (
        await session.scalars(
            select(Person)
            .where(Person.enterprise_id == enterprise_id, Person.role == Role.STAFF)
            .order_by(Person.id)
        )
    ).all()
    identities = (
        await session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.person_id.in_([p.id for p in people]))
        )
    ).all()
    return [
        {
            "id": person.id,
            "name": person.name,
            "joined_at": person.created_at.isoformat(),
            "channels": sorted(i.channel for i in identities if i.person_id == person.id),
        }
        for person in people
    ]


async def remove_staff(session: AsyncSession, person_id: int, now: datetime) -> Person:
    """A staff member who left: unbound everywhere and no longer of the enterprise.

    Their reports and commitments stay (the enterprise's record); they get no more digests.
    """
    person = await session.get(Person, person_id)
    if person is None or person.role is not Role.STAFF:
        raise DomainError("error.not_staff", id=person_id)
    enterprise_id = person.enterprise_id
    await session.execute(delete(ChannelIdentity).where(ChannelIdentity.person_id == person_id))
    person.enterprise_id = None
    audit(session, None, "staff.remove", "person", person_id, now, enterprise_id=enterprise_id)
    return person
