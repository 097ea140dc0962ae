"""The query form of domain.roles.may_access: which enterprises an actor covers."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from domain.roles import Actor, Role
from storage.models import Enterprise


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
