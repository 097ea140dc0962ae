"""The registers' part of the reminder sweep: each threshold reminded exactly once.

Instruments: due within 30 days, and overdue. Certificates: 90, 30 and 7 days before expiry,
and expired. One message per enterprise contact per day lists the entries that reached a new
threshold; overdue and expired entries also go to the enterprise's officer. The threshold
sent is kept on the entry (`reminded_stage`), so the next sweep does not repeat it, and a
renewal starts the thresholds again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.registers import (
    CERTIFICATE_THRESHOLDS,
    INSTRUMENT_DUE_SOON_DAYS,
    RegisterKind,
    certificate_stage,
    instrument_stage,
    is_late,
    stage_to_remind,
)
from handlers import register_views
from handlers.core import Core
from handlers.usecases.notify import notify, staff_of
from storage.models import Certificate, Enterprise, Instrument, Person


@dataclass(frozen=True)
class RegisterItem:
    """One entry that reached a reminder threshold today."""

    kind: RegisterKind
    entry_id: int
    enterprise_id: int
    enterprise_name: str
    name: str
    serial_number: str | None
    deadline: date
    stage: str


async def sweep_registers(core: Core, today: date, now: datetime) -> int:
    """Queue today's register reminders; returns how many messages were queued."""
    async with core.sessions() as session, session.begin():
        items = await _instruments_reaching(session, today) + await _certificates_reaching(
            session, today
        )
        return await _queue(session, items, today, now)


async def _instruments_reaching(session: AsyncSession, today: date) -> list[RegisterItem]:
    rows = await session.execute(
        select(Instrument, Enterprise.name)
        .join(Enterprise, Instrument.enterprise_id == Enterprise.id)
        .where(
            Instrument.valid_until <= today + timedelta(days=INSTRUMENT_DUE_SOON_DAYS),
            or_(Instrument.reminded_stage.is_(None), Instrument.reminded_stage != "overdue"),
        )
        .with_for_update(of=Instrument)
    )
    found = []
    for instrument, enterprise_name in rows:
        stage = stage_to_remind(
            instrument_stage(instrument.valid_until, today), instrument.reminded_stage
        )
        if stage is None:
            continue
        instrument.reminded_stage = stage
        found.append(
            RegisterItem(
                RegisterKind.INSTRUMENT,
                instrument.id,
                instrument.enterprise_id,
                enterprise_name,
                instrument.name,
                instrument.serial_number,
                instrument.valid_until,
                stage,
            )
        )
    return found


async def _certificates_reaching(session: AsyncSession, today: date) -> list[RegisterItem]:
    rows = await session.execute(
        select(Certificate, Enterprise.name)
        .join(Enterprise, Certificate.enterprise_id == Enterprise.id)
        .where(
            Certificate.expires_on <= today + timedelta(days=max(CERTIFICATE_THRESHOLDS)),
            or_(Certificate.reminded_stage.is_(None), Certificate.reminded_stage != "expired"),
        )
        .with_for_update(of=Certificate)
    )
    found = []
    for certificate, enterprise_name in rows:
        stage = stage_to_remind(
            certificate_stage(certificate.expires_on, today), certificate.reminded_stage
        )
        if stage is None:
            continue
        certificate.reminded_stage = stage
        found.append(
            RegisterItem(
                RegisterKind.CERTIFICATE,
                certificate.id,
                certificate.enterprise_id,
                enterprise_name,
                certificate.title,
                certificate.number,
                certificate.expires_on,
                stage,
            )
        )
    return found


async def _queue(
    session: AsyncSession, items: list[RegisterItem], today: date, now: datetime
) -> int:
    by_enterprise: dict[int, list[RegisterItem]] = defaultdict(list)
    for item in items:
        by_enterprise[item.enterprise_id].append(item)
    late_by_officer: dict[int, list[RegisterItem]] = defaultdict(list)
    queued = 0
    for enterprise_id, enterprise_items in by_enterprise.items():
        enterprise_items.sort(key=lambda item: item.deadline)
        for person in await staff_of(session, enterprise_id):
            queued += await notify(
                session,
                person,
                "register",
                f"register:{today.isoformat()}",
                lambda lang, shown=enterprise_items: register_views.register_reminder(  # type: ignore[misc]
                    lang, shown, today, for_officer=False
                ),
                now,
            )
        enterprise = await session.get(Enterprise, enterprise_id)
        late = [item for item in enterprise_items if is_late(item.stage)]
        if enterprise is not None and enterprise.officer_id is not None and late:
            late_by_officer[enterprise.officer_id].extend(late)
    for officer_id, late in late_by_officer.items():
        officer = await session.get(Person, officer_id)
        if officer is None:
            continue
        queued += await notify(
            session,
            officer,
            "register",
            f"register:{today.isoformat()}",
            lambda lang, shown=late: register_views.register_reminder(  # type: ignore[misc]
                lang, shown, today, for_officer=True
            ),
            now,
        )
    return queued
