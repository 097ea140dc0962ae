"""How registers, register reminders, similar reports and research topics read in a chat.

Each kind of button is built by exactly one function here, from its class in payloads.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from domain.registers import RegisterKind
from handlers.i18n import translate as t
from handlers.messages import Button, Reply
from handlers.payloads import (
    AddRegisterEntry,
    CancelRegisterEntry,
    ChangeRegisterField,
    ConfirmRegisterEntry,
    OpenRegister,
    OpenResearchTopic,
    RenewRegisterEntry,
    SkipRegisterPhoto,
    ViewReport,
)
from storage.models import Certificate, Enterprise, Instrument, Report, ResearchTopic

if TYPE_CHECKING:
    from handlers.usecases.register_reminders import RegisterItem

# Kept here, not imported from the use case, so views do not import use cases.
LOOKBACK_DAYS = 90
FLOW = AddRegisterEntry.FLOW
RESEARCH_FLOW = OpenResearchTopic.FLOW
# Fields a person may correct before confirming, in the order they are shown.
DRAFT_FIELDS = {
    RegisterKind.INSTRUMENT: (
        "name",
        "model",
        "serial_number",
        "certificate_number",
        "verified_on",
        "valid_until",
        "body",
    ),
    RegisterKind.CERTIFICATE: ("name", "certificate_number", "body", "valid_until"),
}
MAX_LISTED = 30


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- buttons: one function per kind ----------------------------------------------------


def add_button(lang: str, kind: RegisterKind) -> Button:
    return Button(t(lang, "registers.button.add"), AddRegisterEntry(kind).pack())


def renew_button(lang: str, kind: RegisterKind, entry_id: int) -> Button:
    return Button(
        t(lang, "registers.button.renew", id=entry_id), RenewRegisterEntry(kind, entry_id).pack()
    )


def list_button(label: str, kind: RegisterKind, enterprise_id: int) -> Button:
    return Button(_short(label, 40), OpenRegister(kind, enterprise_id).pack())


def confirm_button(lang: str) -> Button:
    return Button(t(lang, "registers.button.confirm"), ConfirmRegisterEntry().pack())


def change_button(lang: str, field: str = "") -> Button:
    label = t(lang, f"registers.field.{field}") if field else t(lang, "registers.button.change")
    return Button(label, ChangeRegisterField(field).pack())


def skip_photo_button(lang: str) -> Button:
    return Button(t(lang, "registers.button.type_instead"), SkipRegisterPhoto().pack())


def cancel_button(lang: str) -> Button:
    return Button(t(lang, "button.cancel"), CancelRegisterEntry().pack())


def open_topic_button(lang: str, topic_id: int) -> Button:
    return Button(t(lang, "research.button.open", id=topic_id), OpenResearchTopic(topic_id).pack())


def report_button(reference: str, report_id: int) -> Button:
    return Button(reference, ViewReport(report_id).pack())


# --- registers -----------------------------------------------------------------------


def deadline_text(lang: str, deadline: date, today: date) -> str:
    """ "in 20 days", "today", "overdue by 3 days"."""
    days = (deadline - today).days
    if days < 0:
        return t(lang, "registers.overdue_days", days=-days)
    if days == 0:
        return t(lang, "registers.due_today")
    return t(lang, "registers.due_in_days", days=days)


def register_list(
    lang: str,
    kind: RegisterKind,
    enterprise_name: str,
    entries: Sequence[Instrument | Certificate],
    today: date,
    may_change: bool,
) -> Reply:
    """An enterprise's register, earliest deadline first, with Add and Update buttons."""
    lines, buttons = [], []
    for entry in entries[:MAX_LISTED]:
        if isinstance(entry, Instrument):
            lines.append(
                t(
                    lang,
                    "registers.line.instrument",
                    id=entry.id,
                    name=entry.name,
                    serial=entry.serial_number or "—",
                    until=entry.valid_until.isoformat(),
                    when=deadline_text(lang, entry.valid_until, today),
                )
            )
        else:
            lines.append(
                t(
                    lang,
                    "registers.line.certificate",
                    id=entry.id,
                    name=entry.title,
                    number=entry.number or "—",
                    until=entry.expires_on.isoformat(),
                    when=deadline_text(lang, entry.expires_on, today),
                )
            )
        if may_change:
            buttons.append([renew_button(lang, kind, entry.id)])
    if len(entries) > MAX_LISTED:
        lines.append(t(lang, "registers.more", count=len(entries) - MAX_LISTED))
    if not entries:
        lines.append(t(lang, f"registers.empty.{kind.value}"))
    if may_change:
        buttons.insert(0, [add_button(lang, kind)])
    return Reply(
        title=t(lang, f"registers.title.{kind.value}", enterprise=enterprise_name),
        text="\n".join(lines),
        buttons=buttons,
    )


def field_value(lang: str, name: str, value: object) -> str:
    if value is None or value == "":
        return t(lang, "registers.not_read")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def draft_summary(lang: str, kind: RegisterKind, fields: dict[str, object], read: bool) -> Reply:
    """What was read (or typed), with Confirm / Change."""
    lines = [
        t(
            lang,
            "registers.summary_line",
            field=t(lang, f"registers.field.{name}"),
            value=field_value(lang, name, fields.get(name)),
        )
        for name in DRAFT_FIELDS[kind]
    ]
    intro = t(lang, "registers.read_intro") if read else t(lang, "registers.check_intro")
    return Reply(
        title=t(lang, f"registers.summary_title.{kind.value}"),
        text=intro + "\n" + "\n".join(lines),
        buttons=[[confirm_button(lang), change_button(lang)], [cancel_button(lang)]],
    )


def register_reminder(
    lang: str, items: Sequence[RegisterItem], today: date, for_officer: bool
) -> Reply:
    """Entries that reached a reminder threshold today; staff get an Update button each."""
    lines, buttons = [], []
    for item in items[:MAX_LISTED]:
        lines.append(
            t(
                lang,
                f"registers.reminder.{item.kind.value}",
                enterprise=item.enterprise_name,
                name=item.name,
                serial=item.serial_number or "—",
                until=item.deadline.isoformat(),
                when=deadline_text(lang, item.deadline, today),
            )
        )
        if for_officer:
            buttons.append([list_button(f"{item.enterprise_name}", item.kind, item.enterprise_id)])
        else:
            buttons.append([renew_button(lang, item.kind, item.entry_id)])
    if len(items) > MAX_LISTED:
        lines.append(t(lang, "registers.more", count=len(items) - MAX_LISTED))
    # One button per enterprise is enough for an officer.
    unique: list[list[Button]] = []
    for row in buttons:
        if row not in unique:
            unique.append(row)
    return Reply(
        title=t(lang, "registers.reminder.title", day=today.isoformat()),
        text="\n".join(lines),
        buttons=unique,
    )


# --- common problems -----------------------------------------------------------------


def with_similar(
    lang: str,
    notice: Reply,
    similar: Sequence[tuple[Report, Enterprise]],
    industry: str | None,
) -> Reply:
    """The officer's new-report notice with the similar earlier reports of other enterprises."""
    if not similar:
        return notice
    enterprises = {enterprise.id: enterprise.name for _, enterprise in similar}
    key = "similar.notice.industry" if industry else "similar.notice"
    lines = [
        t(
            lang,
            key,
            count=len(similar),
            days=LOOKBACK_DAYS,
            enterprises=len(enterprises),
            industry=industry or "",
        )
    ]
    for report, enterprise in similar[:5]:
        lines.append(
            t(
                lang,
                "similar.line",
                reference=report.reference,
                enterprise=enterprise.name,
                product=report.product,
            )
        )
    buttons = [
        *notice.buttons,
        [report_button(report.reference, report.id) for report, _ in similar[:3]],
    ]
    return Reply(
        title=notice.title,
        text=notice.text + "\n\n" + "\n".join(lines),
        buttons=buttons,
        edit=notice.edit,
    )


def cluster_list(
    lang: str,
    week: str,
    topics: Sequence[tuple[ResearchTopic, list[tuple[Report, Enterprise]]]],
) -> Reply:
    """The weekly list of common problems for a supervisor, a button to open each topic."""
    lines, buttons = [], []
    for index, (topic, reports) in enumerate(topics, start=1):
        enterprise_names = sorted({enterprise.name for _, enterprise in reports})
        lines.append(
            t(
                lang,
                "research.cluster_line",
                number=index,
                title=topic.title,
                reports=len(reports),
                enterprises=len(enterprise_names),
                names="、".join(enterprise_names)
                if lang == "zh_CN"
                else ", ".join(enterprise_names),
                references=" ".join(report.reference for report, _ in reports),
            )
        )
        buttons.append([open_topic_button(lang, topic.id)])
    return Reply(
        title=t(lang, "research.weekly_title", week=week),
        text="\n".join(lines),
        buttons=buttons,
    )


def topic_opened(
    lang: str, topic: ResearchTopic, reports: Sequence[tuple[Report, Enterprise]]
) -> Reply:
    """The opened research topic: what it links, a button per report."""
    lines = [
        t(
            lang,
            "similar.line",
            reference=report.reference,
            enterprise=enterprise.name,
            product=report.product,
        )
        for report, enterprise in reports
    ]
    return Reply(
        title=t(lang, "research.opened_title", id=topic.id, title=topic.title),
        text=t(lang, "research.opened_body", count=len(reports)) + "\n" + "\n".join(lines),
        buttons=[[report_button(report.reference, report.id)] for report, _ in reports[:10]],
        edit=True,
    )


def topic_notice_for_enterprise(lang: str, topic: ResearchTopic, references: list[str]) -> Reply:
    """To an enterprise: its problem is studied jointly with others'."""
    return Reply(
        title=t(lang, "research.enterprise_title", title=topic.title),
        text=t(
            lang,
            "research.enterprise_body",
            references="、".join(references) if lang == "zh_CN" else ", ".join(references),
            count=len(topic.enterprise_ids),
        ),
    )
