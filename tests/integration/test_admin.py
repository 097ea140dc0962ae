"""Running it for a year: reassigning an enterprise moves its open work and tells the new
officer; a deactivated officer's codes stop working and they get no more notifications; the
audit trail lists it all."""

from __future__ import annotations

import pytest

from domain.errors import DomainError
from domain.reports import ReportAction
from domain.roles import Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases import admin
from handlers.usecases.people import actor_of, add_officer, bind
from handlers.usecases.reports import ReportDraft, act_on_report, submit_report
from storage.models import Commitment, Person, Report
from tests.conftest import build_world
from tests.integration.test_reminders import bind_people, outbox
from tests.support import Chat


async def test_reassign_deactivate_and_the_audit_trail(any_core: Core) -> None:
    core = any_core
    world = await build_world(core)
    ids = await bind_people(core, world)
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        staff = await session.get(Person, ids["staff0"])
        officer = await session.get(Person, ids["officer"])
        assert staff is not None and officer is not None
        report = await submit_report(
            session, actor_of(staff), ReportDraft(["met"], "量具", "校准不准"), 2026, now
        )
        await act_on_report(session, actor_of(officer), report.id, ReportAction.ACCEPT, now)
        successor, code = await add_officer(session, "张敏", "杭州市", Role.OFFICER, now)
        await bind(session, "test", "successor", "successor", code, "张敏", now)
    old_code = world.officer[1]

    async with core.sessions() as session, session.begin():
        with pytest.raises(DomainError) as refused:
            await admin.deactivate_officer(session, ids["officer"], now)
    assert refused.value.key == "error.officer_has_enterprises"

    async with core.sessions() as session, session.begin():
        (moved,) = await admin.reassign(
            session, [world.enterprise[0]], successor.id, now, open_reports=True
        )
    assert moved.from_officer == ids["officer"] and moved.reports == 1 and moved.commitments == 1
    async with core.sessions() as session:
        stored = await session.get(Report, report.id)
        assert stored is not None and stored.officer_id == successor.id
        bureau_side = await session.get(Commitment, world.bureau_commitment)
        assert bureau_side is not None and bureau_side.responsible_id == successor.id
    (told,) = await outbox(core, "reassigned")
    assert told.person_id == successor.id
    notice = Reply.from_json(told.message)
    assert "杭州精工机械有限公司" in notice.text and "未结报告1件" in notice.text

    # The new officer works the report; the old one no longer sees it.
    new_officer = Chat(core, "successor")
    page = await new_officer.press(f"rep:view:{report.id}")
    assert report.reference in (page[0].title or page[0].text)
    assert "仍负责" not in page[0].text

    async with core.sessions() as session, session.begin():
        await admin.deactivate_officer(session, ids["officer"], now)
    # Their chat reads as unbound, their code no longer binds, and they are not notified.
    old = Chat(core, "officer")
    assert "绑定" in (await old.send("/inbox"))[0].text
    stranger = Chat(core, "someone-else")
    assert "过期" in (await stranger.send(f"/start {old_code}"))[0].text
    async with core.sessions() as session:
        listed = await admin.list_officers(session)
        assert ids["officer"] not in [row["id"] for row in listed]
        trail = await admin.audit_entries(session, person_id=ids["officer"])
        assert [e["action"] for e in trail][-1] == "person.deactivate"
        firm_trail = await admin.audit_entries(session, enterprise_id=world.enterprise[0])
    actions = [e["action"] for e in firm_trail]
    assert "enterprise.reassign" in actions and "report.accept" in actions
    assert "commitment.add" in actions
    assert all(e["subject"] != "宁波海曙电器有限公司" for e in firm_trail)
