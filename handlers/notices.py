"""Who is told what: domain events in, recipients, texts and outbox rows out.

Use cases record what happened (domain.events) and call `publish` in the same transaction;
this module is the one place that picks the recipients and the words. Internal notes reach
nobody on the enterprise side: `ThreadPosted(NOTE)` tells no one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.commitments import CommitmentAction
from domain.events import (
    CommitmentActed,
    DomainEvent,
    OutcomeActed,
    ReportActed,
    ReportRated,
    ReportSubmitted,
    ReportTransferred,
    ResearchTargetDue,
    ResearchTeamFormed,
    ThreadPosted,
)
from domain.reports import ReportAction, ThreadAction, Urgency
from domain.roles import Party
from handlers import outcome_views, register_views, thread_views, views
from handlers.messages import Reply
from handlers.usecases.common_problems import common_industry
from handlers.usecases.notify import notify, other_side, staff_of, supervisors_for
from storage.models import (
    Attachment,
    Commitment,
    Enterprise,
    Person,
    Report,
    ReportEvent,
)


async def publish(session: AsyncSession, event: DomainEvent, now: datetime) -> None:
    """Queue the notifications an event causes (in the caller's transaction)."""
    match event:
        case ReportSubmitted():
            await _submitted(session, event, now)
        case ReportActed():
            await _acted(session, event, now)
        case ThreadPosted():
            await _posted(session, event, now)
        case ReportTransferred():
            await _transferred(session, event, now)
        case ReportRated():
            await _rated(session, event, now)
        case CommitmentActed():
            await _commitment(session, event, now)
        case ResearchTeamFormed():
            await _team_formed(session, event, now)
        case ResearchTargetDue():
            await _target_due(session, event, now)
        case OutcomeActed():
            await _outcome(session, event, now)


async def _report(session: AsyncSession, report_id: int) -> tuple[Report, Enterprise]:
    report = await session.get(Report, report_id)
    assert report is not None
    enterprise = await session.get(Enterprise, report.enterprise_id)
    assert enterprise is not None
    return report, enterprise


async def _entry(session: AsyncSession, event_id: int) -> tuple[ReportEvent, Person | None]:
    entry = await session.get(ReportEvent, event_id)
    assert entry is not None
    author = await session.get(Person, entry.actor_id) if entry.actor_id else None
    return entry, author


async def files_of(session: AsyncSession, ids: Sequence[int]) -> list[Attachment]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id)
    )
    return list(rows)


def _key(report: Report, entry: ReportEvent) -> str:
    return f"report:{report.id}:event:{entry.id}"


async def _submitted(session: AsyncSession, event: ReportSubmitted, now: datetime) -> None:
    report, enterprise = await _report(session, event.report_id)
    officer = await session.get(Person, report.officer_id) if report.officer_id else None
    if officer is None:
        return
    entry, _ = await _entry(session, event.event_id)
    files = await session.scalars(
        select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id)
    )
    attachments = thread_views.attached(list(files))
    similar = await _reports_with_enterprises(session, event.similar_report_ids)
    industry = common_industry(enterprise, similar)

    def render(lang: str) -> Reply:
        notice = register_views.with_similar(
            lang, views.new_report_notice(lang, report, enterprise), similar, industry
        )
        notice.attachments = attachments
        return notice

    await notify(
        session,
        officer,
        "report_new",
        _key(report, entry),
        render,
        now,
        # SPEC §3 "notified at once": an urgent problem is not held by quiet hours.
        urgent=report.urgency is Urgency.URGENT,
    )


async def _reports_with_enterprises(
    session: AsyncSession, report_ids: tuple[int, ...]
) -> list[tuple[Report, Enterprise]]:
    """The reports, in the given order, each with its enterprise."""
    found: list[tuple[Report, Enterprise]] = []
    for report_id in report_ids:
        found.append(await _report(session, report_id))
    return found


async def _acted(session: AsyncSession, event: ReportActed, now: datetime) -> None:
    report, enterprise = await _report(session, event.report_id)
    entry, author = await _entry(session, event.event_id)
    key = _key(report, entry)
    files = await files_of(session, entry.detail.get("files", []))
    for person in await other_side(session, event.acting, enterprise.id, report.officer_id):
        await notify(
            session,
            person,
            "report_status",
            key,
            lambda lang: thread_views.lifecycle_notice(
                lang, report, enterprise, event.action, entry, author, files
            ),
            now,
        )
    if event.action is ReportAction.SCHEDULE:
        await _invite(session, report, enterprise, entry, author, now)
    if event.action in (ReportAction.CONFIRM_SOLVED, ReportAction.CLOSE_UNCONFIRMED):
        await _ask_outcome(session, report, enterprise, now)
    if event.action is ReportAction.ESCALATE:
        for supervisor in await supervisors_for(session, enterprise.bureau_id):
            await notify(
                session,
                supervisor,
                "report_research",
                key,
                lambda lang: thread_views.research_notice(lang, report, enterprise, author),
                now,
                urgent=True,
            )


async def _invite(
    session: AsyncSession,
    report: Report,
    enterprise: Enterprise,
    entry: ReportEvent,
    author: Person | None,
    now: datetime,
) -> None:
    """Each participant is told the time and place; on a reschedule, those invited before too."""
    invited = list(entry.detail.get("participant_ids", []))
    ids = invited + [i for i in entry.detail.get("previous_ids", []) if i not in invited]
    for person_id in ids:
        person = await session.get(Person, person_id)
        if person is None or person.id == entry.actor_id:
            continue
        await notify(
            session,
            person,
            "consultation",
            _key(report, entry),
            partial(
                thread_views.consultation_invite,
                report=report,
                enterprise=enterprise,
                event=entry,
                author=author,
                still_invited=person.id in invited,
            ),
            now,
        )


async def remind_consultation(
    session: AsyncSession, report: Report, enterprise: Enterprise, today: date, now: datetime
) -> None:
    """The morning reminder of a consultation: participants, the officer, the enterprise."""
    consultation = report.consultation or {}
    ids = [*consultation.get("participant_ids", []), report.officer_id]
    people = [p for i in dict.fromkeys(ids) if i and (p := await session.get(Person, i))]
    people += await staff_of(session, enterprise.id)
    for person in people:
        await notify(
            session,
            person,
            "consultation_day",
            f"report:{report.id}:consultation:{today.isoformat()}",
            lambda lang: thread_views.consultation_reminder(lang, report, enterprise),
            now,
        )


async def remind_question(
    session: AsyncSession, question: ReportEvent, today: date, now: datetime
) -> None:
    """The enterprise's staff: the officer's question is still waiting for a reply."""
    report, enterprise = await _report(session, question.report_id)
    author = await session.get(Person, question.actor_id) if question.actor_id else None
    for person in await staff_of(session, enterprise.id):
        await notify(
            session,
            person,
            "question_pending",
            f"report:{report.id}:question:{today.isoformat()}",
            lambda lang: thread_views.pending_question_reminder(lang, report, question, author),
            now,
        )


async def _posted(session: AsyncSession, event: ThreadPosted, now: datetime) -> None:
    if event.action is ThreadAction.NOTE:
        return  # internal: kept in the thread for colleagues, sent to nobody
    report, enterprise = await _report(session, event.report_id)
    entry, author = await _entry(session, event.event_id)
    files = await files_of(session, entry.detail.get("files", []))
    for person in await _thread_recipients(session, event, report, enterprise, entry):
        await notify(
            session,
            person,
            "report_thread",
            _key(report, entry),
            lambda lang: thread_views.thread_notice(lang, report, enterprise, entry, author, files),
            now,
        )


async def _thread_recipients(
    session: AsyncSession,
    event: ThreadPosted,
    report: Report,
    enterprise: Enterprise,
    entry: ReportEvent,
) -> list[Person]:
    """Research progress goes to the report's officer; the research conclusion to the officer
    and the enterprise; everything else to the other side."""
    officer = await session.get(Person, report.officer_id) if report.officer_id else None
    to_officer = [officer] if officer is not None and officer.id != entry.actor_id else []
    if event.action is ThreadAction.PROGRESS:
        return to_officer
    if event.action is ThreadAction.RESEARCH_CONCLUSION:
        return to_officer + await staff_of(session, enterprise.id)
    return await other_side(session, event.acting, enterprise.id, report.officer_id)


async def _team_formed(session: AsyncSession, event: ResearchTeamFormed, now: datetime) -> None:
    report, enterprise = await _report(session, event.report_id)
    entry, _ = await _entry(session, event.event_id)
    key = _key(report, entry)
    team_ids = [report.research_lead_id, *(report.research_team or [])]
    team = [p for i in team_ids if i and (p := await session.get(Person, i))]
    officer = await session.get(Person, report.officer_id) if report.officer_id else None
    for person in [*team, *([officer] if officer and officer not in team else [])]:
        await notify(
            session,
            person,
            "report_research",
            key,
            partial(
                thread_views.research_team_notice,
                report=report,
                enterprise=enterprise,
                event=entry,
                bureau_reader=True,
            ),
            now,
        )
    for person in await staff_of(session, enterprise.id):
        await notify(
            session,
            person,
            "report_research",
            key,
            partial(
                thread_views.research_team_notice,
                report=report,
                enterprise=enterprise,
                event=entry,
                bureau_reader=False,
            ),
            now,
        )


async def _target_due(session: AsyncSession, event: ResearchTargetDue, now: datetime) -> None:
    report, enterprise = await _report(session, event.report_id)
    lead = await session.get(Person, report.research_lead_id) if report.research_lead_id else None
    recipients = [lead] if lead is not None else []
    if event.passed or lead is None:
        recipients += await supervisors_for(session, enterprise.bureau_id)
    if event.passed and report.officer_id:
        officer = await session.get(Person, report.officer_id)
        recipients += [officer] if officer is not None else []
    kind = "research_overdue" if event.passed else "research_target"
    for person in dict.fromkeys(recipients):
        await notify(
            session,
            person,
            kind,
            f"report:{report.id}:{kind}:{event.day}",
            partial(
                thread_views.research_target_notice,
                report=report,
                enterprise=enterprise,
                passed=event.passed,
                lead=lead,
            ),
            now,
            urgent=event.passed,
        )


async def _transferred(session: AsyncSession, event: ReportTransferred, now: datetime) -> None:
    report, enterprise = await _report(session, event.report_id)
    entry, author = await _entry(session, event.event_id)
    key = _key(report, entry)
    colleague = await session.get(Person, event.to_officer_id)
    assert colleague is not None
    files = await session.scalars(
        select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id)
    )
    shown = list(files)
    await notify(
        session,
        colleague,
        "report_transfer",
        key,
        lambda lang: thread_views.transferred_to_you(
            lang, report, enterprise, entry, author, shown
        ),
        now,
    )
    if event.from_officer_id and event.from_officer_id != entry.actor_id:
        # A supervisor moved it: the former officer learns it is no longer theirs.
        former = await session.get(Person, event.from_officer_id)
        if former is not None:
            await notify(
                session,
                former,
                "report_transfer",
                key,
                lambda lang: thread_views.transferred_to_you(
                    lang, report, enterprise, entry, author, ()
                ),
                now,
            )
    for person in await staff_of(session, enterprise.id):
        await notify(
            session,
            person,
            "report_transfer",
            key,
            lambda lang: thread_views.new_officer_notice(lang, report, colleague),
            now,
        )


async def _rated(session: AsyncSession, event: ReportRated, now: datetime) -> None:
    report, enterprise = await _report(session, event.report_id)
    entry, _ = await _entry(session, event.event_id)
    for person in await other_side(session, Party.ENTERPRISE, enterprise.id, report.officer_id):
        await notify(
            session,
            person,
            "report_status",
            _key(report, entry),
            lambda lang: thread_views.rated_notice(lang, report, enterprise, entry),
            now,
        )


async def _commitment(session: AsyncSession, event: CommitmentActed, now: datetime) -> None:
    commitment = await session.get(Commitment, event.commitment_id)
    assert commitment is not None
    enterprise = await session.get(Enterprise, commitment.enterprise_id)
    assert enterprise is not None
    evidence = await files_of(session, [commitment.evidence_id] if commitment.evidence_id else [])
    attachments = thread_views.attached(evidence)

    def render(lang: str) -> Reply:
        notice = views.commitment_notice(lang, commitment, enterprise, event.action)
        if event.action is CommitmentAction.MARK_DONE:
            notice.attachments = attachments
        return notice

    for person in await other_side(session, event.acting, enterprise.id, enterprise.officer_id):
        await notify(
            session,
            person,
            "commitment_status",
            f"commitment:{commitment.id}:{event.action.value}:{event.version}",
            render,
            now,
        )


# --- 帮扶成效: the outcome of a closed report ---------------------------------------------


async def _ask_outcome(
    session: AsyncSession, report: Report, enterprise: Enterprise, now: datetime
) -> None:
    """The report is closed: its officer is asked what the assistance achieved."""
    officer = await session.get(Person, report.officer_id) if report.officer_id else None
    if officer is None:
        return
    await notify(
        session,
        officer,
        "report_outcome",
        f"report:{report.id}:outcome_ask",
        lambda lang: outcome_views.ask_notice(lang, report, enterprise),
        now,
    )


async def _outcome(session: AsyncSession, event: OutcomeActed, now: datetime) -> None:
    """Recorded: the enterprise's staff confirm or correct; confirmed or corrected: the
    report's officer hears it (a correction in the enterprise's words)."""
    report, enterprise = await _report(session, event.report_id)
    entry, author = await _entry(session, event.event_id)
    acting = Party.BUREAU if event.kind == "outcome_recorded" else Party.ENTERPRISE
    for person in await other_side(session, acting, enterprise.id, report.officer_id):
        await notify(
            session,
            person,
            "report_outcome",
            _key(report, entry),
            lambda lang: outcome_views.outcome_notice(
                lang, report, enterprise, entry, thread_views.who(lang, author)
            ),
            now,
        )
