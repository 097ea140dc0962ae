"""The query form of domain.roles.may_access: which enterprises an actor covers."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.roles import Actor, EnterpriseScope, Role, require_access
from storage.models import Commitment, Enterprise, Report

Owned = TypeVar("Owned", Report, Commitment)


def scope_of(enterprise: Enterprise) -> EnterpriseScope:
    return EnterpriseScope(enterprise.id, enterprise.officer_id, enterprise.bureau_id)


async def load_in_scope(
    session: AsyncSession, actor: Actor | None, model: type[Owned], row_id: int
) -> tuple[Owned, Enterprise]:
    """Load a report or commitment and its enterprise; out of the actor's scope reads as
    not found, so ids cannot be probed. `actor` None is the system (sweeps): no scope."""
    row = await session.get(model, row_id)
    enterprise = await session.get(Enterprise, row.enterprise_id) if row is not None else None
    if row is None or enterprise is None:
        raise NotFound()
    # A report handed to an officer outside the enterprise's assignment (a transfer, a
    # research team) is theirs to see.
    if actor is not None and not (isinstance(row, Report) and _works_on(actor, row)):
        require_access(actor, scope_of(enterprise))
    return row, enterprise


def _works_on(actor: Actor, report: Report) -> bool:
    team = (report.officer_id, report.research_lead_id, *(report.research_team or []))
    return actor.role is Role.OFFICER and actor.person_id in team


def enterprises_covered(actor: Actor) -> ColumnElement[bool]:
    """A filter on Enterprise rows matching may_access(actor, …)."""
    match actor.role:
        case Role.STAFF:
            return Enterprise.id == actor.enterprise_id
        case Role.OFFICER:
            return Enterprise.officer_id == actor.person_id
        case Role.SUPERVISOR if not actor.bureau_is_province:
            return Enterprise.bureau_id == actor.bureau_id
    return true()
