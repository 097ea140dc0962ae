"""Drive the real `qabot run` against the fake Bot API: a person in a Telegram chat, and the
bot as a subprocess that can be killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakes.fake_telegram import FakeTelegram, StoredMessage

TOKEN = "123456:TEST-token_for-qabot"
USERNAME = "qabot_test_bot"
ROOT = Path(__file__).resolve().parents[2]
QABOT = str(Path(sys.executable).with_name("qabot"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def afternoon_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone in which it is now 13:xx."""
    hour = (now or datetime.now(UTC)).hour
    offset = 13 - hour  # local = UTC + offset
    if offset > 14:
        offset -= 24
    elif offset < -12:
        offset += 24
    # POSIX-style names: "Etc/GMT-8" is eight hours *ahead* of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def operator_environment() -> dict[str, str]:
    """This process's environment without any qabot setting: each test sets its own."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "WECOM_", "QABOT_", "DATABASE_"))
    }


class QabotRun:
    """Starting, killing and stopping `qabot run` in a subprocess, its log one file per start."""

    workdir: Path
    process: asyncio.subprocess.Process | None
    starts: int

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    async def spawn(self) -> None:
        log = (self.workdir / f"qabot-{self.starts}.log").open("wb")
        self.starts += 1
        self.process = await asyncio.create_subprocess_exec(
            QABOT, "run", cwd=self.workdir, env=self.env(), stdout=log, stderr=log
        )
        log.close()

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.workdir.glob("qabot-*.log"))
        )

    async def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class BotProcess(QabotRun):
    """`qabot run` in a subprocess, configured by environment like an operator would."""

    tg: FakeTelegram
    database_url: str
    workdir: Path
    webhook: bool = False
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def listen(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"http://{self.listen}/telegram/webhook"

    def env(self) -> dict[str, str]:
        env = operator_environment()
        env.update(
            TELEGRAM_BOT_TOKEN=self.tg.token,
            TELEGRAM_API_BASE_URL=self.tg.base_url,
            TELEGRAM_FILE_BASE_URL=self.tg.base_file_url,
            DATABASE_URL=self.database_url,
            QABOT_LISTEN=self.listen,
            QABOT_DATA_DIR=str(self.workdir / "var"),
            PYTHONUNBUFFERED="1",
            # Whatever the hour the tests run at, it is early afternoon for the bot: outside
            # quiet hours (non-urgent notifications go out at once), and no daily sweep adds
            # digests to the chats under test.
            QABOT_TIMEZONE=afternoon_zone(),
            QABOT_REMIND_AT="23:59",
            # Paced to the fake's limit per chat: Telegram's 1 a second unless `faster_chats`.
            TELEGRAM_CHAT_MESSAGES_PER_SECOND=str(self.tg.chat_rate),
        )
        if self.webhook:
            env["TELEGRAM_WEBHOOK_URL"] = self.webhook_url
            env["TELEGRAM_WEBHOOK_SECRET"] = "s3cret-Token_1"
        return env

    async def start(self) -> None:
        """Start and wait until it receives: polling (getUpdates) or its webhook is set."""
        before = len(self.tg.requests)
        await self.spawn()
        wanted = "setWebhook" if self.webhook else "getUpdates"
        for _ in range(300):
            if any(call.method == wanted for call in self.tg.requests[before:]):
                return
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError(f"qabot run did not come up; log:\n{self.log()}")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        path = self.database_url.split("///", 1)[1]
        with contextlib.closing(sqlite3.connect(path)) as db:
            return db.execute(sql, params).fetchall()


def faster_chats(tg: FakeTelegram, rate: float = 10.0) -> FakeTelegram:
    """The fake's limit per private chat (Telegram's: 1 a second after a burst) raised to
    `rate`, and a BotProcess on it paced to match: a long conversation takes seconds, not a
    minute, and the bot's pacing still has to keep within the fake's limit."""
    tg.chat_rate = rate
    return tg


def shown(m: StoredMessage) -> str:
    """What a person sees of a message: its text and its buttons' labels."""
    return "\n".join([m.text or "", *(button["text"] for button in m.buttons)])


@dataclass
class Person:
    """Someone chatting with the bot in a private chat of the fake."""

    tg: FakeTelegram
    user_id: int
    language: str | None = None
    first_name: str = "Test"

    def messages(self) -> list[StoredMessage]:
        return self.tg.sent_messages(self.user_id)

    def _seen(self) -> set[tuple[int, str | None, str]]:
        return {(m.message_id, m.text, repr(m.reply_markup)) for m in self.messages()}

    async def _expect(
        self, seen: set[tuple[int, str | None, str]], contains: str, within: float
    ) -> StoredMessage:
        """The first new or changed message of this chat containing `contains`."""

        def match(m: StoredMessage) -> bool:
            return (
                m.chat_id == self.user_id
                and (m.message_id, m.text, repr(m.reply_markup)) not in seen
                and contains in shown(m)
            )

        return await self.tg.wait_for(match, timeout=within)

    async def send(self, text: str, expect: str = "", within: float = 8.0) -> StoredMessage:
        seen = self._seen()
        self.tg.user_sends_text(
            self.user_id, text, language_code=self.language, first_name=self.first_name
        )
        return await self._expect(seen, expect, within)

    async def photo(self, content: bytes, expect: str = "", within: float = 8.0) -> StoredMessage:
        seen = self._seen()
        self.tg.user_sends_photo(self.user_id, content, language_code=self.language)
        return await self._expect(seen, expect, within)

    def message_with(self, payload: str) -> StoredMessage:
        for m in reversed(self.messages()):
            if payload in m.callback_data:
                return m
        raise LookupError(f"no message with a {payload!r} button in chat {self.user_id}")

    def payload_starting(self, prefix: str) -> str:
        for m in reversed(self.messages()):
            for data in m.callback_data:
                if data.startswith(prefix):
                    return data
        raise LookupError(f"no {prefix!r} button in chat {self.user_id}")

    async def press(self, payload: str, expect: str = "", within: float = 8.0) -> StoredMessage:
        """Press the button with this callback data on the latest message that has it."""
        seen = self._seen()
        self.tg.user_presses_button(self.user_id, self.message_with(payload).message_id, payload)
        return await self._expect(seen, expect, within)

    async def forge(self, payload: str, expect: str = "", within: float = 8.0) -> StoredMessage:
        """Send callback data the bot never gave this person (a tampered client)."""
        seen = self._seen()
        latest = self.messages()[-1]
        self.tg.user_presses_button(self.user_id, latest.message_id, payload, forge=True)
        return await self._expect(seen, expect, within)
