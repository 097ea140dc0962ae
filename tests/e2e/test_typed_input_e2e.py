"""Typing as people speak, through the real channels: Telegram (`qabot run` against the fake
Bot API) and WeCom (the callback against the fake WeCom server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.core import Core
from tests.conftest import World
from tests.e2e import test_telegram_polling as polling
from tests.e2e import test_wecom_channel as wecom_e2e
from tests.e2e.telegram_support import (
    TOKEN,
    USERNAME,
    BotProcess,
    Person,
    afternoon_zone,
    faster_chats,
)
from tests.e2e.test_telegram_polling import (
    bind_officer,
    bind_staff,
    report_up_to_summary,
    submit,
    until,
)
from tests.e2e.test_wecom_channel import WeCom, bind
from tests.fakes.fake_telegram import FakeTelegram
from tests.integration.test_typed_input import reports_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The fixtures of the Telegram and WeCom end-to-end modules, used here as they are there…
bot, world, world_db = polling.bot, polling.world, polling.world_db
wecom = wecom_e2e.wecom


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """…but for chats faster than Telegram's 1 message a second: pacing is not the point."""
    async with FakeTelegram(token=TOKEN, username=USERNAME) as fake:
        yield faster_chats(fake)


def tomorrow_in_the_bots_zone() -> str:
    return (datetime.now(ZoneInfo(afternoon_zone())) + timedelta(days=1)).date().isoformat()


async def _scheduled_with(
    tg: FakeTelegram, world: World, officer: Person, typed: str, echo: str, place: str
) -> tuple[Person, str]:
    staff = await bind_staff(tg, world)
    await report_up_to_summary(staff)
    reference = await submit(staff)
    notice = await tg.wait_for(
        lambda m: m.chat_id == officer.user_id and reference in (m.text or "")
    )
    accept = next(d for d in notice.callback_data if d.startswith("rep:acc:"))
    await officer.press(accept)
    await until(lambda: any(d.startswith("rep:sch:") for d in officer.messages()[-1].callback_data))
    await officer.press(officer.payload_starting("rep:sch:"))
    await officer.send(typed, expect=echo)
    await officer.press(officer.payload_starting("dt:ok:"), expect=place)
    return staff, reference


async def test_telegram_consultation_typed_in_chinese(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    officer = await bind_officer(tg, world)
    staff, reference = await _scheduled_with(tg, world, officer, "明天下午3点", "对吗", "地点")
    await officer.send("线上", expect="参加人员")
    await officer.press(officer.payload_starting("rep:ppok"))  # no colleagues picked
    await officer.send("企业质量部", expect="已安排")  # a guest, typed
    when = f"{tomorrow_in_the_bots_zone()} 15:00"
    told = await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and "consultation" in (m.text or "").lower()
    )
    assert when in (told.text or ""), told.text
    assert bot.query("SELECT json_extract(consultation, '$.when') FROM reports") == [(when,)]
    assert tg.rejected == []


async def test_telegram_consultation_typed_in_english(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    officer = Person(tg, 2001, language="en", first_name="Wang")
    await officer.send(f"/start {world.officer[1]}", expect="/inbox")
    staff, _ = await _scheduled_with(tg, world, officer, "tomorrow 3pm", "is that right", "Where")
    await officer.send("online", expect="Who")
    await officer.press(officer.payload_starting("rep:ppok"))
    await officer.send("Quality department", expect="scheduled")
    told = await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and "consultation" in (m.text or "").lower()
    )
    assert f"{tomorrow_in_the_bots_zone()} 15:00" in (told.text or ""), told.text
    assert tg.rejected == []


async def test_telegram_words_and_a_typed_reference(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    staff = await bind_staff(tg, world)
    await report_up_to_summary(staff, product="Spindle bearings")
    reference = await submit(staff)
    await staff.send("帮助", expect="/myreports")
    listed = await staff.send("我的报告", expect=reference)
    assert f"1. {reference}" in (listed.text or "")
    opened = await staff.send(reference.lower().replace("-", ""), expect="Spindle bearings")
    assert reference in (opened.text or "")
    rival = Person(tg, 3001, language="en")
    await rival.send(f"/start {world.other_enterprise[1]}", expect="/myreports")
    await rival.send(reference, expect="Not found")
    assert tg.rejected == []


async def test_wecom_words_a_typed_reference_and_a_typed_time(
    wecom: WeCom, core: Core, world: World
) -> None:
    staff, officer = "zhangsan", "wangli"
    await bind(wecom, staff, world.enterprise[1])
    await bind(wecom, officer, world.officer[1])
    (reference,) = await reports_of(core, staff, ["主轴承温度过高"])
    assert "/myreports" in wecom.texts(await wecom.text(staff, "帮助"))
    assert reference in wecom.texts(await wecom.text(staff, "我的报告"))
    assert "主轴承温度过高" in wecom.texts(await wecom.text(staff, reference))
    assert reference in wecom.texts(await wecom.text(officer, "搜索 轴承"))
    # The officer accepts and schedules with a typed time, confirmed on a card.
    opened = await wecom.text(officer, reference)
    card = [m for m in opened if m["msgtype"] == "template_card"][-1]
    accept = next(k for k in WeCom.keys(card).values() if k.startswith("rep:acc:"))
    accepted = await wecom.press(officer, card, accept)
    # The report's actions may take several cards (six buttons a card).
    card, schedule = next(
        (card, key)
        for card in accepted
        if card["msgtype"] == "template_card"
        for key in WeCom.keys(card).values()
        if key.startswith("rep:sch:")
    )
    await wecom.press(officer, card, schedule)
    echo = await wecom.text(officer, "明天下午3点")
    # The fixed clock: Monday 2026-11-30 10:00 in Asia/Shanghai.
    assert "2026-12-01（周二） 15:00，对吗？" in wecom.texts(echo)
    asked = await wecom.press(officer, echo[-1], WeCom.keys(echo[-1])["确认"])
    assert "地点" in wecom.texts(asked)
