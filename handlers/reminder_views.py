"""How digests, escalations and follow-up nudges read in a chat."""

from __future__ import annotations

from datetime import date, datetime

from domain.reminders import (
    ESCALATED_NOTICE_BUTTONS,
    ESCALATED_NOTICE_LINES,
    ESCALATION_TOP_NAMES,
    MAX_DIGEST_ENTRIES,
    CommitmentItem,
    Digest,
    EscalatedItem,
    EscalationKind,
    EscalationSummary,
)
from domain.reports import ReportAction
from domain.roles import Party
from handlers.i18n import translate as t
from handlers.i18n import translate_count
from handlers.messages import Button, Reply
from handlers.payloads import EscalationListPage, MarkCommitmentDone, ShowAgreement, ViewReport
from handlers.views import action_button, status_text, view_button
from storage.models import Report

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
    return translate_count(lang, "count.days", hours // 24)


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
    if digest.missing_holiday_year is not None:
        lines.append(calendar_warning_line(lang, digest.missing_holiday_year))

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
                    "digest.line.overdue_since",
                    id=item.commitment_id,
                    party=_party(lang, item.party),
                    enterprise=item.enterprise_name,
                    text=item.text,
                    due=item.due_on.isoformat(),
                    overdue=translate_count(lang, "count.days_overdue", overdue.days_overdue),
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
    return translate_count(lang, "count.due_in_days", days)


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


# --- escalations of a day, one message per recipient ----------------------------------------


def escalation_list_button(lang: str, page: int, label_key: str = "escalations.list") -> Button:
    """The 督办 list (escalated items still open in the viewer's scope), at `page`."""
    return Button(t(lang, label_key), EscalationListPage(page).pack())


def escalated_item_line(lang: str, item: EscalatedItem) -> str:
    return t(
        lang,
        f"escalations.line.{item.kind.value}",
        label=item.label,
        enterprise=item.enterprise_name,
        text=_short(item.text, 40),
        since=item.since.isoformat(),
        days=translate_count(lang, "count.days", item.days),
        officer=item.officer_name,
    )


def escalated_item_button(item: EscalatedItem) -> Button:
    """Open the escalated item: a report's page, or the agreement a commitment belongs to."""
    label = f"{item.label} {_short(item.text, _LABEL_TEXT)}"
    if item.kind is EscalationKind.REPORT:
        return Button(label, ViewReport(item.subject_id).pack())
    return Button(label, ShowAgreement(item.enterprise_id).pack())


def escalation_summary(lang: str, summary: EscalationSummary, day: date) -> Reply:
    """To a supervisor: the day's escalations in one message, the oldest listed."""
    lines = [t(lang, "escalations.summary.intro", count=len(summary.items))]
    lines.append(t(lang, "escalations.summary.by_officer"))
    lines += [
        t(lang, "escalations.count_line", name=name, count=count)
        for name, count in summary.by_officer[:ESCALATION_TOP_NAMES]
    ]
    lines.append(t(lang, "escalations.summary.by_enterprise"))
    lines += [
        t(lang, "escalations.count_line", name=name, count=count)
        for name, count in summary.by_enterprise[:ESCALATION_TOP_NAMES]
    ]
    lines.append(t(lang, "escalations.summary.oldest", shown=len(summary.oldest)))
    lines += [escalated_item_line(lang, item) for item in summary.oldest]
    return Reply(
        title=t(lang, "escalations.summary.title", day=day.isoformat(), count=len(summary.items)),
        text="\n".join(lines),
        buttons=[[escalation_list_button(lang, 0)]],
    )


def escalated_notice(lang: str, items: list[EscalatedItem], day: date) -> Reply:
    """To an officer: which of their items went to the supervisors today, in one notice."""
    lines = [t(lang, "escalated.notice.intro", count=len(items))]
    lines += [escalated_item_line(lang, item) for item in items[:ESCALATED_NOTICE_LINES]]
    if len(items) > ESCALATED_NOTICE_LINES:
        lines.append(t(lang, "digest.more", count=len(items) - ESCALATED_NOTICE_LINES))
    return Reply(
        title=t(lang, "escalated.notice.title", day=day.isoformat(), count=len(items)),
        text="\n".join(lines),
        buttons=[[escalated_item_button(item)] for item in items[:ESCALATED_NOTICE_BUTTONS]],
    )


def escalation_list_page(
    lang: str, items: list[EscalatedItem], page: int, page_size: int, total: int
) -> Reply:
    """One page of the 督办 list, oldest first, a button per item and to the other pages."""
    if not items:
        return Reply(text=t(lang, "escalations.list.empty"))
    pages = (total + page_size - 1) // page_size
    buttons = [[escalated_item_button(item)] for item in items]
    paging = []
    if page > 0:
        paging.append(escalation_list_button(lang, page - 1, "escalations.previous"))
    if page + 1 < pages:
        paging.append(escalation_list_button(lang, page + 1, "escalations.next"))
    if paging:
        buttons.append(paging)
    return Reply(
        title=t(lang, "escalations.list.title", page=page + 1, pages=pages, total=total),
        text="\n".join(escalated_item_line(lang, item) for item in items),
        buttons=buttons,
    )


def calendar_warning_line(lang: str, year: int) -> str:
    return t(lang, "digest.calendar_missing", year=year)
