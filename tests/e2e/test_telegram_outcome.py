"""帮扶成效 through the real `qabot run` and the strict fake Bot API: a closed report's officer
records the outcome, the enterprise confirms it, and the figure reaches /stats and /export."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from domain.clock import SystemClock
from tests.conftest import World, build_world, make_core, sqlite_copy
from tests.e2e.telegram_support import TOKEN, USERNAME, BotProcess, Person, faster_chats
from tests.e2e.test_telegram_polling import (
    bind_officer,
    bind_staff,
    report_up_to_summary,
    submit,
)
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def world_db(migrated_sqlite: Path, tmp_path: Path) -> tuple[str, World]:
    url = sqlite_copy(migrated_sqlite, tmp_path)
    core = make_core(url, SystemClock(), tmp_path / "var" / "files")  # type: ignore[arg-type]
    try:
        return url, await build_world(core)
    finally:
        await core.sessions.kw["bind"].dispose()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, username=USERNAME) as fake:
        yield faster_chats(fake)  # a long conversation in one chat; its pacing is not the point


@pytest.fixture
async def bot(
    tg: FakeTelegram, world_db: tuple[str, World], tmp_path: Path
) -> AsyncIterator[BotProcess]:
    process = BotProcess(tg, world_db[0], tmp_path)
    await process.start()
    yield process
    await process.stop()
    assert "Traceback" not in process.log(), process.log()


async def test_outcome_recorded_confirmed_and_counted(
    bot: BotProcess, tg: FakeTelegram, world_db: tuple[str, World]
) -> None:
    _, world = world_db
    officer = await bind_officer(tg, world)
    staff = await bind_staff(tg, world)
    supervisor = Person(tg, 4001, language="zh-hans", first_name="Lead")
    await supervisor.send(f"/start {world.city_supervisor[1]}", expect="/stats")
    await report_up_to_summary(staff)
    await submit(staff)
    await tg.wait_for(lambda m: m.chat_id == officer.user_id and "rep:acc:" in str(m.callback_data))
    report_id = officer.payload_starting("rep:acc:").rsplit(":", 1)[1]

    # Accept, resolve, and the enterprise confirms: the report is closed.
    await officer.press(f"rep:acc:{report_id}", expect="已受理")
    await tg.wait_for(lambda m: f"rep:res:{report_id}" in m.callback_data)
    await officer.press(f"rep:res:{report_id}", expect="解决方案")
    await officer.send("已更换模具并重新校准量具", expect="已标记为已解决")
    await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and f"rep:ok:{report_id}" in m.callback_data
    )
    await staff.press(f"rep:ok:{report_id}", expect="")

    # The officer is asked for the outcome and records it in a few taps.
    asked = await tg.wait_for(
        lambda m: m.chat_id == officer.user_id and f"oc:rec:{report_id}" in m.callback_data
    )
    assert "帮扶成效" in (asked.text or "")
    await officer.press(f"oc:rec:{report_id}", expect="问题解决了吗")
    await officer.press(f"oc:sol:{report_id}:partly", expect="采取了哪些措施")
    await officer.press("oc:ms:std", expect="采用标准")
    await officer.press("oc:ms:met", expect="计量器具")
    await officer.press("oc:msok", expect="经济效益")
    await officer.send("-3", expect="非负数")
    await officer.send("12.5", expect="备注")
    await officer.send("废品损失每月减少约1万元", expect="已记录")

    # The enterprise (English) reads it and confirms; the officer hears of it.
    told = await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and f"oc:ok:{report_id}" in m.callback_data
    )
    assert "Partly solved" in (told.text or "") and "12.5" in (told.text or "")
    assert "Standard adopted" in (told.text or "")
    await staff.press(f"oc:ok:{report_id}", expect="confirmed the outcome")
    await tg.wait_for(lambda m: m.chat_id == officer.user_id and "确认了帮扶成效" in (m.text or ""))

    # The supervisor's figures: /stats and the workbook.
    stats = await supervisor.send("/stats", expect="帮扶成效")
    assert "已记录 1，企业确认 1" in (stats.text or "")
    assert "部分解决 1" in (stats.text or "") and "经济效益 12.5 万元" in (stats.text or "")
    assert "采用标准 1" in (stats.text or "") and "计量器具检定/校准 1" in (stats.text or "")
    await supervisor.send("/export", expect="")
    workbook = await tg.wait_for(lambda m: m.chat_id == 4001 and m.kind == "document")
    content = tg._files[workbook.media["document"]["file_id"]].content or b""
    book = load_workbook(io.BytesIO(content))
    sheet = book["按城市"]
    header = [cell.value for cell in sheet[1]]
    [city_row] = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] == "杭州市"]
    figures = dict(zip(header, city_row, strict=True))
    assert figures["帮扶成效记录数"] == 1 and figures["企业确认成效数"] == 1
    assert figures["部分解决"] == 1 and figures["已解决"] == 0
    assert figures["措施：采用标准"] == 1 and figures["措施：计量器具检定/校准"] == 1
    assert figures["措施：获得认证"] == 0
    assert figures["经济效益（万元）"] == pytest.approx(12.5)
    assert tg.rejected == []
