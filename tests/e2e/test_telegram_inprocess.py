"""The Telegram channel in-process against the fake: what is hard to provoke from outside."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.settings import Settings
from bot.telegram import TelegramChannel
from domain.clock import FixedClock
from handlers.core import Core
from storage.models import InboxUpdate
from tests.conftest import World, make_core, sqlite_copy
from tests.e2e.telegram_support import TOKEN, USERNAME
from tests.fakes.fake_telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_an_internal_error_is_logged_with_the_update_id_and_apologised_for(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A table every turn needs is gone (a bug, not a busy database): every turn fails inside
    # the core, after its update was stored in the inbox.
    url = sqlite_copy(migrated_sqlite, tmp_path)
    with contextlib.closing(sqlite3.connect(url.split("///", 1)[1])) as db:
        db.execute("DROP TABLE conversation_states")
    core = make_core(url, FixedClock(), tmp_path / "files")
    async with FakeTelegram(token=TOKEN, username=USERNAME) as tg:
        settings = Settings(
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_file_base_url=tg.base_file_url,
            _env_file=None,  # type: ignore[call-arg]
        )
        channel = TelegramChannel(settings, core)
        await channel.start()
        try:
            with caplog.at_level(logging.ERROR):
                english = tg.user_sends_text(1001, "/help", language_code="en-US")
                apology = await tg.wait_for(lambda m: m.chat_id == 1001)
                tg.user_sends_text(1002, "/help", language_code="zh-hans")
                chinese = await tg.wait_for(lambda m: m.chat_id == 1002)
        finally:
            await channel.stop()
            await core.sessions.kw["bind"].dispose()
        assert (apology.text or "").startswith("Sorry, something went wrong")
        assert "抱歉" in (chinese.text or "") or "出错" in (chinese.text or "")
        assert "Traceback" not in (apology.text or "") + (chinese.text or "")
        # Logged with the update id (by the dispatcher, or by the channel's error handler).
        update_id = english["update_id"]
        assert f"telegram:{update_id}" in caplog.text or f"update {update_id} failed" in caplog.text
        assert tg.rejected == []


async def test_a_slow_download_holds_back_no_other_chat_and_is_confirmed_once_stored(
    core: Core, world: World
) -> None:
    release = asyncio.Event()
    tg = FakeTelegram(token=TOKEN, username=USERNAME)
    serve_file = tg._handle_file

    async def slow_file(request: web.Request) -> web.StreamResponse:
        await release.wait()  # a large photo on a slow link
        return await serve_file(request)

    tg._handle_file = slow_file  # type: ignore[method-assign]
    async with tg:
        settings = Settings(
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_file_base_url=tg.base_file_url,
            _env_file=None,  # type: ignore[call-arg]
        )
        channel = TelegramChannel(settings, core)
        await channel.start()
        try:
            photo = tg.user_sends_photo(1001, b"\xff\xd8" + b"x" * 1000, language_code="en")
            tg.user_sends_text(1002, "/help", language_code="en")
            await tg.wait_for(lambda m: m.chat_id == 1002, timeout=3)
            tg.user_sends_text(1002, "/start", language_code="en")
            await tg.wait_for(lambda m: m.chat_id == 1002 and "/start" in (m.text or ""))
            # Stored in the inbox, the photo's update was confirmed to Telegram at once; its
            # turn waits for the download, and the inbox still holds it as not handled.
            offsets = [
                int(call.params.get("offset") or 0)
                for call in tg.requests
                if call.method == "getUpdates"
            ]
            assert max(offsets) > photo["update_id"]
            async with core.sessions() as session:
                done_at = await session.scalar(
                    select(InboxUpdate.done_at).where(
                        InboxUpdate.key == f"telegram:{photo['update_id']}"
                    )
                )
            assert done_at is None
            assert tg.sent_messages(1001) == []
            release.set()
            await tg.wait_for(lambda m: m.chat_id == 1001)  # answered once downloaded
        finally:
            await channel.stop()
        assert tg.rejected == []
