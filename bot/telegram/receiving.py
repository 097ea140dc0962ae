"""Telegram receiving: an update as the core's neutral event."""

from __future__ import annotations

import mimetypes
from typing import Any

from telegram import (
    Message,
    Update,
)

from handlers.messages import IncomingEvent, IncomingFile

CHANNEL = "telegram"


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
