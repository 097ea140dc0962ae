"""The Bot API client under python-telegram-bot (bot/telegram/http.py), against a local server:
what reaches the server, and how failures come back to python-telegram-bot."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut

from bot.telegram.http import AiohttpRequest
from tests.fakes.fake_telegram import FakeTelegram


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token="123:ABC", enforce_rate_limits=False) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        tg.token,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connections=1),
    ) as bot:
        yield bot


async def test_text_markup_and_chinese_arrive_as_sent(tg: FakeTelegram, bot: Bot) -> None:
    tg.add_user(42)
    sent = await bot.send_message(42, "<b>报告</b> QP-2026-0001 &amp; more", parse_mode="HTML")
    assert sent.message_id > 0
    [message] = tg.sent_messages(42)
    assert message.text == "报告 QP-2026-0001 & more"


async def test_a_document_goes_as_multipart_with_its_name_and_bytes(
    tg: FakeTelegram, bot: Bot
) -> None:
    tg.add_user(42)
    content = b"%PDF-1.4 " + bytes(range(256)) * 40
    await bot.send_document(42, InputFile(content, filename="整改报告.pdf"))
    [stored] = tg.stored_files()
    assert stored.content == content
    assert stored.file_name == "整改报告.pdf"


async def test_a_file_name_typed_with_quotes_and_line_breaks_cannot_break_the_request(
    tg: FakeTelegram, bot: Bot
) -> None:
    tg.add_user(42)
    name = '整改"最终"\r\nContent-Type: text/html\\.pdf'
    await bot.send_document(42, InputFile(b"%PDF-1.4 body", filename=name))
    [stored] = tg.stored_files()
    assert stored.content == b"%PDF-1.4 body"
    assert stored.file_name is not None and stored.file_name.startswith("整改")
    assert "\r" not in stored.file_name and "\n" not in stored.file_name
    assert stored.mime_type != "text/html"


async def test_updates_are_read_with_the_long_poll(tg: FakeTelegram, bot: Bot) -> None:
    tg.user_sends_text(7, "/start")
    updates = await bot.get_updates(timeout=1)
    assert [u.message.text for u in updates if u.message] == ["/start"]


async def silent_server() -> tuple[web.AppRunner, int]:
    """Accepts the request and never answers."""

    async def never(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", never)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def test_no_answer_in_time_is_timed_out(bot: Bot) -> None:
    runner, port = await silent_server()
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"http://127.0.0.1:{port}/bot123:ABC/getMe")
    finally:
        await request.shutdown()
        await runner.cleanup()


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot123:ABC/getMe")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_used_before_initialize_or_after_shutdown_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/", "POST")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/", "POST")
