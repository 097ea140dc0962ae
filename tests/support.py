"""Drive the conversation core like a person in a chat: send → read the replies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count

from handlers.core import Core
from handlers.dispatcher import Handled, handle
from handlers.messages import Button, IncomingEvent, IncomingFile, Reply

_updates = count(1)
# A catalogue key that leaked into a reply instead of its text.
UNTRANSLATED = re.compile(r"\b[a-z_]+\.[a-z_]+(\.[a-z_]+)*\b")


@dataclass
class Chat:
    core: Core
    user: str
    channel: str = "test"
    language: str | None = None
    replies: list[Reply] = field(default_factory=list)
    # The latest turn's whole result (notified, person_changed, repeat).
    handled: Handled | None = None

    async def send(self, text: str) -> list[Reply]:
        return await self._event(
            IncomingEvent.from_text(
                self.channel,
                self.user,
                self.user,
                text,
                language_hint=self.language,
                update_key=self._next_key(),
            )
        )

    async def press(self, label_or_payload: str) -> list[Reply]:
        """Press a button of the latest reply by its label (or send a raw payload)."""
        button = self.find_button(label_or_payload)
        payload = button.payload if button else label_or_payload
        return await self._event(
            IncomingEvent(
                self.channel,
                self.user,
                self.user,
                payload=payload,
                language_hint=self.language,
                update_key=self._next_key(),
            )
        )

    async def send_file(
        self,
        content: bytes,
        name: str = "photo.jpg",
        mime: str = "image/jpeg",
        size: int | None = None,
        caption: str = "",
    ) -> list[Reply]:
        async def load() -> bytes:
            return content

        incoming = IncomingFile(name, mime, len(content) if size is None else size, load)
        return await self._event(
            IncomingEvent(
                self.channel,
                self.user,
                self.user,
                text=caption,
                file=incoming,
                language_hint=self.language,
                update_key=self._next_key(),
            )
        )

    async def _event(self, event: IncomingEvent) -> list[Reply]:
        self.handled = await handle(self.core, event)
        replies = self.handled.replies
        for reply in replies:
            for text in (reply.text, reply.title or ""):
                leaked = [
                    m.group(0)
                    for m in UNTRANSLATED.finditer(text)
                    if "." in m.group(0) and not m.group(0)[0].isdigit()
                ]
                assert not [k for k in leaked if k.split(".")[0] in _KEY_ROOTS], (
                    f"untranslated key in {text!r}"
                )
        self.replies.extend(replies)
        return replies

    def _next_key(self) -> str:
        return f"{self.channel}:{next(_updates)}"

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def find_button(self, label_or_payload: str) -> Button | None:
        for reply in reversed(self.replies):
            for button in reply.all_buttons():
                if label_or_payload in (button.payload, button.label) or button.label.endswith(
                    " " + label_or_payload
                ):
                    return button
        return None

    def texts(self) -> str:
        return "\n".join(f"{r.title or ''}\n{r.text}" for r in self.replies)


_KEY_ROOTS = {
    "bind",
    "error",
    "report",
    "reports",
    "help",
    "commitment",
    "commitments",
    "agreement",
    "notice",
    "button",
    "area",
    "status",
    "input",
    "file",
    "inbox",
    "stats",
    "lang",
    "cancel",
    "role",
    "party",
    "command",
    "urgency",
    "action",
    "event",
    "bot",
    "console",
    "when",
    "list",
    "search",
    "words",
}
