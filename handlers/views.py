"""How reports and commitments read in a chat: one place for every rendering."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from domain.commitments import CommitmentAction, CommitmentStatus, overdue_days
from domain.reports import ReportAction, ReportStatus, allowed_actions
from domain.roles import Actor
from handlers.i18n import translate as t
from handlers.messages import Button, Reply
from handlers.payloads import (
    AcceptReport,
    ConfirmCommitment,
    ConfirmSolved,
    EscalateResearch,
    MarkCommitmentDone,
    MarkResolved,
    ProposeSolution,
    RateReport,
    RejectSolution,
    ReportPayload,
    ScheduleConsultation,
    SendBackCommitment,
    ViewReport,
)
from storage.models import Commitment, Enterprise, Report, ReportEvent

# Which button each report action gets (handled in reports.py, BUTTONS).
ACTION_PAYLOADS: dict[ReportAction, type[ReportPayload]] = {
    ReportAction.ACCEPT: AcceptReport,
    ReportAction.SCHEDULE: ScheduleConsultation,
    ReportAction.PROPOSE: ProposeSolution,
    ReportAction.RESOLVE: MarkResolved,
    ReportAction.ESCALATE: EscalateResearch,
    ReportAction.CONFIRM_SOLVED: ConfirmSolved,
    ReportAction.REJECT_SOLUTION: RejectSolution,
}


def areas_text(lang: str, codes: list[str]) -> str:
    return (
        "、".join(t(lang, f"area.{code}") for code in codes)
        if lang == "zh_CN"
        else ", ".join(t(lang, f"area.{code}") for code in codes)
    )


def status_text(lang: str, status: ReportStatus) -> str:
    return t(lang, f"status.{status.value}")


def action_button(lang: str, action: ReportAction, report_id: int) -> Button:
    return Button(t(lang, f"action.{action.value}"), ACTION_PAYLOADS[action](report_id).pack())


def view_button(lang: str, report_id: int) -> Button:
    return Button(t(lang, "button.view"), ViewReport(report_id).pack())


def new_report_notice(lang: str, report: Report, enterprise: Enterprise) -> Reply:
    return Reply(
        title=t(lang, "notice.new_report.title", reference=report.reference),
        text=t(
            lang,
            "notice.new_report.body",
            enterprise=enterprise.name,
            areas=areas_text(lang, report.areas),
            product=report.product,
            urgency=t(lang, f"urgency.{report.urgency.value}"),
            description=report.description,
        ),
        buttons=[
            [
                action_button(lang, ReportAction.ACCEPT, report.id),
                view_button(lang, report.id),
            ]
        ],
    )


def status_notice(lang: str, report: Report, enterprise: Enterprise, action: ReportAction) -> Reply:
    body = [t(lang, f"notice.status.{action.value}", enterprise=enterprise.name)]
    if action is ReportAction.SCHEDULE and report.consultation:
        body.append(consultation_text(lang, report.consultation))
    if action in (ReportAction.PROPOSE, ReportAction.RESOLVE) and report.solution:
        body.append(t(lang, "report.solution_line", solution=report.solution))
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
            lang,
            "notice.status.title",
            reference=report.reference,
            status=status_text(lang, report.status),
        ),
        text="\n".join(body),
        buttons=buttons,
    )


def research_notice(lang: str, report: Report, enterprise: Enterprise) -> Reply:
    return Reply(
        title=t(lang, "notice.research.title", reference=report.reference),
        text=t(
            lang,
            "notice.research.body",
            enterprise=enterprise.name,
            reason=report.research_reason or "—",
            target=report.research_target_on.isoformat() if report.research_target_on else "—",
        ),
        buttons=[[view_button(lang, report.id)]],
    )


def consultation_text(lang: str, consultation: dict[str, str]) -> str:
    return t(
        lang,
        "report.consultation_line",
        when=consultation.get("when", "—"),
        place=consultation.get("place", "—"),
        participants=consultation.get("participants", "—"),
    )


def bar(fraction: float, width: int = 10) -> str:
    """A text bar chart cell, e.g. ███████░░░ for 0.7; every chat client shows it."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def report_line(lang: str, report: Report, enterprise: Enterprise | None = None) -> str:
    who = f"{enterprise.name} · " if enterprise else ""
    return f"{report.reference} · {who}{status_text(lang, report.status)} · {report.product[:40]}"


def local_time(instant: datetime, tz: tzinfo) -> str:
    """An instant as people read it: local time, no zone (it is the bureau's zone)."""
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def report_detail(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    events: list[ReportEvent],
    actor: Actor,
    tz: tzinfo,
) -> Reply:
    lines = [
        t(lang, "report.detail.enterprise", enterprise=enterprise.name),
        t(lang, "report.detail.status", status=status_text(lang, report.status)),
        t(lang, "report.detail.areas", areas=areas_text(lang, report.areas)),
        t(lang, "report.detail.product", product=report.product),
        t(lang, "report.detail.urgency", urgency=t(lang, f"urgency.{report.urgency.value}")),
        t(lang, "report.detail.description", description=report.description),
    ]
    if report.consultation:
        lines.append(consultation_text(lang, report.consultation))
    if report.solution:
        lines.append(t(lang, "report.solution_line", solution=report.solution))
    if report.research_escalated_at:
        lines.append(t(lang, "report.detail.research", reason=report.research_reason or "—"))
    if report.rating:
        lines.append(t(lang, "report.detail.rating", stars="★" * report.rating))
    lines.append(t(lang, "report.detail.timeline"))
    lines.extend(
        f"· {local_time(event.at, tz)} {t(lang, f'event.{event.kind}')}" for event in events
    )
    actions = [a for a in allowed_actions(actor, report.status) if a in ACTION_PAYLOADS]
    rows = [
        [action_button(lang, a, report.id) for a in actions[i : i + 2]]
        for i in range(0, len(actions), 2)
    ]
    if report.status is ReportStatus.CLOSED and report.rating is None and not actor.is_bureau_side:
        rows.append(rating_buttons(report.id))
    return Reply(title=report.reference, text="\n".join(lines), buttons=rows)


def rating_buttons(report_id: int) -> list[Button]:
    return [Button("★" * n, RateReport(report_id, n).pack()) for n in range(1, 6)]


def commitment_line(lang: str, commitment: Commitment, today: date) -> str:
    status = t(lang, f"commitment.status.{commitment.status.value}")
    late = ""
    if commitment.status is CommitmentStatus.OPEN and commitment.due_on < today:
        late = " · " + t(
            lang, "commitment.overdue_days", days=overdue_days(commitment.due_on, today)
        )
    party = t(lang, f"party.{commitment.party.value}")
    due = t(lang, "commitment.due", due=commitment.due_on.isoformat())
    return f"#{commitment.id} [{party}] {commitment.text} · {due} · {status}{late}"


def commitment_notice(
    lang: str, commitment: Commitment, enterprise: Enterprise, action: CommitmentAction
) -> Reply:
    text = t(
        lang, f"notice.commitment.{action.value}", enterprise=enterprise.name, text=commitment.text
    )
    if action is CommitmentAction.MARK_DONE and commitment.done_note:
        text += "\n" + t(lang, "commitment.note_line", note=commitment.done_note)
    if action is CommitmentAction.SEND_BACK and commitment.sent_back_reason:
        text += "\n" + t(lang, "commitment.reason_line", reason=commitment.sent_back_reason)
    buttons: list[list[Button]] = []
    if action is CommitmentAction.MARK_DONE:
        buttons = [
            [
                Button(t(lang, "button.confirm"), ConfirmCommitment(commitment.id).pack()),
                Button(t(lang, "button.send_back"), SendBackCommitment(commitment.id).pack()),
            ]
        ]
    elif action is CommitmentAction.SEND_BACK:
        buttons = [[Button(t(lang, "button.mark_done"), MarkCommitmentDone(commitment.id).pack())]]
    return Reply(
        title=t(lang, "notice.commitment.title", id=commitment.id), text=text, buttons=buttons
    )
