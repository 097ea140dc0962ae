"""Registers of measuring instruments and certificates: add, renew, list, count overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from domain.errors import DomainError, NotFound
from domain.registers import RegisterKind
from domain.roles import Actor, Role, require_access
from handlers.usecases.notify import audit
from handlers.usecases.scope import enterprises_covered, scope_of
from storage.models import Attachment, Bureau, Certificate, Enterprise, Instrument

MAX_FIELD = 100
MAX_NAME = 200


@dataclass
class RegisterDraft:
    """The fields collected by the registers conversation (or an import row)."""

    kind: RegisterKind
    name: str | None = None
    model: str | None = None
    serial_number: str | None = None
    certificate_number: str | None = None
    body: str | None = None
    verified_on: date | None = None
    valid_until: date | None = None
    cycle_months: int | None = None
    evidence_id: int | None = None

    def missing(self) -> list[str]:
        """Required fields still empty: a name (title) and the last valid day."""
        return [name for name in ("name", "valid_until") if getattr(self, name) is None]


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    return cleaned[:limit] if cleaned else None


async def _own_evidence(session: AsyncSession, actor: Actor, evidence_id: int | None) -> int | None:
    """Only a file this person uploaded can be evidence (ids come from the chat's state)."""
    if evidence_id is None:
        return None
    attachment = await session.get(Attachment, evidence_id)
    if attachment is None or attachment.uploaded_by_id != actor.person_id:
        return None
    return attachment.id


async def add_entry(
    session: AsyncSession,
    actor: Actor | None,
    enterprise_id: int,
    draft: RegisterDraft,
    now: datetime,
) -> Instrument | Certificate:
    """Register an instrument or a certificate; `actor` None is the import (no scope)."""
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound()
    if actor is not None:
        require_access(actor, scope_of(enterprise))
    if draft.missing():
        raise DomainError("registers.incomplete")
    assert draft.name is not None and draft.valid_until is not None
    evidence_id = await _own_evidence(session, actor, draft.evidence_id) if actor else None
    entry: Instrument | Certificate
    if draft.kind is RegisterKind.INSTRUMENT:
        entry = Instrument(
            enterprise_id=enterprise.id,
            name=_text(draft.name, MAX_NAME),
            model=_text(draft.model, MAX_FIELD),
            serial_number=_text(draft.serial_number, MAX_FIELD),
            certificate_number=_text(draft.certificate_number, MAX_FIELD),
            verifying_body=_text(draft.body, MAX_NAME),
            cycle_months=draft.cycle_months,
            verified_on=draft.verified_on,
            valid_until=draft.valid_until,
            evidence_id=evidence_id,
            created_by_id=actor.person_id if actor else None,
            created_at=now,
            updated_at=now,
        )
    else:
        entry = Certificate(
            enterprise_id=enterprise.id,
            title=_text(draft.name, MAX_NAME),
            number=_text(draft.certificate_number, MAX_FIELD),
            issuing_body=_text(draft.body, MAX_NAME),
            expires_on=draft.valid_until,
            evidence_id=evidence_id,
            created_by_id=actor.person_id if actor else None,
            created_at=now,
            updated_at=now,
        )
    session.add(entry)
    await session.flush()
    audit(
        session,
        actor.person_id if actor else None,
        f"{draft.kind.value}.add",
        draft.kind.value,
        entry.id,
        now,
        valid_until=draft.valid_until.isoformat(),
    )
    return entry


async def load_entry(
    session: AsyncSession, actor: Actor, kind: RegisterKind, entry_id: int
) -> tuple[Instrument | Certificate, Enterprise]:
    """One register entry the actor may see; out of scope reads as not found."""
    entry: Instrument | Certificate | None = (
        await session.get(Instrument, entry_id)
        if kind is RegisterKind.INSTRUMENT
        else await session.get(Certificate, entry_id)
    )
    enterprise = await session.get(Enterprise, entry.enterprise_id) if entry else None
    if entry is None or enterprise is None:
        raise NotFound()
    require_access(actor, scope_of(enterprise))
    return entry, enterprise


async def renew_entry(
    session: AsyncSession,
    actor: Actor,
    kind: RegisterKind,
    entry_id: int,
    draft: RegisterDraft,
    now: datetime,
) -> Instrument | Certificate:
    """Record a new verification (or a renewed certificate): new dates, number, evidence;
    the reminders start again for the new validity."""
    entry, _ = await load_entry(session, actor, kind, entry_id)
    if draft.valid_until is None:
        raise DomainError("registers.incomplete")
    evidence_id = await _own_evidence(session, actor, draft.evidence_id)
    if isinstance(entry, Instrument):
        entry.verified_on = draft.verified_on or entry.verified_on
        entry.valid_until = draft.valid_until
        entry.certificate_number = (
            _text(draft.certificate_number, MAX_FIELD) or entry.certificate_number
        )
        entry.verifying_body = _text(draft.body, MAX_NAME) or entry.verifying_body
    else:
        entry.expires_on = draft.valid_until
        entry.number = _text(draft.certificate_number, MAX_FIELD) or entry.number
        entry.issuing_body = _text(draft.body, MAX_NAME) or entry.issuing_body
    entry.evidence_id = evidence_id or entry.evidence_id
    entry.reminded_stage = None
    entry.updated_at = now
    audit(
        session,
        actor.person_id,
        f"{kind.value}.renew",
        kind.value,
        entry.id,
        now,
        valid_until=draft.valid_until.isoformat(),
    )
    return entry


async def entries_of(
    session: AsyncSession, actor: Actor, kind: RegisterKind, enterprise_id: int
) -> list[Instrument] | list[Certificate]:
    """An enterprise's register, the earliest deadline first."""
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound()
    require_access(actor, scope_of(enterprise))
    if kind is RegisterKind.INSTRUMENT:
        return list(
            await session.scalars(
                select(Instrument)
                .where(Instrument.enterprise_id == enterprise_id)
                .order_by(Instrument.valid_until, Instrument.id)
            )
        )
    return list(
        await session.scalars(
            select(Certificate)
            .where(Certificate.enterprise_id == enterprise_id)
            .order_by(Certificate.expires_on, Certificate.id)
        )
    )


@dataclass(frozen=True)
class EnterpriseCount:
    enterprise_id: int
    enterprise_name: str
    total: int
    late: int


async def late_counts(
    session: AsyncSession, actor: Actor, kind: RegisterKind, today: date
) -> list[EnterpriseCount]:
    """Per enterprise in the actor's scope: entries, and how many are overdue/expired."""
    if actor.role is Role.STAFF:
        raise DomainError("error.command_not_for_role", command="")
    model = Instrument if kind is RegisterKind.INSTRUMENT else Certificate
    deadline = Instrument.valid_until if kind is RegisterKind.INSTRUMENT else Certificate.expires_on
    late = func.sum(case((deadline < today, 1), else_=0))
    rows = await session.execute(
        select(Enterprise.id, Enterprise.name, func.count(model.id), late)
        .join(model, model.enterprise_id == Enterprise.id)
        .where(enterprises_covered(actor))
        .group_by(Enterprise.id, Enterprise.name)
        .order_by(late.desc(), Enterprise.name)
    )
    return [
        EnterpriseCount(eid, name, int(total), int(late or 0)) for eid, name, total, late in rows
    ]


@dataclass(frozen=True)
class CityRegisters:
    """One city's registers: instruments and how many are overdue for verification,
    certificates and how many have expired."""

    city: str
    instruments: int = 0
    instruments_overdue: int = 0
    certificates: int = 0
    certificates_expired: int = 0


async def registers_by_city(
    session: AsyncSession, scope: ColumnElement[bool], today: date
) -> list[CityRegisters]:
    """Per city (bureau) of the enterprises matching `scope`, most overdue first."""
    counts: dict[str, dict[str, int]] = {}
    for model, deadline, total_key, late_key in (
        (Instrument, Instrument.valid_until, "instruments", "instruments_overdue"),
        (Certificate, Certificate.expires_on, "certificates", "certificates_expired"),
    ):
        late = func.sum(case((deadline < today, 1), else_=0))
        rows = await session.execute(
            select(Bureau.name, func.count(model.id), late)
            .select_from(model)
            .join(Enterprise, model.enterprise_id == Enterprise.id)
            .join(Bureau, Enterprise.bureau_id == Bureau.id)
            .where(scope)
            .group_by(Bureau.name)
        )
        for city, total, late in rows:
            found = counts.setdefault(city, {})
            found[total_key], found[late_key] = int(total), int(late or 0)
    cities = [CityRegisters(city, **found) for city, found in counts.items()]
    return sorted(
        cities, key=lambda c: (-(c.instruments_overdue + c.certificates_expired), c.city)
    )
