"""A report's thread: information added, questions and answers, internal notes, transfer."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import local_day_bounds
from domain.errors import DomainError, NotAllowed
from domain.events import ReportTransferred, ThreadPosted
from domain.reports import (
    OPEN_STATUSES,
    ReportStatus,
    ThreadAction,
    check_handles,
    check_thread_action,
)
from domain.roles import Actor, Role
from handlers.core import Core
from handlers.notices import publish, remind_question
from handlers.usecases import research
from handlers.usecases.notify import audit
from handlers.usecases.reports import claim_files, load_report, record, timeline
from storage.models import Attachment, Enterprise, Person, Report, ReportEvent

MAX_FILES = 10


async def check_may_post(
    session: AsyncSession, actor: Actor, report_id: int, action: ThreadAction
) -> Report:
    """Refuse early (before asking for the text) what would be refused at the end."""
    report, _ = await load_report(session, actor, report_id)
    check_thread_action(actor, report.status, action)
    if action in (ThreadAction.ASK, ThreadAction.TRANSFER):
        check_handles(actor, report.officer_id)
    if action is ThreadAction.ANSWER and not await has_pending_question(session, report.id):
        raise DomainError("thread.no_question")
    if action in (ThreadAction.PROGRESS, ThreadAction.RESEARCH_CONCLUSION):
        if report.research_lead_id is None or report.research_concluded_at is not None:
            raise DomainError("research.not_open")
        if not research.is_member(actor, report):
            raise NotAllowed()
    return report


async def has_pending_question(session: AsyncSession, report_id: int) -> bool:
    pending = False
    for event, _ in await timeline(session, report_id):
        if event.kind == ThreadAction.ASK.value:
            pending = True
        elif event.kind == ThreadAction.ANSWER.value:
            pending = False
    return pending


async def post(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    action: ThreadAction,
    text: str | None,
    attachment_ids: list[int],
    now: datetime,
) -> tuple[Report, ReportEvent]:
    """Add an entry to the thread (with the person's own new files) and tell the other side."""
    if action is ThreadAction.TRANSFER:
        raise NotAllowed()
    report = await check_may_post(session, actor, report_id, action)
    files = await claim_files(session, actor, report, attachment_ids) if attachment_ids else []
    if not text and not files:
        raise DomainError("input.empty")
    detail: dict[str, object] = {"text": text} if text else {}
    if files:
        detail["files"] = files
    if action is ThreadAction.RESEARCH_CONCLUSION:
        # The research is over: the report is its officer's again (and may be escalated anew).
        report.research_concluded_at = now
    event = record(session, report, actor.person_id, action.value, now, **detail)
    audit(session, actor.person_id, f"report.{action.value}", "report", report.id, now)
    await session.flush()
    await publish(session, ThreadPosted(report.id, event.id, action, actor.party), now)
    return report, event


async def colleagues(session: AsyncSession, actor: Actor, report: Report) -> list[Person]:
    """Whom the report may be handed to: officers of the actor's bureau; a supervisor may
    pick any officer in their scope (the province's supervisors: any officer)."""
    query = select(Person).where(Person.role == Role.OFFICER)
    if actor.role is Role.OFFICER or (
        actor.role is Role.SUPERVISOR and not actor.bureau_is_province
    ):
        query = query.where(Person.bureau_id == actor.bureau_id)
    if report.officer_id is not None:
        query = query.where(Person.id != report.officer_id)
    rows = await session.scalars(query.order_by(Person.name, Person.id).limit(30))
    return list(rows)


async def colleague_of(
    session: AsyncSession, actor: Actor, report: Report, officer_id: int
) -> Person:
    """The chosen colleague, if the report may be handed to them."""
    allowed = {p.id: p for p in await colleagues(session, actor, report)}
    colleague = allowed.get(officer_id)
    if colleague is None:
        raise NotAllowed("thread.transfer_not_colleague")
    return colleague


async def transfer(
    session: AsyncSession,
    actor: Actor,
    report_id: int,
    to_officer_id: int,
    whole_assignment: bool,
    message: str | None,
    now: datetime,
) -> tuple[Report, Person]:
    """Hand the report (or the enterprise's whole assignment) to a colleague; all are told."""
    report = await check_may_post(session, actor, report_id, ThreadAction.TRANSFER)
    colleague = await colleague_of(session, actor, report, to_officer_id)
    former = report.officer_id
    report.officer_id = colleague.id
    if whole_assignment:
        enterprise = await session.get(Enterprise, report.enterprise_id)
        assert enterprise is not None
        enterprise.officer_id = colleague.id
        # The enterprise's other open reports with the same officer move along.
        others = await session.scalars(
            select(Report).where(
                Report.enterprise_id == enterprise.id,
                Report.officer_id == former,
                Report.closed_at.is_(None),
            )
        )
        for other in others:
            other.officer_id = colleague.id
    detail: dict[str, object] = {
        "officer_name": colleague.name,
        "to_officer_id": colleague.id,
        "from_officer_id": former,
        "whole": whole_assignment,
    }
    if message:
        detail["message"] = message
    event = record(session, report, actor.person_id, ThreadAction.TRANSFER.value, now, **detail)
    audit(session, actor.person_id, "report.transfer", "report", report.id, now, **detail)
    await session.flush()
    await publish(
        session,
        ReportTransferred(report.id, event.id, former, colleague.id, whole_assignment),
        now,
    )
    return report, colleague


async def contacts(session: AsyncSession, report: Report) -> dict[str, Person | None]:
    """The reporting staff member and the handling officer, for the report's page."""
    reporter = await session.get(Person, report.reporter_id)
    officer = await session.get(Person, report.officer_id) if report.officer_id else None
    return {"reporter": reporter, "officer": officer}


async def report_files(session: AsyncSession, report_id: int) -> list[Attachment]:
    rows = await session.scalars(
        select(Attachment).where(Attachment.report_id == report_id).order_by(Attachment.id)
    )
    return list(rows)


async def open_reports_of(session: AsyncSession, actor: Actor) -> list[Report]:
    """The enterprise's reports still open to additions, newest first."""
    rows = await session.scalars(
        select(Report)
        .where(Report.enterprise_id == actor.enterprise_id, Report.closed_at.is_(None))
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .limit(10)
    )
    return list(rows)


async def remind_pending_questions(core: Core, today: date, now: datetime) -> int:
    """The sweep's part: an officer's question still unanswered from an earlier day is
    brought up to the enterprise's staff again, once a day. Returns the reports reminded of."""
    day_start, _ = local_day_bounds(today, core.tz)
    reminded = 0
    async with core.sessions() as session, session.begin():
        rows = await session.execute(
            select(ReportEvent)
            .join(Report, ReportEvent.report_id == Report.id)
            .where(
                Report.status.in_([s.value for s in OPEN_STATUSES | {ReportStatus.RESOLVED}]),
                ReportEvent.kind.in_([ThreadAction.ASK.value, ThreadAction.ANSWER.value]),
            )
            .order_by(ReportEvent.report_id, ReportEvent.at, ReportEvent.id)
        )
        pending: dict[int, ReportEvent | None] = {}
        for event in rows.scalars():
            pending[event.report_id] = event if event.kind == ThreadAction.ASK.value else None
        for question in pending.values():
            if question is None or _aware(question.at) >= day_start:
                continue
            await remind_question(session, question, today, now)
            reminded += 1
    return reminded


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
