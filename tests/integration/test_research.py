"""Research (专题研究) as a real step: the supervisor names a team, the team is told, progress
notes reach the officer, the target date is reminded and escalated on the right working days
(once), the conclusion returns the report to its officer."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from domain.roles import Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.people import add_officer
from handlers.usecases.reminders import sweep
from storage.models import OutboxMessage, Report
from tests.conftest import World
from tests.integration.test_conversations import bind
from tests.integration.test_reminders_run import local
from tests.integration.test_thread import accepted


async def kinds_to(core: Core, kind: str) -> list[OutboxMessage]:
    async with core.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
        return list(rows)


async def test_research_from_team_to_conclusion(core: Core, world: World) -> None:
    async with core.sessions() as session, session.begin():
        colleague, colleague_code = await add_officer(
            session, "陈明", "杭州市", Role.OFFICER, core.clock.now()
        )
    staff, officer, report_id = await accepted(core, world)
    await officer.press(f"rep:esc:{report_id}")
    await officer.send("行业共性问题，需要专题研究")
    await officer.send("2026-12-10")
    lead_supervisor = world.city_supervisor[0]
    [escalated] = [m for m in await kinds_to(core, "report_research")]
    assert escalated.person_id == lead_supervisor
    assert f"rep:team:{report_id}" in str(escalated.message["buttons"])

    # The supervisor names 陈明 lead and 王丽 a member; the team and the enterprise are told.
    supervisor = await bind(core, "lead", world.city_supervisor[1])
    await supervisor.press(f"rep:team:{report_id}")
    await supervisor.press("陈明")
    await supervisor.press("王丽")
    assert "组长：陈明" in (await supervisor.press("完成"))[0].text
    told = {
        m.person_id: Reply.from_json(m.message) for m in await kinds_to(core, "report_research")
    }
    assert "研究组长：陈明" in told[colleague.id].text
    assert "研究组成员：王丽" in told[world.officer[0]].text
    to_staff = [
        r for p, r in told.items() if p not in (colleague.id, world.officer[0], lead_supervisor)
    ]
    assert to_staff and "研究团队已受理您的问题，目标日期 2026-12-10" in to_staff[0].text
    assert "陈明" not in to_staff[0].text  # the team's names stay inside the bureau

    # No second escalation while the research is open.
    assert "不能重复提交" in (await officer.press(f"rep:esc:{report_id}"))[0].text

    # The lead (not the enterprise's officer) can open the report and note progress.
    lead = await bind(core, "chen", colleague_code)
    page = (await lead.press(f"rep:view:{report_id}"))[0]
    assert f"rep:prog:{report_id}" in str(page.buttons)
    await lead.press(f"rep:prog:{report_id}")
    await lead.send("已完成第一轮抽样检测")
    progress = [m for m in await kinds_to(core, "report_thread")][-1]
    assert progress.person_id == world.officer[0]
    assert "已完成第一轮抽样检测" in progress.message["text"]
    assert "没有权限" in (await staff.press(f"rep:prog:{report_id}"))[0].text

    # Target date Thu 2026-12-10: nothing on Fri 12-04, the lead on Mon 12-07 (3 working days
    # before), escalated on Fri 12-11 once, not again on Mon 12-14.
    await sweep(core, local(date(2026, 12, 4), 8))
    assert await kinds_to(core, "research_target") == []
    await sweep(core, local(date(2026, 12, 7), 8))
    assert [m.person_id for m in await kinds_to(core, "research_target")] == [colleague.id]
    await sweep(core, local(date(2026, 12, 11), 8))
    overdue = await kinds_to(core, "research_overdue")
    assert {m.person_id for m in overdue} == {colleague.id, lead_supervisor, world.officer[0]}
    assert all(m.urgent for m in overdue)
    await sweep(core, local(date(2026, 12, 14), 8))
    assert len(await kinds_to(core, "research_overdue")) == len(overdue)

    # The conclusion returns the report to its officer; the enterprise reads it.
    await lead.press(f"rep:rcl:{report_id}")
    await lead.send("结论：原材料批次问题，已通知供应商")
    assert "交回帮扶责任人" in (await lead.press("发送"))[0].text
    concluded = [m for m in await kinds_to(core, "report_thread")][-2:]
    assert {m.person_id for m in concluded} >= {world.officer[0]}
    assert all("原材料批次问题" in m.message["text"] for m in concluded)
    async with core.sessions() as session:
        report = await session.get(Report, report_id)
        assert report is not None and report.research_concluded_at is not None
    assert "不能重复提交" not in (await officer.press(f"rep:esc:{report_id}"))[0].text
