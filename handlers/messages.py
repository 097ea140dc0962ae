"""Channel-neutral messages: events from a chat in, replies out.

An adapter turns a platform update into an `IncomingEvent` and renders each `Reply`
with what the platform has (inline keyboards, template cards, numbered choices).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    label: str
    # "<flow>:<step>[:<arg>…]", at most 64 bytes (Telegram's callback_data limit).
    payload: str


@dataclass(frozen=True)
class Option:
    label: str
    value: str
    selected: bool = False


@dataclass(frozen=True)
class Checklist:
    """A several-of-many choice. Pressing an option sends `toggle_prefix + value`;
    channels with a native multi-select (WeCom's vote card) send `done.payload`
    with every selected value in `IncomingEvent.selected`."""

    options: list[Option]
    toggle_prefix: str
    done: Button


@dataclass(frozen=True)
class OutgoingFile:
    file_name: str
    mime_type: str
    content: bytes
    # Where the file came in, and the platform's own id for it: the same channel re-sends
    # by that id instead of uploading the bytes again.
    source_channel: str | None = None
    source_file_id: str | None = None

    @property
    def is_photo(self) -> bool:
        return self.mime_type in PHOTO_TYPES


# Sent as photos (an album when several); everything else goes as a document.
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


@dataclass(frozen=True)
class AttachedFile:
    """A stored attachment to show with a reply. The outbox keeps only this reference;
    the bytes are read from the file store when the reply is sent."""

    attachment_id: int
    file_name: str
    mime_type: str


@dataclass
class Reply:
    """One message to a person. `text` is plain text: every channel escapes it."""

    text: str
    title: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    checklist: Checklist | None = None
    file: OutgoingFile | None = None
    # Replace the message whose button was pressed, where the channel can.
    edit: bool = False
    # The report's photos and documents to show with the text (see handlers/attachments.py).
    attachments: list[AttachedFile] = field(default_factory=list)
    # Their content, filled in just before sending (`load_attachments`); never queued.
    files: list[OutgoingFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The form kept in the outbox (contents are not queued: only attachment ids)."""
        data = asdict(self)
        data.pop("file")
        data.pop("files")
        if not data["attachments"]:
            data.pop("attachments")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        checklist = data.get("checklist")
        return cls(
            text=data["text"],
            title=data.get("title"),
            buttons=[[Button(**b) for b in row] for row in data.get("buttons", [])],
            checklist=Checklist(
                options=[Option(**o) for o in checklist["options"]],
                toggle_prefix=checklist["toggle_prefix"],
                done=Button(**checklist["done"]),
            )
            if checklist
            else None,
            edit=data.get("edit", False),
            attachments=[AttachedFile(**a) for a in data.get("attachments", [])],
        )

    def all_buttons(self) -> list[Button]:
        """Every button, checklist options included, in reading order (numbered choices)."""
        found = [button for row in self.buttons for button in row]
        if self.checklist:
            marks = [
                Button(
                    ("☑ " if o.selected else "☐ ") + o.label, self.checklist.toggle_prefix + o.value
                )
                for o in self.checklist.options
            ]
            found = marks + [self.checklist.done] + found
        return found


@dataclass(frozen=True)
class IncomingFile:
    file_name: str
    mime_type: str
    size: int
    # Downloaded only once the core has accepted the size and type.
    load: Callable[[], Awaitable[bytes]]
    # The platform's id for the file (Telegram file_id): the same channel can send it again
    # by this id without uploading.
    platform_file_id: str | None = None


@dataclass(frozen=True)
class IncomingEvent:
    """What a person did in a chat: typed text, a /command, a button press or a file."""

    channel: str
    chat_id: str
    user_id: str
    text: str = ""
    command: str | None = None
    payload: str | None = None
    selected: list[str] | None = None
    file: IncomingFile | None = None
    language_hint: str | None = None
    display_name: str | None = None
    # Platform-unique id of this update, e.g. "telegram:812345"; redeliveries are dropped.
    update_key: str | None = None
    # False in a group or channel chat, where the core only asks for a private chat.
    private: bool = True

    @classmethod
    def from_text(
        cls, channel: str, chat_id: str, user_id: str, text: str, **kw: Any
    ) -> IncomingEvent:
        """Build a text or command event from what the user typed."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            # "/start@qabot_bot CODE" in groups: drop the bot's name.
            command = head.split("@", 1)[0].lower()
            return cls(channel, chat_id, user_id, text=rest.strip(), command=command, **kw)
        return cls(channel, chat_id, user_id, text=text, **kw)
