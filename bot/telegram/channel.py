"""The Telegram channel: updates in, neutral events to the core, replies out as HTML messages.

The only module that imports python-telegram-bot. Guarantees:
- nothing dropped: polling confirms an update to Telegram (the getUpdates offset passes it) only
  once it and every older one were handled; a webhook request is answered after its update was
  handled. A redelivered update id is dropped by the dispatcher (`update_key`).
- one turn at a time per chat, in the order Telegram sent the updates; chats run concurrently.
- every send is paced under Telegram's limits (30 messages/s overall, ~1/s per chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    Update,
)
from telegram.error import (
    BadRequest,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.settings import Settings
from bot.telegram.pacing import Pacer
from bot.telegram.receiving import CHANNEL, event_for
from bot.telegram.sending import TelegramSending, retry_after_seconds
from handlers.core import Core
from handlers.dispatcher import handle
from handlers.i18n import LANGUAGES, normalise_language, translate
from handlers.messages import IncomingEvent, Reply
from handlers.onboarding import HELP_COMMANDS
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

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]

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
    "lang",
    "cancel",
    "help",
    "start",
)


class TelegramChannel(TelegramSending):
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
        self.webhook_secret = settings.telegram_webhook_secret or _derived_secret(
            settings.telegram_bot_token
        )
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
            body = json.loads(await request.body())
            if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(body, self.bot)
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
            "lang:set:"
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


def _chat_key(update: Update) -> str:
    chat = update.effective_chat
    if chat is not None:
        return str(chat.id)
    user = update.effective_user
    return f"user:{user.id}" if user is not None else f"update:{update.update_id}"


def _derived_secret(token: str) -> str:
    """A webhook secret when none is configured: the header is checked in every case."""
    return hashlib.sha256(("qabot-webhook:" + token).encode()).hexdigest()
