"""Consultations (会商会诊): who takes part, and the reminder on the morning of the day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.reports import OPEN_STATUSES
from domain.roles import BUREAU_ROLES, Actor
from handlers.core import Core
from handlers.notices import remind_consultation
from handlers.usecases.reports import load_report
from storage.models import Enterprise, Person, Report

MAX_CANDIDATES = 20


async def candidates(session: AsyncSession, actor: Actor, report_id: int) -> list[Person]:
    """The bureau's people who can be invited: the enterprise's city bureau, bureau side."""
    _, enterprise = await load_report(session, actor, report_id)
    rows = await session.scalars(
        select(Person)
        .where(
            Person.bureau_id == enterprise.bureau_id,
            Person.role.in_([r.value for r in BUREAU_ROLES]),
            Person.id != actor.person_id,
        )
        .order_by(Person.name, Person.id)
        .limit(MAX_CANDIDATES)
    )
    return list(rows)


async def consultation_details(
    session: AsyncSession, actor: Actor, report_id: int, answers: dict[str, Any]
) -> dict[str, Any]:
    """The consultation as stored: only invitable people kept, their names for reading, and
    who was invited before (a reschedule tells them too)."""
    report, _ = await load_report(session, actor, report_id)
    allowed = {p.id: p for p in await candidates(session, actor, report_id)}
    invited = [allowed[i] for i in answers.get("participant_ids", []) if i in allowed]
    names = [p.name for p in invited]
    if answers.get("guests"):
        names.append(str(answers["guests"]))
    previous = (report.consultation or {}).get("participant_ids", [])
    return {
        "when": answers["when"],
        "place": answers["place"],
        "participants": "、".join(names) or "—",
        "participant_ids": [p.id for p in invited],
        "guests": answers.get("guests") or "",
        "previous_ids": [i for i in previous if i not in allowed or allowed[i] not in invited],
    }


async def remind_consultations_of_the_day(core: Core, today: date, now: datetime) -> int:
    """On the morning of a consultation: everyone involved is reminded (participants, the
    officer, the enterprise's staff), once a day each. Returns the reports reminded of."""
    reminded = 0
    async with core.sessions() as session, session.begin():
        rows = await session.execute(
            select(Report, Enterprise)
            .join(Enterprise, Report.enterprise_id == Enterprise.id)
            .where(
                Report.consultation.is_not(None),
                Report.status.in_([s.value for s in OPEN_STATUSES]),
            )
        )
        for report, enterprise in rows:
            when = str((report.consultation or {}).get("when", ""))
            if when[:10] != today.isoformat():
                continue
            await remind_consultation(session, report, enterprise, today, now)
            reminded += 1
    return reminded
