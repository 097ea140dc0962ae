"""What the conversation core needs from the outside, built once by `bot/`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from weakref import WeakValueDictionary
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.calendar import WorkingCalendar, local_date
from domain.clock import Clock
from storage.files import FileStore

MAX_FILE_BYTES = 20 * 1024 * 1024
ALLOWED_MIME_PREFIXES = ("image/",)
ALLOWED_MIME_TYPES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
        "text/plain",
        "text/csv",
    }
)


@dataclass
class Core:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    tz: ZoneInfo
    files: FileStore
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    default_language: str = "zh_CN"
    first_response_working_days: int = 2
    # Weak values: a chat's lock lives only while some turn holds or awaits it.
    _chat_locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = field(
        default_factory=WeakValueDictionary, repr=False
    )

    def today(self) -> date:
        return local_date(self.clock.now(), self.tz)

    def chat_lock(self, channel: str, chat_id: str) -> asyncio.Lock:
        """One turn at a time per chat, so two quick presses cannot interleave."""
        key = (channel, chat_id)
        lock = self._chat_locks.get(key)
        if lock is None:
            lock = self._chat_locks[key] = asyncio.Lock()
        return lock


def file_allowed(mime_type: str) -> bool:
    return mime_type.startswith(ALLOWED_MIME_PREFIXES) or mime_type in ALLOWED_MIME_TYPES
