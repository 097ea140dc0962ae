"""How a report reads as a thread, and the notices that carry what one side wrote to the other.

Internal notes (domain.reports.INTERNAL_KINDS) are shown only to a bureau-side reader: every
rendering here takes `bureau_reader` and leaves them out otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from domain.reports import (
    CLOSED_STATUSES,
    INTERNAL_KINDS,
    THREAD_ACTIONS,
    ReportAction,
    ReportStatus,
    ThreadAction,
    allowed_actions,
)
from domain.roles import SUPERVISING_ROLES, Actor, Party
from handlers import outcome_views
from handlers.i18n import translate as t
from handlers.messages import AttachedFile, Button, Reply
from handlers.payloads import (
    AddInformation,
    AddNote,
    AnswerQuestion,
    AskQuestion,
    ConcludeResearch,
    FormResearchTeam,
    Payload,
    RecordConclusion,
    ResearchProgress,
    TransferReport,
)
from handlers.views import (
    ACTION_PAYLOADS,
    action_button,
    areas_text,
    local_time,
    rating_buttons,
    status_text,
    view_button,
)
from storage.models import Attachment, Enterprise, Person, Report, ReportEvent

# Which typed detail of a timeline entry is shown under it, with its catalogue line.
_DETAIL_LINES = (
    ("text", "thread.line.text"),
    ("solution", "thread.line.solution"),
    ("reason", "thread.line.reason"),
    ("target_on", "thread.line.target_on"),
    ("when", "thread.line.when"),
    ("place", "thread.line.place"),
    ("participants", "thread.line.participants"),
    ("officer_name", "thread.line.officer"),
    ("lead_name", "thread.line.lead"),
    ("team_names", "thread.line.team"),
)

THREAD_BUTTONS: dict[ThreadAction, type[Any]] = {
    ThreadAction.ADD_INFO: AddInformation,
    ThreadAction.ASK: AskQuestion,
    ThreadAction.NOTE: AddNote,
    ThreadAction.TRANSFER: TransferReport,
    ThreadAction.CONCLUSION: RecordConclusion,
}


def who(lang: str, person: Person | None) -> str:
    """The author as people read it: name and role; the bot itself for the sweeps."""
    if person is None:
        return t(lang, "thread.system")
    return t(lang, "thread.who", name=person.name, role=t(lang, f"role.{person.role.value}"))


def written_lines(lang: str, kind: str, detail: dict[str, Any], bureau_reader: bool) -> list[str]:
    """What the author wrote with this entry, one line per detail."""
    lines = [
        t(lang, key, value=str(detail[name]))
        for name, key in _DETAIL_LINES
        if detail.get(name) not in (None, "")
    ]
    lines[:0] = outcome_views.outcome_lines(lang, detail)
    if detail.get("rating"):
        lines.append(t(lang, "report.detail.rating", stars="★" * int(detail["rating"])))
    if bureau_reader and detail.get("message"):
        lines.append(t(lang, "thread.line.text", value=str(detail["message"])))
    if detail.get("files"):
        lines.append(t(lang, "thread.line.files", count=len(detail["files"])))
    return lines


def visible(event: ReportEvent, bureau_reader: bool) -> bool:
    return bureau_reader or event.kind not in INTERNAL_KINDS


def attached(files: Sequence[Attachment]) -> list[AttachedFile]:
    return [AttachedFile(a.id, a.file_name, a.mime_type) for a in files]


def report_thread(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    entries: list[tuple[ReportEvent, Person | None]],
    actor: Actor,
    tz: tzinfo,
    contacts: dict[str, Person | None],
    files: Sequence[Attachment] = (),
) -> Reply:
    """The report's page: what it is about, who handles it, and its thread."""
    bureau_reader = actor.is_bureau_side
    lines = [
        t(lang, "report.detail.enterprise", enterprise=enterprise.name),
        t(lang, "report.detail.status", status=status_text(lang, report.status)),
        t(lang, "report.detail.areas", areas=areas_text(lang, report.areas)),
        t(lang, "report.detail.product", product=report.product),
        t(lang, "report.detail.urgency", urgency=t(lang, f"urgency.{report.urgency.value}")),
        t(lang, "report.detail.description", description=report.description),
    ]
    contact = contacts.get("reporter") if bureau_reader else contacts.get("officer")
    if contact is not None:
        key = "thread.contact.reporter" if bureau_reader else "thread.contact.officer"
        lines.append(t(lang, key, name=contact.name, phone=contact.phone or "—"))
    if report.rating:
        lines.append(t(lang, "report.detail.rating", stars="★" * report.rating))
    lines.append(t(lang, "report.detail.timeline"))
    for event, author in entries:
        if not visible(event, bureau_reader):
            continue
        mark = t(lang, "thread.internal") if event.kind in INTERNAL_KINDS else ""
        lines.append(
            f"· {local_time(event.at, tz)} {who(lang, author)} {t(lang, f'event.{event.kind}')}"
            + mark
        )
        lines.extend(
            "  " + line for line in written_lines(lang, event.kind, event.detail, bureau_reader)
        )
    return Reply(
        title=report.reference,
        text="\n".join(lines),
        buttons=_thread_buttons(lang, report, actor, entries),
        attachments=attached(files),
    )


def _thread_buttons(
    lang: str, report: Report, actor: Actor, entries: list[tuple[ReportEvent, Person | None]]
) -> list[list[Button]]:
    actions = [a for a in allowed_actions(actor, report.status) if a in ACTION_PAYLOADS]
    researching = report.research_escalated_at is not None and report.research_concluded_at is None
    if researching and ReportAction.ESCALATE in actions:
        actions.remove(ReportAction.ESCALATE)
    found = [action_button(lang, a, report.id) for a in actions]
    for action, payload in THREAD_BUTTONS.items():
        party, statuses = THREAD_ACTIONS[action]
        if action is ThreadAction.CONCLUSION and not report.consultation:
            continue
        if party is actor.party and report.status in statuses:
            found.append(
                Button(t(lang, f"thread.action.{action.value}"), payload(report.id).pack())
            )
    if actor.party is Party.ENTERPRISE and pending_question(entries) is not None:
        found.append(answer_button(lang, report.id))
    found.extend(outcome_views.thread_buttons(lang, report, actor, entries))
    if researching and actor.is_bureau_side:
        members = (report.research_lead_id, *(report.research_team or []))
        if actor.role in SUPERVISING_ROLES and report.research_lead_id is None:
            found.append(_button(lang, "research.button.team", FormResearchTeam(report.id)))
        if report.research_lead_id and (
            actor.person_id in members or actor.role in SUPERVISING_ROLES
        ):
            found.append(_button(lang, "thread.action.progress", ResearchProgress(report.id)))
            found.append(
                _button(lang, "thread.action.research_conclusion", ConcludeResearch(report.id))
            )
    rows = [found[i : i + 2] for i in range(0, len(found), 2)]
    if report.status is ReportStatus.CLOSED and report.rating is None and not actor.is_bureau_side:
        rows.append(rating_buttons(report.id))
    return rows


def _button(lang: str, key: str, payload: Payload) -> Button:
    return Button(t(lang, key), payload.pack())


def answer_button(lang: str, report_id: int) -> Button:
    return Button(t(lang, "thread.action.answer"), AnswerQuestion(report_id).pack())


def pending_question(entries: list[tuple[ReportEvent, Person | None]]) -> ReportEvent | None:
    """The latest question not answered since, if any."""
    pending = None
    for event, _ in entries:
        if event.kind == ThreadAction.ASK.value:
            pending = event
        elif event.kind == ThreadAction.ANSWER.value:
            pending = None
    return pending


def pending_question_reminder(
    lang: str, report: Report, question: ReportEvent, author: Person | None
) -> Reply:
    """To the enterprise, in the morning: a question of the officer still unanswered."""
    body = [t(lang, "notice.question_pending", who=who(lang, author))]
    body.extend(written_lines(lang, question.kind, question.detail, bureau_reader=False))
    return Reply(
        title=t(lang, "notice.thread.title", reference=report.reference),
        text="\n".join(body),
        buttons=[[answer_button(lang, report.id), view_button(lang, report.id)]],
    )


def lifecycle_notice(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    action: ReportAction,
    event: ReportEvent,
    author: Person | None,
    files: Sequence[Attachment] = (),
) -> Reply:
    """To the other side: the step, who took it, what they wrote and sent with it."""
    body = [t(lang, f"notice.status.{action.value}", enterprise=enterprise.name)]
    if author is not None:
        body.append(t(lang, "thread.by", who=who(lang, author)))
    body.extend(written_lines(lang, event.kind, event.detail, bureau_reader=False))
    buttons = [[view_button(lang, report.id)]]
    if action is ReportAction.RESOLVE:
        buttons.insert(
            0,
            [
                action_button(lang, ReportAction.CONFIRM_SOLVED, report.id),
                action_button(lang, ReportAction.REJECT_SOLUTION, report.id),
            ],
        )
    return Reply(
        title=t(
            lang, "notice.status.title", reference=report.reference, status=_status(lang, report)
        ),
        text="\n".join(body),
        buttons=buttons,
        attachments=attached(files),
    )


def _status(lang: str, report: Report) -> str:
    if report.research_escalated_at is not None and report.status not in CLOSED_STATUSES:
        return t(lang, "thread.status_research", status=status_text(lang, report.status))
    return status_text(lang, report.status)


def thread_notice(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    event: ReportEvent,
    author: Person | None,
    files: Sequence[Attachment],
) -> Reply:
    """To the other side: information added, a question, an answer — with the text and files."""
    body = [
        t(lang, f"notice.thread.{event.kind}", who=who(lang, author), enterprise=enterprise.name)
    ]
    body.extend(written_lines(lang, event.kind, event.detail, bureau_reader=False))
    buttons = [[view_button(lang, report.id)]]
    if event.kind == ThreadAction.ASK.value:
        buttons.insert(0, [answer_button(lang, report.id)])
    return Reply(
        title=t(lang, "notice.thread.title", reference=report.reference),
        text="\n".join(body),
        buttons=buttons,
        attachments=attached(files),
    )


def transferred_to_you(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    event: ReportEvent,
    author: Person | None,
    files: Sequence[Attachment],
) -> Reply:
    """To the colleague who now handles the report (or the whole assignment)."""
    key = "notice.transfer.whole" if event.detail.get("whole") else "notice.transfer.report"
    body = [t(lang, key, who=who(lang, author), enterprise=enterprise.name)]
    body.extend(written_lines(lang, event.kind, event.detail, bureau_reader=True))
    return Reply(
        title=t(lang, "notice.transfer.title", reference=report.reference),
        text="\n".join(body),
        buttons=[[view_button(lang, report.id)]],
        attachments=attached(files),
    )


def new_officer_notice(lang: str, report: Report, officer: Person) -> Reply:
    """To the enterprise: who handles its report now."""
    return Reply(
        title=t(lang, "notice.transfer.title", reference=report.reference),
        text=t(lang, "notice.transfer.enterprise", name=officer.name, phone=officer.phone or "—"),
        buttons=[[view_button(lang, report.id)]],
    )


def rated_notice(lang: str, report: Report, enterprise: Enterprise, event: ReportEvent) -> Reply:
    """To the officer: the enterprise's rating."""
    return Reply(
        title=t(lang, "notice.thread.title", reference=report.reference),
        text="\n".join(
            [
                t(lang, "notice.rated", enterprise=enterprise.name),
                *written_lines(lang, event.kind, event.detail, bureau_reader=False),
            ]
        ),
        buttons=[[view_button(lang, report.id)]],
    )


def consultation_invite(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    event: ReportEvent,
    author: Person | None,
    still_invited: bool,
) -> Reply:
    """To a participant: the consultation's time and place (or that they are no longer in it)."""
    key = "notice.consultation.invite" if still_invited else "notice.consultation.uninvited"
    body = [t(lang, key, who=who(lang, author), enterprise=enterprise.name)]
    if still_invited:
        body.extend(written_lines(lang, event.kind, event.detail, bureau_reader=True))
    return Reply(
        title=t(lang, "notice.consultation.title", reference=report.reference),
        text="\n".join(body),
        buttons=[[view_button(lang, report.id)]],
    )


def consultation_reminder(lang: str, report: Report, enterprise: Enterprise) -> Reply:
    """On the morning of the day, to everyone involved."""
    consultation = report.consultation or {}
    return Reply(
        title=t(lang, "notice.consultation.today", reference=report.reference),
        text=t(
            lang,
            "notice.consultation.reminder",
            enterprise=enterprise.name,
            when=consultation.get("when", "—"),
            place=consultation.get("place", "—"),
            participants=consultation.get("participants", "—"),
        ),
        buttons=[[view_button(lang, report.id)]],
    )


def research_notice(
    lang: str, report: Report, enterprise: Enterprise, author: Person | None
) -> Reply:
    """To the supervisors: a report escalated to research, with the reason and target date."""
    return Reply(
        title=t(lang, "notice.research.title", reference=report.reference),
        text=t(
            lang,
            "notice.research.body",
            enterprise=enterprise.name,
            reason=report.research_reason or "—",
            target=report.research_target_on.isoformat() if report.research_target_on else "—",
        )
        + "\n"
        + t(lang, "thread.by", who=who(lang, author)),
        buttons=[
            [_button(lang, "research.button.team", FormResearchTeam(report.id))],
            [view_button(lang, report.id)],
        ],
    )


def research_team_notice(
    lang: str, report: Report, enterprise: Enterprise, event: ReportEvent, bureau_reader: bool
) -> Reply:
    """To the team (and, without the names, to the enterprise): the research is taken on."""
    target = report.research_target_on.isoformat() if report.research_target_on else "—"
    key = "research.notice.team" if bureau_reader else "research.notice.enterprise"
    body = [t(lang, key, enterprise=enterprise.name, target=target)]
    if bureau_reader:
        body.extend(written_lines(lang, event.kind, event.detail, bureau_reader=True))
    return Reply(
        title=t(lang, "notice.research.title", reference=report.reference),
        text="\n".join(body),
        buttons=[[view_button(lang, report.id)]],
    )


def research_target_notice(
    lang: str, report: Report, enterprise: Enterprise, passed: bool, lead: Person | None
) -> Reply:
    """The target date near (to the lead) or passed (to the supervisors, the lead, the officer)."""
    key = "research.target.passed" if passed else "research.target.soon"
    return Reply(
        title=t(lang, "notice.research.title", reference=report.reference),
        text=t(
            lang,
            key,
            enterprise=enterprise.name,
            target=report.research_target_on.isoformat() if report.research_target_on else "—",
            lead=lead.name if lead else "—",
        ),
        buttons=[[view_button(lang, report.id)]],
    )
