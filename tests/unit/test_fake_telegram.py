"""The fake Telegram server itself, driven by python-telegram-bot's real Bot and Application."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, Update
from telegram import InlineKeyboardMarkup as Markup
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.helpers import escape_markdown

from tests.fakes.fake_telegram import LOST_RESPONSE, FakeTelegram, Fault, parse_markdown_v2

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

TOKEN = "123:ABC"
USER = 1001


def keyboard(*data: str) -> Markup:
    return Markup([[InlineKeyboardButton(f"b{i}", callback_data=d) for i, d in enumerate(data)]])


def seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, username="qabot_test_bot") as fake:
        fake.add_user(USER, "Li", language_code="zh-hans")
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


async def test_get_me(bot: Bot, tg: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123, "qabot_test_bot", True)
    assert tg.requests[0].method == "getMe"


async def test_text_length_is_counted_in_utf16_after_parsing(bot: Bot, tg: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4095 + "😀")  # 4096 code points, 4097 UTF-16 units
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    assert len(tg.rejected) == 3
    tg.rejected.clear()
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, "a" * 4094 + "😀")
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert [len(m.text or "") for m in tg.sent_messages(USER)] == [4096, 4095, 4096]
    assert tg.rejected == [] and tg.rate_limited == 0


async def test_bad_html_is_rejected_and_escaped_html_accepted(bot: Bot, tg: FakeTelegram) -> None:
    bad = {
        "a < b": 'unsupported start tag ""',
        "<b>bold": "can't find end tag corresponding to start tag \"b\"",
        "<p>para</p>": 'unsupported start tag "p"',
        "<b>x</i>": 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "AT&T": "character '&'",
        '<span class="x">s</span>': 'tag "span" must have class "tg-spoiler"',
    }
    for text, error in bad.items():
        with pytest.raises(BadRequest) as excinfo:
            await bot.send_message(USER, text, parse_mode="HTML")
        assert "can't parse entities" in str(excinfo.value).lower()
        assert error in str(excinfo.value).lower()
    assert len(tg.rejected) == len(bad)
    tg.rejected.clear()

    user_text = 'a < b & c > "d" <script>'
    sent = await bot.send_message(USER, f"<b>报告</b> {html.escape(user_text)}", parse_mode="HTML")
    assert sent.text == f"报告 {user_text}"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2)]
    assert tg.rejected == []


async def test_markdown_v2_reserved_characters(bot: Bot, tg: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await bot.send_message(USER, "Version 1.0", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="can't find end of bold entity"):
        await bot.send_message(USER, "*bold", parse_mode="MarkdownV2")
    tg.rejected.clear()
    text = escape_markdown("QP-2026-0007 (urgent). 1+1=2!", version=2)
    sent = await bot.send_message(USER, f"*Report* {text}", parse_mode="MarkdownV2")
    assert sent.text == "Report QP-2026-0007 (urgent). 1+1=2!"
    assert parse_markdown_v2(">quote\n`a.b`")[0] == "quote\na.b"
    assert tg.rejected == []


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, tg: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=keyboard("d" * 65))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=keyboard("数" * 22))  # 66 bytes
    too_many = Markup([[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)])
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(USER, "x", reply_markup=too_many)
    assert len(tg.rejected) == 3
    tg.rejected.clear()
    await bot.send_message(USER, "x", reply_markup=keyboard("d" * 64, "数" * 21))
    assert tg.sent_messages(USER)[0].callback_data == ["d" * 64, "数" * 21]
    assert tg.rejected == []


async def test_injected_429_surfaces_as_retry_after(bot: Bot, tg: FakeTelegram) -> None:
    tg.inject_errors([429, Fault(429, retry_after=7), 502])
    with pytest.raises(RetryAfter) as first:
        await bot.send_message(USER, "hello")
    assert seconds(first.value.retry_after) == 1
    with pytest.raises(RetryAfter) as second:
        await bot.send_message(USER, "hello")
    assert seconds(second.value.retry_after) == 7
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "hello")
    await bot.send_message(USER, "hello")
    assert len(tg.sent_messages(USER)) == 1
    assert tg.faults_served == [("sendMessage", 429), ("sendMessage", 429), ("sendMessage", 502)]
    assert tg.rejected == [] and tg.rate_limited == 0


async def test_lost_response_still_delivers(bot: Bot, tg: FakeTelegram) -> None:
    tg.inject_errors([LOST_RESPONSE])
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "sent, but the reply was lost")
    assert [m.text for m in tg.sent_messages(USER)] == ["sent, but the reply was lost"]


async def test_rate_limits(bot: Bot, tg: FakeTelegram) -> None:
    now = 1000.0
    tg.monotonic = lambda: now  # the fake counts on a clock the test moves, not real time
    for i in range(3):  # the burst allowance of a private chat
        await bot.send_message(USER, f"m{i}")
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(USER, "one too many")
    assert seconds(excinfo.value.retry_after) == 1
    assert tg.rate_limited == 1
    now += 1.0  # the second it asked for
    await bot.send_message(USER, "after waiting")

    tg.rate_limited = 0
    for user in range(1, 40):
        tg.add_user(user)
    await asyncio.gather(*(bot.send_message(u, "broadcast") for u in range(1, 30)))
    with pytest.raises(RetryAfter):
        await bot.send_message(39, "the 31st in one second")
    assert tg.rate_limited == 1 and tg.rejected == []


@pytest.mark.wallclock
async def test_get_updates_offset_limit_and_long_poll(bot: Bot, tg: FakeTelegram) -> None:
    ids = [tg.user_sends_text(USER, t)["update_id"] for t in ("one", "two", "three")]
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(offset=ids[0])] == ids[1:]  # confirmed
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], limit=1)] == ids[1:2]
    assert await bot.get_updates(offset=ids[2] + 1) == ()

    asyncio.get_running_loop().call_later(0.2, tg.user_sends_text, USER, "late")
    started = time.monotonic()
    (late,) = await bot.get_updates(offset=ids[2] + 1, timeout=5)
    assert late.message.text == "late" and time.monotonic() - started < 2

    started = time.monotonic()
    assert await bot.get_updates(offset=late.update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9
    assert tg.rejected == []


async def test_user_messages_carry_command_entities(bot: Bot, tg: FakeTelegram) -> None:
    tg.user_sends_text(USER, "/start ABC123")
    (update,) = await bot.get_updates()
    assert update.message.text == "/start ABC123"
    assert update.message.from_user.language_code == "zh-hans"
    assert [(e.type, e.offset, e.length) for e in update.message.entities] == [
        ("bot_command", 0, 6)]


async def test_second_instance_terminates_the_first_poll(bot: Bot, tg: FakeTelegram) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with Bot(tg.token, base_url=tg.base_url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=1))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        assert await second == ()
    assert [r.status for r in tg.rejected] == [409]


async def test_edit_message_text(bot: Bot, tg: FakeTelegram) -> None:
    sent = await bot.send_message(USER, "<b>Report</b>", parse_mode="HTML",
                                  reply_markup=keyboard("accept"))
    with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
        await bot.edit_message_text("<b>Report</b>", USER, sent.message_id, parse_mode="HTML",
                                    reply_markup=keyboard("accept"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("accept"))
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, sent.message_id + 100)
    assert len(tg.rejected) == 3
    tg.rejected.clear()

    await bot.edit_message_text("Report (accepted)", USER, sent.message_id,
                                reply_markup=keyboard("close"))
    (stored,) = tg.sent_messages(USER)
    assert (stored.text, stored.edited, stored.history) == ("Report (accepted)", True, ["Report"])
    assert stored.callback_data == ["close"]
    await bot.edit_message_text("Closed", USER, sent.message_id)  # no markup: keyboard removed
    assert tg.sent_messages(USER)[0].reply_markup is None
    assert tg.rejected == []


async def test_buttons_and_callback_queries(bot: Bot, tg: FakeTelegram) -> None:
    sent = await bot.send_message(USER, "Urgency?", reply_markup=keyboard("normal", "urgent"))
    with pytest.raises(LookupError):
        tg.user_presses_button(USER, sent.message_id, "delete-everything")
    pressed = tg.user_presses_button(USER, sent.message_id, button_text="b1")
    forged = tg.user_presses_button(USER, sent.message_id, "report:42:close", forge=True)
    first, second = await bot.get_updates()
    assert first.callback_query.data == "urgent"
    assert first.callback_query.message.message_id == sent.message_id
    assert second.callback_query.data == "report:42:close"

    assert await bot.answer_callback_query(pressed["callback_query"]["id"], text="OK")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(pressed["callback_query"]["id"])
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(forged["callback_query"]["id"], text="x" * 201)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    assert tg.unanswered_callback_queries() == [forged["callback_query"]["id"]]


async def test_blocked_and_unknown_chats(bot: Bot, tg: FakeTelegram) -> None:
    tg.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")
    assert tg.rejected == [] and [c.method for c in tg.forbidden] == ["sendMessage"]
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "hello")
    assert [r.description for r in tg.rejected] == ["Bad Request: chat not found"]


async def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{tg.base_url}123:WRONG/getMe")
        unknown = await client.post(f"{tg.base_url}{tg.token}/getNothing", data={"a": "1"})
        json_body = await client.post(f"{tg.base_url}{tg.token}/sendMessage",
                                      json={"chat_id": USER, "text": "via JSON"})
    assert wrong.status_code == 401 and wrong.json()["description"] == "Unauthorized"
    assert unknown.status_code == 404 and unknown.json() == {
        "ok": False, "error_code": 404, "description": "Not Found"}
    assert json_body.json()["result"]["text"] == "via JSON"
    with pytest.raises(InvalidToken):
        async with Bot("123:WRONG", base_url=tg.base_url):
            pass


async def test_commands(bot: Bot, tg: FakeTelegram) -> None:
    commands = [BotCommand("report", "报告问题"), BotCommand("my_reports", "我的报告")]
    assert await bot.set_my_commands(commands, language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == tuple(commands)
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Report", "x")])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("report", "x" * 257)])
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(424242))
    assert await bot.set_my_commands(commands, scope=BotCommandScopeChat(USER))


async def test_file_round_trips(bot: Bot, tg: FakeTelegram) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 100
    update = tg.user_sends_document(USER, pdf, "报告.pdf", "application/pdf", caption="evidence")
    document = update["message"]["document"]
    file = await bot.get_file(document["file_id"])
    assert file.file_size == len(pdf)
    assert bytes(await file.download_as_bytearray()) == pdf

    photo = tg.user_sends_photo(USER, b"\xff\xd8\xff jpeg", caption="line 3")
    photo_file = await bot.get_file(photo["message"]["photo"][-1]["file_id"])
    assert bytes(await photo_file.download_as_bytearray()) == b"\xff\xd8\xff jpeg"

    big = tg.user_sends_document(USER, b"x", "huge.zip", file_size=21 * 1024 * 1024)
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(big["message"]["document"]["file_id"])

    sent = await bot.send_document(USER, b"col1,col2\n", filename="export.csv",
                                   caption="<b>Export</b>", parse_mode="HTML")
    assert sent.caption == "Export" and sent.document.file_name == "export.csv"
    again = await bot.get_file(sent.document.file_id)
    assert bytes(await again.download_as_bytearray()) == b"col1,col2\n"
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(USER, b"img", caption="c" * 1025)


async def test_webhook_delivery_and_drop_pending(bot: Bot, tg: FakeTelegram) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(BadRequest, match="Bad webhook"):
            await bot.set_webhook("http://example.com/hook")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        assert await tg.deliver_webhook({"update_id": 99, "message": {"text": "x"}}) == 200
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        update = tg.user_sends_text(USER, "/report")
        for _ in range(50):
            if len(received) == 2:
                break
            await asyncio.sleep(0.02)
        assert received[1] == ("s3cret", update)
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert tg.dropped_pending_updates == []
        tg.webhook_auto_deliver = False
        tg.user_sends_text(USER, "pending")
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert tg.dropped_pending_updates == [("deleteWebhook", 1)]
    finally:
        await runner.cleanup()


def build_app(tg: FakeTelegram) -> Application:  # type: ignore[type-arg]
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_html(
            f"Welcome, <b>{html.escape(update.effective_user.first_name)}</b>",
            reply_markup=keyboard("report"))

    app = (Application.builder().token(tg.token).base_url(tg.base_url)
           .base_file_url(tg.base_file_url).build())
    app.add_handler(CommandHandler("start", start))
    return app


async def test_application_polling_end_to_end(tg: FakeTelegram) -> None:
    tg.user_sends_text(7, "/start", first_name="<Zhang & Co>")  # queued before the bot starts
    for run in range(2):  # the second run is a restart of the bot
        mark = tg.mark()
        async with build_app(tg) as app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=5)
            if run:
                tg.user_sends_text(7, "/start")
            message = await tg.wait_for(lambda m: "Welcome" in (m.text or ""), since=mark)
            await app.updater.stop()
            await app.stop()
        assert message.text == "Welcome, <Zhang & Co>" and message.callback_data == ["report"]
    assert [m.message_id for m in tg.sent_messages(7)] == [2, 4]
    assert tg.dropped_pending_updates == [] and tg.rejected == [] and tg.rate_limited == 0
    with pytest.raises(TimeoutError):
        await tg.wait_for(lambda m: m.chat_id == 8, timeout=0.1)


async def test_media_group_takes_2_to_10_items_by_upload_or_file_id(
    bot: Bot, tg: FakeTelegram
) -> None:
    from telegram import InputMediaDocument, InputMediaPhoto

    with pytest.raises(BadRequest, match="2-10"):
        await bot.send_media_group(USER, [InputMediaPhoto(b"\xff\xd8one")])
    with pytest.raises(BadRequest, match="mixed"):
        await bot.send_media_group(
            USER, [InputMediaPhoto(b"\xff\xd8a"), InputMediaDocument(b"%PDF", filename="a.pdf")]
        )
    tg.rejected.clear()
    known = tg.register_file(b"\xff\xd8known", kind="photo")
    sent = await bot.send_media_group(
        USER, [InputMediaPhoto(known.file_id), InputMediaPhoto(b"\xff\xd8uploaded")]
    )
    assert len(sent) == 2
    stored = tg.sent_messages(USER)
    assert [m.kind for m in stored] == ["photo", "photo"]
    assert stored[0].file_id == known.file_id
    assert [f.content for f in tg.stored_files()] == [b"\xff\xd8known", b"\xff\xd8uploaded"]
    assert tg.rejected == []
