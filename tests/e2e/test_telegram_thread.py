"""The report as a two-way case, through the real `qabot run` and the strict fake Bot API:
photos reach the officer, typed texts cross over, add/ask/reply, internal notes, transfer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.clock import SystemClock
from domain.roles import Role
from handlers.usecases.people import add_officer
from tests.conftest import World, build_world, make_core, sqlite_copy
from tests.e2e.telegram_support import TOKEN, USERNAME, BotProcess, Person, faster_chats
from tests.e2e.test_telegram_polling import (
    JPEG,
    bind_officer,
    bind_staff,
    report_up_to_summary,
    submit,
)
from tests.fakes.fake_telegram import FakeTelegram, StoredMessage

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECOND_JPEG = b"\xff\xd8\xff\xe0" + b"second-batch" * 400 + b"\xff\xd9"
NOTE = "内部备注：该企业上次整改拖延"


@pytest.fixture
async def world_db(migrated_sqlite: Path, tmp_path: Path) -> tuple[str, World, str]:
    url = sqlite_copy(migrated_sqlite, tmp_path)
    core = make_core(url, SystemClock(), tmp_path / "var" / "files")  # type: ignore[arg-type]
    try:
        world = await build_world(core)
        async with core.sessions() as session, session.begin():
            _, colleague_code = await add_officer(
                session, "陈明", "杭州市", Role.OFFICER, core.clock.now()
            )
        return url, world, colleague_code
    finally:
        await core.sessions.kw["bind"].dispose()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, username=USERNAME) as fake:
        yield faster_chats(fake)  # a long conversation in one chat; its pacing is not the point


@pytest.fixture
async def bot(
    tg: FakeTelegram, world_db: tuple[str, World, str], tmp_path: Path
) -> AsyncIterator[BotProcess]:
    process = BotProcess(tg, world_db[0], tmp_path)
    await process.start()
    yield process
    await process.stop()
    assert "Traceback" not in process.log(), process.log()


def photos_in(person: Person) -> list[StoredMessage]:
    return [m for m in person.messages() if m.kind == "photo"]


async def test_a_report_is_a_two_way_case(
    bot: BotProcess, tg: FakeTelegram, world_db: tuple[str, World, str]
) -> None:
    _, world, colleague_code = world_db
    officer = await bind_officer(tg, world)
    staff = await bind_staff(tg, world)
    await report_up_to_summary(staff)
    reference = await submit(staff)
    [sent_by_staff] = [f for f in tg.stored_files() if f.content == JPEG]

    # The officer receives the reported photo: the same Telegram file, sent by its file id
    # (nothing uploaded again).
    photo = await tg.wait_for(lambda m: m.chat_id == officer.user_id and m.kind == "photo")
    assert photo.file_id == sent_by_staff.file_id
    assert [f for f in tg.stored_files() if f.content == JPEG] == [sent_by_staff]
    report_id = officer.payload_starting("rep:acc:").rsplit(":", 1)[1]

    # Accept, then "mark resolved" with a note: the enterprise reads the note.
    await officer.press(f"rep:acc:{report_id}", expect="已受理")
    await tg.wait_for(lambda m: f"rep:res:{report_id}" in m.callback_data)
    await officer.press(f"rep:res:{report_id}", expect="解决方案")
    await officer.send("已更换模具并重新校准量具", expect="已标记为已解决")
    told = await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and "已更换模具并重新校准量具" in (m.text or "")
    )
    assert f"rep:no:{report_id}" in told.callback_data
    # "Not solved" with a reason: the officer reads the reason.
    await staff.press(f"rep:no:{report_id}", expect="reason")
    await staff.send("Batch 3 still out of tolerance", expect="not solved")
    await tg.wait_for(
        lambda m: (
            m.chat_id == officer.user_id and "Batch 3 still out of tolerance" in (m.text or "")
        )
    )

    # The enterprise adds a text and a second photo; the officer receives both.
    await staff.send("/myreports", expect=reference)
    await staff.press(f"rep:view:{report_id}", expect=reference)
    await staff.press(f"rep:add:{report_id}", expect="press Send")
    await staff.send("The supplier changed the steel grade", expect="Received (1")
    await staff.photo(SECOND_JPEG, expect="Received (2")
    await staff.press(f"rep:post:{report_id}", expect="sent to your officer")
    await tg.wait_for(
        lambda m: (
            m.chat_id == officer.user_id
            and "The supplier changed the steel grade" in (m.text or "")
        )
    )
    second = await tg.wait_for(
        lambda m: m.chat_id == officer.user_id and m.kind == "photo" and m.file_id != photo.file_id
    )
    [sent_second] = [f for f in tg.stored_files() if f.content == SECOND_JPEG]
    assert second.file_id == sent_second.file_id

    # The officer asks; the enterprise replies; the officer reads the answer.
    await officer.press(f"rep:view:{report_id}", expect=reference)
    await officer.press(f"rep:ask:{report_id}", expect="问题")
    await officer.send("请提供量具校准证书编号", expect="已发送给企业")
    question = await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and "请提供量具校准证书编号" in (m.text or "")
    )
    assert f"rep:ans:{report_id}" in question.callback_data
    await staff.press(f"rep:ans:{report_id}", expect="Send your reply")
    await staff.send("Certificate JL-2026-118", expect="Received (1")
    await staff.press(f"rep:post:{report_id}", expect="reply has been sent")
    await tg.wait_for(lambda m: m.chat_id == officer.user_id and "JL-2026-118" in (m.text or ""))

    # An internal note: in the officer's thread, never anywhere on the enterprise's side.
    await officer.press(f"rep:view:{report_id}", expect=reference)
    await officer.press(f"rep:note:{report_id}", expect="内部备注")
    await officer.send(NOTE, expect="企业不可见")
    page = await officer.press(f"rep:view:{report_id}", expect=NOTE)
    assert "内部备注" in (page.text or "")
    await staff.press(f"rep:view:{report_id}", expect=reference)

    # Transfer to a colleague: the colleague and the enterprise are told, with the name.
    colleague = Person(tg, 2002, language="zh-hans", first_name="Chen")
    await colleague.send(f"/start {colleague_code}", expect="/inbox")
    xfer = f"rep:xfer:{report_id}"
    await officer.press(xfer, expect="转交")
    target = officer.payload_starting(f"rep:xto:{report_id}:")
    await officer.press(target, expect="转交范围")
    this_report_only = target.rsplit(":", 1)[0] + ":1"
    await officer.press(this_report_only, expect="留言")
    await officer.send("企业联系人是质量部张工", expect="已转交给 陈明")
    handed = await tg.wait_for(
        lambda m: m.chat_id == colleague.user_id and reference in (m.text or "")
    )
    assert "质量部张工" in (handed.text or "")
    await tg.wait_for(lambda m: m.chat_id == staff.user_id and "陈明" in (m.text or ""))
    # The colleague can resolve; the former officer's buttons are refused.
    await officer.forge(f"rep:res:{report_id}", expect="不再由您负责")
    await colleague.press(f"rep:view:{report_id}", expect=reference)
    await colleague.press(f"rep:res:{report_id}", expect="解决方案")
    await colleague.send("现场处理完毕", expect="已标记为已解决")
    await tg.wait_for(lambda m: m.chat_id == staff.user_id and "现场处理完毕" in (m.text or ""))

    # Nothing the enterprise received carries the internal note.
    assert all(NOTE not in (m.text or "") for m in staff.messages())
    assert tg.rejected == []
