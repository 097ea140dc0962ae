"""What a Telegram webhook request must look like before python-telegram-bot sees it.

PTB's `de_json` trusts types (a numeric `text`, a callback without `from`, `data` as an
object, `file_size: "big"` make it build objects that fail later, inside the turn). The
parts of an update qabot reads are checked here, strictly, and the rest is left alone.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

# Telegram's updates are a few kilobytes; a megabyte leaves room and bounds the memory.
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The request body is over MAX_BODY_BYTES (answered 413)."""


class BadUpdate(Exception):
    """The body is not an update of the shape qabot reads (answered 400)."""


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _User(_Strict):
    id: int
    is_bot: bool
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class _Chat(_Strict):
    id: int
    type: str


class _PhotoSize(_Strict):
    file_id: str
    file_unique_id: str
    width: int
    height: int
    file_size: int | None = None


class _Document(_Strict):
    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


class _Message(_Strict):
    message_id: int
    date: int
    chat: _Chat
    sender: _User | None = Field(None, alias="from")
    text: str | None = None
    caption: str | None = None
    photo: list[_PhotoSize] | None = None
    document: _Document | None = None


class _CallbackQuery(_Strict):
    id: str
    sender: _User = Field(alias="from")
    chat_instance: str | None = None
    data: str | None = None
    message: _Message | None = None


class _Update(_Strict):
    update_id: int
    message: _Message | None = None
    callback_query: _CallbackQuery | None = None


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, read no further than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        raise BodyTooLarge(declared)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"over {limit}")
    return bytes(body)


def checked_update(body: bytes) -> dict[str, Any]:
    """The update as a dict, if its JSON has the shape qabot reads; else BadUpdate."""
    try:
        update = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BadUpdate(f"not JSON: {error}") from None
    if not isinstance(update, dict):
        raise BadUpdate("not an object")
    try:
        _Update.model_validate(update)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadUpdate(f"{where}: {first['msg']}") from None
    return update
