"""How digests, escalations and follow-up nudges read in a chat."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from domain.reminders import MAX_DIGEST_ENTRIES, CommitmentItem, Digest
from domain.reports import ReportAction
from domain.roles import Party
from handlers.i18n import translate as t
from handlers.messages import Button, Reply
from handlers.payloads import MarkCommitmentDone, ShowAgreement, ViewReport
from handlers.views import action_button, local_time, status_text, view_button
from storage.models import Commitment, Enterprise, Report

_LABEL_TEXT = 16


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _party(lang: str, party: Party) -> str:
    return t(lang, f"party.{party.value}")


def waited_text(lang: str, since: datetime, now: datetime) -> str:
    """How long something has been waiting: hours under a day, else days."""
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return t(lang, "digest.waited_hours", hours=hours)
    return t(lang, "digest.waited_days", days=hours // 24)


def _commitment_button(lang: str, item: CommitmentItem, viewer_party: Party) -> Button:
    label = f"#{item.commitment_id} {_short(item.text, _LABEL_TEXT)}"
    if item.party is viewer_party:
        return Button(label, MarkCommitmentDone(item.commitment_id).pack())
    # The other side's commitment: open the agreement it belongs to.
    return Button(label, ShowAgreement(item.enterprise_id).pack())


def digest_message(lang: str, digest: Digest, viewer_party: Party, now: datetime) -> Reply:
    """One message: due soon, overdue (oldest first) and waiting reports, a button each."""
    lines: list[str] = []
    buttons: list[list[Button]] = []
    shown = 0

    def room() -> bool:
        return shown < MAX_DIGEST_ENTRIES

    if digest.overdue:
        lines.append(t(lang, "digest.section.overdue"))
        for overdue in digest.overdue:
            if not room():
                break
            item = overdue.item
            lines.append(
                t(
                    lang,
                    "digest.line.overdue",
                    id=item.commitment_id,
                    party=_party(lang, item.party),
                    enterprise=item.enterprise_name,
                    text=item.text,
                    due=item.due_on.isoformat(),
                    days=overdue.days_overdue,
                )
            )
            buttons.append([_commitment_button(lang, item, viewer_party)])
            shown += 1
    if digest.due_soon:
        lines.append(t(lang, "digest.section.due_soon"))
        for item in digest.due_soon:
            if not room():
                break
            lines.append(
                t(
                    lang,
                    "digest.line.due_soon",
                    id=item.commitment_id,
                    party=_party(lang, item.party),
                    enterprise=item.enterprise_name,
                    text=item.text,
                    due=item.due_on.isoformat(),
                    when=_due_when(lang, item.due_on, digest.day),
                )
            )
            buttons.append([_commitment_button(lang, item, viewer_party)])
            shown += 1
    if digest.reports:
        lines.append(t(lang, "digest.section.reports"))
        for report in digest.reports:
            if not room():
                break
            lines.append(
                t(
                    lang,
                    "digest.line.report",
                    reference=report.reference,
                    enterprise=report.enterprise_name,
                    status=status_text(lang, report.status),
                    waited=waited_text(lang, report.waiting_since, now),
                )
            )
            buttons.append([Button(report.reference, ViewReport(report.report_id).pack())])
            shown += 1
    if digest.entry_count > shown:
        lines.append(t(lang, "digest.more", count=digest.entry_count - shown))
    return Reply(
        title=t(lang, "digest.title", day=digest.day.isoformat()),
        text="\n".join(lines),
        buttons=buttons,
    )


def _due_when(lang: str, due_on: date, today: date) -> str:
    days = (due_on - today).days
    if days == 0:
        return t(lang, "digest.due_today")
    return t(lang, "digest.due_in_days", days=days)


def commitment_escalation(
    lang: str,
    commitment: Commitment,
    enterprise: Enterprise,
    officer_name: str,
    working_days: int,
) -> Reply:
    """To the supervisors: a commitment overdue for more than 5 working days."""
    return Reply(
        title=t(lang, "escalation.commitment.title", id=commitment.id),
        text=t(
            lang,
            "escalation.commitment.body",
            enterprise=enterprise.name,
            party=_party(lang, commitment.party),
            text=commitment.text,
            due=commitment.due_on.isoformat(),
            days=working_days,
            officer=officer_name,
        ),
        buttons=[[Button(t(lang, "button.view"), ShowAgreement(enterprise.id).pack())]],
    )


def commitment_escalated_notice(
    lang: str, commitment: Commitment, enterprise: Enterprise, working_days: int
) -> Reply:
    """To the officer: their enterprise's commitment went to the supervisors."""
    buttons = [[Button(t(lang, "button.view"), ShowAgreement(enterprise.id).pack())]]
    if commitment.party is Party.BUREAU:
        done = MarkCommitmentDone(commitment.id).pack()
        buttons.insert(0, [Button(t(lang, "button.mark_done"), done)])
    return Reply(
        title=t(lang, "escalated.commitment.title", id=commitment.id),
        text=t(
            lang,
            "escalated.commitment.body",
            enterprise=enterprise.name,
            text=commitment.text,
            due=commitment.due_on.isoformat(),
            days=working_days,
        ),
        buttons=buttons,
    )


def report_escalation(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    officer_name: str,
    working_days: int,
    tz: tzinfo,
) -> Reply:
    """To the supervisors: a report not accepted within the first-response time."""
    return Reply(
        title=t(lang, "escalation.report.title", reference=report.reference),
        text=t(
            lang,
            "escalation.report.body",
            enterprise=enterprise.name,
            product=report.product,
            submitted=local_time(report.submitted_at, tz),
            days=working_days,
            officer=officer_name,
        ),
        buttons=[[view_button(lang, report.id)]],
    )


def report_escalated_notice(
    lang: str, report: Report, enterprise: Enterprise, working_days: int
) -> Reply:
    """To the officer: their report went to the supervisors for lack of a first response."""
    return Reply(
        title=t(lang, "escalated.report.title", reference=report.reference),
        text=t(lang, "escalated.report.body", enterprise=enterprise.name, days=working_days),
        buttons=[
            [
                action_button(lang, ReportAction.ACCEPT, report.id),
                view_button(lang, report.id),
            ]
        ],
    )


def follow_up_nudge(lang: str, report: Report, working_days: int) -> Reply:
    """To the enterprise: is the resolved problem really solved?"""
    return Reply(
        title=t(lang, "follow_up.title", reference=report.reference),
        text=t(
            lang,
            "follow_up.body",
            solution=report.solution or "—",
            days=working_days,
        ),
        buttons=[
            [
                action_button(lang, ReportAction.CONFIRM_SOLVED, report.id),
                action_button(lang, ReportAction.REJECT_SOLUTION, report.id),
            ],
            [view_button(lang, report.id)],
        ],
    )
