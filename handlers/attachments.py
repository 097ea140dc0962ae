"""Receiving a photo or document from a chat: checks, content-hash storage, a row."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from sqlalchemy import select

from domain.errors import DomainError
from domain.filetypes import content_type_ok
from handlers.core import MAX_FILE_BYTES, Core, file_allowed
from handlers.messages import IncomingFile, OutgoingFile, Reply
from handlers.turn import Turn
from storage.models import Attachment

log = logging.getLogger(__name__)


async def prefetched(incoming: IncomingFile) -> IncomingFile:
    """The file downloaded now, before the turn, if the core can accept its size and type.

    A turn holds a database transaction (on SQLite the one write lock): a download of up to
    20 MB inside it would hold back every other chat. A file that will be refused by size or
    type is not downloaded at all; if the download fails, the turn tries again itself.
    """
    if not 0 < incoming.size <= MAX_FILE_BYTES or not file_allowed(incoming.mime_type):
        return incoming
    try:
        content = await incoming.load()
    except Exception as error:
        log.warning("prefetching %s failed: %s", incoming.file_name, error)
        return incoming

    async def load() -> bytes:
        return content

    return dataclasses.replace(incoming, load=load)


async def receive_file(turn: Turn) -> Attachment:
    """Store the event's file for the acting person, or refuse it with a clear reason."""
    incoming = turn.event.file
    assert incoming is not None
    if incoming.size > MAX_FILE_BYTES:
        raise DomainError(
            "file.too_large", size_mb=round(incoming.size / 1_048_576, 1), limit_mb=20
        )
    if not file_allowed(incoming.mime_type):
        raise DomainError("file.unsupported", mime=incoming.mime_type[:60])
    content = await incoming.load()
    if len(content) > MAX_FILE_BYTES:
        raise DomainError("file.too_large", size_mb=round(len(content) / 1_048_576, 1), limit_mb=20)
    if not content:
        raise DomainError("file.empty")
    if not content_type_ok(incoming.mime_type, content):
        raise DomainError("file.content_mismatch", mime=incoming.mime_type[:60])
    digest = await turn.core.files.save(content, turn.session)
    attachment = Attachment(
        sha256=digest,
        size=len(content),
        mime_type=incoming.mime_type,
        file_name=(incoming.file_name or "file")[:255],
        uploaded_by_id=turn.actor.person_id,
        created_at=turn.now,
        source_channel=turn.event.channel if incoming.platform_file_id else None,
        source_file_id=(incoming.platform_file_id or "")[:255] or None,
    )
    turn.session.add(attachment)
    await turn.session.flush()
    return attachment


def clean_text(turn: Turn, limit: int) -> str | None:
    """The typed text if it is usable; otherwise say why and return None (nothing changes)."""
    text = turn.event.text.strip()
    if not text:
        turn.say(turn.t("input.empty"))
        return None
    if len(text) > limit:
        turn.say(turn.t("input.too_long", length=len(text), limit=limit))
        return None
    return text


async def load_attachments(core: Core, replies: Sequence[Reply]) -> None:
    """Read the stored files the replies show, just before they are sent.

    Outbox rows and turn replies carry only attachment references; the content comes from
    the file store now, with the stored mime type and where the file came in (so the same
    channel can re-send it by its platform id). A file missing from the store is left out and
    logged.
    """
    wanted = {a.attachment_id for reply in replies for a in reply.attachments}
    if not wanted:
        return
    async with core.sessions() as session:
        rows = await session.scalars(select(Attachment).where(Attachment.id.in_(wanted)))
        stored = {row.id: row for row in rows}
    for reply in replies:
        loaded = []
        for reference in reply.attachments:
            row = stored.get(reference.attachment_id)
            if row is None:
                continue
            try:
                content = await core.files.load(row.sha256)
            except OSError as error:
                log.error("attachment %s is missing from the file store: %s", row.id, error)
                continue
            loaded.append(
                OutgoingFile(
                    row.file_name, row.mime_type, content, row.source_channel, row.source_file_id
                )
            )
        reply.files = loaded
