"""The agreement's evaluation (评价): each side rates the other's commitments at the end of
the period; /evaluations shows supervisors the results; /agreement's period block."""

from __future__ import annotations

from domain.commitments import CommitmentStatus
from domain.errors import DomainError
from domain.roles import SUPERVISING_ROLES, Party
from handlers import agreement_views as views
from handlers.attachments import clean_text
from handlers.messages import Button
from handlers.payloads import (
    EvaluationResultsPage,
    ScoreCommitment,
    ShowEvaluationResult,
    StartEvaluation,
    SubmitWithoutComment,
)
from handlers.turn import Turn
from handlers.usecases import agreements as usecases
from storage.models import Commitment, Enterprise

FLOW = StartEvaluation.FLOW
RESULTS_PAGE = 10


async def start(turn: Turn, pressed: StartEvaluation) -> None:
    """Opens or resumes this side's evaluation at the next commitment to rate."""
    step = await usecases.evaluation_step(
        turn.session, turn.actor, pressed.agreement_id, turn.today, turn.now
    )
    _ask_next(turn, step)


async def rate(turn: Turn, pressed: ScoreCommitment) -> None:
    """Stores a score and asks for the next one, or for the comment."""
    step = await usecases.rate(
        turn.session, turn.actor, pressed.commitment_id, pressed.score, turn.today, turn.now
    )
    _ask_next(turn, step)


def _ask_next(turn: Turn, step: usecases.EvaluationStep) -> None:
    if step.next_commitment is not None:
        if turn.state.flow == FLOW:
            # Back from the comment to a score; any other flow the person is in stays.
            turn.end()
        position = step.to_rate.index(step.next_commitment) + 1
        turn.reply(
            views.score_prompt(
                turn.lang,
                step.enterprise,
                step.next_commitment,
                position,
                len(step.to_rate),
                turn.today,
            )
        )
        return
    agreement_id = step.evaluation.agreement_id
    turn.goto(FLOW, "comment", agreement_id=agreement_id)
    turn.reply(views.comment_prompt(turn.lang, agreement_id, len(step.evaluation.ratings)))


async def skip_comment(turn: Turn, pressed: SubmitWithoutComment) -> None:
    """Submits the evaluation without a comment."""
    await _submit(turn, pressed.agreement_id, None)


async def on_text(turn: Turn) -> None:
    """Takes the comment and submits the evaluation."""
    if not turn.in_step(FLOW, "comment"):
        turn.end()
        turn.say(turn.t("help.not_understood"))
        return
    comment = clean_text(turn, usecases.MAX_COMMENT)
    if comment is None:
        return
    await _submit(turn, int(turn.data["agreement_id"]), comment)


async def on_file(turn: Turn) -> None:
    turn.say(turn.t("file.not_expected"))


async def _submit(turn: Turn, agreement_id: int, comment: str | None) -> None:
    step = await usecases.submit(
        turn.session, turn.actor, agreement_id, comment, turn.today, turn.now
    )
    turn.end()
    turn.reply(views.submitted(turn.lang, step.evaluation))


async def show_evaluations(turn: Turn) -> None:
    """Lists the ended agreements in the supervisor's scope with both sides' ratings."""
    await _show_page(turn, 0)


async def page(turn: Turn, pressed: EvaluationResultsPage) -> None:
    """Shows the page of ended agreements the button points to."""
    await _show_page(turn, pressed.offset)


async def _show_page(turn: Turn, offset: int) -> None:
    """Shows one page of ended agreements and their evaluations."""
    if turn.actor.role not in SUPERVISING_ROLES:
        raise DomainError("error.not_allowed")
    results, total = await usecases.ended_in_scope(
        turn.session, turn.actor, turn.today, offset, RESULTS_PAGE
    )
    turn.reply(
        views.results_page(
            turn.lang,
            [(r.agreement, r.enterprise, r.evaluations) for r in results],
            offset,
            total,
        )
    )


async def view(turn: Turn, pressed: ShowEvaluationResult) -> None:
    """Shows every score and comment of an ended agreement's evaluations."""
    if turn.actor.role not in SUPERVISING_ROLES:
        raise DomainError("error.not_allowed")
    result = await usecases.result_of(turn.session, turn.actor, pressed.agreement_id)
    turn.reply(
        views.result_detail(
            turn.lang,
            result.agreement,
            result.enterprise,
            result.evaluations,
            result.commitments,
            result.evaluators,
            turn.core.tz,
        )
    )


async def period_section(
    turn: Turn, enterprise: Enterprise, commitments: list[Commitment]
) -> tuple[str, list[list[Button]]]:
    """For /agreement: the period block, and the button to evaluate or see the results."""
    agreement = await usecases.find_agreement(turn.session, enterprise.id)
    open_by_party = {
        party: sum(
            1
            for c in commitments
            if c.party is party and c.status is not CommitmentStatus.CONFIRMED
        )
        for party in Party
    }
    counts = {party: sum(1 for c in commitments if c.party is party) for party in Party}
    supervising = turn.actor.role in SUPERVISING_ROLES
    evaluations = await usecases.evaluations_of(turn.session, agreement) if agreement else {}
    text = views.period_block(
        turn.lang, agreement, turn.today, open_by_party, evaluations, counts, supervising
    )
    buttons: list[list[Button]] = []
    if agreement is None or agreement.ends_on is None or agreement.ends_on > turn.today:
        return text, buttons
    if supervising:
        buttons.append(
            [Button(turn.t("agreement.button.results"), ShowEvaluationResult(agreement.id).pack())]
        )
    else:
        mine = turn.actor.party
        own = evaluations.get(mine)
        if (own is None or own.submitted_at is None) and (
            mine is Party.ENTERPRISE or enterprise.officer_id == turn.actor.person_id
        ):
            buttons.append(
                [Button(turn.t("agreement.button.evaluate"), StartEvaluation(agreement.id).pack())]
            )
    return text, buttons


BUTTONS = {
    StartEvaluation: start,
    ScoreCommitment: rate,
    SubmitWithoutComment: skip_comment,
    ShowEvaluationResult: view,
    EvaluationResultsPage: page,
}
