"""Research (专题研究): the team a supervisor names, and the target date in the sweep."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, NotAllowed
from domain.events import ResearchTargetDue, ResearchTeamFormed
from domain.reports import OPEN_STATUSES
from domain.research import TargetState, target_state
from domain.roles import BUREAU_ROLES, SUPERVISING_ROLES, Actor
from handlers.core import Core
from handlers.notices import publish
from handlers.usecases.notify import audit
from handlers.usecases.reports import load_report, record
from storage.models import Enterprise, Person, Report

MAX_CANDIDATES = 20


def under_research(report: Report) -> bool:
    return report.research_escalated_at is not None and report.research_concluded_at is None


async def check_may_form_team(session: AsyncSession, actor: Actor, report_id: int) -> Report:
    """Only a supervisor (or admin) in scope names the team, while the research is open."""
    if actor.role not in SUPERVISING_ROLES:
        raise NotAllowed()
    report, _ = await load_report(session, actor, report_id)
    if not under_research(report):
        raise DomainError("research.not_open")
    return report


async def team_candidates(session: AsyncSession, actor: Actor, report_id: int) -> list[Person]:
    """The bureau's people (of the enterprise's city bureau) who can work on the research."""
    _, enterprise = await load_report(session, actor, report_id)
    rows = await session.scalars(
        select(Person)
        .where(
            Person.bureau_id == enterprise.bureau_id,
            Person.role.in_([r.value for r in BUREAU_ROLES]),
        )
        .order_by(Person.name, Person.id)
        .limit(MAX_CANDIDATES)
    )
    return list(rows)


async def form_team(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    lead_id: int,
    member_ids: list[int],
    now: datetime,
) -> tuple[Report, Person]:
    """Name the lead and the members; they and the enterprise are told."""
    report = await check_may_form_team(session, actor, report_id)
    allowed = {p.id: p for p in await team_candidates(session, actor, report_id)}
    lead = allowed.get(lead_id)
    if lead is None:
        raise NotAllowed("research.not_in_bureau")
    members = [allowed[i] for i in dict.fromkeys(member_ids) if i in allowed and i != lead_id]
    report.research_lead_id = lead.id
    report.research_team = [m.id for m in members]
    event = record(
        session,
        report,
        actor.person_id,
        "research_team",
        now,
        lead_name=lead.name,
        team_names="、".join(m.name for m in members),
        target_on=report.research_target_on.isoformat() if report.research_target_on else None,
    )
    audit(session, actor.person_id, "report.research_team", "report", report.id, now,
          lead_id=lead.id, team=report.research_team)  # fmt: skip
    await session.flush()
    await publish(session, ResearchTeamFormed(report.id, event.id), now)
    return report, lead


def is_member(actor: Actor, report: Report) -> bool:
    """The lead, a team member, or a supervisor (admin) in scope."""
    if actor.role in SUPERVISING_ROLES:
        return True
    return actor.person_id in (report.research_lead_id, *(report.research_team or []))


async def research_target_dates(core: Core, today: date, now: datetime) -> int:
    """The sweep's part: the lead hears of the target date from 3 working days before;
    once it has passed, the supervisors are told (once ever). Returns the messages queued."""
    queued = 0
    async with core.sessions() as session, session.begin():
        rows = await session.execute(
            select(Report, Enterprise)
            .join(Enterprise, Report.enterprise_id == Enterprise.id)
            .where(
                Report.research_escalated_at.is_not(None),
                Report.research_concluded_at.is_(None),
                Report.research_target_on.is_not(None),
                Report.status.in_([s.value for s in OPEN_STATUSES]),
            )
        )
        for report, _ in rows:
            assert report.research_target_on is not None
            state = target_state(core.calendar, report.research_target_on, today)
            if state is None:
                continue
            passed = state is TargetState.PASSED
            if passed:
                if report.research_overdue_escalated_at is not None:
                    continue  # escalated once, never again
                report.research_overdue_escalated_at = now
            await publish(session, ResearchTargetDue(report.id, today.isoformat(), passed), now)
            queued += 1
    return queued
