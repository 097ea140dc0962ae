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
from handlers.ocr import CertificateReader, default_reader
from storage.files import FileStore

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_CONCURRENT_TURNS = 16
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
    # Reads certificate photos for the registers; None: every field is typed.
    certificate_reader: CertificateReader | None = field(default_factory=default_reader)
    _turn_slots: asyncio.Semaphore | None = field(default=None, repr=False)
    # Weak values: a chat's lock lives only while some turn holds or awaits it.
    _chat_locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = field(
        default_factory=WeakValueDictionary, repr=False
    )

    def today(self) -> date:
        return local_date(self.clock.now(), self.tz)

    def turn_slots(self) -> asyncio.Semaphore:
        """How many turns may hold a database transaction at once.

        SQLite has one writer and every turn writes: more turns at once only wait in SQLite's
        busy handler, which sleeps in steps of up to 100 ms and is not fair. Queued here
        instead (first come, first served), they run back to back.
        """
        if self._turn_slots is None:
            bind = self.sessions.kw.get("bind")
            sqlite = bind is not None and bind.dialect.name == "sqlite"
            self._turn_slots = asyncio.Semaphore(1 if sqlite else MAX_CONCURRENT_TURNS)
        return self._turn_slots

    def chat_lock(self, channel: str, chat_id: str) -> asyncio.Lock:
        """One turn at a time per chat, so two quick presses cannot interleave."""
        key = (channel, chat_id)
        lock = self._chat_locks.get(key)
        if lock is None:
            lock = self._chat_locks[key] = asyncio.Lock()
        return lock


def file_allowed(mime_type: str) -> bool:
    return mime_type.startswith(ALLOWED_MIME_PREFIXES) or mime_type in ALLOWED_MIME_TYPES
