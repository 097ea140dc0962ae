"""How reports and commitments read in a chat: one place for every rendering."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from domain.commitments import CommitmentAction, CommitmentStatus, overdue_days
from domain.reports import ReportAction, ReportStatus
from handlers.i18n import translate as t
from handlers.i18n import translate_count
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
from storage.models import Commitment, Enterprise, Report

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


def rating_buttons(report_id: int) -> list[Button]:
    return [Button("★" * n, RateReport(report_id, n).pack()) for n in range(1, 6)]


def commitment_line(lang: str, commitment: Commitment, today: date) -> str:
    status = t(lang, f"commitment.status.{commitment.status.value}")
    late = ""
    if commitment.status is CommitmentStatus.OPEN and commitment.due_on < today:
        late = " · " + translate_count(
            lang, "count.days_overdue", overdue_days(commitment.due_on, today)
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
