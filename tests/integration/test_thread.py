"""The report as a two-way case: what one side writes or sends reaches the other."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from domain.roles import Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.people import add_officer
from handlers.usecases.reminders import sweep
from storage.models import AuditEntry, Enterprise, OutboxMessage, Report
from tests.conftest import World
from tests.integration.test_conversations import bind, outbox, submit_report
from tests.integration.test_reminders_run import local

NOTE = "内部：该企业上次整改拖延，注意跟进"


async def notices_to(core: Core, person_id: int) -> list[Reply]:
    return [Reply.from_json(m.message) for m in await outbox(core) if m.person_id == person_id]


async def report_id_of(core: Core) -> int:
    async with core.sessions() as session:
        report = await session.scalar(select(Report))
        assert report is not None
        return report.id


async def accepted(core: Core, world: World):  # type: ignore[no-untyped-def]
    staff = await bind(core, "staff", world.enterprise[1])
    await submit_report(staff)
    officer = await bind(core, "officer", world.officer[1])
    report_id = await report_id_of(core)
    await officer.press(f"rep:acc:{report_id}")
    return staff, officer, report_id


class TestFilesAndTexts:
    async def test_the_officer_gets_the_reported_photo_and_sees_it_on_the_report(
        self, core: Core, world: World
    ) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        await submit_report(staff)
        [notice] = await notices_to(core, world.officer[0])
        assert [(a.file_name, a.mime_type) for a in notice.attachments] == [
            ("defect.jpg", "image/jpeg")
        ]
        officer = await bind(core, "officer", world.officer[1])
        [page] = await officer.press(f"rep:view:{await report_id_of(core)}")
        assert [a.file_name for a in page.attachments] == ["defect.jpg"]
        # The outbox row holds a reference, not the bytes.
        assert "fake-jpeg" not in str((await outbox(core))[0].message)

    async def test_resolution_note_and_not_solved_reason_cross_over(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:res:{report_id}")
        await officer.send("已更换量具并重新校准")
        to_staff = [m for m in await outbox(core) if m.person_id != world.officer[0]]
        assert "已更换量具并重新校准" in to_staff[-1].message["text"]
        await staff.press(f"rep:no:{report_id}")
        await staff.send("第3批仍有超差")
        officer_notices = await notices_to(core, world.officer[0])
        assert "原因：第3批仍有超差" in officer_notices[-1].text

    async def test_files_come_with_the_resolution_and_the_not_solved_reason(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:res:{report_id}")
        assert (
            "共1个"
            in (await officer.send_file(b"%PDF-1.4 cert", "校准证书.pdf", "application/pdf"))[
                0
            ].text
        )
        await officer.send("已校准，证书见附件")
        to_staff = [m for m in await outbox(core) if m.person_id != world.officer[0]][-1]
        notice = Reply.from_json(to_staff.message)
        assert [a.file_name for a in notice.attachments] == ["校准证书.pdf"]
        assert "证书见附件" in notice.text
        await staff.press(f"rep:no:{report_id}")
        await staff.send_file(b"\xff\xd8still-bad", "still.jpg", "image/jpeg")
        await staff.send("仍然超差")
        back = (await notices_to(core, world.officer[0]))[-1]
        assert [a.file_name for a in back.attachments] == ["still.jpg"]
        page = (await officer.press(f"rep:view:{report_id}"))[0]
        assert [a.file_name for a in page.attachments] == [
            "defect.jpg",
            "校准证书.pdf",
            "still.jpg",
        ]

    async def test_rating_reaches_the_officer(self, core: Core, world: World) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:res:{report_id}")
        await officer.send("已解决")
        await staff.press(f"rep:ok:{report_id}")
        assert "意见" in (await staff.press(f"rep:rate:{report_id}:4"))[-1].text
        assert "★★★★" in (await notices_to(core, world.officer[0]))[-1].text
        assert "已转达" in (await staff.send("响应很快，谢谢"))[0].text
        assert "响应很快，谢谢" in (await notices_to(core, world.officer[0]))[-1].text
        assert "响应很快" in (await staff.press(f"rep:view:{report_id}"))[0].text


class TestAddingAndAsking:
    async def test_the_enterprise_adds_text_and_a_second_photo(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await accepted(core, world)
        assert "补充" in (await staff.press(f"rep:add:{report_id}"))[0].text
        await staff.send("第二批也有同样问题")
        await staff.send_file(b"\xff\xd8second-jpeg", "batch2.jpg", "image/jpeg")
        assert "补充说明已发送" in (await staff.press("发送"))[0].text
        notice = (await notices_to(core, world.officer[0]))[-1]
        assert "第二批也有同样问题" in notice.text
        assert [a.file_name for a in notice.attachments] == ["batch2.jpg"]
        [page] = await officer.press(f"rep:view:{report_id}")
        assert "第二批也有同样问题" in page.text
        assert [a.file_name for a in page.attachments] == ["defect.jpg", "batch2.jpg"]

    async def test_text_sent_outside_a_step_is_added_to_the_chosen_report(
        self, core: Core, world: World
    ) -> None:
        staff, _, report_id = await accepted(core, world)
        offered = await staff.send("补充：供应商已更换")
        assert "哪个报告" in offered[0].text
        await staff.press(offered[0].buttons[0][0].label)
        assert "供应商已更换" in (await notices_to(core, world.officer[0]))[-1].text

    async def test_the_officer_asks_and_reads_the_answer(self, core: Core, world: World) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:ask:{report_id}")
        assert "已发送给企业" in (await officer.send("请提供量具校准证书编号"))[0].text
        question = [m for m in await outbox(core) if m.kind == "report_thread"][-1]
        assert "请提供量具校准证书编号" in question.message["text"]
        assert f"rep:ans:{report_id}" in str(question.message["buttons"])
        await staff.press(f"rep:ans:{report_id}")
        await staff.send("证书编号 JL-2026-118")
        await staff.press("发送")
        assert "JL-2026-118" in (await notices_to(core, world.officer[0]))[-1].text
        # Answered: no second answer to the same question.
        assert "没有待回复" in (await staff.press(f"rep:ans:{report_id}"))[0].text

    async def test_an_unanswered_question_is_brought_up_each_morning(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:ask:{report_id}")
        await officer.send("请提供批次号")
        await sweep(core, local(date(2026, 11, 30), 18))  # the same day: not yet
        assert not [m for m in await outbox(core) if m.kind == "question_pending"]
        await sweep(core, local(date(2026, 12, 1), 9))
        [pending] = [m for m in await outbox(core) if m.kind == "question_pending"]
        assert "请提供批次号" in pending.message["text"]
        assert f"rep:ans:{report_id}" in str(pending.message["buttons"])
        await staff.press(f"rep:ans:{report_id}")
        await staff.send("B-2026-11")
        await staff.press("发送")
        await sweep(core, local(date(2026, 12, 2), 9))
        assert len([m for m in await outbox(core) if m.kind == "question_pending"]) == 1

    async def test_a_plain_text_after_the_question_counts_as_the_answer(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:ask:{report_id}")
        await officer.send("是哪一批次？")
        offered = await staff.send("2026-11 第二批")
        await staff.press(offered[0].buttons[0][0].label)
        notice = (await notices_to(core, world.officer[0]))[-1]
        assert "回复了您的问题" in notice.text and "2026-11 第二批" in notice.text


class TestInternalNotes:
    async def test_a_note_is_seen_by_the_bureau_and_never_by_the_enterprise(
        self, core: Core, world: World
    ) -> None:
        staff, officer, report_id = await accepted(core, world)
        before = len(await outbox(core))
        await officer.press(f"rep:note:{report_id}")
        assert "企业不可见" in (await officer.send(NOTE))[0].text
        assert len(await outbox(core)) == before  # nobody is notified of a note
        assert NOTE in (await officer.press(f"rep:view:{report_id}"))[0].text
        supervisor = await bind(core, "lead", world.city_supervisor[1])
        assert NOTE in (await supervisor.press(f"rep:view:{report_id}"))[0].text
        assert NOTE not in (await staff.press(f"rep:view:{report_id}"))[0].text
        assert "内部备注" not in (await staff.press(f"rep:view:{report_id}"))[0].text
        # Nothing the enterprise can receive carries it.
        await officer.press(f"rep:res:{report_id}")
        await officer.send("已解决")
        assert all(NOTE not in str(m.message) for m in await outbox(core))
        assert "不适用于您的角色" in (await staff.send("/export"))[0].text

    async def test_the_enterprise_cannot_write_a_note(self, core: Core, world: World) -> None:
        staff, _, report_id = await accepted(core, world)
        assert "没有权限" in (await staff.press(f"rep:note:{report_id}"))[0].text


class TestTransfer:
    async def test_transfer_to_a_colleague(self, core: Core, world: World) -> None:
        async with core.sessions() as session, session.begin():
            colleague, code = await add_officer(
                session, "陈明", "杭州市", Role.OFFICER, core.clock.now()
            )
        staff, officer, report_id = await accepted(core, world)
        choices = await officer.press(f"rep:xfer:{report_id}")
        assert [b.label for row in choices[0].buttons for b in row] == ["陈明"]
        await officer.press("陈明")
        await officer.press("仅此报告")
        done = await officer.send("企业联系人是质量部张工")
        assert "已转交给 陈明" in done[0].text
        to_colleague = (await notices_to(core, colleague.id))[-1]
        assert "QP-2026-0001" in (to_colleague.title or "")
        assert "质量部张工" in to_colleague.text
        told = [m for m in await outbox(core) if m.kind == "report_transfer"]
        to_enterprise = [m for m in told if m.person_id not in (colleague.id,)]
        assert to_enterprise and "陈明" in to_enterprise[-1].message["text"]
        assert "质量部张工" not in str(to_enterprise[-1].message)
        # The former officer's buttons are refused; the colleague can resolve.
        assert "不再由您负责" in (await officer.press(f"rep:res:{report_id}"))[0].text
        new = await bind(core, "colleague", code)
        assert "QP-2026-0001" in (await new.send("/inbox"))[0].text
        # The morning digest lists it for the colleague, no longer for the former officer.
        await sweep(core, local(date(2026, 12, 1), 9))
        digests = {m.person_id: str(m.message) for m in await outbox(core) if m.kind == "digest"}
        assert "QP-2026-0001" in digests[colleague.id]
        assert "QP-2026-0001" not in digests.get(world.officer[0], "")
        await new.press(f"rep:res:{report_id}")
        assert "已标记为已解决" in (await new.send("已现场处理"))[0].text
        async with core.sessions() as session:
            audited = await session.scalar(
                select(AuditEntry).where(AuditEntry.action == "report.transfer")
            )
            assert audited is not None and audited.detail["to_officer_id"] == colleague.id

    async def test_transfer_of_the_whole_assignment(self, core: Core, world: World) -> None:
        async with core.sessions() as session, session.begin():
            colleague, _ = await add_officer(
                session, "陈明", "杭州市", Role.OFFICER, core.clock.now()
            )
        staff, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:xfer:{report_id}")
        await officer.press("陈明")
        await officer.press("该企业全部帮扶事项")
        await officer.press("跳过")
        async with core.sessions() as session:
            enterprise = await session.get(Enterprise, world.enterprise[0])
            assert enterprise is not None and enterprise.officer_id == colleague.id
        assert "不再由您负责" in (await officer.press(f"rep:view:{report_id}"))[0].text
        # The enterprise's next report goes to the colleague.
        await submit_report(staff, "第二个问题")
        newest = [m for m in await outbox(core) if m.kind == "report_new"][-1]
        assert newest.person_id == colleague.id

    async def test_only_colleagues_of_the_bureau_can_receive(
        self, core: Core, world: World
    ) -> None:
        _, officer, report_id = await accepted(core, world)
        # 李强 works for another city's bureau: a forged press is refused.
        forged = await officer.press(f"rep:xto:{report_id}:{world.other_officer[0]}:1")
        assert "本局的帮扶责任人" in forged[0].text
        async with core.sessions() as session:
            report = await session.get(Report, report_id)
            assert report is not None and report.officer_id == world.officer[0]


class TestResearch:
    async def test_a_report_under_research_cannot_be_escalated_again(
        self, core: Core, world: World
    ) -> None:
        _, officer, report_id = await accepted(core, world)
        await officer.press(f"rep:esc:{report_id}")
        await officer.send("涉及行业共性问题")
        await officer.send("2026-12-31")
        page = (await officer.press(f"rep:view:{report_id}"))[0]
        assert f"rep:esc:{report_id}" not in str(page.buttons)
        assert "不能重复提交" in (await officer.press(f"rep:esc:{report_id}"))[0].text
        async with core.sessions() as session:
            rows = await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "report_research")
            )
            assert len(list(rows)) == 1


class TestProfile:
    async def test_contact_details_reach_the_other_side(self, core: Core, world: World) -> None:
        staff, officer, report_id = await accepted(core, world)
        await officer.send("/profile")
        await officer.send("王丽科长")
        assert "格式不正确" in (await officer.send("=cmd|' /C calc'!A0"))[0].text
        assert "0571-88886666" in (await officer.send("0571-88886666"))[0].text
        await staff.send("/profile")
        await staff.press("保持不变")
        await staff.send("13800001111")
        page = (await staff.press(f"rep:view:{report_id}"))[0].text
        assert "帮扶责任人：王丽科长，电话：0571-88886666" in page
        agreement = (await staff.send("/agreement"))[0].text
        assert "帮扶责任人：王丽科长，电话：0571-88886666" in agreement
        seen_by_officer = (await officer.press(f"rep:view:{report_id}"))[0].text
        assert "电话：13800001111" in seen_by_officer

    async def test_no_phone_and_a_name_full_of_control_characters(
        self, core: Core, world: World
    ) -> None:
        officer = await bind(core, "officer", world.officer[1])
        await officer.send("/profile")
        await officer.send("王\x00丽\n\t科长")
        saved = await officer.press("不留电话")
        assert "已保存：王丽 科长，电话：—" in saved[0].text


class TestConsoleFiles:
    async def test_the_console_saves_a_shown_file_and_prints_its_path(
        self, core: Core, world: World, tmp_path: Path
    ) -> None:
        import io

        from bot.console_channel import ConsoleChannel
        from handlers.attachments import load_attachments

        staff = await bind(core, "staff", world.enterprise[1])
        await submit_report(staff)
        [notice] = await notices_to(core, world.officer[0])
        await load_attachments(core, [notice])
        out = io.StringIO()
        ConsoleChannel(core, tmp_path, out=out).show(notice, notification=True)
        [line] = [x for x in out.getvalue().splitlines() if x.startswith("📎 ")]
        saved = Path(line.removeprefix("📎 "))
        assert saved.name == "defect.jpg"
        assert saved.read_bytes() == b"\xff\xd8fake-jpeg"  # noqa: ASYNC240


class TestCommitmentEvidence:
    async def test_the_evidence_file_reaches_the_other_side(self, core: Core, world: World) -> None:
        await bind(core, "staff", world.enterprise[1])
        officer = await bind(core, "officer", world.officer[1])
        await officer.press(f"cm:done:{world.bureau_commitment}")
        await officer.send("已上门校准")
        await officer.send_file(b"%PDF-1.4 record", "校准记录.pdf", "application/pdf")
        told = [m for m in await outbox(core) if m.kind == "commitment_status"]
        notice = Reply.from_json(told[-1].message)
        assert "已上门校准" in notice.text
        assert [a.file_name for a in notice.attachments] == ["校准记录.pdf"]
