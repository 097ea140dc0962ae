"""Following reports: /myreports, /inbox, a report's page, and the lifecycle buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.dates import parse_date, parse_date_time
from domain.reports import ReportAction, check_transition
from handlers import views
from handlers.attachments import clean_text
from handlers.messages import Button
from handlers.payloads import (
    AcceptReport,
    ConfirmSolved,
    EscalateResearch,
    MarkResolved,
    ProposeSolution,
    RateReport,
    RejectSolution,
    ReportPayload,
    ScheduleConsultation,
    ViewReport,
)
from handlers.turn import Turn
from handlers.usecases import reports as usecases

FLOW = "rep"
MAX_NOTE = 1000


async def my_reports(turn: Turn) -> None:
    """Lists the enterprise's latest reports, each with a button to open it."""
    found = await usecases.reports_of_enterprise(turn.session, turn.actor)
    if not found:
        turn.say(turn.t("reports.none"))
        return
    turn.say(
        "\n".join(views.report_line(turn.lang, r) for r in found),
        title=turn.t("reports.mine_title"),
        buttons=[[Button(r.reference, ViewReport(r.id).pack())] for r in found],
    )


async def show_inbox(turn: Turn) -> None:
    """Lists the reports waiting for the bureau side, oldest first."""
    found = await usecases.inbox(turn.session, turn.actor)
    if not found:
        turn.say(turn.t("inbox.empty"))
        return
    turn.say(
        "\n".join(views.report_line(turn.lang, r, e) for r, e in found),
        title=turn.t("inbox.title"),
        buttons=[[Button(r.reference, ViewReport(r.id).pack())] for r, _ in found],
    )


async def view(turn: Turn, pressed: ReportPayload) -> None:
    """Shows one report with its timeline and the buttons this person may press."""
    report, enterprise = await usecases.load_report(turn.session, turn.actor, pressed.report_id)
    events = await usecases.timeline(turn.session, report.id)
    turn.reply(views.report_detail(turn.lang, report, enterprise, events, turn.actor, turn.core.tz))


async def accept(turn: Turn, pressed: AcceptReport) -> None:
    """The officer takes the report."""
    report = await usecases.act_on_report(
        turn.session, turn.actor, pressed.report_id, ReportAction.ACCEPT, turn.now
    )
    turn.say(turn.t("report.accepted", reference=report.reference))
    await view(turn, ViewReport(report.id))


async def confirm_solved(turn: Turn, pressed: ConfirmSolved) -> None:
    """The enterprise confirms the problem is solved and is asked for a rating."""
    report = await usecases.act_on_report(
        turn.session, turn.actor, pressed.report_id, ReportAction.CONFIRM_SOLVED, turn.now
    )
    turn.say(
        turn.t("report.closed_rate", reference=report.reference),
        buttons=[views.rating_buttons(report.id)],
    )


async def rate(turn: Turn, pressed: RateReport) -> None:
    """Stores the 1–5 rating."""
    report = await usecases.rate_report(
        turn.session, turn.actor, pressed.report_id, pressed.stars, turn.now
    )
    turn.say(
        turn.t("report.rated", reference=report.reference, stars="★" * pressed.stars), edit=True
    )


# Actions that need typed details first: the steps asked, in order.
ASKS: dict[ReportAction, tuple[str, ...]] = {
    ReportAction.SCHEDULE: ("when", "place", "participants"),
    ReportAction.PROPOSE: ("solution",),
    ReportAction.RESOLVE: ("solution",),
    ReportAction.ESCALATE: ("reason", "target_on"),
    ReportAction.REJECT_SOLUTION: ("reason",),
}


def _asking(action: ReportAction) -> Callable[[Turn, ReportPayload], Awaitable[None]]:
    async def start(turn: Turn, pressed: ReportPayload) -> None:
        report, _ = await usecases.load_report(turn.session, turn.actor, pressed.report_id)
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
        when = parse_date_time(text)
        if when is None:
            turn.say(turn.t("input.bad_date_time"))
            return None
        if when.date() < turn.today:
            turn.say(turn.t("input.date_past"))
            return None
        return when.strftime("%Y-%m-%d %H:%M")
    if step == "target_on":
        day = parse_date(text)
        if day is None:
            turn.say(turn.t("input.bad_date"))
            return None
        if day < turn.today:
            turn.say(turn.t("input.date_past"))
            return None
        return day.isoformat()
    return text


async def on_file(turn: Turn) -> None:
    turn.say(turn.t("file.not_expected"))


BUTTONS = {
    ViewReport: view,
    AcceptReport: accept,
    ScheduleConsultation: _asking(ReportAction.SCHEDULE),
    ProposeSolution: _asking(ReportAction.PROPOSE),
    MarkResolved: _asking(ReportAction.RESOLVE),
    EscalateResearch: _asking(ReportAction.ESCALATE),
    ConfirmSolved: confirm_solved,
    RejectSolution: _asking(ReportAction.REJECT_SOLUTION),
    RateReport: rate,
}
