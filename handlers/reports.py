"""Following reports: /myreports, /inbox, a report's page, and the lifecycle buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.dates import parse_date
from domain.errors import DomainError
from domain.reports import ReportAction, check_transition
from handlers import date_input, views
from handlers.attachments import clean_text
from handlers.turn import Turn
from handlers.usecases import reports as usecases

FLOW = "rep"
MAX_NOTE = 1000


def _report_id(argument: str) -> int:
    head = argument.split(":", 1)[0]
    if not head.isdigit():
        raise DomainError("error.button_invalid")
    return int(head)


async def view(turn: Turn, argument: str) -> None:
    """Shows one report with its timeline and the buttons this person may press."""
    report, enterprise = await usecases.load_report(turn.session, turn.actor, _report_id(argument))
    events = await usecases.timeline(turn.session, report.id)
    turn.reply(views.report_detail(turn.lang, report, enterprise, events, turn.actor, turn.core.tz))


async def accept(turn: Turn, argument: str) -> None:
    """The officer takes the report."""
    report = await usecases.act_on_report(
        turn.session, turn.actor, _report_id(argument), ReportAction.ACCEPT, turn.now
    )
    turn.say(turn.t("report.accepted", reference=report.reference))
    await view(turn, str(report.id))


async def confirm_solved(turn: Turn, argument: str) -> None:
    """The enterprise confirms the problem is solved and is asked for a rating."""
    report = await usecases.act_on_report(
        turn.session, turn.actor, _report_id(argument), ReportAction.CONFIRM_SOLVED, turn.now
    )
    turn.say(
        turn.t("report.closed_rate", reference=report.reference),
        buttons=[views.rating_buttons(report.id)],
    )


async def rate(turn: Turn, argument: str) -> None:
    """Stores the 1–5 rating."""
    report_id, _, stars = argument.partition(":")
    if not report_id.isdigit() or not stars.isdigit():
        raise DomainError("error.button_invalid")
    report = await usecases.rate_report(
        turn.session, turn.actor, int(report_id), int(stars), turn.now
    )
    turn.say(turn.t("report.rated", reference=report.reference, stars="★" * int(stars)), edit=True)


# Actions that need typed details first: the steps asked, in order.
ASKS: dict[ReportAction, tuple[str, ...]] = {
    ReportAction.SCHEDULE: ("when", "place", "participants"),
    ReportAction.PROPOSE: ("solution",),
    ReportAction.RESOLVE: ("solution",),
    ReportAction.ESCALATE: ("reason", "target_on"),
    ReportAction.REJECT_SOLUTION: ("reason",),
}


def _asking(action: ReportAction) -> Callable[[Turn, str], Awaitable[None]]:
    async def start(turn: Turn, argument: str) -> None:
        report, _ = await usecases.load_report(turn.session, turn.actor, _report_id(argument))
        # Refuse now rather than after the person has typed everything.
        check_transition(turn.actor, report.status, action)
        first = ASKS[action][0]
        turn.end()
        turn.goto(FLOW, first, action=action.value, report_id=report.id, answers={})
        turn.say(turn.t(f"report.ask.{first}", reference=report.reference))

    start.__doc__ = f"Starts asking the details of '{action.value}'."
    return start


async def on_text(turn: Turn) -> None:
    """Stores the typed detail, asks the next one, or applies the action."""
    action = ReportAction(turn.data["action"])
    step = turn.state.step or ""
    value = _read(turn, step)
    if value is None:
        return
    answers = {**turn.data.get("answers", {}), step: value}
    steps = ASKS[action]
    position = steps.index(step)
    if position + 1 < len(steps):
        following = steps[position + 1]
        turn.goto(FLOW, following, answers=answers)
        turn.say(turn.t(f"report.ask.{following}", reference=""))
        return
    details = dict(answers)
    if "target_on" in details:
        details["target_on"] = parse_date(details["target_on"])
    report = await usecases.act_on_report(
        turn.session, turn.actor, turn.data["report_id"], action, turn.now, **details
    )
    turn.end()
    turn.say(turn.t(f"report.done.{action.value}", reference=report.reference))


def _read(turn: Turn, step: str) -> str | None:
    """Validate one typed detail; say what is wrong and return None if it is not usable."""
    text = clean_text(turn, MAX_NOTE)
    if text is None:
        return None
    if step == "when":
        return date_input.read(turn, text, need_time=True)
    if step == "target_on":
        return date_input.read(turn, text, need_time=False)
    return text


async def on_file(turn: Turn) -> None:
    turn.say(turn.t("file.not_expected"))


BUTTONS = {
    "view": view,
    "acc": accept,
    "sch": _asking(ReportAction.SCHEDULE),
    "pro": _asking(ReportAction.PROPOSE),
    "res": _asking(ReportAction.RESOLVE),
    "esc": _asking(ReportAction.ESCALATE),
    "ok": confirm_solved,
    "no": _asking(ReportAction.REJECT_SOLUTION),
    "rate": rate,
}
date_input.resume_with(FLOW, on_text)
