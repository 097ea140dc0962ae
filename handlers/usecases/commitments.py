"""Agreement commitments: adding, listing, marking done, confirming or sending back."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.commitments import CommitmentAction, CommitmentStatus, check_transition
from domain.dates import EARLIEST_YEAR, LATEST_YEAR, in_bounds
from domain.errors import DomainError, NotFound
from domain.events import CommitmentActed
from domain.roles import Actor, Party, require_access
from handlers.notices import publish
from handlers.usecases.agreements import agreement_for
from handlers.usecases.notify import audit
from handlers.usecases.scope import enterprises_covered, load_in_scope, scope_of
from storage.models import Attachment, Commitment, Enterprise

MAX_COMMITMENT_TEXT = 1000


async def add_commitment(
    session: AsyncSession,
    enterprise_id: int,
    party: Party,
    text: str,
    due_on: date,
    now: datetime,
    actor_id: int | None = None,
) -> Commitment:
    """Add a commitment to the enterprise's agreement, creating the agreement if missing."""
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound("error.enterprise_unknown", id=enterprise_id)
    text = " ".join(text.split())
    if not text or len(text) > MAX_COMMITMENT_TEXT:
        raise DomainError("error.commitment_text_invalid", limit=MAX_COMMITMENT_TEXT)
    if not in_bounds(due_on):
        raise DomainError(
            "error.date_out_of_range",
            value=due_on.isoformat(),
            earliest=EARLIEST_YEAR,
            latest=LATEST_YEAR,
        )
    agreement = await agreement_for(session, enterprise_id, now)
    commitment = Commitment(
        agreement_id=agreement.id,
        enterprise_id=enterprise_id,
        party=party,
        text=text,
        responsible_id=enterprise.officer_id if party is Party.BUREAU else None,
        due_on=due_on,
        status=CommitmentStatus.OPEN,
        created_at=now,
    )
    session.add(commitment)
    await session.flush()
    audit(session, actor_id, "commitment.add", "commitment", commitment.id, now, party=party.value)
    return commitment


async def open_for(
    session: AsyncSession, actor: Actor, today: date, limit: int = 20, offset: int = 0
) -> list[tuple[Commitment, Enterprise]]:
    """The actor's commitments needing action: their side's open ones and the other
    side's awaiting their confirmation; overdue first, then by due date."""
    mine = actor.party
    needs_me = or_(
        (Commitment.party == mine) & (Commitment.status == CommitmentStatus.OPEN),
        (Commitment.party != mine) & (Commitment.status == CommitmentStatus.AWAITING_CONFIRMATION),
    )
    overdue_first = case((Commitment.due_on < today, 0), else_=1)
    rows = await session.execute(
        select(Commitment, Enterprise)
        .join(Enterprise, Commitment.enterprise_id == Enterprise.id)
        .where(needs_me, enterprises_covered(actor))
        .order_by(overdue_first, Commitment.due_on, Commitment.id)
        .offset(offset)
        .limit(limit)
    )
    return [(c, e) for c, e in rows]


async def agreement_of(
    session: AsyncSession, actor: Actor, enterprise_id: int
) -> tuple[Enterprise, list[Commitment]]:
    enterprise = await session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound()
    require_access(actor, scope_of(enterprise))
    rows = await session.scalars(
        select(Commitment)
        .where(Commitment.enterprise_id == enterprise_id)
        .order_by(Commitment.party, Commitment.due_on, Commitment.id)
    )
    return enterprise, list(rows)


async def enterprises_in_scope(session: AsyncSession, actor: Actor) -> list[Enterprise]:
    rows = await session.scalars(
        select(Enterprise).where(enterprises_covered(actor)).order_by(Enterprise.name)
    )
    return list(rows)


async def load_commitment(
    session: AsyncSession, actor: Actor, commitment_id: int
) -> tuple[Commitment, Enterprise]:
    return await load_in_scope(session, actor, Commitment, commitment_id)


async def check_may(
    session: AsyncSession, actor: Actor, commitment_id: int, action: CommitmentAction
) -> Commitment:
    """Refuse early (before asking for a note) what would be refused at the end."""
    commitment, _ = await load_commitment(session, actor, commitment_id)
    check_transition(actor, commitment.party, commitment.status, action)
    return commitment


async def act_on_commitment(
    session: AsyncSession,
    actor: Actor,
    commitment_id: int,
    action: CommitmentAction,
    now: datetime,
    note: str | None = None,
    evidence_id: int | None = None,
) -> Commitment:
    """Mark done, confirm or send back; the other side is told."""
    commitment, enterprise = await load_commitment(session, actor, commitment_id)
    commitment.status = check_transition(actor, commitment.party, commitment.status, action)
    if action is CommitmentAction.MARK_DONE:
        if evidence_id is not None:
            owned = await session.scalar(
                select(Attachment.id).where(
                    Attachment.id == evidence_id, Attachment.uploaded_by_id == actor.person_id
                )
            )
            evidence_id = owned
        commitment.done_at, commitment.done_by_id = now, actor.person_id
        commitment.done_note, commitment.evidence_id = note, evidence_id
        commitment.sent_back_reason = None
    elif action is CommitmentAction.CONFIRM:
        commitment.confirmed_at, commitment.confirmed_by_id = now, actor.person_id
    else:
        commitment.sent_back_reason = note
    audit(
        session,
        actor.person_id,
        f"commitment.{action.value}",
        "commitment",
        commitment.id,
        now,
        note=note,
    )
    await session.flush()
    await publish(
        session, CommitmentActed(commitment.id, action, actor.party, commitment.version), now
    )
    return commitment
