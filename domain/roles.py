"""Who may see and do what: roles, the two sides of an agreement, and scopes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import NotAllowed


class Role(StrEnum):
    STAFF = "staff"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Party(StrEnum):
    """The two sides of an assistance agreement."""

    BUREAU = "bureau"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Actor:
    """The acting person as the rules need to see them."""

    person_id: int
    role: Role
    bureau_id: int | None = None
    bureau_is_province: bool = False
    enterprise_id: int | None = None

    @property
    def party(self) -> Party:
        return Party.ENTERPRISE if self.role is Role.STAFF else Party.BUREAU

    @property
    def is_bureau_side(self) -> bool:
        return self.party is Party.BUREAU


@dataclass(frozen=True)
class EnterpriseScope:
    """Where an enterprise sits: its id, its assigned officer and its bureau."""

    enterprise_id: int
    officer_id: int | None
    bureau_id: int


def may_access(actor: Actor, scope: EnterpriseScope) -> bool:
    """Tell whether the actor may see and act for this enterprise at all."""
    match actor.role:
        case Role.STAFF:
            return actor.enterprise_id == scope.enterprise_id
        case Role.OFFICER:
            return actor.person_id == scope.officer_id
        case Role.SUPERVISOR:
            return actor.bureau_is_province or actor.bureau_id == scope.bureau_id
        case Role.ADMIN:
            return True
    return False


def require_access(actor: Actor, scope: EnterpriseScope) -> None:
    if not may_access(actor, scope):
        # Out-of-scope looks the same as missing, so ids cannot be probed.
        raise NotAllowed("error.not_found")


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise NotAllowed()


BUREAU_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
SUPERVISING_ROLES = (Role.SUPERVISOR, Role.ADMIN)
