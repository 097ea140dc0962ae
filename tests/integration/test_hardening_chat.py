"""Issue 12 in the chat: what an attacker or a careless user tries, and what they get."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.clock import FixedClock
from handlers.core import Core
from handlers.dispatcher import handle
from handlers.messages import IncomingEvent
from storage.models import AuditEntry, ChannelIdentity, ConversationState, Person, Report
from tests.conftest import World, build_world
from tests.integration.test_conversations import bind
from tests.support import Chat

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def audited(core: Core, action: str) -> int:
    async with core.sessions() as session:
        query = select(func.count(AuditEntry.id)).where(AuditEntry.action == action)
        return int(await session.scalar(query) or 0)


async def in_report_files_step(staff: Chat) -> None:
    await staff.send("/report")
    await staff.press("rp:area:std")
    await staff.press("rp:areas")
    await staff.send("M8 螺栓")
    await staff.send("尺寸超差")


class TestControlCharacters:
    async def test_typed_control_characters_are_never_stored(
        self, core: Core, world: World
    ) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        await staff.send("/report")
        await staff.press("rp:area:std")
        await staff.press("rp:areas")
        await staff.send("M8\x00螺栓\x01\x1b[31m")
        await staff.send("第一行\n第二行\x07")
        await staff.press("rp:files")
        await staff.press("rp:urg:normal")
        await staff.press("rp:submit")
        async with core.sessions() as session:
            report = await session.scalar(select(Report))
        assert report is not None
        assert report.product == "M8螺栓[31m"
        assert report.description == "第一行\n第二行"

    async def test_a_nul_in_a_display_name_is_not_stored(self, core: Core, world: World) -> None:
        event = IncomingEvent.from_text(
            "test", "n1", "n1", f"/start {world.enterprise[1]}", display_name="张\x00三\x1b"
        )
        assert "绑定成功" in (await handle(core, event)).replies[0].text
        async with core.sessions() as session:
            names = set((await session.scalars(select(Person.name))).all())
        assert "张三" in names


class TestGroupChats:
    async def test_a_group_gets_only_please_use_a_private_chat(
        self, core: Core, world: World
    ) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        await in_report_files_step(staff)
        # B of another enterprise presses A's draft button in the group A and B share.
        for event in (
            IncomingEvent("test", "-100", "rival", payload="rp:submit", private=False),
            IncomingEvent.from_text(
                "test", "-100", "rival", f"/start {world.other_enterprise[1]}", private=False
            ),
            IncomingEvent.from_text("test", "-100", "staff", "/help", private=False),
        ):
            replies = (await handle(core, event)).replies
            assert [r.text for r in replies] == [
                "请与机器人私聊使用。\nPlease use a private chat with the bot."
            ]
        async with core.sessions() as session:
            assert await session.scalar(select(func.count(Report.id))) == 0
            assert await session.get(ConversationState, ("test", "-100")) is None
            bound = (await session.scalars(select(ChannelIdentity.external_id))).all()
        assert bound == ["staff"]


class TestCodeGuessing:
    @pytest.mark.wallclock
    async def test_thirty_wrong_codes_from_ten_chats_are_throttled_and_audited(
        self, any_core: Core
    ) -> None:
        core, world = any_core, await build_world(any_core)
        # One account guessing from ten chats, three codes each, all at once; meanwhile an
        # officer asks for /help.
        async def guess(chat: int, attempt: int) -> str:
            event = IncomingEvent.from_text(
                "test", f"chat{chat}", "attacker", f"/start WRNG{chat:02d}{attempt:02d}"
            )
            return (await handle(core, event)).replies[0].text

        officer = await bind(core, "officer", world.officer[1])

        async def timed_help() -> float:
            await asyncio.sleep(0)  # after the flood has queued
            started = time.perf_counter()
            replies = await officer.send("/help")
            assert "/inbox" in replies[0].text
            return time.perf_counter() - started

        *answers, help_seconds = await asyncio.gather(
            *(guess(chat, attempt) for attempt in range(3) for chat in range(10)), timed_help()
        )
        assert help_seconds < 1.0
        assert sum("无效" in text for text in answers) == 5
        assert sum("次数过多" in text for text in answers) == 25
        assert await audited(core, "binding.failed") == 5
        assert await audited(core, "binding.throttled") == 25
        # Even the right code is refused while the account waits…
        right = IncomingEvent.from_text(
            "test", "chat0", "attacker", f"/start {world.enterprise[1]}"
        )
        assert "次数过多" in (await handle(core, right)).replies[0].text
        # …and works once the wait is over.
        assert isinstance(core.clock, FixedClock)
        core.clock.advance(timedelta(minutes=11))
        assert "绑定成功" in (await handle(core, right)).replies[0].text

    async def test_another_chat_is_not_held_back_by_the_attacker(
        self, core: Core, world: World
    ) -> None:
        attacker = Chat(core, "attacker")
        for attempt in range(8):
            await attacker.send(f"/start BAD{attempt:05d}")
        assert "次数过多" in attacker.last.text
        await bind(core, "honest", world.enterprise[1])

    async def test_officer_codes_expire_after_fourteen_days(self, core: Core, world: World) -> None:
        assert isinstance(core.clock, FixedClock)
        core.clock.advance(timedelta(days=14, minutes=1))
        assert "过期" in (await Chat(core, "late").send(f"/start {world.officer[1]}"))[0].text


class TestRoleChange:
    async def test_an_officer_sending_a_staff_code_is_asked_first(
        self, core: Core, world: World
    ) -> None:
        officer = await bind(core, "officer", world.officer[1])
        question = (await officer.send(f"/start {world.enterprise[1]}"))[0]
        assert "王丽" in question.text and "确定更改" in question.text
        assert "未做更改" in (await officer.press("bind:no"))[0].text
        assert "/inbox" in (await officer.send("/help"))[0].text  # still the officer
        await officer.send(f"/start {world.enterprise[1]}")
        assert "绑定成功" in (await officer.press("bind:yes"))[0].text
        assert "/report" in (await officer.send("/help"))[0].text

    async def test_a_forged_confirmation_changes_nothing(self, core: Core, world: World) -> None:
        officer = await bind(core, "officer", world.officer[1])
        assert "无效" in (await officer.press("bind:yes"))[0].text
        assert "/inbox" in (await officer.send("/help"))[0].text


class TestLongNames:
    async def test_a_telegram_name_of_128_characters_binds_shortened(
        self, core: Core, world: World
    ) -> None:
        long_name = "名" * 64 + " " + "姓" * 64
        event = IncomingEvent.from_text(
            "test", "long", "long", f"/start {world.enterprise[1]}", display_name=long_name
        )
        assert "绑定成功" in (await handle(core, event)).replies[0].text
        async with core.sessions() as session:
            names = (await session.scalars(select(Person.name))).all()
        stored = [name for name in names if name.startswith("名")]
        assert len(stored) == 1 and len(stored[0]) == 100 and stored[0].endswith("…")


class TestFileContent:
    async def test_an_exe_declared_as_pdf_and_an_svg_are_refused(
        self, core: Core, world: World
    ) -> None:
        staff = await bind(core, "staff", world.enterprise[1])
        await in_report_files_step(staff)
        exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
        assert "不符" in (await staff.send_file(exe, "报告.pdf", "application/pdf"))[0].text
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        assert "不符" in (await staff.send_file(svg, "logo.svg", "image/svg+xml"))[0].text
        assert "不符" in (await staff.send_file(exe, "photo.jpg", "image/jpeg"))[0].text
        assert "共1个" in (await staff.send_file(PNG, "主轴.png", "image/png"))[0].text


class TestDates:
    async def test_a_year_206_target_date_is_refused_in_the_chat(
        self, core: Core, world: World
    ) -> None:
        from domain.dates import parse_date, parse_date_time

        assert parse_date("0206-12-01") is None
        assert parse_date("2101-01-01") is None
        assert parse_date("2026-12-01") is not None
        assert parse_date_time("0206-12-01 10:00") is None
