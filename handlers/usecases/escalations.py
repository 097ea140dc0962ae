"""Escalated items as people read them: the sweep's daily batches and the 督办 list (escalated
items still open, in the viewer's scope, oldest first)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import local_date
from domain.commitments import CommitmentStatus
from domain.reminders import EscalatedItem, EscalationKind, oldest_first, overdue_working_days
from domain.reports import ReportStatus
from domain.roles import Actor
from handlers.core import Core
from handlers.usecases.scope import enterprises_covered
from storage.models import Commitment, Enterprise, Person, Report


async def commitment_items(
    session: AsyncSession, core: Core, today: date, *where: Any
) -> list[EscalatedItem]:
    """Commitments matching `where` as escalation items, working days overdue as of `today`."""
    rows = await session.execute(
        select(
            Commitment.id,
            Commitment.text,
            Commitment.party,
            Commitment.due_on,
            Enterprise.id,
            Enterprise.name,
            Enterprise.bureau_id,
            Enterprise.officer_id,
            Person.name,
        )
        .join(Enterprise, Commitment.enterprise_id == Enterprise.id)
        .outerjoin(Person, Enterprise.officer_id == Person.id)
        .where(*where)
    )
    return [
        EscalatedItem(
            EscalationKind.COMMITMENT,
            cid,
            f"#{cid}",
            text,
            eid,
            ename,
            bureau_id,
            officer_id,
            officer_name or "—",
            due_on,
            overdue_working_days(core.calendar, due_on, today),
            party,
            (today - due_on).days,
        )
        for cid, text, party, due_on, eid, ename, bureau_id, officer_id, officer_name in rows
    ]


async def report_items(
    session: AsyncSession, core: Core, today: date, *where: Any
) -> list[EscalatedItem]:
    """Reports matching `where` as escalation items, working days waited as of `today`."""
    rows = await session.execute(
        select(
            Report.id,
            Report.reference,
            Report.product,
            Report.submitted_at,
            Enterprise.id,
            Enterprise.name,
            Enterprise.bureau_id,
            Enterprise.officer_id,
            Person.name,
        )
        .join(Enterprise, Report.enterprise_id == Enterprise.id)
        .outerjoin(Person, Enterprise.officer_id == Person.id)
        .where(*where)
    )
    items = []
    for rid, reference, product, submitted_at, eid, ename, bureau_id, officer_id, oname in rows:
        submitted_on = local_date(submitted_at, core.tz)
        items.append(
            EscalatedItem(
                EscalationKind.REPORT,
                rid,
                reference,
                product,
                eid,
                ename,
                bureau_id,
                officer_id,
                oname or "—",
                submitted_on,
                core.calendar.working_days_between(submitted_on, today),
                days=(today - submitted_on).days,
            )
        )
    return items


async def open_escalations(
    session: AsyncSession, core: Core, actor: Actor, today: date
) -> list[EscalatedItem]:
    """Every escalated commitment still open and escalated report still not accepted."""
    scope = enterprises_covered(actor)
    commitments = await commitment_items(
        session,
        core,
        today,
        scope,
        Commitment.status == CommitmentStatus.OPEN,
        Commitment.escalated_at.is_not(None),
    )
    reports = await report_items(
        session,
        core,
        today,
        scope,
        Report.status == ReportStatus.SUBMITTED,
        Report.response_escalated_at.is_not(None),
    )
    return oldest_first(commitments + reports)
