"""Following reports: /myreports, /inbox, a report's page, and the lifecycle buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain.dates import parse_date
from domain.reports import ReportAction, ThreadAction
from domain.roles import Role
from handlers import date_input, thread_views, views
from handlers.attachments import clean_text, receive_file
from handlers.messages import Button, Checklist, Option, Reply
from handlers.payloads import (
    SEP,
    AcceptReport,
    AddInformation,
    AddNote,
    AnswerQuestion,
    AskQuestion,
    ConcludeResearch,
    ConfirmSolved,
    EscalateResearch,
    FormResearchTeam,
    HelpFromOffer,
    MarkResolved,
    NoComment,
    NoGuests,
    ParticipantsDone,
    PostTo,
    ProposeSolution,
    RateReport,
    RecordConclusion,
    RejectSolution,
    ReportAsNew,
    ReportPayload,
    ResearchLead,
    ResearchProgress,
    ScheduleConsultation,
    SendPosted,
    SkipMessage,
    TeamDone,
    ToggleParticipant,
    ToggleTeamMember,
    TransferReport,
    TransferTo,
    ViewReport,
    selected_ids,
)
from handlers.turn import Turn
from handlers.usecases import consultations, research, thread
from handlers.usecases import reports as usecases

FLOW = "rep"
MAX_NOTE = 1000


async def view(turn: Turn, pressed: ReportPayload) -> None:
    """Shows one report as its thread, with its files and the buttons this person may press."""
    report, enterprise = await usecases.load_report(turn.session, turn.actor, pressed.report_id)
    entries = await usecases.timeline(turn.session, report.id)
    turn.reply(
        thread_views.report_thread(
            turn.lang,
            report,
            enterprise,
            entries,
            turn.actor,
            turn.core.tz,
            await thread.contacts(turn.session, report),
            await thread.report_files(turn.session, report.id),
        )
    )


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
    turn.end()
    turn.goto(FLOW, "rating_comment", report_id=report.id)
    turn.say(
        turn.t("report.ask_rating_comment"),
        buttons=[[Button(turn.t("button.skip"), NoComment(report.id).pack())]],
    )


async def _rating_comment(turn: Turn) -> None:
    """Adds the typed comment to the rating; the officer reads it."""
    text = clean_text(turn, MAX_NOTE)
    if text is None:
        return
    report = await usecases.comment_rating(
        turn.session, turn.actor, turn.data["report_id"], text, turn.now
    )
    turn.end()
    turn.say(turn.t("report.rating_commented", reference=report.reference))


async def no_comment(turn: Turn, _: NoComment) -> None:
    """Leaves the rating without a comment."""
    turn.end()
    turn.say(turn.t("cancel.done"))


# Actions that need typed details first: the steps asked, in order.
ASKS: dict[ReportAction, tuple[str, ...]] = {
    # participants: picked from the bureau's people; guests: typed names from outside.
    ReportAction.SCHEDULE: ("when", "place", "participants", "guests"),
    ReportAction.PROPOSE: ("solution",),
    ReportAction.RESOLVE: ("solution",),
    ReportAction.ESCALATE: ("reason", "target_on"),
    ReportAction.REJECT_SOLUTION: ("reason",),
}


def _asking(action: ReportAction) -> Callable[[Turn, ReportPayload], Awaitable[None]]:
    async def start(turn: Turn, pressed: ReportPayload) -> None:
        # Refuse now rather than after the person has typed everything.
        report = await usecases.check_may_act(turn.session, turn.actor, pressed.report_id, action)
        first = ASKS[action][0]
        turn.end()
        turn.goto(FLOW, first, action=action.value, report_id=report.id, answers={})
        turn.say(turn.t(f"report.ask.{first}", reference=report.reference))

    start.__doc__ = f"Starts asking the details of '{action.value}'."
    return start


async def on_text(turn: Turn) -> None:
    """Stores the typed detail, asks the next one, or applies the action."""
    if turn.state.step in THREAD_STEPS:
        await THREAD_STEPS[turn.state.step](turn)
        return
    action = ReportAction(turn.data["action"])
    step = turn.state.step or ""
    value = _read(turn, step)
    if value is None:
        return
    answers = {**turn.data.get("answers", {}), step: value}
    steps = ASKS[action]
    position = steps.index(step)
    if position + 1 < len(steps):
        await _ask_next(turn, steps[position + 1], answers)
        return
    await _apply(turn, action, answers)


async def _ask_next(turn: Turn, step: str, answers: dict[str, Any]) -> None:
    turn.goto(FLOW, step, answers=answers)
    if step == "participants":
        await _show_participants(turn)
    elif step == "guests":
        turn.say(
            turn.t("report.ask.guests"),
            buttons=[[Button(turn.t("button.skip"), NoGuests().pack())]],
        )
    else:
        turn.say(turn.t(f"report.ask.{step}", reference=""))


async def _apply(turn: Turn, action: ReportAction, answers: dict[str, Any]) -> None:
    details = dict(answers)
    if "target_on" in details:
        details["target_on"] = parse_date(details["target_on"])
    if action is ReportAction.SCHEDULE:
        details = await consultations.consultation_details(
            turn.session, turn.actor, turn.data["report_id"], details
        )
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
        return read_consultation_time(turn, text)
    if step == "target_on":
        return read_target_date(turn, text)
    if step == "participants":
        turn.say(turn.t("report.use_buttons"))
        return None
    return text


def read_consultation_time(turn: Turn, text: str) -> str | None:
    """The consultation's local date and time as typed (明天下午3点): read, echoed for
    confirmation unless literal ISO, or None after saying what is wrong."""
    return date_input.read(turn, text, need_time=True)


def read_target_date(turn: Turn, text: str) -> str | None:
    """The research target date as typed (下周五, 12月3日), like the consultation time."""
    return date_input.read(turn, text, need_time=False)


# --- consultation participants --------------------------------------------------------------


async def _show_participants(turn: Turn, edit: bool = False) -> None:
    """The bureau's people as a several-of-many choice."""
    chosen = set(turn.data.get("participant_ids", []))
    people = await consultations.candidates(turn.session, turn.actor, turn.data["report_id"])
    turn.reply(
        Reply(
            text=turn.t("report.ask.participants"),
            checklist=Checklist(
                options=[Option(p.name, str(p.id), p.id in chosen) for p in people],
                toggle_prefix=ToggleParticipant.prefix() + SEP,
                done=Button(turn.t("button.done"), ParticipantsDone().pack()),
            ),
            edit=edit,
        )
    )


def _toggled(chosen: list[int], person_id: int) -> list[int]:
    """The choice with one person added, or removed if they were in it."""
    if person_id in chosen:
        return [p for p in chosen if p != person_id]
    return [*chosen, person_id]


async def toggle_participant(turn: Turn, pressed: ToggleParticipant) -> None:
    """Adds or removes one participant and shows the choice again."""
    if not turn.in_step(FLOW, "participants"):
        turn.say(turn.t("error.button_stale"))
        return
    chosen = _toggled(turn.data.get("participant_ids", []), pressed.person_id)
    turn.goto(FLOW, "participants", participant_ids=chosen)
    await _show_participants(turn, edit=True)


async def participants_done(turn: Turn, _: ParticipantsDone) -> None:
    """Closes the choice (WeCom sends every chosen person at once) and asks for guests."""
    if not turn.in_step(FLOW, "participants"):
        turn.say(turn.t("error.button_stale"))
        return
    chosen = turn.data.get("participant_ids", [])
    if turn.event.selected is not None:
        chosen = selected_ids(turn.event.selected)
    answers = {**turn.data.get("answers", {}), "participant_ids": chosen}
    await _ask_next(turn, "guests", answers)


async def no_guests(turn: Turn, _: NoGuests) -> None:
    """Schedules the consultation without outside guests."""
    if not turn.in_step(FLOW, "guests"):
        turn.say(turn.t("error.button_stale"))
        return
    await _apply(turn, ReportAction.SCHEDULE, {**turn.data.get("answers", {}), "guests": ""})


# --- research: the team, progress notes, the conclusion ------------------------------------


async def form_research_team(turn: Turn, pressed: FormResearchTeam) -> None:
    """Offers the bureau's people to lead the research."""
    report = await research.check_may_form_team(turn.session, turn.actor, pressed.report_id)
    people = await research.team_candidates(turn.session, turn.actor, report.id)
    turn.say(
        turn.t("research.choose_lead", reference=report.reference),
        buttons=[[Button(p.name[:40], ResearchLead(report.id, p.id).pack())] for p in people],
    )


async def choose_lead(turn: Turn, pressed: ResearchLead) -> None:
    """Keeps the lead and offers the team members."""
    report = await research.check_may_form_team(turn.session, turn.actor, pressed.report_id)
    turn.end()
    turn.goto(FLOW, "team", report_id=report.id, lead_id=pressed.person_id, team_ids=[])
    await _show_team(turn)


async def _show_team(turn: Turn, edit: bool = False) -> None:
    chosen = set(turn.data.get("team_ids", []))
    people = await research.team_candidates(turn.session, turn.actor, turn.data["report_id"])
    turn.reply(
        Reply(
            text=turn.t("research.choose_team"),
            checklist=Checklist(
                options=[
                    Option(p.name, str(p.id), p.id in chosen)
                    for p in people
                    if p.id != turn.data["lead_id"]
                ],
                toggle_prefix=ToggleTeamMember.prefix() + SEP,
                done=Button(turn.t("button.done"), TeamDone().pack()),
            ),
            edit=edit,
        )
    )


async def toggle_team_member(turn: Turn, pressed: ToggleTeamMember) -> None:
    """Adds or removes one team member and shows the choice again."""
    if not turn.in_step(FLOW, "team"):
        turn.say(turn.t("error.button_stale"))
        return
    chosen = _toggled(turn.data.get("team_ids", []), pressed.person_id)
    turn.goto(FLOW, "team", team_ids=chosen)
    await _show_team(turn, edit=True)


async def team_done(turn: Turn, _: TeamDone) -> None:
    """Names the team; the lead, the members, the officer and the enterprise are told."""
    if not turn.in_step(FLOW, "team"):
        turn.say(turn.t("error.button_stale"))
        return
    chosen = turn.data.get("team_ids", [])
    if turn.event.selected is not None:
        chosen = selected_ids(turn.event.selected)
    report, lead = await research.form_team(
        turn.session, turn.actor, turn.data["report_id"], turn.data["lead_id"], chosen, turn.now
    )
    turn.end()
    turn.say(turn.t("research.team_formed", reference=report.reference, lead=lead.name))


async def research_progress(turn: Turn, pressed: ResearchProgress) -> None:
    """Asks for a progress note of the research."""
    await _start_writing(turn, pressed.report_id, ThreadAction.PROGRESS)


async def conclude_research(turn: Turn, pressed: ConcludeResearch) -> None:
    """Starts collecting the research conclusion (text and files)."""
    await _start_collecting(turn, pressed.report_id, ThreadAction.RESEARCH_CONCLUSION)


async def record_conclusion(turn: Turn, pressed: RecordConclusion) -> None:
    """Starts collecting what the consultation concluded (text and files)."""
    await _start_collecting(turn, pressed.report_id, ThreadAction.CONCLUSION)


async def on_file(turn: Turn) -> None:
    """Keeps a file for the addition, answer, solution or reason being written."""
    if turn.state.step in FILE_STEPS:
        await _file_with_detail(turn)
        return
    if turn.state.step not in ("collect", "loose"):
        turn.say(turn.t("file.not_expected"))
        return
    files = list(turn.data.get("files", []))
    if len(files) >= thread.MAX_FILES:
        turn.say(turn.t("report.files_limit", limit=thread.MAX_FILES))
        return
    attachment = await receive_file(turn)
    turn.goto(FLOW, turn.state.step, files=[*files, attachment.id])
    await _collected(turn)


# Lifecycle details that may come with files: a proposal, a resolution, a not-solved reason.
FILE_STEPS = ("solution", "reason")


async def _file_with_detail(turn: Turn) -> None:
    """Keeps a file sent while the solution or reason is asked; the text still follows."""
    answers = dict(turn.data.get("answers", {}))
    files = list(answers.get("files", []))
    if len(files) >= thread.MAX_FILES:
        turn.say(turn.t("report.files_limit", limit=thread.MAX_FILES))
        return
    attachment = await receive_file(turn)
    answers["files"] = [*files, attachment.id]
    turn.goto(FLOW, turn.state.step or "", answers=answers)
    turn.say(turn.t("report.detail_file_received", count=len(answers["files"])))


# --- the thread: additions, questions and answers, notes, transfer ---------------------------


async def add_information(turn: Turn, pressed: AddInformation) -> None:
    """Starts collecting text and files to add to an open report."""
    await _start_collecting(turn, pressed.report_id, ThreadAction.ADD_INFO)


async def answer_question(turn: Turn, pressed: AnswerQuestion) -> None:
    """Starts collecting the answer to the officer's question."""
    await _start_collecting(turn, pressed.report_id, ThreadAction.ANSWER)


async def _start_collecting(turn: Turn, report_id: int, action: ThreadAction) -> None:
    report = await thread.check_may_post(turn.session, turn.actor, report_id, action)
    turn.end()
    turn.goto(FLOW, "collect", action=action.value, report_id=report.id, texts=[], files=[])
    turn.say(
        turn.t(f"thread.ask.{action.value}", reference=report.reference),
        buttons=[[_send_button(turn, report.id)]],
    )


def _send_button(turn: Turn, report_id: int) -> Button:
    return Button(turn.t("thread.button.send"), SendPosted(report_id).pack())


async def _collect_text(turn: Turn) -> None:
    """Keeps a typed text for the addition or answer being written."""
    text = clean_text(turn, MAX_NOTE)
    if text is None:
        return
    turn.goto(FLOW, turn.state.step or "collect", texts=[*turn.data.get("texts", []), text])
    await _collected(turn)


async def _collected(turn: Turn) -> None:
    if turn.state.step == "loose":
        await _offer_reports(turn)
        return
    count = len(turn.data.get("texts", [])) + len(turn.data.get("files", []))
    turn.say(
        turn.t("thread.collected", count=count),
        buttons=[[_send_button(turn, turn.data["report_id"])]],
    )


async def send_posted(turn: Turn, pressed: SendPosted) -> None:
    """Adds what was collected to the thread; the other side gets it with the files."""
    if not turn.in_step(FLOW, "collect") or turn.data.get("report_id") != pressed.report_id:
        turn.say(turn.t("error.button_stale"))
        return
    await _post(turn, pressed.report_id, ThreadAction(turn.data["action"]))


async def _post(turn: Turn, report_id: int, action: ThreadAction) -> None:
    texts = turn.data.get("texts", [])
    report, _ = await thread.post(
        turn.session,
        turn.actor,
        report_id,
        action,
        "\n".join(texts) if texts else None,
        turn.data.get("files", []),
        turn.now,
    )
    turn.end()
    turn.say(turn.t(f"thread.done.{action.value}", reference=report.reference))


async def ask_question(turn: Turn, pressed: AskQuestion) -> None:
    """Asks the officer for the question to send to the enterprise."""
    await _start_writing(turn, pressed.report_id, ThreadAction.ASK)


async def add_note(turn: Turn, pressed: AddNote) -> None:
    """Asks for an internal note (colleagues see it; the enterprise never does)."""
    await _start_writing(turn, pressed.report_id, ThreadAction.NOTE)


async def _start_writing(turn: Turn, report_id: int, action: ThreadAction) -> None:
    report = await thread.check_may_post(turn.session, turn.actor, report_id, action)
    turn.end()
    turn.goto(FLOW, "write", action=action.value, report_id=report.id)
    turn.say(turn.t(f"thread.ask.{action.value}", reference=report.reference))


async def _write_text(turn: Turn) -> None:
    """Posts the typed question or note."""
    text = clean_text(turn, MAX_NOTE)
    if text is None:
        return
    turn.goto(FLOW, "write", texts=[text])
    await _post(turn, turn.data["report_id"], ThreadAction(turn.data["action"]))


async def transfer_report(turn: Turn, pressed: TransferReport) -> None:
    """Offers the colleagues the report can be handed to."""
    report = await thread.check_may_post(
        turn.session, turn.actor, pressed.report_id, ThreadAction.TRANSFER
    )
    found = await thread.colleagues(turn.session, turn.actor, report)
    if not found:
        turn.say(turn.t("thread.transfer.nobody"))
        return
    turn.say(
        turn.t("thread.transfer.choose", reference=report.reference),
        buttons=[[Button(p.name[:40], TransferTo(report.id, p.id).pack())] for p in found],
    )


async def transfer_to(turn: Turn, pressed: TransferTo) -> None:
    """Asks what moves (this report or the whole assignment), then for an optional message."""
    report = await thread.check_may_post(
        turn.session, turn.actor, pressed.report_id, ThreadAction.TRANSFER
    )
    if pressed.scope not in (0, 1, 2):
        turn.say(turn.t("error.button_invalid"))
        return
    await thread.colleague_of(turn.session, turn.actor, report, pressed.officer_id)
    if pressed.scope == 0:
        turn.say(
            turn.t("thread.transfer.scope"),
            buttons=[
                [
                    Button(
                        turn.t(f"thread.transfer.scope.{scope}"),
                        TransferTo(report.id, pressed.officer_id, scope).pack(),
                    )
                    for scope in (1, 2)
                ]
            ],
        )
        return
    turn.end()
    turn.goto(
        FLOW,
        "transfer_message",
        report_id=report.id,
        officer_id=pressed.officer_id,
        whole=pressed.scope == 2,
    )
    turn.say(
        turn.t("thread.transfer.message"),
        buttons=[[Button(turn.t("button.skip"), SkipMessage(report.id).pack())]],
    )


async def _transfer_message(turn: Turn) -> None:
    """Hands the report over with the typed message."""
    text = clean_text(turn, MAX_NOTE)
    if text is not None:
        await _transfer(turn, text)


async def skip_message(turn: Turn, pressed: SkipMessage) -> None:
    """Hands the report over without a message."""
    if not turn.in_step(FLOW, "transfer_message") or turn.data["report_id"] != pressed.report_id:
        turn.say(turn.t("error.button_stale"))
        return
    await _transfer(turn, None)


async def _transfer(turn: Turn, message: str | None) -> None:
    report, colleague = await thread.transfer(
        turn.session,
        turn.actor,
        turn.data["report_id"],
        turn.data["officer_id"],
        turn.data.get("whole", False),
        message,
        turn.now,
    )
    turn.end()
    turn.say(turn.t("thread.transfer.done", reference=report.reference, name=colleague.name))


async def loose_input(turn: Turn) -> bool:
    """Text or a file sent outside any step by staff with open reports: keep it and offer
    the reports it could be added to; False (nothing done) when there is none."""
    if turn.actor.role is not Role.STAFF:
        return False
    if not await thread.open_reports_of(turn.session, turn.actor):
        return False
    turn.goto(FLOW, "loose", texts=[], files=[])
    if turn.event.file is not None:
        await on_file(turn)
    else:
        await _collect_text(turn)
    return True


async def _offer_reports(turn: Turn) -> None:
    open_reports = await thread.open_reports_of(turn.session, turn.actor)
    buttons = [
        [Button(turn.t("button.add_to", reference=r.reference), PostTo(r.id).pack())]
        for r in open_reports
    ]
    buttons.append([Button(turn.t("button.report_as_new"), ReportAsNew().pack())])
    buttons.append([Button(turn.t("button.help"), HelpFromOffer().pack())])
    turn.say(turn.t("thread.which_report"), buttons=buttons)


async def post_to(turn: Turn, pressed: PostTo) -> None:
    """Adds the loose text and files to the chosen report (as the answer to a pending
    question, if there is one)."""
    if not turn.in_step(FLOW, "loose"):
        turn.say(turn.t("error.button_stale"))
        return
    pending = await thread.has_pending_question(turn.session, pressed.report_id)
    action = ThreadAction.ANSWER if pending else ThreadAction.ADD_INFO
    await _post(turn, pressed.report_id, action)


THREAD_STEPS: dict[str, Callable[[Turn], Awaitable[None]]] = {
    "collect": _collect_text,
    "loose": _collect_text,
    "write": _write_text,
    "transfer_message": _transfer_message,
    "rating_comment": _rating_comment,
}


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
    AddInformation: add_information,
    AnswerQuestion: answer_question,
    SendPosted: send_posted,
    AskQuestion: ask_question,
    AddNote: add_note,
    TransferReport: transfer_report,
    TransferTo: transfer_to,
    SkipMessage: skip_message,
    PostTo: post_to,
    ToggleParticipant: toggle_participant,
    ParticipantsDone: participants_done,
    NoGuests: no_guests,
    RecordConclusion: record_conclusion,
    FormResearchTeam: form_research_team,
    ResearchLead: choose_lead,
    ToggleTeamMember: toggle_team_member,
    TeamDone: team_done,
    ResearchProgress: research_progress,
    ConcludeResearch: conclude_research,
    NoComment: no_comment,
}
date_input.resume_with(FLOW, on_text)
