"""Registers and common problems through the Telegram channel and the fake Bot API: a
photographed verification certificate read and registered, its reminders, the similar-reports
notice and the weekly clusters, as the people see them in their chats."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.delivery import Delivery
from bot.settings import Settings
from bot.telegram import TelegramChannel
from domain.clock import FixedClock
from domain.registers import RegisterKind
from handlers.core import Core
from handlers.usecases.people import add_enterprise
from handlers.usecases.registers import RegisterDraft, add_entry
from handlers.usecases.reminders import sweep
from tests.conftest import World
from tests.e2e.telegram_support import TOKEN, USERNAME, faster_chats
from tests.fakes.certificates import cjk_font_path, render_certificate, sample_fields
from tests.fakes.fake_telegram import FakeTelegram, StoredMessage
from tests.integration.test_common_problems import PROBLEMS
from tests.integration.test_reminders import at

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STAFF, OFFICER, SUPERVISOR = 1001, 2001, 3001


class Bot:
    """The Telegram channel polling the fake, and the outbox worker delivering through it."""

    def __init__(self, core: Core, tg: FakeTelegram) -> None:
        self.core, self.tg = core, tg
        settings = Settings(
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_file_base_url=tg.base_file_url,
            telegram_chat_messages_per_second=tg.chat_rate,  # paced to the fake's limit
            _env_file=None,  # type: ignore[call-arg]
        )
        self.channel = TelegramChannel(settings, core)
        self.delivery = Delivery(core, [self.channel])

    async def say(
        self, user: int, text: str, expect: str, wait_seconds: float = 10
    ) -> StoredMessage:
        since = self.tg.mark()
        self.tg.user_sends_text(user, text, language_code="zh-hans")
        return await self.reply(user, expect, since, wait_seconds)

    async def press(
        self,
        user: int,
        message: StoredMessage,
        label: str,
        expect: str,
        wait_seconds: float = 10,
        edits: bool = False,
    ) -> StoredMessage:
        """Press a button; `edits`: the answer replaces the pressed message."""
        since = 0 if edits else self.tg.mark()
        self.tg.user_presses_button(user, message.message_id, button_text=label)
        return await self.reply(user, expect, since, wait_seconds)

    async def reply(
        self, user: int, expect: str, since: int = 0, wait_seconds: float = 10
    ) -> StoredMessage:
        return await self.tg.wait_for(
            lambda m: m.chat_id == user and expect in (m.text or ""), wait_seconds, since=since
        )

    async def deliver(self) -> int:
        return (await self.delivery.run_once()).sent


@pytest.fixture
async def bot(core: Core) -> AsyncIterator[Bot]:
    async with FakeTelegram(token=TOKEN, username=USERNAME) as tg:
        running = Bot(core, faster_chats(tg))  # many messages to a chat; pacing is not the point
        await running.channel.start()
        try:
            yield running
        finally:
            await running.channel.stop()


def button_labels(message: StoredMessage) -> list[str]:
    return [button["text"] for button in message.buttons]


@pytest.mark.skipif(
    cjk_font_path() is None,
    reason="no CJK font installed (apt-get install fonts-noto-cjk): the certificate photo "
    "cannot be drawn, so this OCR test is skipped",
)
async def test_a_photographed_certificate_is_registered_and_listed_in_the_digest(
    core: Core, world: World, bot: Bot
) -> None:
    today = core.today()
    due = today + timedelta(days=20)
    fields = replace(
        sample_fields(random.Random(2026)),
        verified_on=date(due.year - 1, due.month, due.day) + timedelta(days=1),
        valid_until=due,
    )
    await bot.say(STAFF, f"/start {world.enterprise[1]}", "绑定成功")
    listing = await bot.say(STAFF, "/instruments", "还没有登记计量器具")
    ask = await bot.press(STAFF, listing, "➕ 登记", "请发送检定证书")
    assert "跳过" not in (ask.text or "")
    since = bot.tg.mark()
    bot.tg.user_sends_photo(STAFF, render_certificate(fields, blur=0.6, rotate=1.5))
    read = await bot.reply(STAFF, "识别到", since, wait_seconds=60)
    for expected in (fields.number, fields.serial, due.isoformat()):
        assert expected in (read.text or ""), read.text
    assert {"确认", "修改"} <= set(button_labels(read))
    done = await bot.press(STAFF, read, "确认", "已登记计量器具", edits=True)
    assert due.isoformat() in (done.text or "")

    # Its verification is due in 20 days: the enterprise's reminder lists it, once.
    assert isinstance(core.clock, FixedClock)
    await sweep(core)
    await sweep(core)
    assert await bot.deliver() >= 1
    reminder = await bot.reply(STAFF, "台账到期提醒")
    assert fields.instrument in (reminder.text or "") and "还有 20 天" in (reminder.text or "")
    assert fields.serial in (reminder.text or "")
    assert len([m for m in bot.tg.sent_messages(STAFF) if "台账到期提醒" in (m.text or "")]) == 1


async def test_certificate_thresholds_are_each_reminded_once_in_the_chat(
    core: Core, world: World, bot: Bot
) -> None:
    await bot.say(STAFF, f"/start {world.enterprise[1]}", "绑定成功")
    expires = date(2027, 6, 30)
    async with core.sessions() as session, session.begin():
        await add_entry(
            session,
            None,
            world.enterprise[0],
            RegisterDraft(RegisterKind.CERTIFICATE, name="ISO 9001 认证", valid_until=expires),
            core.clock.now(),
        )
    # Two sweeps around each threshold: the first reminds, the second stays quiet.
    for days_before in (95, 90, 89, 30, 29, 7, 6, -1, -2):
        assert isinstance(core.clock, FixedClock)
        core.clock.instant = at(expires - timedelta(days=days_before), 9)
        await sweep(core)
        await bot.deliver()
    reminders = [
        m.text or "" for m in bot.tg.sent_messages(STAFF) if "台账到期提醒" in (m.text or "")
    ]
    assert len(reminders) == 4, reminders
    assert ["还有 90 天" in reminders[0], "还有 30 天" in reminders[1]] == [True, True]
    assert "还有 7 天" in reminders[2] and "已超期 1 天" in reminders[3]


async def test_similar_reports_and_the_weekly_clusters_reach_officer_and_supervisor(
    core: Core, world: World, bot: Bot
) -> None:
    now = core.clock.now()
    codes = []
    async with core.sessions() as session, session.begin():
        for number in range(3):
            enterprise, code = await add_enterprise(
                session, f"阀门厂{number + 1}号", "杭州市", world.officer[0], None, now
            )
            enterprise.industry_code, enterprise.industry_name = "C3443", "阀门和旋塞制造"
            codes.append(code)
    await bot.say(OFFICER, f"/start {world.officer[1]}", "绑定成功")
    await bot.say(SUPERVISOR, f"/start {world.city_supervisor[1]}", "绑定成功")
    references = []
    for index, (code, (product, text)) in enumerate(zip(codes, PROBLEMS, strict=True)):
        user = STAFF + 10 + index
        await bot.say(user, f"/start {code}", "绑定成功")
        areas = await bot.say(user, "/report", "服务领域")
        # Pressed one after the other: the bot handles a chat's updates in order.
        bot.tg.user_presses_button(user, areas.message_id, button_text="☐ 检验检测")
        await bot.press(user, areas, "完成", "（2/6）")
        await bot.say(user, product, "（3/6）")
        files = await bot.say(user, text, "（4/6）")
        urgency = await bot.press(user, files, "跳过", "（5/6）")
        summary = await bot.press(user, urgency, "一般", "（6/6）")
        submitted = await bot.press(user, summary, "提交", "QP-", edits=True)
        references.append("QP-" + (submitted.text or "").split("QP-", 1)[1][:9])
        await bot.deliver()

    notices = [
        m
        for m in bot.tg.sent_messages(OFFICER)
        if "新问题报告" in (m.text or "") or "QP-" in (m.text or "")
    ]
    third = [m for m in notices if references[2] in (m.text or "")][0]
    text = third.text or ""
    assert "2 份相似报告，来自 2 家阀门和旋塞制造企业" in text, text
    assert references[0] in text and references[1] in text
    assert "阀门厂1号" in text and "阀门厂2号" in text

    # The next Monday's sweep sends the supervisor the week's clusters.
    assert isinstance(core.clock, FixedClock)
    core.clock.instant = at(date(2026, 12, 7), 9)
    await sweep(core)
    await bot.deliver()
    weekly = await bot.reply(SUPERVISOR, "本周行业共性问题")
    for reference in references:
        assert reference in (weekly.text or "")
    opened = await bot.press(SUPERVISOR, weekly, button_labels(weekly)[0], "已立项", edits=True)
    for reference in references:
        assert reference in (opened.text or "")
    await bot.deliver()
    for index in range(3):
        await bot.reply(STAFF + 10 + index, "共性问题专题研究")
