"""Scopes: staff see their enterprise, officers their assigned ones, supervisors their bureau."""

from __future__ import annotations

from domain.roles import Actor, EnterpriseScope, Role, may_access

HANGZHOU, NINGBO, PROVINCE = 10, 20, 1
FIRM = EnterpriseScope(enterprise_id=5, officer_id=100, bureau_id=HANGZHOU)


def test_staff_only_their_own_enterprise() -> None:
    assert may_access(Actor(1, Role.STAFF, enterprise_id=5), FIRM)
    assert not may_access(Actor(1, Role.STAFF, enterprise_id=6), FIRM)


def test_officer_only_assigned_enterprises() -> None:
    assert may_access(Actor(100, Role.OFFICER, bureau_id=HANGZHOU), FIRM)
    assert not may_access(Actor(101, Role.OFFICER, bureau_id=HANGZHOU), FIRM)


def test_supervisor_their_city_or_everything_for_the_province() -> None:
    assert may_access(Actor(7, Role.SUPERVISOR, bureau_id=HANGZHOU), FIRM)
    assert not may_access(Actor(8, Role.SUPERVISOR, bureau_id=NINGBO), FIRM)
    assert may_access(Actor(9, Role.SUPERVISOR, bureau_id=PROVINCE, bureau_is_province=True), FIRM)


def test_admin_everything() -> None:
    assert may_access(Actor(3, Role.ADMIN, bureau_id=PROVINCE), FIRM)
