"""The real `qabot run` (long polling) against the strict fake Bot API on 127.0.0.1.

Every test ends with the fake's verdict: not one request of the bot was rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from domain.clock import SystemClock
from tests.conftest import World, build_world, make_core, sqlite_copy
from tests.e2e.telegram_support import TOKEN, USERNAME, BotProcess, Person
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MARKUP = "<b>&_*[]()!. </b> &amp; <i>x</i> `y` ~z~ ||s|| \\n"
JPEG = b"\xff\xd8\xff\xe0" + b"defect-photo" * 500 + b"\xff\xd9"


@pytest.fixture
async def world_db(migrated_sqlite: Path, tmp_path: Path) -> tuple[str, World]:
    url = sqlite_copy(migrated_sqlite, tmp_path)
    # The bot runs on the real clock, so the master data is dated by it too.
    core = make_core(url, SystemClock(), tmp_path / "var" / "files")  # type: ignore[arg-type]
    try:
        return url, await build_world(core)
    finally:
        await core.sessions.kw["bind"].dispose()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, username=USERNAME) as fake:
        yield fake


@pytest.fixture
async def bot(
    tg: FakeTelegram, world_db: tuple[str, World], tmp_path: Path
) -> AsyncIterator[BotProcess]:
    process = BotProcess(tg, world_db[0], tmp_path)
    await process.start()
    yield process
    await process.stop()
    assert "Traceback" not in process.log(), process.log()


@pytest.fixture
def world(world_db: tuple[str, World]) -> World:
    return world_db[1]


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def bind_staff(tg: FakeTelegram, world: World, user_id: int = 1001) -> Person:
    staff = Person(tg, user_id, language="en", first_name="Zhang")
    # The deep link t.me/<bot>?start=CODE arrives as "/start CODE".
    await staff.send(f"/start {world.enterprise[1]}", expect="/myreports")
    return staff


async def bind_officer(tg: FakeTelegram, world: World) -> Person:
    officer = Person(tg, 2001, language="zh-hans", first_name="Wang")
    await officer.send(f"/start {world.officer[1]}", expect="/inbox")
    return officer


async def report_up_to_summary(staff: Person, product: str = "M8 bolts, line 3") -> None:
    await staff.send("/report", expect="Standards")
    await staff.press("rp:area:std", expect="☑ Standards")
    await staff.press("rp:area:met", expect="☑ Metrology")
    await staff.press("rp:areas", expect="(2/6)")
    await staff.send(product, expect="(3/6)")
    await staff.send("Thread pitch out of tolerance since the new die.", expect="(4/6)")
    await staff.photo(JPEG, expect="File received (1")
    await staff.press("rp:files", expect="(5/6)")
    await staff.press("rp:urg:urgent", expect="(6/6)")


async def submit(staff: Person) -> str:
    done = await staff.press("rp:submit", expect="Report submitted")
    return "QP-" + (done.text or "").split("QP-", 1)[1][:9]


async def test_deep_link_binding_and_help(bot: BotProcess, tg: FakeTelegram, world: World) -> None:
    staff = Person(tg, 1001, language="en")
    unbound = await staff.send("hello", expect="Please bind first")
    assert unbound.parse_mode == "HTML"
    await staff.send(f"/start {world.enterprise[1]}", expect="/myreports")
    assert any("Bound: " in (m.text or "") for m in staff.messages())
    assert bot.query(
        "SELECT channel, external_id, chat_id FROM channel_identities WHERE external_id = '1001'"
    ) == [("telegram", "1001", "1001")]
    # The command menu: Chinese for everyone, English for English clients.
    assert {"report", "myreports", "commitments"} <= {
        c["command"] for c in tg.commands[("default", "")]
    }
    assert tg.commands[("default", "en")][0]["description"] == "report a quality problem"
    # Once bound, the chat's own menu: the staff's commands, in their language.
    await until(lambda: ("chat:1001:", "") in tg.commands)
    staff_menu = {c["command"]: c["description"] for c in tg.commands[("chat:1001:", "")]}
    assert staff_menu["report"] == "report a quality problem" and "inbox" not in staff_menu
    assert tg.rejected == []


async def test_full_report_the_officer_notified_a_replayed_button_refused_accept_told(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    officer = await bind_officer(tg, world)
    staff = await bind_staff(tg, world)
    # The product is typed full of markup: what the person sees is exactly what they typed.
    await report_up_to_summary(staff, product=MARKUP)
    summary = staff.message_with("rp:submit")
    assert f"Product: {MARKUP.strip()}" in (summary.text or "")
    assert {e["type"] for e in summary.entities} == {"bold"}  # our title, nothing of theirs
    reference = await submit(staff)
    assert reference.startswith("QP-20")

    # The officer is told at once: ONE message with reference, enterprise, areas and buttons.
    notice = await tg.wait_for(
        lambda m: m.chat_id == officer.user_id and reference in (m.text or "")
    )
    text = notice.text or ""
    assert "杭州精工机械有限公司" in text and "标准、计量" in text and "紧急" in text
    assert MARKUP.strip() in text
    assert text.startswith(f"新的问题报告 {reference}") and notice.entities[0]["type"] == "bold"
    accept = next(d for d in notice.callback_data if d.startswith("rep:acc:"))
    assert [m for m in officer.messages() if reference in (m.text or "")] == [notice]
    await until(lambda: ("chat:2001:", "") in tg.commands)
    officer_menu = {c["command"] for c in tg.commands[("chat:2001:", "")]}
    assert "inbox" in officer_menu and "report" not in officer_menu

    # The photo went through getFile, was downloaded and stored with the report.
    assert [c.method for c in tg.requests].count("getFile") == 1
    assert bot.query("SELECT size, mime_type, report_id FROM attachments") == [
        (len(JPEG), "image/jpeg", 1)
    ]

    # Staff of another enterprise replaying the officer's payloads: refused, nothing changes.
    rival = Person(tg, 3001, language="en")
    await rival.send(f"/start {world.other_enterprise[1]}", expect="/myreports")
    for payload in notice.callback_data:  # accept, view
        refused = await rival.forge(payload, expect="Not found, or not yours to see.")
        assert reference not in (refused.text or "")
    assert bot.query("SELECT status FROM reports") == [("submitted",)]
    assert bot.query("SELECT count(*) FROM report_events") == [(1,)]

    await officer.press(accept, expect="已受理")
    told = await tg.wait_for(
        lambda m: m.chat_id == staff.user_id and "has accepted the report" in (m.text or "")
    )
    assert reference in (told.text or "")
    assert bot.query("SELECT status FROM reports") == [("accepted",)]
    assert tg.unanswered_callback_queries() == []
    assert tg.rate_limited == 0  # paced under Telegram's limits, not pushed back by 429s
    assert tg.rejected == []


async def test_my_reports_shows_only_my_enterprise(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    await bind_officer(tg, world)
    staff = await bind_staff(tg, world)
    rival = Person(tg, 3001, language="en")
    await rival.send(f"/start {world.other_enterprise[1]}", expect="/myreports")

    async def rival_report() -> str:
        await rival.send("/report", expect="Standards")
        await rival.press("rp:area:brand", expect="☑")
        await rival.press("rp:areas", expect="(2/6)")
        await rival.send("Kettles", expect="(3/6)")
        await rival.send("Labels peel off", expect="(4/6)")
        await rival.press("rp:files", expect="(5/6)")
        await rival.press("rp:urg:normal", expect="(6/6)")
        return await submit(rival)

    async def own_report() -> str:
        await report_up_to_summary(staff)
        return await submit(staff)

    # Two chats at once: the bot serves them concurrently, each in order.
    reference, rival_reference = await asyncio.gather(own_report(), rival_report())
    mine = await staff.send("/myreports", expect=reference)
    assert rival_reference not in (mine.text or "")
    assert [e["type"] for e in mine.entities] == ["bold"]
    theirs = await rival.send("/myreports", expect=rival_reference)
    assert reference not in (theirs.text or "")
    assert tg.rejected == []


async def test_commitments_for_each_side(bot: BotProcess, tg: FakeTelegram, world: World) -> None:
    staff = await bind_staff(tg, world)
    listed = await staff.send("/commitments", expect="建立追溯台账")
    assert f"cm:done:{world.enterprise_commitment}" in listed.callback_data
    officer = await bind_officer(tg, world)
    theirs = await officer.send("/commitments", expect="上门校准量具")
    assert f"cm:done:{world.bureau_commitment}" in theirs.callback_data
    agreement = await staff.send("/agreement", expect="上门校准量具")
    assert "建立追溯台账" in (agreement.text or "")
    assert tg.rejected == []


async def test_long_text_is_split_on_lines_with_the_buttons_on_the_last_part(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    staff = await bind_staff(tg, world)
    await staff.send("/report", expect="Standards")
    await staff.press("rp:area:std", expect="☑")
    await staff.press("rp:areas", expect="(2/6)")
    await staff.send("Gearboxes", expect="(3/6)")
    # Under the 3,000 characters a description may have, but 4,400 UTF-16 units (each emoji
    # counts twice) with markup in every line: more than one Telegram message can carry.
    line = "😀" * 25 + " <b>&amp;</b>"
    long_text = "\n".join(f"{i:03d} {line}" for i in range(65))
    await staff.send(long_text, expect="(4/6)")
    await staff.press("rp:files", expect="(5/6)")
    before = len(staff.messages())
    await staff.press("rp:urg:normal", expect="(6/6)")
    await tg.wait_for(lambda m: m.chat_id == staff.user_id and "rp:submit" in m.callback_data)
    parts = staff.messages()[before:]
    assert len(parts) >= 2 and all((p.text or "").strip() for p in parts)
    assert [bool(p.callback_data) for p in parts] == [False] * (len(parts) - 1) + [True]
    shown = "\n".join(p.text or "" for p in parts)
    assert all(f"{i:03d} {line}\n" in shown for i in range(65))
    assert tg.rejected == []


async def test_conversation_survives_kill_9(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    staff = await bind_staff(tg, world)
    await staff.send("/report", expect="Standards")
    await staff.press("rp:area:std", expect="☑")
    await staff.press("rp:areas", expect="(2/6)")
    await staff.send("Valves", expect="(3/6)")
    await bot.kill9()
    # Written while the bot is down: kept by Telegram, handled after the restart.
    tg.user_sends_text(staff.user_id, "Seals leak at 6 bar.", language_code="en")
    await bot.start()
    await tg.wait_for(lambda m: m.chat_id == staff.user_id and "(4/6)" in (m.text or ""))
    await staff.press("rp:files", expect="(5/6)")
    await staff.press("rp:urg:normal", expect="(6/6)")
    summary = staff.message_with("rp:submit")
    assert "Valves" in (summary.text or "") and "Seals leak at 6 bar." in (summary.text or "")
    await submit(staff)
    assert tg.dropped_pending_updates == []
    assert tg.rejected == []


async def test_kill_9_with_200_updates_in_the_inbox_each_is_handled_once_in_order(
    bot: BotProcess, tg: FakeTelegram
) -> None:
    chats, per_chat = range(3001, 3021), 10
    for number in range(per_chat):
        for chat in chats:
            tg.user_sends_text(chat, f"/c{chat}n{number:02d}", language_code="en")
    # Stored and confirmed to Telegram (its offset passed them), then killed while most wait in
    # the inbox: replies are paced to about one a second per chat, and each chat goes in order.
    await until(lambda: bot.query("SELECT count(*) FROM inbox")[0][0] == 200, within=10)
    await bot.kill9()
    waiting = bot.query("SELECT count(*) FROM inbox WHERE done_at IS NULL")[0][0]
    assert waiting >= 100

    await bot.start()

    def answered() -> list[str]:
        return [
            (m.text or "").split("/c", 1)[1].split(" ", 1)[0]
            for m in tg.sent_messages()
            if "/c" in (m.text or "")
        ]

    # A turn that committed in the first life is not run again; its kept replies are sent
    # again if its row was not yet marked done (README "Delivery guarantees"): a reply of the
    # last moments before the kill may arrive twice, none is lost.
    await until(lambda: len(set(answered())) == len(chats) * per_chat, within=40)
    await until(lambda: not bot.query("SELECT 1 FROM inbox WHERE done_at IS NULL"), within=10)
    replies = answered()
    assert len(replies) - len(set(replies)) <= 2 * len(chats)
    for chat in chats:
        mine = list(dict.fromkeys(reply for reply in replies if reply.startswith(f"{chat}n")))
        assert mine == sorted(mine)  # in the order they were sent
    handled = bot.query("SELECT count(*) FROM processed_updates")[0][0]
    assert handled == 200
    assert tg.rejected == []


async def test_files_over_20_mb_are_refused_by_size_without_downloading(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    staff = await bind_staff(tg, world)
    await staff.send("/report", expect="Standards")
    await staff.press("rp:area:cert", expect="☑")
    await staff.press("rp:areas", expect="(2/6)")
    await staff.send("Boilers", expect="(3/6)")
    await staff.send("Certificate expired", expect="(4/6)")
    seen = {m.message_id for m in staff.messages()}
    tg.user_sends_document(
        staff.user_id, b"%PDF-1.4 tiny", "scan.pdf", "application/pdf", file_size=25 * 1024 * 1024
    )
    refused = await tg.wait_for(lambda m: m.chat_id == staff.user_id and m.message_id not in seen)
    assert "20" in (refused.text or "") and "MB" in (refused.text or "")
    assert not any(call.method == "getFile" for call in tg.requests)
    pdf = b"%PDF-1.4 " + b"x" * 2048
    tg.user_sends_document(staff.user_id, pdf, "scan.pdf", "application/pdf")
    await tg.wait_for(lambda m: m.chat_id == staff.user_id and "File received (1" in (m.text or ""))
    assert [call.method for call in tg.requests].count("getFile") == 1
    assert bot.query("SELECT file_name, size, mime_type FROM attachments") == [
        ("scan.pdf", len(pdf), "application/pdf")
    ]
    assert tg.rejected == []


async def test_the_supervisors_export_arrives_as_a_document(
    bot: BotProcess, tg: FakeTelegram, world: World
) -> None:
    supervisor = Person(tg, 4001, language="en")
    await supervisor.send(f"/start {world.city_supervisor[1]}", expect="/export")
    await supervisor.send("/stats", expect="Commitments")
    await supervisor.send("/export", expect="")
    workbook = await tg.wait_for(lambda m: m.chat_id == 4001 and m.kind == "document")
    document = workbook.media["document"]
    assert document["file_name"].endswith(".xlsx")
    content = tg._files[document["file_id"]].content or b""
    assert content.startswith(b"PK")  # a zip container: the xlsx workbook
    assert tg.rejected == []
