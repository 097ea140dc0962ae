"""WeCom sending: replies through message/send, what fails queued in the outbox."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

from bot.delivery import DeliveryError
from bot.pacing import NO_LIMIT, WECOM_MEMBER, Limiter, wecom_member_key
from bot.wecom.api import RECIPIENT_ERRORS, WeComApi, WeComApiError, WeComUnreachable
from bot.wecom.receiving import CHANNEL, Callback
from bot.wecom.rendering import JSON, render
from handlers.core import Core
from handlers.messages import OutgoingFile, Reply
from handlers.usecases.people import person_for_identity
from storage.outbox import Notification, enqueue

log = logging.getLogger(__name__)

# In the reply path a short wait is better than a detour through the outbox.
INLINE_RETRIES = 2
INLINE_RETRY_DELAY = 1.0
RECENT_KEYS = 4096
UPLOAD = "_upload"  # placeholder for a file message, uploaded when it is sent
MAX_UPLOAD_IMAGE = 10 * 1024 * 1024  # WeCom's image limit; bigger pictures go as files


class WeComSending:
    """The sending half of the channel: replies through message/send, the rest queued."""

    core: Core
    api: WeComApi
    limiter: Limiter
    _progress: dict[tuple[str, str], int]

    async def _send_replies(self, callback: Callback, replies: list[Reply]) -> None:
        """Send the turn's replies now; what still fails goes to the durable outbox."""
        for index, reply in enumerate(replies):
            for attempt in range(INLINE_RETRIES + 1):
                try:
                    await self._send_reply(callback.user_id, reply, wait=True)
                    break
                except DeliveryError as error:
                    if error.permanent or attempt == INLINE_RETRIES:
                        log.warning(
                            "WeCom reply to %s not sent (%s); queued", callback.user_id, error
                        )
                        await self._queue(callback, replies[index:], index, error)
                        return
                    await asyncio.sleep(min(error.retry_after or 0.0, 5.0) or INLINE_RETRY_DELAY)

    async def _queue(
        self, callback: Callback, replies: list[Reply], first: int, error: DeliveryError
    ) -> None:
        if error.permanent:
            return
        async with self.core.sessions() as session, session.begin():
            person = await person_for_identity(session, CHANNEL, callback.user_id)
            if person is None:
                return  # nobody to queue for: an unbound member only gets direct answers
            now = self.core.clock.now()
            for index, reply in enumerate(replies, first):
                dedupe = f"{person.id}:reply:{callback.update_key}:{index}"
                note = Notification(person.id, "reply", dedupe, reply.to_json(), urgent=True)
                await enqueue(session, note, now)

    # --- sending -----------------------------------------------------------------------------

    async def _send_reply(self, user: str, reply: Reply, wait: bool) -> None:
        messages = render(reply)
        identity = reply.to_json()
        if reply.file is not None:
            # The file goes last, as its own image or file message (uploaded when its turn comes).
            messages.append({"msgtype": UPLOAD})
            identity["file"] = hashlib.sha256(reply.file.content).hexdigest()
        messages.extend(_attachment_placeholders(reply))
        fingerprint = hashlib.sha256(
            json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        progress_key = (user, fingerprint)
        done = self._progress.get(progress_key, 0)
        pending = messages[done:]
        member = [(wecom_member_key(user), WECOM_MEMBER)]
        for index, message in enumerate(pending):
            # The outbox worker rather comes back later than waits; a reply once begun goes on.
            max_wait = 0.0 if index == 0 and not wait else NO_LIMIT
            delay = await self.limiter.reserve(member, max_wait=max_wait)
            if delay > max_wait:
                raise DeliveryError("WeCom member rate limit (30/min)", retry_after=delay)
            await self.limiter.sleep(delay)
            try:
                if message["msgtype"] == UPLOAD:
                    assert reply.file is not None
                    message = await self._uploaded(reply.file)
                elif message["msgtype"] == UPLOAD_ATTACHMENT:
                    message = await self._uploaded(reply.files[message["index"]])
                result = await self.api.send({"touser": user, **message})
            except WeComApiError as error:
                self._progress[progress_key] = done
                raise _delivery_error(error) from error
            except WeComUnreachable as error:
                self._progress[progress_key] = done
                raise DeliveryError(str(error)) from error
            if result.get("invaliduser"):
                self._progress.pop(progress_key, None)
                raise DeliveryError(f"WeCom user {user} is invalid", permanent=True)
            done += 1
        self._progress.pop(progress_key, None)

    async def _uploaded(self, file: OutgoingFile) -> JSON:
        """Upload a file through media/upload and return the message that shows it."""
        kind = "image" if file.mime_type in ("image/png", "image/jpeg") else "file"
        if kind == "image" and len(file.content) > MAX_UPLOAD_IMAGE:
            kind = "file"
        media_id = await self.api.upload(kind, file.file_name, file.content, file.mime_type)
        return {"msgtype": kind, kind: {"media_id": media_id}}


def _delivery_error(error: WeComApiError) -> DeliveryError:
    if error.errcode in RECIPIENT_ERRORS:
        return DeliveryError(str(error), permanent=True)
    if error.errcode == 45009:
        # Frequency limit: come back later rather than right away.
        return DeliveryError(str(error), retry_after=60.0)
    return DeliveryError(str(error))


# A report's photos and documents follow its text, each as an image or file message. Each is
# uploaded (media/upload) when its turn comes: a media id lives 3 days, so none is kept.
UPLOAD_ATTACHMENT = "__attachment__"


def _attachment_placeholders(reply: Reply) -> list[JSON]:
    return [{"msgtype": UPLOAD_ATTACHMENT, "index": i} for i in range(len(reply.files))]
