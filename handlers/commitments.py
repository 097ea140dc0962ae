"""/commitments and /agreement: marking done with evidence, confirming or sending back."""

from __future__ import annotations

from domain.commitments import CommitmentAction, CommitmentStatus
from domain.roles import Party, Role
from handlers import evaluation, paging, views
from handlers.attachments import clean_text, receive_file
from handlers.messages import Button
from handlers.payloads import (
    ConfirmCommitment,
    ListKind,
    MarkCommitmentDone,
    SendBackCommitment,
    ShowAgreement,
    SkipEvidence,
)
from handlers.turn import Turn
from handlers.usecases import commitments as usecases
from storage.models import Person

FLOW = "cm"
MAX_NOTE = 1000


async def show_open(turn: Turn, offset: int = 0) -> None:
    """Lists what needs this person's action, overdue first, with buttons, a page at a time."""
    found = await usecases.open_for(
        turn.session, turn.actor, turn.today, limit=paging.PAGE + 1, offset=offset
    )
    if not found:
        turn.say(turn.t("commitments.none" if offset == 0 else "list.end"))
        return
    lines, buttons = [], []
    for commitment, enterprise in found[: paging.PAGE]:
        prefix = "" if turn.actor.role is Role.STAFF else f"{enterprise.name} · "
        lines.append(prefix + views.commitment_line(turn.lang, commitment, turn.today))
        if commitment.party is turn.actor.party:
            buttons.append(
                [
                    Button(
                        turn.t("button.mark_done_id", id=commitment.id),
                        MarkCommitmentDone(commitment.id).pack(),
                    )
                ]
            )
        else:
            buttons.append(
                [
                    Button(
                        turn.t("button.confirm_id", id=commitment.id),
                        ConfirmCommitment(commitment.id).pack(),
                    ),
                    Button(
                        turn.t("button.send_back_id", id=commitment.id),
                        SendBackCommitment(commitment.id).pack(),
                    ),
                ]
            )
    title = paging.page_title(turn, turn.t("commitments.title"), offset, len(lines))
    buttons += paging.more_row(turn, ListKind.COMMITMENTS, offset, len(found) > paging.PAGE)
    turn.say("\n".join(lines), title=title, buttons=buttons)


async def show_agreement(turn: Turn) -> None:
    """Shows the agreement; bureau-side people first choose among their enterprises."""
    actor = turn.actor
    if actor.role is Role.STAFF and actor.enterprise_id is not None:
        await agreement(turn, ShowAgreement(actor.enterprise_id))
        return
    enterprises = await usecases.enterprises_in_scope(turn.session, actor)
    if not enterprises:
        turn.say(turn.t("agreement.no_enterprises"))
    elif len(enterprises) == 1:
        await agreement(turn, ShowAgreement(enterprises[0].id))
    else:
        turn.say(
            turn.t("agreement.choose"),
            buttons=[[Button(e.name[:40], ShowAgreement(e.id).pack())] for e in enterprises[:30]],
        )


async def agreement(turn: Turn, pressed: ShowAgreement) -> None:
    """Shows both sides' commitments of one enterprise with status and due date."""
    enterprise, commitments = await usecases.agreement_of(
        turn.session, turn.actor, pressed.enterprise_id
    )
    period, period_buttons = await evaluation.period_section(turn, enterprise, commitments)
    if not commitments:
        turn.say(
            turn.t("agreement.empty", enterprise=enterprise.name) + "\n\n" + period,
            buttons=period_buttons,
        )
        return
    sections = [period]
    officer = (
        await turn.session.get(Person, enterprise.officer_id) if enterprise.officer_id else None
    )
    if officer is not None and turn.actor.role is Role.STAFF:
        sections.append(
            turn.t("agreement.officer_line", name=officer.name, phone=officer.phone or "—")
        )
    for party in Party:
        rows = [
            views.commitment_line(turn.lang, c, turn.today) for c in commitments if c.party is party
        ]
        if rows:
            sections.append(turn.t(f"agreement.section.{party.value}") + "\n" + "\n".join(rows))
    turn.say(
        "\n\n".join(sections),
        title=turn.t("agreement.title", enterprise=enterprise.name),
        buttons=period_buttons,
    )


async def mark_done(turn: Turn, pressed: MarkCommitmentDone) -> None:
    """Asks for a note on what was done."""
    commitment = await usecases.check_may(
        turn.session, turn.actor, pressed.commitment_id, CommitmentAction.MARK_DONE
    )
    turn.end()
    turn.goto(FLOW, "note", commitment_id=commitment.id)
    turn.say(turn.t("commitment.ask_note", text=commitment.text))


async def confirm(turn: Turn, pressed: ConfirmCommitment) -> None:
    """Confirms the other side's commitment as fulfilled."""
    commitment = await usecases.act_on_commitment(
        turn.session, turn.actor, pressed.commitment_id, CommitmentAction.CONFIRM, turn.now
    )
    turn.say(turn.t("commitment.confirmed", id=commitment.id), edit=True)


async def send_back(turn: Turn, pressed: SendBackCommitment) -> None:
    """Asks why the other side's commitment is sent back."""
    commitment = await usecases.check_may(
        turn.session, turn.actor, pressed.commitment_id, CommitmentAction.SEND_BACK
    )
    turn.end()
    turn.goto(FLOW, "reason", commitment_id=commitment.id)
    turn.say(turn.t("commitment.ask_reason"))


async def on_text(turn: Turn) -> None:
    """Takes the note (then asks for evidence) or the send-back reason."""
    text = clean_text(turn, MAX_NOTE)
    if text is None:
        return
    if turn.state.step == "note":
        turn.goto(FLOW, "evidence", note=text)
        turn.say(turn.t("commitment.ask_evidence"), buttons=[[_skip_button(turn)]])
    elif turn.state.step == "reason":
        commitment = await usecases.act_on_commitment(
            turn.session,
            turn.actor,
            turn.data["commitment_id"],
            CommitmentAction.SEND_BACK,
            turn.now,
            note=text,
        )
        turn.end()
        turn.say(turn.t("commitment.sent_back", id=commitment.id))
    else:
        turn.say(
            turn.t("commitment.evidence_expected"),
            buttons=[[_skip_button(turn)]],
        )


async def on_file(turn: Turn) -> None:
    """Takes the evidence file and records the commitment as done."""
    if not turn.in_step(FLOW, "evidence"):
        turn.say(turn.t("file.not_expected"))
        return
    attachment = await receive_file(turn)
    await _finish_done(turn, attachment.id)


def _skip_button(turn: Turn) -> Button:
    return Button(turn.t("button.skip"), SkipEvidence().pack())


async def skip_evidence(turn: Turn, _: SkipEvidence) -> None:
    """Records the commitment as done without evidence."""
    if not turn.in_step(FLOW, "evidence"):
        turn.say(turn.t("error.button_stale"))
        return
    await _finish_done(turn, None)


async def _finish_done(turn: Turn, evidence_id: int | None) -> None:
    commitment = await usecases.act_on_commitment(
        turn.session,
        turn.actor,
        turn.data["commitment_id"],
        CommitmentAction.MARK_DONE,
        turn.now,
        note=turn.data.get("note"),
        evidence_id=evidence_id,
    )
    turn.end()
    assert commitment.status is CommitmentStatus.AWAITING_CONFIRMATION
    turn.say(turn.t("commitment.marked_done", id=commitment.id))


BUTTONS = {
    MarkCommitmentDone: mark_done,
    ConfirmCommitment: confirm,
    SendBackCommitment: send_back,
    SkipEvidence: skip_evidence,
    ShowAgreement: agreement,
}
