"""The Telegram channel: updates in, neutral events to the core, replies out as HTML messages.

The only module that imports python-telegram-bot. Guarantees:
- nothing dropped: polling confirms an update to Telegram (the getUpdates offset passes it) only
  once it and every older one were handled; a webhook request is answered after its update was
  handled. A redelivered update id is dropped by the dispatcher (`update_key`).
- one turn at a time per chat, in the order Telegram sent the updates; chats run concurrently.
- every send is paced under Telegram's limits (30 messages/s overall, ~1/s per chat).
"""

from __future__ import annotations

import os

# Opt in to python-telegram-bot's coming API (time spans as timedelta): retry_after_seconds
# reads both forms, and PTB stops warning on every 429 otherwise, also inside the library.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import asyncio
import contextlib
import dataclasses
import hmac
import html
import logging
import mimetypes
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, BaseRateLimiter, ContextTypes, TypeHandler

from bot.delivery import DeliveryError
from bot.settings import Settings
from bot.update_shape import BodyTooLarge, checked_update, read_capped
from handlers.core import Core
from handlers.dispatcher import handle
from handlers.i18n import LANGUAGES, normalise_language, translate
from handlers.messages import Button, IncomingEvent, IncomingFile, OutgoingFile, Reply
from handlers.onboarding import HELP_COMMANDS
from handlers.payloads import SetLanguage
from handlers.usecases.people import person_for_identity
from storage.models import ProcessedUpdate

log = logging.getLogger(__name__)


class _NoHtmlErrorPages(logging.Filter):
    """python-telegram-bot logs a proxy's HTML error page (a 502 from nginx) with a traceback
    before raising NetworkError, which we handle (retry); keep the log to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Can not load invalid JSON data"):
            record.msg, record.args, record.exc_info = "non-JSON answer from the Bot API", (), None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("telegram.request.BaseRequest").addFilter(_NoHtmlErrorPages())

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_TEXT = 4096  # UTF-16 code units of the text as shown (after HTML parsing)
MAX_CALLBACK_DATA = 64
POLL_TIMEOUT = 10
# Turns run at the same time on a database with concurrent writers (PostgreSQL).
# While turns are in flight, how often to look for new updates if none finishes.
BUSY_POLL_INTERVAL = 0.25
BUSY_POLL_GAP = 0.05
# Commands in the menu (setMyCommands), in this order; descriptions from the catalogue.
MENU_COMMANDS = (
    "report",
    "myreports",
    "inbox",
    "commitments",
    "agreement",
    "stats",
    "evaluations",
    "lang",
    "cancel",
    "help",
    "start",
)
# Methods that create a message: the ones Telegram's flood limits count.
PACED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)
NOT_MODIFIED = "message is not modified"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


# --------------------------------------------------------------------------- pacing


class Pacer(BaseRateLimiter[None]):
    """Spreads sends under Telegram's limits before they are made, rather than hitting 429s.

    Overall a rolling window of `overall_per_second`; per private chat a token bucket of
    `chat_burst` refilled at one message per `chat_interval` seconds; per group a rolling
    minute of `group_per_minute`. The margins under Telegram's 30/s, ~1/s and 20/min absorb
    the jitter between our clock and the arrival time Telegram counts.
    """

    def __init__(
        self,
        overall_per_second: int = 25,
        chat_burst: int = 2,
        chat_interval: float = 1.0,
        group_per_minute: int = 18,
    ) -> None:
        self.overall_per_second = overall_per_second
        self.chat_burst = chat_burst
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self._overall: deque[float] = deque()
        self._overall_lock = asyncio.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}
        self._groups: dict[int, deque[float]] = defaultdict(deque)
        self._chat_locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in PACED_METHODS:
            chat_id = _int_or_none(data.get("chat_id"))
            if chat_id is not None:
                await self._wait_for_chat(chat_id)
            await self._wait_overall()
        return await callback(*args, **kwargs)

    async def _wait_for_chat(self, chat_id: int) -> None:
        async with self._chat_locks[chat_id]:
            if chat_id < 0:
                window = self._groups[chat_id]
                while True:
                    now = time.monotonic()
                    while window and now - window[0] >= 60.0:
                        window.popleft()
                    if len(window) < self.group_per_minute:
                        window.append(now)
                        return
                    await asyncio.sleep(window[0] + 60.0 - now)
            now = time.monotonic()
            tokens, stamp = self._buckets.get(chat_id, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - stamp) / self.chat_interval)
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) * self.chat_interval)
                now, tokens = time.monotonic(), 1.0
            self._buckets[chat_id] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._forget_idle_chats(now)

    def _forget_idle_chats(self, now: float) -> None:
        """Drop chats whose bucket is full again: they would start from full anyway."""
        refilled = self.chat_burst * self.chat_interval
        for chat_id, (_, stamp) in list(self._buckets.items()):
            lock = self._chat_locks.get(chat_id)
            if now - stamp >= refilled and (lock is None or not lock.locked()):
                self._buckets.pop(chat_id, None)
                self._chat_locks.pop(chat_id, None)

    async def _wait_overall(self) -> None:
        async with self._overall_lock:
            while True:
                now = time.monotonic()
                while self._overall and now - self._overall[0] >= 1.0:
                    self._overall.popleft()
                if len(self._overall) < self.overall_per_second:
                    self._overall.append(now)
                    return
                await asyncio.sleep(self._overall[0] + 1.0 - now)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Part:
    """One Telegram message: HTML text and an optional inline keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, first_limit: int, limit: int) -> list[str]:
    """Cut text into pieces of at most `limit` UTF-16 units (`first_limit` for the first),
    at line ends where possible; a line longer than a piece is cut inside."""
    pieces: list[str] = []
    current = ""
    budget = first_limit
    for line in _lines_within(text, min(first_limit, limit)):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= budget:
            current = candidate
            continue
        pieces.append(current)
        budget = limit
        current = line
    pieces.append(current)
    return pieces


def _lines_within(text: str, limit: int) -> Iterator[str]:
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            cut, used = 0, 0
            for index, char in enumerate(line):
                used += utf16_len(char)
                if used > limit:
                    break
                cut = index + 1
            yield line[:cut]
            line = line[cut:]
        yield line


def render(reply: Reply) -> list[Part]:
    """The messages for one reply: escaped HTML, title in bold, the keyboard on the last one."""
    text = reply.text
    title = reply.title.strip() if reply.title else ""
    # Leave room for the title line and a "(2/3)" note on every piece.
    note_room = 12
    first = MAX_TEXT - note_room - (utf16_len(title) + 1 if title else 0)
    pieces = split_text(text, first, MAX_TEXT - note_room) if text else [""]
    parts: list[Part] = []
    for number, piece in enumerate(pieces, 1):
        chunks = []
        if number == 1 and title:
            chunks.append(f"<b>{html.escape(title)}</b>")
        if piece.strip():
            chunks.append(html.escape(piece))
        if len(pieces) > 1:
            chunks.append(f"({number}/{len(pieces)})")
        body = "\n".join(chunks) or "…"
        last = number == len(pieces)
        parts.append(Part(body, keyboard(reply) if last else None))
    return parts


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline keyboard: checklist options two a row with ☑/☐, its Done, then the buttons."""
    rows: list[list[Button]] = []
    if reply.checklist is not None:
        marks = [
            Button(
                ("☑ " if option.selected else "☐ ") + option.label,
                reply.checklist.toggle_prefix + option.value,
            )
            for option in reply.checklist.options
        ]
        rows.extend(marks[i : i + 2] for i in range(0, len(marks), 2))
        rows.append([reply.checklist.done])
    rows.extend(reply.buttons)
    markup = [[_inline_button(b) for b in row if _payload_fits(b)] for row in rows]
    markup = [row for row in markup if row]
    return InlineKeyboardMarkup(markup) if markup else None


def _payload_fits(button: Button) -> bool:
    size = len(button.payload.encode())
    if 1 <= size <= MAX_CALLBACK_DATA and button.label.strip():
        return True
    # Our bug, not the user's: dropped so the rest of the message still reaches them.
    log.error("button dropped: payload %r is %d bytes (Telegram allows 1..64)", button, size)
    return False


def _inline_button(button: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=button.label, callback_data=button.payload)


# --------------------------------------------------------------------------- updates -> events


def event_for(update: Update) -> IncomingEvent | None:
    """The neutral event for an update, or None for updates the bot does not act on."""
    key = f"{CHANNEL}:{update.update_id}"
    query = update.callback_query
    if query is not None:
        message = query.message
        chat = message.chat.id if message is not None else query.from_user.id
        return IncomingEvent(
            CHANNEL,
            str(chat),
            str(query.from_user.id),
            payload=query.data or "",
            language_hint=query.from_user.language_code,
            display_name=query.from_user.full_name,
            update_key=key,
            private=message is None or message.chat.type == "private",
        )
    message = update.message
    if message is None or message.from_user is None:
        return None
    user = message.from_user
    common: dict[str, Any] = {
        "language_hint": user.language_code,
        "display_name": user.full_name,
        "update_key": key,
        "private": message.chat.type == "private",
    }
    chat_id, user_id = str(message.chat.id), str(user.id)
    incoming = _incoming_file(message)
    if incoming is not None:
        # A caption travels as the text: at the description step it is the description.
        caption = message.caption or ""
        return IncomingEvent(CHANNEL, chat_id, user_id, text=caption, file=incoming, **common)
    if message.text is not None:
        return IncomingEvent.from_text(CHANNEL, chat_id, user_id, message.text, **common)
    # A sticker, a voice note, a location…: an empty text, answered by the current step.
    return IncomingEvent(CHANNEL, chat_id, user_id, text="", **common)


def _incoming_file(message: Message) -> IncomingFile | None:
    bot = message.get_bot()
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.file_size or 0, p.width * p.height))
        file_id, size = largest.file_id, largest.file_size or 0
        name, mime = f"photo_{largest.file_unique_id}.jpg", "image/jpeg"
    elif message.document is not None:
        document = message.document
        file_id, size = document.file_id, document.file_size or 0
        name = document.file_name or f"document_{document.file_unique_id}"
        mime = document.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    else:
        return None

    async def load() -> bytes:
        # Only called once the core accepted the size: getFile refuses files over 20 MB.
        telegram_file = await bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())

    return IncomingFile(
        file_name=name, mime_type=mime, size=size, load=load, platform_file_id=file_id
    )


# --------------------------------------------------------------------------- the channel


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """Polling (default) or webhook (TELEGRAM_WEBHOOK_URL) on python-telegram-bot's Application."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        core: Core,
        after_turn: Callable[[], None] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.core = core
        # Called after each handled update: `qabot run` wakes the outbox worker with it.
        self.after_turn = after_turn
        self.webhook_url = settings.telegram_webhook_url
        self.webhook_secret = settings.webhook_secret
        self.application = (
            Application.builder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)
            .base_file_url(settings.telegram_file_base_url)
            .updater(None)
            .rate_limiter(pacer or Pacer())
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        # Per chat: its lock and how many updates hold or wait for it.
        self._chat_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._running = False
        # Polling: the newest update id taken, the ones being handled, a signal when one ends.
        self._newest: int | None = None
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._turn_done = asyncio.Event()
        # Updates up to this id may have been handled before (the unconfirmed updates of our
        # previous life); later polled ones cannot, which saves a database round trip per
        # button press. Through a webhook any update may be a retry.
        self._repeat_until: int | None = None

    @property
    def bot(self) -> Any:
        return self.application.bot

    # ---- lifecycle
    def routes(self) -> list[BaseRoute]:
        if not self.webhook_url:
            return []
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def start(self) -> None:
        """getMe, the command menu, then the webhook registration or the polling loop."""
        await self.application.initialize()
        await self.application.start()
        self._running = True
        await self._set_commands()
        if self.webhook_url:
            await self.bot.set_webhook(
                url=self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            log.info("telegram: webhook set to %s", self.webhook_url)
        else:
            # A webhook left by an earlier deployment would make getUpdates fail with 409.
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram: polling as @%s", self.bot.username)

    async def open_for_sending(self) -> None:
        """Able to send (outbox, `qabot remind`) without receiving: no polling, no webhook."""
        await self.application.initialize()

    async def close_for_sending(self) -> None:
        await self.application.shutdown()

    async def stop(self) -> None:
        self._running = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._in_flight:
            # Let the turns in hand finish, so their replies are sent before we go.
            await asyncio.wait(list(self._in_flight.values()), timeout=10)
        if self._newest is not None and not self._in_flight and not self.webhook_url:
            # Confirm what was handled so a restart does not fetch it again (harmless if it did).
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=self._newest + 1, timeout=0, limit=1)
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _set_commands(self) -> None:
        """The command menu in Chinese (default for every language) and English; a bound chat
        gets its own, for its person's role (`_set_chat_menu`)."""
        for language in LANGUAGES:
            commands = [
                BotCommand(command, translate(language, f"command.{command}")[:256])
                for command in MENU_COMMANDS
            ]
            code = None if language == "zh_CN" else language
            try:
                await self.bot.set_my_commands(commands, language_code=code)
            except TelegramError as error:
                log.warning("telegram: setMyCommands(%s) failed: %s", language, error)

    async def _set_chat_menu(self, event: IncomingEvent) -> None:
        """After binding or a language change: this chat's menu lists its person's commands."""
        async with self.core.sessions() as session:
            person = await person_for_identity(session, CHANNEL, event.user_id)
        if person is None:
            return
        language = person.language or self.core.default_language
        commands = [
            BotCommand(command, translate(language, f"command.{command}")[:256])
            for command in HELP_COMMANDS[person.role]
        ]
        try:
            await self.bot.set_my_commands(commands, scope=BotCommandScopeChat(int(event.chat_id)))
        except TelegramError as error:
            log.warning("telegram: menu for chat %s not set: %s", event.chat_id, error)

    # ---- receiving
    async def _poll(self) -> None:
        """Long polling that never confirms an update before it was handled.

        The offset sent to Telegram (which confirms every update below it) is the oldest update
        still being handled. While some are, Telegram answers at once with them again; those are
        skipped and we poll again when one finishes, or after a moment for new arrivals. So a
        slow turn (a large download) holds back no other chat, and a crash loses nothing.
        """
        failures = 0
        while self._running:
            busy = bool(self._in_flight)
            if busy:
                offset: int | None = min(self._in_flight)
            else:
                offset = None if self._newest is None else self._newest + 1
            polled_at = time.monotonic()
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=0 if busy else POLL_TIMEOUT,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except InvalidToken:
                log.critical("telegram: the bot token was refused; polling stopped")
                raise
            except TelegramError as error:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                if isinstance(error, RetryAfter):
                    delay = max(delay, retry_after_seconds(error))
                log.warning("telegram: getUpdates failed (%s); again in %.1f s", error, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            fresh = [u for u in updates if self._newest is None or u.update_id > self._newest]
            if self._repeat_until is None:
                # The first answer after start may hold updates of our previous life.
                self._repeat_until = max((u.update_id for u in updates), default=-1)
            for update in fresh:
                self._newest = update.update_id
                # Tasks start in this order and take their chat's lock first: each chat's
                # updates are handled in Telegram's order, different chats concurrently.
                task = asyncio.create_task(self.process(update))
                self._in_flight[update.update_id] = task
                task.add_done_callback(partial(self._finished, update.update_id))
            if busy and not fresh:
                self._turn_done.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._turn_done.wait(), BUSY_POLL_INTERVAL)
                if self._in_flight:
                    # A poll now fetches (and python-telegram-bot parses) every update in hand
                    # again: not more often than this, however fast turns finish. When none is
                    # left, the long poll starts at once.
                    await asyncio.sleep(max(0.0, polled_at + BUSY_POLL_GAP - time.monotonic()))

    def _finished(self, update_id: int, _: asyncio.Task[None]) -> None:
        self._in_flight.pop(update_id, None)
        self._turn_done.set()

    async def process(self, update: Update) -> None:
        """Handle one update; errors go to the error handler, never out of here."""
        key = _chat_key(update)
        lock, users = self._chat_locks.get(key, (asyncio.Lock(), 0))
        self._chat_locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self.application.process_update(update)
        except Exception:
            log.exception("telegram: update %s could not be processed", update.update_id)
        finally:
            lock, users = self._chat_locks[key]
            if users == 1:
                del self._chat_locks[key]  # nobody else holds or waits for it
            else:
                self._chat_locks[key] = (lock, users - 1)

    async def _webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 403 without the secret, 400 for a malformed body."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return Response(status_code=403)
        try:
            update = Update.de_json(checked_update(await read_capped(request)), self.bot)
        except BodyTooLarge:
            return Response(status_code=413)
        except Exception as error:
            log.warning("telegram: malformed webhook body: %s", error)
            return Response(status_code=400)
        # Answered only once handled: if we die first, Telegram delivers it again.
        await self.process(update)
        return Response(status_code=200)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answers a button press, runs the turn, sends the replies."""
        query = update.callback_query
        event = event_for(update)
        if event is None:
            return
        if query is not None and not (
            self._may_repeat(update) and await self._handled_before(event)
        ):
            # Answered first: the spinner on the person's button stops while the turn runs.
            await self._answer(query)
        replies = await handle(self.core, event)
        pressed = query.message.message_id if query is not None and query.message else None
        await self._send_replies(int(event.chat_id), replies, pressed)
        if (event.command == "start" and event.text) or (event.payload or "").startswith(
            SetLanguage.prefix()
        ):
            await self._set_chat_menu(event)
        if self.after_turn is not None:
            self.after_turn()

    def _may_repeat(self, update: Update) -> bool:
        if self.webhook_url or self._repeat_until is None:
            return True
        return update.update_id <= self._repeat_until

    async def _handled_before(self, event: IncomingEvent) -> bool:
        """A redelivered press was answered the first time; a second answer is refused."""
        async with self.core.sessions() as session:
            return await session.get(ProcessedUpdate, event.update_key) is not None

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except BadRequest as error:
            # Too old, or already answered before a restart: the press is still handled.
            log.info("telegram: callback query %s not answered: %s", query.id, error)
        except TelegramError as error:
            log.warning("telegram: answerCallbackQuery failed: %s", error)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs with the update id and tells the user, in their language, that we failed."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        user = update.effective_user
        language = (
            normalise_language(user.language_code if user else None) or self.core.default_language
        )
        try:
            await self._send(update.effective_chat.id, Reply(translate(language, "error.internal")))
        except TelegramError as error:
            log.warning("telegram: apology for update %s not sent: %s", update_id, error)

    # ---- sending
    async def _send_replies(self, chat_id: int, replies: list[Reply], pressed: int | None) -> None:
        for reply in replies:
            try:
                if reply.edit and pressed is not None and await self._edit(chat_id, pressed, reply):
                    pressed = None  # one message is replaced; further replies are new ones
                    continue
                await self._send(chat_id, reply, retries=3)
            except Forbidden as error:
                log.info("telegram: chat %s unreachable: %s", chat_id, error)
                return
            except BadRequest as error:
                log.error("telegram: reply to chat %s refused (our bug): %s", chat_id, error)

    async def _edit(self, chat_id: int, message_id: int, reply: Reply) -> bool:
        """Replace the pressed message; False when a new message must be sent instead."""
        parts = render(reply)
        if len(parts) != 1 or reply.file is not None or reply.files:
            return False
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=parts[0].html,
                parse_mode=ParseMode.HTML,
                reply_markup=parts[0].keyboard,
            )
        except BadRequest as error:
            if NOT_MODIFIED in str(error).lower():
                return True
            log.info(
                "telegram: edit of %s/%s failed (%s); sending anew", chat_id, message_id, error
            )
            return False
        except NetworkError as error:
            log.info(
                "telegram: edit of %s/%s failed (%s); sending anew", chat_id, message_id, error
            )
            return False
        return True

    async def _send(self, chat_id: int, reply: Reply, retries: int = 0) -> None:
        """Send every part of a reply. The first part's failure is raised (nothing was sent);
        later parts are retried here so a retry of the whole reply cannot duplicate the first."""
        has_text = bool(reply.text.strip() or reply.title or reply.buttons or reply.checklist)
        if has_text or reply.file is None:
            for index, part in enumerate(render(reply)):
                await self._send_part(chat_id, part, retries if index == 0 else max(retries, 3))
        if reply.file is not None:
            await self._call_with_retries(
                lambda: self._send_file(chat_id, reply), max(retries, 3) if has_text else retries
            )
        await self._send_attachments(chat_id, reply.files)

    async def _send_part(self, chat_id: int, part: Part, retries: int) -> None:
        await self._call_with_retries(
            lambda: self.bot.send_message(
                chat_id=chat_id,
                text=part.html,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                link_preview_options=NO_PREVIEW,
            ),
            retries,
        )

    async def _send_file(self, chat_id: int, reply: Reply) -> None:
        assert reply.file is not None
        outgoing = reply.file
        if outgoing.mime_type.startswith("image/"):
            await self.bot.send_photo(chat_id=chat_id, photo=outgoing.content)
        else:
            await self.bot.send_document(
                chat_id=chat_id, document=outgoing.content, filename=outgoing.file_name
            )

    async def _send_attachments(self, chat_id: int, files: list[OutgoingFile]) -> None:
        """A report's files after its text: photos as a photo or an album (2-10 per album),
        documents one by one. A file that came in on Telegram is sent by its file id; any
        other is uploaded from the stored bytes, with the stored mime type deciding which."""
        photos = [f for f in files if f.is_photo]
        for start in range(0, len(photos), MAX_ALBUM):
            album = photos[start : start + MAX_ALBUM]
            if len(album) == 1:
                call = partial(
                    self.bot.send_photo, chat_id=chat_id, photo=_telegram_input(album[0])
                )
            else:
                media = [InputMediaPhoto(media=_telegram_input(f)) for f in album]
                call = partial(self.bot.send_media_group, chat_id=chat_id, media=media)
            await self._call_with_retries(call, 3)
        for document in (f for f in files if not f.is_photo):
            by_id = _telegram_input(document)
            name = None if isinstance(by_id, str) else document.file_name
            call = partial(self.bot.send_document, chat_id=chat_id, document=by_id, filename=name)
            await self._call_with_retries(call, 3)

    async def _call_with_retries(
        self, call: Callable[[], Coroutine[Any, Any, Any]], retries: int
    ) -> None:
        attempt = 0
        while True:
            try:
                await call()
                return
            except RetryAfter as error:
                if attempt >= retries:
                    raise
                await asyncio.sleep(retry_after_seconds(error))
            except (Forbidden, BadRequest, InvalidToken):
                raise
            except NetworkError:
                if attempt >= retries:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
            attempt += 1

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send one outbox message (never an edit); failures as DeliveryError for the worker."""
        try:
            await self._send(int(chat_id), dataclasses.replace(reply, edit=False))
        except RetryAfter as error:
            raise DeliveryError(
                "429 retry after", retry_after=retry_after_seconds(error)
            ) from error
        except Forbidden as error:
            raise DeliveryError(f"forbidden: {error}", permanent=True) from error
        except BadRequest as error:
            log.error("telegram: outbox message to %s refused (our bug): %s", chat_id, error)
            raise DeliveryError(f"bad request: {error}", permanent=True) from error
        except InvalidToken as error:
            # Our configuration, not the message: kept for when the token is fixed.
            log.error("telegram: the bot token was refused: %s", error)
            raise DeliveryError(f"token refused: {error}") from error
        except NetworkError as error:  # timeouts, 5xx, connection errors
            raise DeliveryError(f"network: {error}") from error
        except TelegramError as error:
            raise DeliveryError(f"telegram: {error}") from error


# Telegram's sendMediaGroup takes 2-10 items.
MAX_ALBUM = 10


def _telegram_input(file: OutgoingFile) -> str | bytes:
    """The file id when the file came in on Telegram, else the bytes to upload."""
    if file.source_channel == CHANNEL and file.source_file_id:
        return file.source_file_id
    return file.content


def _chat_key(update: Update) -> str:
    chat = update.effective_chat
    if chat is not None:
        return str(chat.id)
    user = update.effective_user
    return f"user:{user.id}" if user is not None else f"update:{update.update_id}"
