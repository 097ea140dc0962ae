"""The Telegram channel: updates in, neutral events to the core, replies out as HTML messages.

The only module that imports python-telegram-bot. Guarantees:
- nothing dropped: every update is stored in the inbox (a polled batch in one statement) before
  it is confirmed to Telegram (the getUpdates offset passes it, a webhook request is answered);
  the inbox worker (bot/inbox.py) then runs the turns. A redelivered update id is stored once.
- one turn at a time per chat, in the order Telegram sent the updates; chats run concurrently.
- every send is paced under Telegram's limits (30 messages/s overall, ~1/s per chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

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
    Conflict,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application

from bot import metrics
from bot.inbox import InboxWorker
from bot.pacing import Limiter
from bot.settings import Settings
from bot.telegram.http import AiohttpRequest
from bot.telegram.pacing import Pacer
from bot.telegram.receiving import CHANNEL, event_for
from bot.telegram.sending import TelegramSending, api_call, retry_after_seconds
from bot.update_shape import BodyTooLarge, checked_update, read_capped
from handlers.core import Core
from handlers.dispatcher import StorageBusy, handle
from handlers.i18n import LANGUAGES, normalise_language, translate
from handlers.messages import IncomingEvent, Reply
from handlers.onboarding import HELP_COMMANDS
from handlers.usecases.people import person_for_identity
from storage import inbox
from storage.db import read_only
from storage.inbox import Arrival, Stored
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


class TelegramChannel(TelegramSending):
    """Polling (default) or webhook (TELEGRAM_WEBHOOK_URL) on python-telegram-bot's Application."""

    channel = CHANNEL
    # Paces itself (pacing.py), so the outbox worker need not.
    max_per_second: float | None = None

    def __init__(
        self,
        settings: Settings,
        core: Core,
        after_turn: Callable[[], None] | None = None,
        limiter: Limiter | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        """`limiter`: the budgets shared with the other instances (bot/pacing.py); `pacer`
        replaces the whole hook (benchmarks, tests)."""
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.core = core
        # Called after a turn that queued notifications: `qabot run` wakes the outbox worker.
        self.after_turn = after_turn
        self.webhook_url = settings.telegram_webhook_url
        self.webhook_secret = settings.webhook_secret
        # Bot API calls, and the long poll on a connection of its own.
        self._requests = (AiohttpRequest(), AiohttpRequest(connections=1))
        self.application = (
            Application.builder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)
            .base_file_url(settings.telegram_file_base_url)
            .updater(None)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .rate_limiter(
                pacer
                or Pacer(
                    limiter or Limiter(),
                    overall_per_second=settings.telegram_messages_per_second,
                    chat_per_second=settings.telegram_chat_messages_per_second,
                )
            )
            .build()
        )
        self.inbox = InboxWorker(core, CHANNEL, self._run_row, holder=settings.instance_name)
        self._poller: asyncio.Task[None] | None = None
        self._running = False
        # Polling: the newest update id stored (and so confirmed with the next getUpdates).
        self._newest: int | None = None

    # ---- lifecycle
    def routes(self) -> list[BaseRoute]:
        if not self.webhook_url:
            return []
        return [Route(WEBHOOK_PATH, self._webhook, methods=["POST"])]

    async def start(self) -> None:
        """getMe, the command menu, then the webhook registration or the polling loop."""
        await self._initialize()
        await self.application.start()
        self._running = True
        await self._set_commands()
        # What an earlier life stored but did not handle is taken first.
        await self.inbox.start()
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
        await self._initialize()

    async def _initialize(self) -> None:
        """getMe. Refused (a wrong token or address): the HTTP sessions opened for it are
        closed here, as python-telegram-bot does not shut down what never initialised."""
        try:
            await self.application.initialize()
        except BaseException:
            for request in self._requests:
                await request.shutdown()
            raise

    async def close_for_sending(self) -> None:
        await self.application.shutdown()

    async def stop(self) -> None:
        self._running = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        # The turns in hand finish, so their replies are sent before we go; the rest waits in
        # the inbox for the next start.
        await self.inbox.stop()
        if self._newest is not None and not self.webhook_url:
            # Confirm what was stored so a restart does not fetch it again (harmless if it did).
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
        """Long polling: each batch is stored in the inbox, then confirmed by the next poll."""
        failures = 0
        while self._running:
            offset = None if self._newest is None else self._newest + 1
            try:
                updates = await self._fetch_updates(offset)
                if stored := await self.store(updates):
                    # One batch at a time: the worker may queue the new rows as they are.
                    self.inbox.hand_over(stored)
            except InvalidToken:
                log.critical("telegram: the bot token was refused; polling stopped")
                raise
            except Exception as error:
                # Telegram unreachable, or the inbox could not be written: nothing is confirmed,
                # so Telegram hands the same updates out again.
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                if isinstance(error, RetryAfter):
                    delay = max(delay, retry_after_seconds(error))
                if isinstance(error, Conflict):
                    # Several instances must not poll one bot: each call ends the other's.
                    log.error("telegram: %s — several instances need webhook mode", error)
                log.warning("telegram: getUpdates failed (%s); again in %.1f s", error, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if updates:
                self._newest = max(update["update_id"] for update in updates)

    async def _fetch_updates(self, offset: int | None) -> list[dict[str, Any]]:
        """One long poll, the updates as Telegram sent them: they are stored as they are and
        read into objects only for their turn (`_run_row`), once."""
        fields = {"timeout": POLL_TIMEOUT, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            fields["offset"] = offset
        updates = await api_call(self.bot, "getUpdates", fields, read_timeout=POLL_TIMEOUT + 10)
        return [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    async def store(self, updates: list[dict[str, Any]]) -> list[Stored]:
        """Store updates (Bot API JSON) in the inbox in one statement; the new rows."""
        arrivals = [
            Arrival(f"{CHANNEL}:{u['update_id']}", CHANNEL, _chat_key(u), u) for u in updates
        ]
        if not arrivals:
            return []
        async with self.core.sessions() as session, session.begin():
            stored = await inbox.store(session, arrivals, self.core.clock.now())
        metrics.current().record_received(CHANNEL, len(arrivals))
        return stored

    async def _webhook(self, request: Request) -> Response:
        """POST /telegram/webhook: 403 without the secret, 400 for a malformed body, 200 once
        stored (503 if the inbox cannot be written: Telegram sends it again)."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return Response(status_code=403)
        try:
            body = checked_update(await read_capped(request))
            update = Update.de_json(body, self.bot)  # refused here rather than at its turn
        except BodyTooLarge:
            return Response(status_code=413)
        except Exception as error:
            log.warning("telegram: malformed webhook body: %s", error)
            return Response(status_code=400)
        try:
            await self.store([body])
            # Requests store concurrently: the worker reads their rows back, in order.
            self.inbox.arrived()
        except Exception as error:
            log.warning(
                "telegram: update %s not stored (%s); Telegram retries", update.update_id, error
            )
            return Response(status_code=503)
        return Response(status_code=200)

    async def _run_row(self, row: Stored) -> None:
        """The inbox worker's step for one stored update; a busy database propagates."""
        try:
            update = Update.de_json(row.body, self.bot)
        except Exception:
            # Not an update python-telegram-bot can read (Telegram's JSON always is): nothing to
            # answer, and trying again would not change it.
            log.exception("telegram: stored update %s unreadable; skipped", row.key)
            return
        try:
            await self._on_update(update, may_repeat=self.inbox.may_repeat(row))
        except StorageBusy:
            raise
        except Exception as error:
            await self._on_error(update, error)

    async def _on_update(self, update: Update, may_repeat: bool = False) -> None:
        """Answers a button press, runs the turn, sends the replies."""
        query = update.callback_query
        event = event_for(update)
        if event is None:
            return
        if query is not None and not (may_repeat and await self._handled_before(event)):
            # Answered first: the spinner on the person's button stops while the turn runs.
            await self._answer(query)
        handled = await handle(self.core, event, may_repeat=may_repeat)
        pressed = query.message.message_id if query is not None and query.message else None
        await self._send_replies(int(event.chat_id), handled.replies, pressed)
        # A repeat does not say what its first run changed: the menu is set again, in case.
        if handled.person_changed or handled.repeat:
            await self._set_chat_menu(event)
        if handled.notified and self.after_turn is not None:
            self.after_turn()

    async def _handled_before(self, event: IncomingEvent) -> bool:
        """A redelivered press was answered the first time; a second answer is refused."""
        async with self.core.sessions() as session:
            await read_only(session)
            return await session.get(ProcessedUpdate, event.update_key) is not None

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except BadRequest as error:
            # Too old, or already answered before a restart: the press is still handled.
            log.info("telegram: callback query %s not answered: %s", query.id, error)
        except TelegramError as error:
            log.warning("telegram: answerCallbackQuery failed: %s", error)

    async def _on_error(self, update: object, error: BaseException | None) -> None:
        """Logs with the update id and tells the user, in their language, that we failed."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=error)
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


def _chat_key(update: dict[str, Any]) -> str:
    """The chat an update (Bot API JSON) belongs to: its turns run in this order."""
    message = update.get("message") or (update.get("callback_query") or {}).get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    if isinstance(chat, dict) and "id" in chat:
        return str(chat["id"])
    sender = (update.get("callback_query") or {}).get("from")
    if isinstance(sender, dict) and "id" in sender:
        return f"user:{sender['id']}"
    return f"update:{update['update_id']}"
