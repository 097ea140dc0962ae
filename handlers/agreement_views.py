"""How an agreement's period, its notices and its evaluation (评价) read in a chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from domain.agreements import MAX_SCORE, MIN_SCORE, AgreementMoment, days_left, mean_score
from domain.commitments import other_party
from domain.roles import Party
from handlers.i18n import translate as t
from handlers.messages import Button, Reply
from handlers.payloads import (
    EvaluationResultsPage,
    ScoreCommitment,
    ShowAgreement,
    ShowEvaluationResult,
    StartEvaluation,
    SubmitWithoutComment,
)
from handlers.views import commitment_line, local_time
from storage.models import Agreement, AgreementEvaluation, Commitment, Enterprise

# Buttons in one notice; an officer with more agreements ending opens them from /agreement.
MAX_NOTICE_BUTTONS = 8
_LABEL = 16


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- notices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """An agreement owed a notice today, with its commitments still open per side."""

    agreement: Agreement
    enterprise: Enterprise
    open_by_party: dict[Party, int]


def period_text(lang: str, agreement: Agreement) -> str:
    if agreement.starts_on is None or agreement.ends_on is None:
        return t(lang, "agreement.period.unset")
    return t(
        lang,
        "agreement.period.line",
        start=agreement.starts_on.isoformat(),
        end=agreement.ends_on.isoformat(),
    )


def open_text(lang: str, open_by_party: dict[Party, int]) -> str:
    return t(
        lang,
        "agreement.period.open",
        bureau=open_by_party.get(Party.BUREAU, 0),
        enterprise=open_by_party.get(Party.ENTERPRISE, 0),
    )


def agreement_notice(
    lang: str, due: AgreementMoment, items: list[Due], viewer: Party, today: date
) -> Reply:
    """The month-before notice or the evaluation prompt, one message for all `items`."""
    lines = [t(lang, f"agreement.notice.{due.value}.intro.{viewer.value}")]
    buttons: list[list[Button]] = []
    for item in items:
        ends_on = item.agreement.ends_on or today
        lines.append(
            t(
                lang,
                f"agreement.notice.{due.value}.item",
                enterprise=item.enterprise.name,
                start=item.agreement.starts_on.isoformat() if item.agreement.starts_on else "—",
                end=ends_on.isoformat(),
                days=max(0, days_left(ends_on, today)),
                open=open_text(lang, item.open_by_party),
            )
        )
        if len(buttons) >= MAX_NOTICE_BUTTONS:
            continue
        label = _short(item.enterprise.name, _LABEL)
        if due is AgreementMoment.EVALUATION:
            payload = StartEvaluation(item.agreement.id).pack()
            label = t(lang, "agreement.button.evaluate_for", enterprise=label)
        else:
            payload = ShowAgreement(item.enterprise.id).pack()
        buttons.append([Button(label, payload)])
    if len(items) > MAX_NOTICE_BUTTONS:
        lines.append(t(lang, "agreement.notice.more", count=len(items) - MAX_NOTICE_BUTTONS))
    return Reply(
        title=t(lang, f"agreement.notice.{due.value}.title"), text="\n".join(lines), buttons=buttons
    )


# --- /agreement ----------------------------------------------------------------------------


def evaluation_state(
    lang: str, evaluation: AgreementEvaluation | None, to_rate: int, with_scores: bool
) -> str:
    if evaluation is None:
        return t(lang, "agreement.evaluation.not_started")
    if evaluation.submitted_at is None:
        return t(
            lang,
            "agreement.evaluation.in_progress",
            rated=len(evaluation.ratings),
            total=to_rate,
        )
    mean = mean_score(evaluation.ratings)
    if with_scores and mean is not None:
        return t(
            lang,
            "agreement.evaluation.submitted_mean",
            day=evaluation.submitted_at.date().isoformat(),
            mean=mean,
        )
    return t(lang, "agreement.evaluation.submitted", day=evaluation.submitted_at.date().isoformat())


def period_block(
    lang: str,
    agreement: Agreement | None,
    today: date,
    open_by_party: dict[Party, int],
    evaluations: dict[Party, AgreementEvaluation],
    counts: dict[Party, int],
    with_scores: bool,
) -> str:
    """The period, signatories, days left, what is open, and after the end the evaluations."""
    if agreement is None or agreement.ends_on is None:
        return t(lang, "agreement.period.unset") + "\n" + open_text(lang, open_by_party)
    lines = [period_text(lang, agreement)]
    if agreement.bureau_signatory or agreement.enterprise_signatory:
        lines.append(
            t(
                lang,
                "agreement.period.signatories",
                bureau=agreement.bureau_signatory or "—",
                enterprise=agreement.enterprise_signatory or "—",
            )
        )
    left = days_left(agreement.ends_on, today)
    if left > 0:
        lines.append(t(lang, "agreement.period.days_left", days=left))
    else:
        lines.append(t(lang, "agreement.period.ended", end=agreement.ends_on.isoformat()))
    lines.append(open_text(lang, open_by_party))
    if left <= 0:
        for party in Party:
            # `counts` holds each side's commitments; a side rates the other side's.
            lines.append(
                t(
                    lang,
                    f"agreement.evaluation.by_{party.value}",
                    state=evaluation_state(
                        lang, evaluations.get(party), counts[other_party(party)], with_scores
                    ),
                )
            )
    return "\n".join(lines)


# --- the evaluation conversation -----------------------------------------------------------


def score_prompt(
    lang: str,
    enterprise: Enterprise,
    commitment: Commitment,
    position: int,
    total: int,
    today: date,
) -> Reply:
    return Reply(
        title=t(
            lang, "agreement.evaluation.title", enterprise=enterprise.name, n=position, total=total
        ),
        text=t(
            lang,
            "agreement.evaluation.ask_score",
            party=t(lang, f"party.{commitment.party.value}"),
            commitment=commitment_line(lang, commitment, today),
            low=MIN_SCORE,
            high=MAX_SCORE,
        ),
        buttons=[
            [
                Button("★" * score, ScoreCommitment(commitment.id, score).pack())
                for score in range(MIN_SCORE, MAX_SCORE + 1)
            ]
        ],
    )


def comment_prompt(lang: str, agreement_id: int, rated: int) -> Reply:
    return Reply(
        text=t(lang, "agreement.evaluation.ask_comment", rated=rated),
        buttons=[
            [
                Button(
                    t(lang, "agreement.button.submit_without_comment"),
                    SubmitWithoutComment(agreement_id).pack(),
                )
            ]
        ],
    )


def submitted(lang: str, evaluation: AgreementEvaluation) -> Reply:
    mean = mean_score(evaluation.ratings)
    return Reply(
        text=t(
            lang,
            "agreement.evaluation.thanks",
            count=len(evaluation.ratings),
            mean=mean if mean is not None else "—",
        )
    )


# --- results for supervisors ---------------------------------------------------------------


def _side_summary(lang: str, evaluation: AgreementEvaluation | None) -> str:
    if evaluation is None or evaluation.submitted_at is None:
        return t(lang, "agreement.evaluation.pending")
    mean = mean_score(evaluation.ratings)
    summary = t(
        lang,
        "agreement.evaluation.summary",
        mean=mean if mean is not None else "—",
        count=len(evaluation.ratings),
    )
    if evaluation.comment:
        summary += " · " + _short(evaluation.comment, 60)
    return summary


def results_page(
    lang: str,
    results: list[tuple[Agreement, Enterprise, dict[Party, AgreementEvaluation]]],
    offset: int,
    total: int,
) -> Reply:
    if not results:
        return Reply(text=t(lang, "agreement.results.none"))
    lines, buttons = [], []
    for agreement, enterprise, evaluations in results:
        lines.append(
            t(
                lang,
                "agreement.results.line",
                enterprise=enterprise.name,
                period=period_text(lang, agreement),
                by_enterprise=_side_summary(lang, evaluations.get(Party.ENTERPRISE)),
                by_bureau=_side_summary(lang, evaluations.get(Party.BUREAU)),
            )
        )
        buttons.append(
            [
                Button(
                    t(lang, "agreement.button.details", enterprise=_short(enterprise.name, _LABEL)),
                    ShowEvaluationResult(agreement.id).pack(),
                )
            ]
        )
    shown_to = offset + len(results)
    if shown_to < total:
        buttons.append(
            [Button(t(lang, "agreement.button.more"), EvaluationResultsPage(shown_to).pack())]
        )
    return Reply(
        title=t(lang, "agreement.results.title", first=offset + 1, last=shown_to, total=total),
        text="\n\n".join(lines),
        buttons=buttons,
    )


def result_detail(
    lang: str,
    agreement: Agreement,
    enterprise: Enterprise,
    evaluations: dict[Party, AgreementEvaluation],
    commitments: dict[int, Commitment],
    evaluators: dict[int, str],
    tz: tzinfo,
) -> Reply:
    lines = [period_text(lang, agreement)]
    for party in (Party.ENTERPRISE, Party.BUREAU):
        evaluation = evaluations.get(party)
        lines.append("")
        if evaluation is None or evaluation.submitted_at is None:
            lines.append(
                t(
                    lang,
                    f"agreement.evaluation.by_{party.value}",
                    state=t(lang, "agreement.evaluation.pending"),
                )
            )
            continue
        lines.append(
            t(
                lang,
                f"agreement.evaluation.by_{party.value}",
                state=t(
                    lang,
                    "agreement.results.by",
                    who=evaluators.get(evaluation.submitted_by_id or 0, "—"),
                    when=local_time(evaluation.submitted_at, tz),
                ),
            )
        )
        for commitment_id, score in evaluation.ratings.items():
            commitment = commitments.get(int(commitment_id))
            text = _short(commitment.text, 40) if commitment else "—"
            lines.append(f"#{commitment_id} {text} · {'★' * score} {score}")
        if evaluation.comment:
            lines.append(t(lang, "agreement.results.comment", comment=evaluation.comment))
    return Reply(
        title=t(lang, "agreement.results.detail_title", enterprise=enterprise.name),
        text="\n".join(lines),
    )
