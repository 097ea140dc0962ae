"""/report: areas → product → description → files → urgency → summary (SPEC §3)."""

from __future__ import annotations

from domain.areas import ServiceArea, parse_areas
from domain.reports import Urgency
from handlers.attachments import clean_text, receive_file
from handlers.messages import Button, Checklist, Option, Reply
from handlers.payloads import (
    SEP,
    AreasDone,
    CancelReport,
    ChangeAnswer,
    ChooseUrgency,
    FilesDone,
    SubmitReport,
    ToggleArea,
)
from handlers.turn import Turn
from handlers.usecases.reports import ReportDraft, submit_report
from handlers.views import areas_text

FLOW = "rp"
MAX_PRODUCT = 200
MAX_DESCRIPTION = 3000
MAX_FILES = 10


async def begin(turn: Turn) -> None:
    """Starts a new report and asks for the service areas."""
    turn.end()
    turn.goto(FLOW, "areas", areas=[], product="", description="", files=[], urgency=None)
    ask_areas(turn)


def ask_areas(turn: Turn, edit: bool = False) -> None:
    chosen = set(turn.data.get("areas", []))
    turn.reply(
        Reply(
            title=turn.t("report.title"),
            text=turn.t("report.ask_areas"),
            checklist=Checklist(
                options=[
                    Option(turn.t(f"area.{a.value}"), a.value, a.value in chosen)
                    for a in ServiceArea
                ],
                toggle_prefix=ToggleArea.prefix() + SEP,
                done=Button(turn.t("button.done"), AreasDone().pack()),
            ),
            edit=edit,
        )
    )


async def toggle_area(turn: Turn, pressed: ToggleArea) -> None:
    """Adds or removes one area and shows the choice again."""
    if not turn.in_step(FLOW, "areas"):
        return _stale(turn)
    code = pressed.area.value
    chosen = list(turn.data.get("areas", []))
    chosen.remove(code) if code in chosen else chosen.append(code)
    turn.goto(FLOW, "areas", areas=[a.value for a in parse_areas(chosen)])
    ask_areas(turn, edit=True)


async def areas_done(turn: Turn, _: AreasDone) -> None:
    """Closes the area choice (WeCom sends all chosen areas at once) and asks for the product."""
    if not turn.in_step(FLOW, "areas"):
        return _stale(turn)
    if turn.event.selected is not None:
        turn.goto(FLOW, "areas", areas=[a.value for a in parse_areas(turn.event.selected)])
    if not turn.data.get("areas"):
        turn.say(turn.t("report.areas_missing"))
        if turn.event.selected is not None:
            # A submitted vote card cannot be pressed again: offer a fresh one.
            ask_areas(turn)
        return
    _next(turn, "product")


async def on_text(turn: Turn) -> None:
    """Stores the typed answer of the current step and moves on."""
    step = turn.state.step
    if step == "product":
        text = clean_text(turn, MAX_PRODUCT)
        if text is not None:
            turn.goto(FLOW, step, product=text)
            _next(turn, "description")
    elif step == "description":
        text = clean_text(turn, MAX_DESCRIPTION)
        if text is not None:
            turn.goto(FLOW, step, description=text)
            _next(turn, "files")
    elif step == "files":
        turn.say(turn.t("report.files_expected"), buttons=_files_buttons(turn))
    else:
        turn.say(turn.t("report.use_buttons"))


async def on_file(turn: Turn) -> None:
    """Keeps a photo or document for the report while in the files step."""
    if turn.in_step(FLOW, "description") and len(turn.data.get("files", [])) < MAX_FILES:
        await _file_instead_of_description(turn)
        return
    if not turn.in_step(FLOW, "files"):
        turn.say(turn.t("file.not_expected"))
        return
    files = list(turn.data.get("files", []))
    if len(files) >= MAX_FILES:
        turn.say(turn.t("report.files_limit", limit=MAX_FILES), buttons=_files_buttons(turn))
        return
    attachment = await receive_file(turn)
    files.append(attachment.id)
    turn.goto(FLOW, "files", files=files)
    turn.say(turn.t("report.file_received", count=len(files)), buttons=_files_buttons(turn))


async def _file_instead_of_description(turn: Turn) -> None:
    """Keeps a photo sent when the description was asked; its caption describes the problem."""
    attachment = await receive_file(turn)
    files = [*turn.data.get("files", []), attachment.id]
    caption = turn.event.text.strip()[:MAX_DESCRIPTION]
    if caption and not turn.data.get("description"):
        turn.goto(FLOW, "description", files=files, description=caption)
        turn.say(turn.t("report.file_received", count=len(files)))
        _next(turn, "files")
        return
    turn.goto(FLOW, "description", files=files)
    turn.say(turn.t("report.file_kept_ask_description", count=len(files)))


async def files_done(turn: Turn, _: FilesDone) -> None:
    """Ends the files step (with or without files) and asks for urgency."""
    if not turn.in_step(FLOW, "files"):
        return _stale(turn)
    _next(turn, "urgency")


async def choose_urgency(turn: Turn, pressed: ChooseUrgency) -> None:
    """Stores the urgency and shows the summary."""
    if not turn.in_step(FLOW, "urgency"):
        return _stale(turn)
    turn.goto(FLOW, "urgency", urgency=pressed.urgency.value)
    _next(turn, "confirm")


async def change(turn: Turn, pressed: ChangeAnswer) -> None:
    """Offers the answers to change, or reopens the one chosen."""
    if not turn.in_step(FLOW, "confirm", "change"):
        return _stale(turn)
    field = pressed.field
    if not field:
        turn.goto(FLOW, "change")
        turn.say(
            turn.t("report.change_which"),
            buttons=[
                [
                    Button(turn.t(f"report.field.{f}"), ChangeAnswer(f).pack())
                    for f in ("areas", "product", "description")
                ],
                [
                    Button(turn.t(f"report.field.{f}"), ChangeAnswer(f).pack())
                    for f in ("files", "urgency")
                ],
            ],
        )
        return
    if field not in ("areas", "product", "description", "files", "urgency"):
        turn.say(turn.t("error.button_invalid"))
        return
    turn.goto(FLOW, field, editing=True)
    _ask(turn, field)


async def submit(turn: Turn, _: SubmitReport) -> None:
    """Stores the report and gives the reference; the officer is told at once."""
    if not turn.in_step(FLOW, "confirm"):
        return _stale(turn)
    data = turn.data
    draft = ReportDraft(
        areas=data["areas"],
        product=data["product"],
        description=data["description"],
        attachment_ids=data.get("files", []),
        urgency=data.get("urgency") or Urgency.NORMAL.value,
    )
    report = await submit_report(turn.session, turn.actor, draft, turn.today.year, turn.now)
    turn.end()
    turn.say(turn.t("report.submitted", reference=report.reference), edit=True)


async def cancel(turn: Turn, _: CancelReport) -> None:
    """Drops the draft."""
    if turn.state.flow != FLOW:
        return _stale(turn)
    turn.end()
    turn.say(turn.t("report.cancelled"), edit=True)


def _next(turn: Turn, step: str) -> None:
    # After changing one answer, go straight back to the summary.
    if turn.data.get("editing") and step != "confirm":
        step = "confirm"
    turn.goto(FLOW, step, editing=False if step == "confirm" else turn.data.get("editing", False))
    _ask(turn, step)


def _ask(turn: Turn, step: str) -> None:
    match step:
        case "areas":
            ask_areas(turn)
        case "product":
            turn.say(turn.t("report.ask_product"))
        case "description":
            turn.say(turn.t("report.ask_description"))
        case "files":
            turn.say(turn.t("report.ask_files"), buttons=_files_buttons(turn))
        case "urgency":
            turn.say(
                turn.t("report.ask_urgency"),
                buttons=[
                    [Button(turn.t(f"urgency.{u.value}"), ChooseUrgency(u).pack()) for u in Urgency]
                ],
            )
        case "confirm":
            _summary(turn)


def _files_buttons(turn: Turn) -> list[list[Button]]:
    label = "button.done" if turn.data.get("files") else "button.skip"
    return [[Button(turn.t(label), FilesDone().pack())]]


def _summary(turn: Turn) -> None:
    data = turn.data
    text = "\n".join(
        [
            turn.t("report.detail.areas", areas=areas_text(turn.lang, data["areas"])),
            turn.t("report.detail.product", product=data["product"]),
            turn.t("report.detail.description", description=data["description"]),
            turn.t("report.detail.files", count=len(data.get("files", []))),
            turn.t(
                "report.detail.urgency",
                urgency=turn.t(f"urgency.{data.get('urgency') or 'normal'}"),
            ),
        ]
    )
    turn.say(
        text,
        title=turn.t("report.summary_title"),
        buttons=[
            [
                Button(turn.t("button.submit"), SubmitReport().pack()),
                Button(turn.t("button.change"), ChangeAnswer().pack()),
            ],
            [Button(turn.t("button.cancel"), CancelReport().pack())],
        ],
    )


def _stale(turn: Turn) -> None:
    turn.say(turn.t("error.button_stale"))


BUTTONS = {
    ToggleArea: toggle_area,
    AreasDone: areas_done,
    FilesDone: files_done,
    ChooseUrgency: choose_urgency,
    ChangeAnswer: change,
    SubmitReport: submit,
    CancelReport: cancel,
}
