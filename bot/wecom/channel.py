"""The WeCom (企业微信) channel: the callback endpoint, events in, cards and text out.

SPEC §6 "On WeCom". The callback only checks, decrypts, stores the message in the inbox and
acknowledges (an empty 200 well within WeCom's 5 s); the inbox worker (bot/inbox.py) then runs
the turn and every reply is sent actively through message/send, never as a passive reply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.inbox import InboxWorker
from bot.pacing import Limiter
from bot.settings import Settings
from bot.wecom.api import WeComApi, WeComApiError, WeComUnreachable
from bot.wecom.crypto import (
    CorpIdMismatch,
    MalformedMessage,
    SignatureError,
    WeComCrypto,
    parse_xml_element,
)
from bot.wecom.receiving import CHANNEL, Callback, StaleTimestamp, _incoming_file, parse_callback
from bot.wecom.sending import WeComSending
from handlers.core import Core
from handlers.dispatcher import Handled, StorageBusy, handle
from handlers.i18n import translate
from handlers.messages import IncomingEvent, Reply
from handlers.usecases.notify import language_of
from handlers.usecases.people import person_for_identity
from storage import inbox
from storage.inbox import Arrival, Stored

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
MAX_TIMESTAMP_SKEW = 300
MAX_BODY_BYTES = 256 * 1024


class WeComChannel(WeComSending):
    """WeCom self-built app (自建应用): callback in, message/send out."""

    channel = CHANNEL
    # Paces itself (bot/pacing.py), so the outbox worker need not.
    max_per_second: float | None = None

    def __init__(
        self,
        settings: Settings,
        core: Core,
        http: httpx.AsyncClient | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        limiter: Limiter | None = None,
    ) -> None:
        """`limiter`: the budgets shared with the other instances (bot/pacing.py)."""
        corp_id, token, aes_key = (
            settings.wecom_corp_id,
            settings.wecom_token,
            settings.wecom_aes_key,
        )
        secret, agent_id = settings.wecom_secret, settings.wecom_agent_id
        if not (corp_id and token and aes_key and secret and agent_id):
            raise ValueError("the WeCom channel needs every WECOM_* setting")
        self.core = core
        self.default_language = settings.language
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.api = WeComApi(
            settings.wecom_api_base_url, corp_id, secret, agent_id, http=http, monotonic=monotonic
        )
        self.agent_id = agent_id
        self._wall_clock = wall_clock
        self.limiter = limiter or Limiter(monotonic=monotonic)
        self.inbox = InboxWorker(core, CHANNEL, self._run_row, holder=settings.instance_name)
        # Parts of a reply already sent, so a retry after a partial failure sends the rest.
        self._progress: dict[tuple[str, str], int] = {}
        # Set by the runner: wakes the outbox worker so a turn's notifications go out now.
        self.after_turn: Callable[[], None] | None = None

    # --- Channel protocol --------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [Route(CALLBACK_PATH, self.callback, methods=["GET", "POST"])]

    async def start(self) -> None:
        """Take what the inbox holds; nothing to register: WeCom calls the URL set in the
        admin console."""
        await self.inbox.start()

    async def stop(self) -> None:
        await self.inbox.stop()
        await self.api.close()

    async def open_for_sending(self) -> None:
        """`qabot remind`: nothing to open; the token is fetched on the first send."""

    async def close_for_sending(self) -> None:
        await self.api.close()

    async def drain(self) -> None:
        """Wait until every callback received so far has been handled (tests)."""
        await self.inbox.drain()

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        """Send one outbox message; over the member's rate it goes back with retry_after."""
        await self._send_reply(chat_id, reply, wait=False)

    # --- the callback ------------------------------------------------------------------------

    async def callback(self, request: Request) -> Response:
        """URL verification (GET) or an encrypted message (POST); 4xx for anything invalid."""
        try:
            if request.method == "GET":
                return await self._verify_url(request)
            return await self._receive(request)
        except (SignatureError, CorpIdMismatch, StaleTimestamp) as refused:
            log.warning("WeCom callback refused: %s", refused)
            return PlainTextResponse("forbidden", status_code=403)
        except MalformedMessage as malformed:
            log.warning("WeCom callback malformed: %s", malformed)
            return PlainTextResponse("bad request", status_code=400)
        except Exception:
            # Never a 5xx for what a client sent; WeCom would only retry the same thing.
            log.exception("WeCom callback could not be read")
            return PlainTextResponse("bad request", status_code=400)

    def _query(self, request: Request, *names: str) -> list[str]:
        values = [request.query_params.get(name, "") for name in names]
        if not all(values):
            raise MalformedMessage("missing query parameter")
        timestamp = values[names.index("timestamp")]
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise MalformedMessage("timestamp is not a number")
        if abs(self._wall_clock() - int(timestamp)) > MAX_TIMESTAMP_SKEW:
            raise StaleTimestamp(f"timestamp {timestamp} is more than 300 s off")
        return values

    async def _verify_url(self, request: Request) -> Response:
        signature, timestamp, nonce, echostr = self._query(
            request, "msg_signature", "timestamp", "nonce", "echostr"
        )
        plain = self.crypto.verify_url(signature, timestamp, nonce, echostr)
        return PlainTextResponse(plain)

    async def _receive(self, request: Request) -> Response:
        signature, timestamp, nonce = self._query(request, "msg_signature", "timestamp", "nonce")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise MalformedMessage("body too large")
        inner = self.crypto.decrypt_message(bytes(body), signature, timestamp, nonce)
        root = parse_xml_element(inner)
        agent = (root.findtext("AgentID") or "").strip()
        if agent and agent != self.agent_id:
            log.warning("WeCom callback for agent %s ignored (we are %s)", agent, self.agent_id)
            return Response(status_code=200)
        callback = parse_callback(root)
        if callback is not None:
            arrival = Arrival(callback.update_key, CHANNEL, callback.user_id, asdict(callback))
            # Answered once stored: WeCom sends an unanswered callback again, so a crash before
            # this point loses nothing, and a redelivery is stored once (the inbox's key).
            try:
                async with self.core.sessions() as session, session.begin():
                    await inbox.store(session, [arrival], self.core.clock.now())
            except Exception as error:
                log.warning("WeCom callback %s not stored (%s)", callback.update_key, error)
                return PlainTextResponse("busy", status_code=503)
            metrics.current().record_received(CHANNEL)
            self.inbox.arrived()
        return Response(status_code=200)

    # --- handling ----------------------------------------------------------------------------

    def _event(self, callback: Callback, **extra: Any) -> IncomingEvent:
        user = callback.user_id
        common: dict[str, Any] = {"update_key": callback.update_key, **extra}
        if callback.text is not None:
            return IncomingEvent.from_text(CHANNEL, user, user, callback.text, **common)
        return IncomingEvent(
            CHANNEL, user, user, payload=callback.payload, selected=callback.selected, **common
        )

    async def _run_row(self, row: Stored) -> None:
        """The inbox worker's step for one stored callback; a busy database propagates."""
        callback = Callback(**row.body)
        try:
            handled = await self._handle(callback, may_repeat=self.inbox.may_repeat(row))
        except StorageBusy:
            raise
        except Exception:
            log.exception("WeCom update %s failed", callback.update_key)
            language = await self._language(callback.user_id)
            handled = Handled([Reply(text=translate(language, "error.internal"))])
        if handled.notified and self.after_turn is not None:
            self.after_turn()
        if callback.response_code:
            await self._mark_handled(callback.user_id, callback.response_code)
        await self._send_replies(callback, handled.replies)

    async def _handle(self, callback: Callback, may_repeat: bool) -> Handled:
        if callback.media_id is None:
            return await handle(self.core, self._event(callback), may_repeat=may_repeat)
        try:
            async with self.api.media(callback.media_id) as response:
                incoming = _incoming_file(response, callback)
                event = self._event(callback, file=incoming)
                return await handle(self.core, event, may_repeat=may_repeat)
        except (WeComApiError, WeComUnreachable) as error:
            log.warning("WeCom media %s not downloaded: %s", callback.media_id, error)
            language = await self._language(callback.user_id)
            return Handled([Reply(text=translate(language, "wecom.media_failed"))])

    async def _language(self, user: str) -> str:
        async with self.core.sessions() as session:
            person = await person_for_identity(session, CHANNEL, user)
        return language_of(person, self.default_language) if person else self.default_language

    async def _mark_handled(self, user: str, response_code: str) -> None:
        """Show the pressed card as handled (its buttons become one disabled label)."""
        label = translate(await self._language(user), "wecom.card_handled")
        try:
            await self.api.update_card_button(user, response_code, label)
        except (WeComApiError, WeComUnreachable) as error:
            # Cosmetic: the press itself was handled; a used or expired code is no loss.
            log.info("WeCom card of %s not marked handled: %s", user, error)
