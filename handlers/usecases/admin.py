"""Running the programme for a year: list, edit and deactivate officers, reassign enterprises,
read the audit trail. Every change is audited (actor None: the command line)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.commitments import CommitmentStatus
from domain.credit_code import InvalidCreditCode, validate_credit_code
from domain.errors import DomainError, NotFound
from domain.reports import CLOSED_STATUSES
from domain.roles import BUREAU_ROLES, Party, Role
from handlers.i18n import translate as t
from handlers.messages import Button, Reply
from handlers.payloads import ShowAgreement
from handlers.usecases.notify import audit, notify
from handlers.usecases.people import bureau_for, clean_name
from storage.models import (
    AuditEntry,
    BindingCode,
    Bureau,
    ChannelIdentity,
    Commitment,
    Enterprise,
    Person,
    Report,
)


async def _officer(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None or person.role not in BUREAU_ROLES:
        raise NotFound("error.officer_unknown", id=person_id)
    return person


async def _enterprise(session: AsyncSession, enterprise_id: int) -> Enterprise:
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("error.enterprise_unknown", id=enterprise_id)
    return enterprise


async def list_officers(
    session: AsyncSession, city: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """Bureau people with their bureau, state, number of enterprises and bound channels."""
    enterprises = (
        select(func.count(Enterprise.id))
        .where(Enterprise.officer_id == Person.id)
        .correlate(Person)
        .scalar_subquery()
    )
    channels = (
        select(func.count(ChannelIdentity.id))
        .where(ChannelIdentity.person_id == Person.id)
        .correlate(Person)
        .scalar_subquery()
    )
    query = (
        select(Person, Bureau.name, enterprises, channels)
        .join(Bureau, Person.bureau_id == Bureau.id)
        .where(Person.role.in_([r.value for r in BUREAU_ROLES]))
        .order_by(Person.id)
    )
    if city is not None:
        query = query.where(or_(Bureau.city == city, Bureau.name == city))
    if not include_inactive:
        query = query.where(Person.deactivated_at.is_(None))
    return [
        {
            "id": person.id,
            "name": person.name,
            "role": person.role.value,
            "bureau": bureau,
            "active": person.deactivated_at is None,
            "enterprises": int(count or 0),
            "channels": int(bound or 0),
        }
        for person, bureau, count, bound in await session.execute(query)
    ]


async def edit_officer(
    session: AsyncSession,
    person_id: int,
    now: datetime,
    name: str | None = None,
    role: Role | None = None,
    city: str | None = None,
) -> Person:
    """Change a bureau person's name, role or bureau; audit the old and new values."""
    person = await _officer(session, person_id)
    changes: dict[str, Any] = {}
    if name is not None and clean_name(name) != person.name:
        changes["name"] = [person.name, clean_name(name)]
        person.name = clean_name(name)
    if role is not None and role is not person.role:
        if role not in BUREAU_ROLES:
            raise DomainError("error.role_invalid")
        changes["role"] = [person.role.value, role.value]
        person.role = role
    if city is not None:
        bureau = await bureau_for(session, city)
        if bureau.id != person.bureau_id:
            assigned = await _count_enterprises(
                session, person.id, Enterprise.bureau_id != bureau.id
            )
            if assigned and not bureau.is_province:
                raise DomainError("error.officer_has_enterprises", count=assigned)
            changes["bureau_id"] = [person.bureau_id, bureau.id]
            person.bureau_id = bureau.id
    if changes:
        audit(session, None, "person.edit", "person", person.id, now, **changes)
    return person


async def _count_enterprises(
    session: AsyncSession, officer_id: int, *where: ColumnElement[bool]
) -> int:
    return int(
        await session.scalar(
            select(func.count(Enterprise.id)).where(Enterprise.officer_id == officer_id, *where)
        )
        or 0
    )


async def deactivate_officer(session: AsyncSession, person_id: int, now: datetime) -> Person:
    """No more codes, notifications or actions; their enterprises must be reassigned first."""
    person = await _officer(session, person_id)
    assigned = await _count_enterprises(session, person.id)
    if assigned:
        raise DomainError("error.officer_has_enterprises", count=assigned)
    if person.deactivated_at is None:
        person.deactivated_at = now
        revoked = await session.execute(
            update(BindingCode)
            .where(
                BindingCode.person_id == person.id,
                or_(BindingCode.expires_at.is_(None), BindingCode.expires_at > now),
            )
            .values(expires_at=now)
        )
        audit(
            session,
            None,
            "person.deactivate",
            "person",
            person.id,
            now,
            codes_revoked=revoked.rowcount,  # type: ignore[attr-defined]
        )
    return person


async def list_enterprises(
    session: AsyncSession, officer_id: int | None = None, city: str | None = None
) -> list[dict[str, Any]]:
    query = (
        select(Enterprise, Bureau.name, Person.name)
        .join(Bureau, Enterprise.bureau_id == Bureau.id)
        .outerjoin(Person, Enterprise.officer_id == Person.id)
        .order_by(Enterprise.id)
    )
    if officer_id is not None:
        query = query.where(Enterprise.officer_id == officer_id)
    if city is not None:
        query = query.where(or_(Bureau.city == city, Bureau.name == city))
    return [
        {
            "id": enterprise.id,
            "name": enterprise.name,
            "city": city_name,
            "credit_code": enterprise.credit_code,
            "officer_id": enterprise.officer_id,
            "officer": officer_name,
        }
        for enterprise, city_name, officer_name in await session.execute(query)
    ]


async def edit_enterprise(
    session: AsyncSession,
    enterprise_id: int,
    now: datetime,
    name: str | None = None,
    credit_code: str | None = None,
) -> Enterprise:
    enterprise = await _enterprise(session, enterprise_id)
    changes: dict[str, Any] = {}
    if name is not None:
        cleaned = clean_name(name, "error.enterprise_name_invalid")
        if cleaned != enterprise.name:
            changes["name"] = [enterprise.name, cleaned]
            enterprise.name = cleaned
    if credit_code is not None:
        try:
            code = validate_credit_code(credit_code)
        except InvalidCreditCode:
            raise DomainError("error.credit_code_invalid", code=credit_code) from None
        if code != enterprise.credit_code:
            taken = await session.scalar(
                select(Enterprise.id).where(
                    Enterprise.credit_code == code, Enterprise.id != enterprise.id
                )
            )
            if taken is not None:
                raise DomainError("error.credit_code_taken", code=code)
            changes["credit_code"] = [enterprise.credit_code, code]
            enterprise.credit_code = code
    if changes:
        audit(session, None, "enterprise.edit", "enterprise", enterprise.id, now, **changes)
    return enterprise


@dataclass
class Reassigned:
    enterprise_id: int
    enterprise: str
    from_officer: int | None
    commitments: int
    reports: int


async def reassign(
    session: AsyncSession,
    enterprise_ids: list[int],
    officer_id: int,
    now: datetime,
    open_reports: bool = False,
) -> list[Reassigned]:
    """Give enterprises to another officer with their open bureau commitments (and, with
    `open_reports`, the open reports the old officer had taken); the new officer is told."""
    officer = await _officer(session, officer_id)
    if officer.deactivated_at is not None:
        raise DomainError("error.officer_deactivated", id=officer.id)
    officer_bureau = await session.get(Bureau, officer.bureau_id)
    moved: list[Reassigned] = []
    for enterprise_id in enterprise_ids:
        enterprise = await _enterprise(session, enterprise_id)
        if officer_bureau is None or not (
            officer_bureau.is_province or officer_bureau.id == enterprise.bureau_id
        ):
            raise DomainError("error.officer_other_city", city=enterprise.bureau.name)
        previous = enterprise.officer_id
        enterprise.officer_id = officer.id
        commitments = await session.execute(
            update(Commitment)
            .where(
                Commitment.enterprise_id == enterprise.id,
                Commitment.party == Party.BUREAU,
                Commitment.status != CommitmentStatus.CONFIRMED,
            )
            .values(responsible_id=officer.id, version=Commitment.version + 1)
            .execution_options(synchronize_session=False)
        )
        reports = 0
        if open_reports and previous is not None:
            result = await session.execute(
                update(Report)
                .where(
                    Report.enterprise_id == enterprise.id,
                    Report.officer_id == previous,
                    Report.status.not_in([s.value for s in CLOSED_STATUSES]),
                )
                .values(officer_id=officer.id, version=Report.version + 1)
                .execution_options(synchronize_session=False)
            )
            reports = result.rowcount  # type: ignore[attr-defined]
        item = Reassigned(
            enterprise.id,
            enterprise.name,
            previous,
            commitments.rowcount,  # type: ignore[attr-defined]
            reports,
        )
        moved.append(item)
        audit(
            session,
            None,
            "enterprise.reassign",
            "enterprise",
            enterprise.id,
            now,
            from_officer=previous,
            to_officer=officer.id,
            commitments=item.commitments,
            reports=reports,
        )
    if moved:
        open_count = await session.scalar(
            select(func.count(Report.id)).where(
                Report.enterprise_id.in_([m.enterprise_id for m in moved]),
                Report.status.not_in([s.value for s in CLOSED_STATUSES]),
            )
        )
        await notify(
            session,
            officer,
            "reassigned",
            f"reassigned:{now.isoformat()}:{moved[0].enterprise_id}:{len(moved)}",
            lambda lang: _reassigned_notice(lang, moved, int(open_count or 0)),
            now,
        )
    return moved


def _reassigned_notice(lang: str, moved: list[Reassigned], open_reports: int) -> Reply:
    """To the new officer: which enterprises are theirs now, and what is open."""
    names = "、".join(m.enterprise for m in moved[:20])
    return Reply(
        title=t(lang, "reassigned.title", count=len(moved)),
        text=t(
            lang,
            "reassigned.body",
            enterprises=names,
            count=len(moved),
            commitments=sum(m.commitments for m in moved),
            reports=open_reports,
        ),
        buttons=[
            [Button(f"{m.enterprise[:16]}", ShowAgreement(m.enterprise_id).pack())]
            for m in moved[:8]
        ],
    )


# --- the audit trail, readable --------------------------------------------------------------


async def audit_entries(
    session: AsyncSession,
    enterprise_id: int | None = None,
    person_id: int | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Entries oldest first, with the actor's and the subject's names resolved."""
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if enterprise_id is not None:
        query = query.where(
            or_(
                and_(
                    AuditEntry.subject_type == "enterprise", AuditEntry.subject_id == enterprise_id
                ),
                and_(
                    AuditEntry.subject_type == "report",
                    AuditEntry.subject_id.in_(
                        select(Report.id).where(Report.enterprise_id == enterprise_id)
                    ),
                ),
                and_(
                    AuditEntry.subject_type == "commitment",
                    AuditEntry.subject_id.in_(
                        select(Commitment.id).where(Commitment.enterprise_id == enterprise_id)
                    ),
                ),
                and_(
                    AuditEntry.subject_type == "person",
                    AuditEntry.subject_id.in_(
                        select(Person.id).where(Person.enterprise_id == enterprise_id)
                    ),
                ),
            )
        )
    if person_id is not None:
        query = query.where(
            or_(
                AuditEntry.actor_id == person_id,
                and_(AuditEntry.subject_type == "person", AuditEntry.subject_id == person_id),
            )
        )
    # The newest `limit` entries, shown oldest first.
    entries = list(
        reversed(
            list(
                await session.scalars(
                    query.order_by(None)
                    .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                    .limit(limit)
                )
            )
        )
    )
    people_ids = {e.actor_id for e in entries if e.actor_id is not None}
    people_ids |= {e.subject_id for e in entries if e.subject_type == "person" and e.subject_id}
    names = await _names(session, Person, Person.name, people_ids)
    enterprises = await _names(
        session,
        Enterprise,
        Enterprise.name,
        {e.subject_id for e in entries if e.subject_type == "enterprise" and e.subject_id},
    )
    references = await _names(
        session,
        Report,
        Report.reference,
        {e.subject_id for e in entries if e.subject_type == "report" and e.subject_id},
    )
    rows = []
    for entry in entries:
        subject = {"person": names, "enterprise": enterprises, "report": references}.get(
            entry.subject_type, {}
        )
        rows.append(
            {
                "id": entry.id,
                "at": entry.at.isoformat(),
                "actor_id": entry.actor_id,
                "actor": names.get(entry.actor_id) if entry.actor_id else None,
                "action": entry.action,
                "subject_type": entry.subject_type,
                "subject_id": entry.subject_id,
                "subject": subject.get(entry.subject_id) if entry.subject_id else None,
                "detail": entry.detail or {},
            }
        )
    return rows


async def _names(
    session: AsyncSession, model: Any, column: Any, ids: Iterable[int | None]
) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(model.id, column).where(model.id.in_(wanted)))
    return {row_id: name for row_id, name in rows}
