"""Typing as people speak: words for commands, references, /search, lists that go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.roles import Role
from handlers.core import Core
from handlers.dispatcher import handle
from handlers.messages import IncomingEvent
from handlers.usecases.people import actor_of
from handlers.usecases.reports import ReportDraft, submit_report
from storage.models import Attachment, Person, Report
from tests.conftest import World, build_world
from tests.support import Chat


async def bind(core: Core, user: str, code: str, language: str | None = None) -> Chat:
    chat = Chat(core, user, language=language)
    await chat.send(f"/start {code}")
    return chat


async def reports_of(
    core: Core, staff_user: str, descriptions: list[str], product: str = "轴承"
) -> list[str]:
    """Submit reports as the staff member bound in chat `staff_user`, a minute apart."""
    references = []
    async with core.sessions() as session, session.begin():
        person = await session.scalar(
            select(Person).where(Person.role == Role.STAFF).order_by(Person.id.desc())
        )
        assert person is not None
        for position, description in enumerate(descriptions):
            draft = ReportDraft(areas=["std"], product=product, description=description)
            at = core.clock.now() - timedelta(minutes=len(descriptions) - position)
            report = await submit_report(session, actor_of(person), draft, 2026, at)
            references.append(report.reference)
    return references


class TestWords:
    async def test_words_work_as_commands_outside_a_step(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        assert "可用命令" in (await staff.send("帮助"))[0].text
        assert "还没有" in (await staff.send("我的报告"))[0].text
        assert "服务领域" in (await staff.send("报告问题"))[0].text or staff.last.checklist
        # Inside a step that asks for text, the text is the answer.
        await staff.press("rp:area:std")
        await staff.press("rp:areas")
        assert "可用命令" not in (await staff.send("帮助"))[0].text  # the product
        assert "（4/6）" in (await staff.send("取消"))[0].text  # the description
        assert "已退出" in (await staff.send("/cancel"))[0].text
        assert "无需退出" in (await staff.send("取消"))[0].text or "没有" in staff.last.text

    async def test_english_words(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff-en", world.enterprise[1], language="en")
        assert "/report" in (await staff.send("Help"))[0].text
        assert "no reports" in (await staff.send("my reports"))[0].text.lower()

    async def test_help_offers_its_commands_as_buttons(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        labels = [b.label for b in (await staff.send("/help"))[0].all_buttons()]
        assert "报告质量问题" in labels
        assert "服务领域" in (await staff.press("报告质量问题"))[0].text or staff.last.checklist
        officer = await bind(core, "officer", world.officer[1])
        # A forged button for a command of another role is refused like the typed command.
        assert "不适用" in (await officer.press("cmd:run:report"))[0].text


class TestReferences:
    async def test_a_typed_reference_opens_the_report_in_scope_only(
        self, core: Core, world: World
    ) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        (reference,) = await reports_of(core, "staff", ["轴承温度过高"])
        for typed in (reference, reference.lower().replace("-", ""), reference[3:]):
            shown = (await staff.send(typed))[0]
            assert reference in (shown.title or "") + shown.text, typed
            assert "轴承温度过高" in shown.text
        rival = await bind(core, "rival", world.other_enterprise[1])
        assert "找不到" in (await rival.send(reference))[0].text
        other_officer = await bind(core, "other-officer", world.other_officer[1])
        assert "找不到" in (await other_officer.send(reference))[0].text

    async def test_free_text_offers_what_it_could_be(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        (reference,) = await reports_of(core, "staff", ["轴承温度过高"])
        offer = (await staff.send("设备又坏了"))[0]
        labels = [b.label for b in offer.all_buttons()]
        # The text is kept for one of their open reports, or becomes a new report.
        assert labels == [f"补充到 {reference}", "作为新问题报告", "帮助"]
        assert "服务领域" in (await staff.press("作为新问题报告"))[0].text or staff.last.checklist
        officer = await bind(core, "officer", world.officer[1])
        assert reference in (await officer.send("温度"))[0].text
        assert "没有找到" in (await officer.send("天气不错"))[0].text


@pytest.fixture
async def any_world(any_core: Core) -> AsyncIterator[World]:
    yield await build_world(any_core)


class TestSearch:
    async def test_search_finds_a_two_character_word_within_scope(
        self, any_core: Core, any_world: World
    ) -> None:
        core, world = any_core, any_world
        await bind(core, "staff", world.enterprise[1])
        (own,) = await reports_of(core, "staff", ["主轴承温度过高，润滑不良"])
        await bind(core, "rival", world.other_enterprise[1])
        (rivals,) = await reports_of(core, "rival", ["轴承异响"], product="电机")
        officer = await bind(core, "officer", world.officer[1])
        found = (await officer.send("/search 轴承"))[0]
        assert own in found.text and rivals not in found.text
        assert own in (await officer.send("搜索 润滑"))[0].text
        assert own in (await officer.send("/search 杭州精工"))[0].text
        assert own in (await officer.send(f"/search {own.lower()}"))[0].text
        assert "没有找到" in (await officer.send("/search 100%_"))[0].text
        city = await bind(core, "lead", world.city_supervisor[1])
        found = (await city.send("/search 轴承"))[0]
        assert own in found.text and rivals not in found.text
        assert "找不到" in (await city.send(rivals))[0].text
        province = await bind(core, "province", world.province_supervisor[1])
        found = (await province.send("/search 轴承"))[0]
        assert own in found.text and rivals in found.text
        staff = Chat(core, "staff")
        assert "不适用" in (await staff.send("/search 轴承"))[0].text


class TestPaging:
    async def test_more_shows_item_11_of_25(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        references = await reports_of(core, "staff", [f"问题 {n}" for n in range(25)])
        newest_first = list(reversed(references))
        first = (await staff.send("/myreports"))[0]
        assert newest_first[9] in first.text and newest_first[10] not in first.text
        second = (await staff.press("更多"))[0]
        assert f"11. {newest_first[10]}" in second.text
        assert "11–20" in (second.title or "")
        third = (await staff.press("更多"))[0]
        assert newest_first[24] in third.text
        assert not [b for b in third.all_buttons() if b.label == "更多"]
        officer = await bind(core, "officer", world.officer[1])
        inbox = (await officer.send("/inbox"))[0]
        assert references[0] in inbox.text and "更多" in [b.label for b in inbox.all_buttons()]
        assert references[10] in (await officer.press("更多"))[0].text
        assert (await officer.send("搜索 问题"))[0].text.count("QP-") == 10
        assert f"11. {newest_first[10]}" in (await officer.press("更多"))[0].text

    async def test_the_inbox_has_a_filter_for_closed_reports(
        self, core: Core, world: World
    ) -> None:
        await bind(core, "staff", world.enterprise[1])
        await reports_of(core, "staff", ["问题"])
        officer = await bind(core, "officer", world.officer[1])
        await officer.send("/inbox")
        assert "还没有已办结" in (await officer.press("已办结"))[0].text


class TestSmallThings:
    async def test_binding_confirms_the_enterprise(self, core: Core, world: World) -> None:
        staff = Chat(core, "staff")
        bound = (await staff.send(f"/start {world.enterprise[1]}"))[0].text
        # A chat that tells no name (the console) is called by the enterprise's, said once.
        assert bound == "绑定成功：杭州精工机械有限公司（企业人员）。"
        named = await handle(
            core,
            IncomingEvent.from_text(
                "test", "sun", "sun", f"/start {world.enterprise[1]}", display_name="孙"
            ),
        )
        assert named.person_changed  # bound: the Telegram channel sets this chat's menu
        assert named.replies[0].text.startswith("绑定成功：杭州精工机械有限公司 · 孙（企业人员）")
        officer = Chat(core, "officer")
        assert (await officer.send(f"/start {world.officer[1]}"))[0].text.startswith(
            "绑定成功：王丽（"
        )

    async def test_english_plurals_in_the_commitments_list(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff-en", world.enterprise[1], language="en")
        listing = (await staff.send("/commitments"))[0].text
        assert "1 day overdue" in listing and "1 days" not in listing

    async def test_a_photo_at_the_description_step_is_kept(self, core: Core, world: World) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        await staff.send("/report")
        await staff.press("rp:area:std")
        await staff.press("rp:areas")
        await staff.send("主轴")
        kept = await staff.send_file(b"\xff\xd8one", "a.jpg", "image/jpeg")
        assert "请再用文字描述" in kept[0].text
        captioned = await staff.send_file(b"\xff\xd8two", "b.jpg", "image/jpeg", caption="主轴异响")
        assert "共2个" in captioned[0].text and "（4/6）" in captioned[-1].text
        await staff.press("rp:files")
        await staff.press("rp:urg:normal")
        assert "QP-2026-" in (await staff.press("rp:submit"))[-1].text
        async with core.sessions() as session:
            report = await session.scalar(select(Report))
            assert report is not None and report.description == "主轴异响"
            attached = await session.scalars(
                select(Attachment).where(Attachment.report_id == report.id)
            )
            assert len(list(attached)) == 2
