"""Telegram sending: replies as messages, edits and files, with retries; outbox delivery."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot.delivery import DeliveryError
from bot.telegram.receiving import CHANNEL
from bot.telegram.rendering import Part, render
from handlers.messages import OutgoingFile, Reply

log = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"
NO_PREVIEW_JSON = {"is_disabled": True}

# python-telegram-bot asks that its own method be used where it has one; `api_call` uses
# `do_api_request` on purpose for the calls of every turn (below).
warnings.filterwarnings(
    "ignore", r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request", PTBUserWarning
)


async def api_call(bot: Any, method: str, fields: dict[str, Any], **timeouts: float) -> Any:
    """A Bot API call on plain JSON, paced and with errors as python-telegram-bot raises them,
    its answer not read into objects: on the calls of every turn (getUpdates, sendMessage,
    editMessageText) building and reading those objects was a sixth of the bot's CPU under
    load (bench/PROFILE-turn.md, "Third pass")."""
    try:
        return await bot.do_api_request(method, api_kwargs=fields, **timeouts)
    except EndPointNotFound as error:
        # What a refused token looks like through do_api_request once the bot is initialised.
        raise InvalidToken(str(error)) from error


def retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSending:
    """The sending half of the channel: everything that calls the Bot API to show a reply."""

    application: Application  # type: ignore[type-arg]

    @property
    def bot(self) -> Any:
        return self.application.bot

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
        fields = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": parts[0].html,
            "parse_mode": ParseMode.HTML.value,
        }
        if parts[0].keyboard is not None:
            fields["reply_markup"] = parts[0].keyboard
        try:
            await api_call(self.bot, "editMessageText", fields)
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
        fields = {
            "chat_id": chat_id,
            "text": part.html,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": NO_PREVIEW_JSON,
        }
        if part.keyboard is not None:
            fields["reply_markup"] = part.keyboard
        await self._call_with_retries(partial(api_call, self.bot, "sendMessage", fields), retries)

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
