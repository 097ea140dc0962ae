"""The agreement's period and signatories, its month-before notice, and the evaluation
(评价) each side gives the other at its end."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.agreements import (
    EXPIRY_NOTICE_DAYS,
    AgreementMoment,
    check_evaluation_open,
    check_period,
    check_score,
    clean_signatory,
    evaluating_party,
    moment,
)
from domain.commitments import CommitmentStatus, other_party
from domain.errors import DomainError, InvalidTransition, NotFound
from domain.roles import BUREAU_ROLES, Actor, Party, Role, require_access
from handlers import agreement_views
from handlers.core import Core
from handlers.usecases.notify import audit, notify
from handlers.usecases.scope import enterprises_covered, scope_of
from storage.models import Agreement, AgreementEvaluation, Commitment, Enterprise, Person

log = logging.getLogger(__name__)
MAX_COMMENT = 1000


@dataclass(frozen=True)
class AgreementTerms:
    """What `qabot agreement set` and the import may set."""

    starts_on: date
    ends_on: date
    bureau_signatory: str | None = None
    enterprise_signatory: str | None = None
    bureau_signatory_id: int | None = None


async def agreement_for(session: AsyncSession, enterprise_id: int, now: datetime) -> Agreement:
    """The enterprise's agreement, created (without commitments) if missing."""
    agreement = await session.scalar(
        select(Agreement).where(Agreement.enterprise_id == enterprise_id)
    )
    if agreement is None:
        agreement = Agreement(enterprise_id=enterprise_id, created_at=now)
        session.add(agreement)
        await session.flush()
    return agreement


async def set_terms(
    session: AsyncSession,
    enterprise_id: int,
    terms: AgreementTerms,
    now: datetime,
    actor_id: int | None = None,
) -> Agreement:
    """Set the period and signatories of the enterprise's agreement; audited."""
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("error.enterprise_unknown", id=enterprise_id)
    check_period(terms.starts_on, terms.ends_on)
    bureau_signatory = clean_signatory(terms.bureau_signatory)
    if terms.bureau_signatory_id is not None:
        signer = await session.get(Person, terms.bureau_signatory_id)
        if signer is None or signer.role not in BUREAU_ROLES:
            raise DomainError("error.signatory_not_bureau", id=terms.bureau_signatory_id)
        bureau_signatory = bureau_signatory or signer.name
    agreement = await agreement_for(session, enterprise_id, now)
    agreement.starts_on, agreement.ends_on = terms.starts_on, terms.ends_on
    agreement.bureau_signatory = bureau_signatory
    agreement.bureau_signatory_id = terms.bureau_signatory_id
    agreement.enterprise_signatory = clean_signatory(terms.enterprise_signatory)
    await session.flush()
    audit(
        session,
        actor_id,
        "agreement.set",
        "agreement",
        agreement.id,
        now,
        enterprise_id=enterprise_id,
        starts_on=terms.starts_on.isoformat(),
        ends_on=terms.ends_on.isoformat(),
        bureau_signatory=agreement.bureau_signatory,
        bureau_signatory_id=agreement.bureau_signatory_id,
        enterprise_signatory=agreement.enterprise_signatory,
    )
    return agreement


async def find_agreement(session: AsyncSession, enterprise_id: int) -> Agreement | None:
    return await session.scalar(select(Agreement).where(Agreement.enterprise_id == enterprise_id))


# --- the sweep ---------------------------------------------------------------------------


async def remind_agreements(core: Core, today: date, now: datetime) -> int:
    """Queue the month-before notice and the end-date evaluation prompt, each once per end
    date: one message per person (an officer's agreements together), in one transaction."""
    async with core.sessions() as session, session.begin():
        rows = await session.execute(
            select(Agreement, Enterprise)
            .join(Enterprise, Agreement.enterprise_id == Enterprise.id)
            .where(
                Agreement.ends_on.is_not(None),
                Agreement.ends_on <= today + timedelta(days=EXPIRY_NOTICE_DAYS),
                Agreement.evaluation_opened_for.is_distinct_from(Agreement.ends_on),
            )
            .order_by(Agreement.ends_on, Agreement.id)
        )
        owed = [
            (agreement, enterprise, due)
            for agreement, enterprise in rows
            if (
                due := moment(
                    agreement.ends_on,
                    today,
                    agreement.expiry_noticed_for,
                    agreement.evaluation_opened_for,
                )
            )
            is not AgreementMoment.NOTHING
        ]
        if not owed:
            return 0
        counts = await open_counts_of(session, [agreement.id for agreement, _, _ in owed])
        staff = await _staff_by_enterprise(session, [enterprise.id for _, enterprise, _ in owed])
        notes: list[tuple[Person, str, AgreementMoment, list[agreement_views.Due], Party]] = []
        by_officer: dict[tuple[int, AgreementMoment], list[agreement_views.Due]] = defaultdict(list)
        for agreement, enterprise, due in owed:
            item = agreement_views.Due(agreement, enterprise, counts[agreement.id])
            if due is AgreementMoment.EXPIRY_NOTICE:
                agreement.expiry_noticed_for = agreement.ends_on
            else:
                agreement.evaluation_opened_for = agreement.ends_on
            audit(session, None, f"agreement.{due.value}", "agreement", agreement.id, now)
            key = f"agreement:{agreement.id}:{due.value}:{agreement.ends_on}"
            for person in staff.get(enterprise.id, []):
                notes.append((person, key, due, [item], Party.ENTERPRISE))
            if enterprise.officer_id is not None:
                by_officer[(enterprise.officer_id, due)].append(item)
        officers = await _people(session, [officer_id for officer_id, _ in by_officer])
        for (officer_id, due), items in by_officer.items():
            if officer_id not in officers:
                continue
            # The same agreements give the same key: a second instance queues nothing more.
            ids = ",".join(str(item.agreement.id) for item in items)
            key = f"agreements:{due.value}:{today}:{hashlib.sha256(ids.encode()).hexdigest()[:16]}"
            notes.append((officers[officer_id], key, due, items, Party.BUREAU))
        queued = 0
        for person, key, due, items, viewer in notes:
            queued += await notify(
                session,
                person,
                f"agreement_{due.value}",
                key,
                partial(
                    agreement_views.agreement_notice,
                    due=due,
                    items=items,
                    viewer=viewer,
                    today=today,
                ),
                now,
            )
    log.info("agreement notices: %s agreements, %s messages queued", len(owed), queued)
    return queued


# IN lists stay well under the databases' bound-parameter limits.
_CHUNK = 500


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


async def open_counts_of(
    session: AsyncSession, agreement_ids: list[int]
) -> dict[int, dict[Party, int]]:
    """Commitments not yet confirmed, per agreement and side."""
    counts = {agreement_id: {party: 0 for party in Party} for agreement_id in agreement_ids}
    for chunk in _chunks(agreement_ids):
        rows = await session.execute(
            select(Commitment.agreement_id, Commitment.party, func.count())
            .where(
                Commitment.agreement_id.in_(chunk),
                Commitment.status != CommitmentStatus.CONFIRMED,
            )
            .group_by(Commitment.agreement_id, Commitment.party)
        )
        for agreement_id, party, count in rows:
            counts[agreement_id][party] = count
    return counts


async def open_counts(session: AsyncSession, agreement_id: int) -> dict[Party, int]:
    return (await open_counts_of(session, [agreement_id]))[agreement_id]


async def _staff_by_enterprise(
    session: AsyncSession, enterprise_ids: list[int]
) -> dict[int, list[Person]]:
    found: dict[int, list[Person]] = defaultdict(list)
    for chunk in _chunks(enterprise_ids):
        rows = await session.scalars(
            select(Person)
            .where(Person.enterprise_id.in_(chunk), Person.role == Role.STAFF)
            .order_by(Person.id)
        )
        for person in rows:
            if person.enterprise_id is not None:
                found[person.enterprise_id].append(person)
    return found


async def _people(session: AsyncSession, person_ids: list[int]) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for chunk in _chunks(person_ids):
        found.update(
            (p.id, p) for p in await session.scalars(select(Person).where(Person.id.in_(chunk)))
        )
    return found


# --- the evaluation ----------------------------------------------------------------------


@dataclass
class EvaluationStep:
    """Where an evaluation stands: the next commitment to rate, or the comment."""

    evaluation: AgreementEvaluation
    enterprise: Enterprise
    to_rate: list[Commitment]
    next_commitment: Commitment | None


async def _agreement_in_scope(
    session: AsyncSession, actor: Actor, agreement_id: int
) -> tuple[Agreement, Enterprise]:
    agreement = await session.get(Agreement, agreement_id)
    enterprise = await session.get(Enterprise, agreement.enterprise_id) if agreement else None
    if agreement is None or enterprise is None:
        raise NotFound()
    require_access(actor, scope_of(enterprise))
    return agreement, enterprise


async def _rated_commitments(
    session: AsyncSession, agreement_id: int, party: Party
) -> list[Commitment]:
    """The commitments the evaluating `party` rates: the other side's."""
    rows = await session.scalars(
        select(Commitment)
        .where(Commitment.agreement_id == agreement_id, Commitment.party == other_party(party))
        .order_by(Commitment.due_on, Commitment.id)
    )
    return list(rows)


async def evaluation_step(
    session: AsyncSession, actor: Actor, agreement_id: int, today: date, now: datetime
) -> EvaluationStep:
    """Open (or resume) this side's evaluation of the agreement's period."""
    agreement, enterprise = await _agreement_in_scope(session, actor, agreement_id)
    party = evaluating_party(actor, enterprise.officer_id)
    period = check_evaluation_open(agreement.ends_on, today)
    evaluation = await session.scalar(
        select(AgreementEvaluation).where(
            AgreementEvaluation.agreement_id == agreement.id,
            AgreementEvaluation.period_ends_on == period,
            AgreementEvaluation.party == party,
        )
    )
    if evaluation is None:
        evaluation = AgreementEvaluation(
            agreement_id=agreement.id,
            enterprise_id=enterprise.id,
            period_ends_on=period,
            party=party,
            ratings={},
            started_at=now,
        )
        session.add(evaluation)
        await session.flush()
    if evaluation.submitted_at is not None:
        raise InvalidTransition("error.evaluation_submitted")
    to_rate = await _rated_commitments(session, agreement.id, party)
    pending = [c for c in to_rate if str(c.id) not in evaluation.ratings]
    return EvaluationStep(evaluation, enterprise, to_rate, pending[0] if pending else None)


async def rate(
    session: AsyncSession,
    actor: Actor,
    commitment_id: int,
    score: int,
    today: date,
    now: datetime,
) -> EvaluationStep:
    """Store one score of the actor's side and return the next step."""
    check_score(score)
    commitment = await session.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound()
    step = await evaluation_step(session, actor, commitment.agreement_id, today, now)
    if commitment.party is step.evaluation.party:
        # A side rates the other side's commitments, never its own.
        raise DomainError("error.evaluation_own_commitment")
    step.evaluation.ratings = {**step.evaluation.ratings, str(commitment.id): score}
    await session.flush()
    pending = [c for c in step.to_rate if str(c.id) not in step.evaluation.ratings]
    step.next_commitment = pending[0] if pending else None
    return step


async def submit(
    session: AsyncSession,
    actor: Actor,
    agreement_id: int,
    comment: str | None,
    today: date,
    now: datetime,
) -> EvaluationStep:
    """Submit the side's evaluation with its optional comment; every score must be given."""
    step = await evaluation_step(session, actor, agreement_id, today, now)
    if step.next_commitment is not None:
        raise DomainError("error.evaluation_incomplete")
    evaluation = step.evaluation
    if comment is not None:
        # PostgreSQL refuses NUL in text; no control character belongs in a comment.
        comment = "".join(c for c in comment if c.isprintable() or c == "\n").strip() or None
    evaluation.comment = comment
    evaluation.submitted_at, evaluation.submitted_by_id = now, actor.person_id
    await session.flush()
    audit(
        session,
        actor.person_id,
        "agreement.evaluate",
        "agreement",
        agreement_id,
        now,
        party=evaluation.party.value,
        period_ends_on=evaluation.period_ends_on.isoformat(),
        ratings=evaluation.ratings,
    )
    return step


async def evaluations_of(
    session: AsyncSession, agreement: Agreement
) -> dict[Party, AgreementEvaluation]:
    """This period's evaluations of the agreement, by the side that gave them."""
    if agreement.ends_on is None:
        return {}
    rows = await session.scalars(
        select(AgreementEvaluation).where(
            AgreementEvaluation.agreement_id == agreement.id,
            AgreementEvaluation.period_ends_on == agreement.ends_on,
        )
    )
    return {row.party: row for row in rows}


@dataclass
class EvaluationResult:
    """An ended agreement, its evaluations and the commitments they rated."""

    agreement: Agreement
    enterprise: Enterprise
    evaluations: dict[Party, AgreementEvaluation]
    commitments: dict[int, Commitment]
    evaluators: dict[int, str]


async def ended_in_scope(
    session: AsyncSession, actor: Actor, today: date, offset: int, limit: int
) -> tuple[list[EvaluationResult], int]:
    """Ended agreements the supervisor covers, latest end first: a page and the total."""
    ended = (
        select(Agreement, Enterprise)
        .join(Enterprise, Agreement.enterprise_id == Enterprise.id)
        .where(Agreement.ends_on <= today, enterprises_covered(actor))
    )
    total = await session.scalar(select(func.count()).select_from(ended.subquery())) or 0
    rows = await session.execute(
        ended.order_by(Agreement.ends_on.desc(), Agreement.id).offset(offset).limit(limit)
    )
    return [await _result(session, a, e) for a, e in rows], total


async def result_of(session: AsyncSession, actor: Actor, agreement_id: int) -> EvaluationResult:
    agreement, enterprise = await _agreement_in_scope(session, actor, agreement_id)
    return await _result(session, agreement, enterprise)


async def _result(
    session: AsyncSession, agreement: Agreement, enterprise: Enterprise
) -> EvaluationResult:
    evaluations = await evaluations_of(session, agreement)
    commitments = {
        c.id: c
        for c in await session.scalars(
            select(Commitment).where(Commitment.agreement_id == agreement.id)
        )
    }
    people = [e.submitted_by_id for e in evaluations.values() if e.submitted_by_id]
    evaluators = {
        p.id: p.name
        for p in (
            await session.scalars(select(Person).where(Person.id.in_(people))) if people else []
        )
    }
    return EvaluationResult(agreement, enterprise, evaluations, commitments, evaluators)
