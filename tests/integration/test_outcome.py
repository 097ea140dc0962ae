"""帮扶成效: a closed report's officer records the outcome in a few taps; the enterprise confirms
or corrects it; both reach the other side and the thread; everyone else is refused."""

from __future__ import annotations

from sqlalchemy import select

from domain.outcomes import OutcomeState, Solved
from domain.reports import ReportAction
from domain.roles import Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.people import add_officer
from handlers.usecases.reports import act_on_report
from storage.models import AuditEntry, ReportOutcome
from tests.conftest import World
from tests.integration.test_conversations import bind, outbox
from tests.integration.test_thread import accepted


async def closed(core: Core, world: World):  # type: ignore[no-untyped-def]
    staff, officer, report_id = await accepted(core, world)
    await officer.press(f"rep:res:{report_id}")
    await officer.send("已更换量具并重新校准")
    await staff.press(f"rep:ok:{report_id}")
    return staff, officer, report_id


async def outcome_notices(core: Core, person_id: int) -> list[Reply]:
    return [
        Reply.from_json(m.message)
        for m in await outbox(core)
        if m.person_id == person_id and m.kind == "report_outcome"
    ]


async def record(officer, report_id: int, note: str | None = "废品率由3%降到0.5%"):  # type: ignore[no-untyped-def]
    await officer.press(f"oc:rec:{report_id}")
    await officer.press("部分解决")
    await officer.press("oc:ms:met")
    await officer.press("oc:ms:std")
    await officer.press("oc:msok")
    await officer.send("12.5万")
    if note is None:
        return await officer.press("oc:nonote")
    return await officer.send(note)


async def stored(core: Core) -> ReportOutcome:
    async with core.sessions() as session:
        outcome = await session.scalar(select(ReportOutcome))
        assert outcome is not None
        return outcome


class TestRecordAndConfirm:
    async def test_closing_asks_the_officer_who_records_and_the_enterprise_confirms(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await closed(core, world)
        [ask] = await outcome_notices(core, world.officer[0])
        assert "已办结" in ask.text
        assert any(b.payload == f"oc:rec:{report_id}" for row in ask.buttons for b in row)
        page = (await officer.press(f"rep:view:{report_id}"))[0]
        assert any(b.payload == f"oc:rec:{report_id}" for row in page.buttons for b in row)

        assert "已记录" in (await record(officer, report_id))[-1].text
        outcome = await stored(core)
        assert outcome.solved is Solved.PARTLY
        assert outcome.measures == ["std", "met"]
        assert outcome.economic_yuan == 125_000
        assert outcome.state is OutcomeState.RECORDED

        staff_id = next(m.person_id for m in await outbox(core) if m.person_id != world.officer[0])
        [to_staff] = await outcome_notices(core, staff_id)
        assert "部分解决" in to_staff.text and "12.5万元" in to_staff.text
        assert "采用标准、计量器具检定/校准" in to_staff.text
        assert "废品率由3%降到0.5%" in to_staff.text
        # The officer's page no longer offers to record; the enterprise's offers to confirm.
        page = (await officer.press(f"rep:view:{report_id}"))[0]
        assert not any(b.payload.startswith("oc:rec") for row in page.buttons for b in row)
        staff_page = (await staff.press(f"rep:view:{report_id}"))[0]
        assert "记录帮扶成效" in staff_page.text
        assert "已确认" in (await staff.press("确认成效"))[0].text

        assert (await stored(core)).state is OutcomeState.CONFIRMED
        confirmed = (await outcome_notices(core, world.officer[0]))[-1]
        assert "确认了帮扶成效" in confirmed.text
        thread = (await officer.press(f"rep:view:{report_id}"))[0].text
        assert "企业确认帮扶成效" in thread and "经济效益：12.5万元" in thread
        async with core.sessions() as session:
            actions = list(
                await session.scalars(
                    select(AuditEntry.action).where(AuditEntry.action.like("report.outcome%"))
                )
            )
        assert actions == ["report.outcome_record", "report.outcome_confirmed"]

    async def test_a_bad_figure_is_explained_and_nothing_is_lost(
        self, core: Core, world: World
    ) -> None:
        _, officer, report_id = await closed(core, world)
        await officer.press(f"oc:rec:{report_id}")
        await officer.press(f"oc:sol:{report_id}:yes")
        await officer.press("oc:ms:cert")
        await officer.press("oc:msok")
        for typed in ("-5", "12.345", "=SUM(A1)", "x" * 5000, "200000"):
            reply = (await officer.send(typed))[0]
            assert "万元" in reply.text, typed
        await officer.send("０.５")
        await officer.send("<b>备注</b>")
        outcome = await stored(core)
        assert (outcome.economic_yuan, outcome.measures, outcome.note) == (
            5_000,
            ["cert"],
            "<b>备注</b>",
        )

    async def test_closed_unconfirmed_by_the_sweep_also_asks_the_officer(
        self, core: Core, world: World
    ) -> None:
        _, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:res:{report_id}")
        await officer.send("已处理")
        async with core.sessions() as session, session.begin():
            await act_on_report(
                session, None, report_id, ReportAction.CLOSE_UNCONFIRMED, core.clock.now()
            )
        [ask] = await outcome_notices(core, world.officer[0])
        assert any(b.payload == f"oc:rec:{report_id}" for row in ask.buttons for b in row)
        assert "已记录" in (await record(officer, report_id, note=None))[-1].text


class TestCorrection:
    async def test_the_correction_reaches_the_officer_who_records_again(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await closed(core, world)
        await record(officer, report_id)
        assert "哪里不对" in (await staff.press(f"oc:fix:{report_id}"))[0].text
        assert "承办人员" in (await staff.send("只解决了一半，经济效益没有这么多"))[0].text
        outcome = await stored(core)
        assert outcome.state is OutcomeState.CORRECTED
        assert outcome.correction == "只解决了一半，经济效益没有这么多"
        corrected = (await outcome_notices(core, world.officer[0]))[-1]
        assert "只解决了一半" in corrected.text
        assert any(b.payload == f"oc:rec:{report_id}" for row in corrected.buttons for b in row)
        assert "企业更正帮扶成效" in (await officer.press(f"rep:view:{report_id}"))[0].text
        # Recorded again: waiting for the enterprise once more.
        await officer.press(f"oc:rec:{report_id}")
        await officer.press(f"oc:sol:{report_id}:no")
        await officer.press("oc:msok")
        await officer.press("oc:noeco")
        await officer.press("oc:nonote")
        outcome = await stored(core)
        assert (outcome.state, outcome.solved, outcome.economic_yuan, outcome.correction) == (
            OutcomeState.RECORDED,
            Solved.NO,
            None,
            None,
        )


class TestRefusals:
    async def test_only_the_officer_records_and_only_that_enterprise_confirms(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await closed(core, world)
        other_officer = await bind(core, "other_officer", world.other_officer[1])
        other_staff = await bind(core, "other_staff", world.other_enterprise[1])
        supervisor = await bind(core, "lead", world.city_supervisor[1])
        assert "找不到" in (await other_officer.press(f"oc:rec:{report_id}"))[0].text
        assert "只有该报告的承办人员" in (await supervisor.press(f"oc:rec:{report_id}"))[0].text
        assert "只有该报告的承办人员" in (await staff.press(f"oc:rec:{report_id}"))[0].text
        # Nothing recorded yet: nothing to confirm.
        assert "没有等待" in (await staff.press(f"oc:ok:{report_id}"))[0].text
        await record(officer, report_id)
        assert "已记录" in (await officer.press(f"oc:rec:{report_id}"))[0].text
        assert "找不到" in (await other_staff.press(f"oc:ok:{report_id}"))[0].text
        assert "找不到" in (await other_staff.press(f"oc:fix:{report_id}"))[0].text
        assert "没有权限" in (await officer.press(f"oc:ok:{report_id}"))[0].text
        assert "没有权限" in (await supervisor.press(f"oc:ok:{report_id}"))[0].text
        assert (await stored(core)).state is OutcomeState.RECORDED
        # A stale or forged step button changes nothing.
        assert "按钮" in (await officer.press("oc:msok"))[0].text
        assert "无效" in (await officer.press("oc:sol:1:maybe"))[0].text

    async def test_an_open_report_has_no_outcome_yet(self, core: Core, world: World) -> None:
        _, officer, report_id = await accepted(core, world)
        assert "办结后" in (await officer.press(f"oc:rec:{report_id}"))[0].text


class TestFiguresInScope:
    async def test_the_city_sees_its_outcome_another_city_does_not(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await closed(core, world)
        await record(officer, report_id)
        await staff.press(f"oc:ok:{report_id}")
        async with core.sessions() as session, session.begin():
            _, ningbo_code = await add_officer(
                session, "宁波领导", "宁波市", Role.SUPERVISOR, core.clock.now()
            )
        hangzhou = await bind(core, "lead", world.city_supervisor[1])
        ningbo = await bind(core, "ningbo_lead", ningbo_code)
        stats = (await hangzhou.send("/stats"))[0].text
        assert "帮扶成效：已记录 1，企业确认 1" in stats and "经济效益 12.5 万元" in stats
        assert "成效 1，12.5 万元" in stats  # the area and month lines
        assert "帮扶成效" not in (await ningbo.send("/stats"))[0].text
