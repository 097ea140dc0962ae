"""帮扶成效 as people read it: the outcome's lines in the thread, its buttons, its notices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.outcomes import Measure, OutcomeState, Solved, awaits_recording, wan_text
from domain.roles import Actor, Role
from handlers.i18n import translate as t
from handlers.messages import Button, Checklist, Option, Reply
from handlers.payloads import (
    SEP,
    ConfirmOutcome,
    CorrectOutcome,
    MeasuresDone,
    OutcomeSolved,
    RecordOutcome,
    ToggleMeasure,
)
from handlers.views import view_button
from storage.models import Enterprise, Person, Report, ReportEvent

OUTCOME_KINDS = ("outcome_recorded", "outcome_confirmed", "outcome_corrected")
_STATE_OF_KIND = {
    "outcome_recorded": OutcomeState.RECORDED,
    "outcome_confirmed": OutcomeState.CONFIRMED,
    "outcome_corrected": OutcomeState.CORRECTED,
}


def state_of(entries: Iterable[tuple[ReportEvent, Person | None]]) -> OutcomeState | None:
    """Where the outcome stands, read from the thread: its latest outcome entry."""
    state = None
    for event, _ in entries:
        state = _STATE_OF_KIND.get(event.kind, state)
    return state


def measures_text(lang: str, codes: Iterable[str]) -> str:
    names = [t(lang, f"outcome.measure.{code}") for code in codes]
    return ("、" if lang == "zh_CN" else ", ").join(names) or "—"


def outcome_lines(lang: str, detail: dict[str, Any]) -> list[str]:
    """The recorded outcome's own lines (the note shows as the entry's text)."""
    if not detail.get("solved"):
        return []
    lines = [
        t(lang, "outcome.line.solved", value=t(lang, f"outcome.solved.{detail['solved']}")),
        t(lang, "outcome.line.measures", value=measures_text(lang, detail.get("measures", []))),
    ]
    if detail.get("economic_yuan") is not None:
        lines.append(t(lang, "outcome.line.economic", value=wan_text(int(detail["economic_yuan"]))))
    return lines


def thread_buttons(
    lang: str, report: Report, actor: Actor, entries: list[tuple[ReportEvent, Person | None]]
) -> list[Button]:
    """Record (the report's officer, while not recorded or after a correction); confirm or
    correct (the enterprise, while recorded)."""
    state = state_of(entries)
    mine = actor.role is Role.OFFICER and actor.person_id == report.officer_id
    if mine and awaits_recording(report.status, state):
        return [record_button(lang, report.id)]
    if actor.role is Role.STAFF and state is OutcomeState.RECORDED:
        return review_buttons(lang, report.id)
    return []


def record_button(lang: str, report_id: int) -> Button:
    return Button(t(lang, "outcome.button.record"), RecordOutcome(report_id).pack())


def review_buttons(lang: str, report_id: int) -> list[Button]:
    return [
        Button(t(lang, "outcome.button.confirm"), ConfirmOutcome(report_id).pack()),
        Button(t(lang, "outcome.button.correct"), CorrectOutcome(report_id).pack()),
    ]


def solved_question(lang: str, report: Report) -> Reply:
    return Reply(
        text=t(lang, "outcome.ask.solved", reference=report.reference),
        buttons=[
            [
                Button(t(lang, f"outcome.solved.{s.value}"), OutcomeSolved(report.id, s).pack())
                for s in Solved
            ]
        ],
    )


def measures_question(lang: str, chosen: Iterable[str], edit: bool = False) -> Reply:
    picked = set(chosen)
    return Reply(
        text=t(lang, "outcome.ask.measures"),
        checklist=Checklist(
            options=[
                Option(t(lang, f"outcome.measure.{m.value}"), m.value, m.value in picked)
                for m in Measure
            ],
            toggle_prefix=ToggleMeasure.prefix() + SEP,
            done=Button(t(lang, "button.done"), MeasuresDone().pack()),
        ),
        edit=edit,
    )


def ask_notice(lang: str, report: Report, enterprise: Enterprise) -> Reply:
    """To the officer, when the report is closed: record what the assistance achieved."""
    return Reply(
        title=t(lang, "outcome.notice.title", reference=report.reference),
        text=t(lang, "outcome.notice.ask", enterprise=enterprise.name),
        buttons=[[record_button(lang, report.id), view_button(lang, report.id)]],
    )


def outcome_notice(
    lang: str,
    report: Report,
    enterprise: Enterprise,
    event: ReportEvent,
    author: str,
) -> Reply:
    """To the other side: the outcome recorded (confirm / correct), confirmed, or corrected
    (record again); `author` as thread_views.who shows them."""
    body = [t(lang, f"outcome.notice.{event.kind}", who=author, enterprise=enterprise.name)]
    body.extend(outcome_lines(lang, event.detail))
    if event.detail.get("text"):
        body.append(t(lang, "thread.line.text", value=str(event.detail["text"])))
    buttons = [[view_button(lang, report.id)]]
    if event.kind == "outcome_recorded":
        buttons.insert(0, review_buttons(lang, report.id))
    elif event.kind == "outcome_corrected":
        buttons.insert(0, [record_button(lang, report.id)])
    return Reply(
        title=t(lang, "outcome.notice.title", reference=report.reference),
        text="\n".join(body),
        buttons=buttons,
    )
