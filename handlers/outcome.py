"""帮扶成效: the officer records what the assistance on a closed report achieved in a few taps
(solved? measures, an optional figure in 万元, an optional note); the enterprise confirms it
or corrects it in its own words."""

from __future__ import annotations

from domain.errors import DomainError
from domain.outcomes import Measure, Solved, parse_economic_wan, parse_measures
from handlers import outcome_views as views
from handlers.attachments import clean_text
from handlers.messages import Button
from handlers.payloads import (
    ConfirmOutcome,
    CorrectOutcome,
    MeasuresDone,
    OutcomeSolved,
    RecordOutcome,
    SkipEconomic,
    SkipOutcomeNote,
    ToggleMeasure,
)
from handlers.turn import Turn
from handlers.usecases import outcomes as usecases

FLOW = "oc"


async def record(turn: Turn, pressed: RecordOutcome) -> None:
    """Checks the officer may record, then asks whether the problem was solved."""
    report = await usecases.check_may_record_outcome(turn.session, turn.actor, pressed.report_id)
    turn.end()
    turn.goto(FLOW, "solved", report_id=report.id)
    turn.reply(views.solved_question(turn.lang, report))


async def solved(turn: Turn, pressed: OutcomeSolved) -> None:
    """Keeps yes / partly / no and offers the measures."""
    if not turn.in_step(FLOW, "solved") or turn.data.get("report_id") != pressed.report_id:
        turn.say(turn.t("error.button_stale"))
        return
    turn.goto(FLOW, "measures", solved=pressed.solved.value, measures=[])
    turn.reply(views.measures_question(turn.lang, []))


async def toggle_measure(turn: Turn, pressed: ToggleMeasure) -> None:
    """Adds or removes one measure and shows the choice again."""
    if not turn.in_step(FLOW, "measures"):
        turn.say(turn.t("error.button_stale"))
        return
    chosen = list(turn.data.get("measures", []))
    code = pressed.measure.value
    chosen.remove(code) if code in chosen else chosen.append(code)
    turn.goto(FLOW, "measures", measures=chosen)
    turn.reply(views.measures_question(turn.lang, chosen, edit=True))


async def measures_done(turn: Turn, _: MeasuresDone) -> None:
    """Closes the choice (WeCom sends every chosen measure at once), asks for the figure."""
    if not turn.in_step(FLOW, "measures"):
        turn.say(turn.t("error.button_stale"))
        return
    chosen = turn.data.get("measures", [])
    if turn.event.selected is not None:
        chosen = list(turn.event.selected)
    measures = [m.value for m in parse_measures(chosen)]
    turn.goto(FLOW, "economic", measures=measures)
    turn.say(
        turn.t("outcome.ask.economic"),
        buttons=[[Button(turn.t("button.skip"), SkipEconomic().pack())]],
    )


async def _economic(turn: Turn) -> None:
    """Reads the typed figure in 万元; a bad one is explained and asked again."""
    try:
        yuan = parse_economic_wan(turn.event.text)
    except DomainError as refusal:
        turn.say(
            turn.t(refusal.key, **refusal.params),
            buttons=[[Button(turn.t("button.skip"), SkipEconomic().pack())]],
        )
        return
    _ask_note(turn, yuan)


async def skip_economic(turn: Turn, _: SkipEconomic) -> None:
    """Goes on without an economic figure."""
    if not turn.in_step(FLOW, "economic"):
        turn.say(turn.t("error.button_stale"))
        return
    _ask_note(turn, None)


def _ask_note(turn: Turn, yuan: int | None) -> None:
    turn.goto(FLOW, "note", economic_yuan=yuan)
    turn.say(
        turn.t("outcome.ask.note"),
        buttons=[[Button(turn.t("button.skip"), SkipOutcomeNote().pack())]],
    )


async def _note(turn: Turn) -> None:
    """Records the outcome with the typed note."""
    text = clean_text(turn, usecases.MAX_NOTE)
    if text is not None:
        await _record(turn, text)


async def skip_note(turn: Turn, _: SkipOutcomeNote) -> None:
    """Records the outcome without a note."""
    if not turn.in_step(FLOW, "note"):
        turn.say(turn.t("error.button_stale"))
        return
    await _record(turn, None)


async def _record(turn: Turn, note: str | None) -> None:
    draft = usecases.OutcomeDraft(
        solved=Solved(turn.data["solved"]),
        measures=tuple(Measure(code) for code in turn.data.get("measures", [])),
        economic_yuan=turn.data.get("economic_yuan"),
        note=note,
    )
    report = await usecases.record_outcome(
        turn.session, turn.actor, turn.data["report_id"], draft, turn.now
    )
    turn.end()
    turn.say(turn.t("outcome.recorded", reference=report.reference))


async def confirm(turn: Turn, pressed: ConfirmOutcome) -> None:
    """The enterprise agrees with the outcome; the officer is told."""
    report = await usecases.review_outcome(
        turn.session, turn.actor, pressed.report_id, None, turn.now
    )
    turn.say(turn.t("outcome.confirmed", reference=report.reference))


async def correct(turn: Turn, pressed: CorrectOutcome) -> None:
    """Asks the enterprise what is not right about the outcome."""
    report, _ = await usecases.check_may_review_outcome(turn.session, turn.actor, pressed.report_id)
    turn.end()
    turn.goto(FLOW, "correction", report_id=report.id)
    turn.say(turn.t("outcome.ask.correction", reference=report.reference))


async def _correction(turn: Turn) -> None:
    """Sends the enterprise's correction to the officer and into the thread."""
    text = clean_text(turn, usecases.MAX_NOTE)
    if text is None:
        return
    report = await usecases.review_outcome(
        turn.session, turn.actor, turn.data["report_id"], text, turn.now
    )
    turn.end()
    turn.say(turn.t("outcome.corrected", reference=report.reference))


STEPS = {"economic": _economic, "note": _note, "correction": _correction}


async def on_text(turn: Turn) -> None:
    """Takes the text the current step waits for; buttons answer the other steps."""
    step = STEPS.get(turn.state.step or "")
    if step is None:
        turn.say(turn.t("outcome.use_buttons"))
        return
    await step(turn)


async def on_file(turn: Turn) -> None:
    """Files are not part of an outcome."""
    turn.say(turn.t("file.not_expected"))


BUTTONS = {
    RecordOutcome: record,
    OutcomeSolved: solved,
    ToggleMeasure: toggle_measure,
    MeasuresDone: measures_done,
    SkipEconomic: skip_economic,
    SkipOutcomeNote: skip_note,
    ConfirmOutcome: confirm,
    CorrectOutcome: correct,
}
