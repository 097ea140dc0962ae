"""Attachments' bytes, stored once by content hash: in a local folder or in the database.

The store is a small interface (`FileStore`: save, load, exists) so that where the bytes live
is a setting (`QABOT_FILE_STORE`, README "A report is a thread"). The local folder suits one
machine; several instances need a store every instance reaches, which the database is. An
S3-compatible object store would be a third class with the same three methods (keyed by the
hash, ignoring `session`); none is built yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.clock import Clock
from storage.db import insert_for, read_only
from storage.models import Attachment, StoredFile

FileStoreKind = Literal["local", "database"]
T = TypeVar("T")


class FileMissing(FileNotFoundError):
    """No file with this SHA-256 is in the store."""

    def __init__(self, sha256: str, where: str) -> None:
        super().__init__(f"no stored file with SHA-256 {sha256} in {where}")
        self.sha256 = sha256


class FileStore(Protocol):
    """Bytes by SHA-256. Saving the same content again is harmless and returns the same hash.

    `session` is the caller's open transaction, if it has one (a turn): a store inside the
    database writes and reads in it, so a file commits or rolls back with the row that names
    it, and on SQLite it never waits for the write lock its own caller holds. Other stores
    ignore it.
    """

    async def save(self, content: bytes, session: AsyncSession | None = None) -> str: ...

    async def load(self, sha256: str, session: AsyncSession | None = None) -> bytes: ...

    async def exists(self, sha256: str, session: AsyncSession | None = None) -> bool: ...


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class LocalFileStore:
    """Files under `root/<first two hex digits>/<sha256>`: one machine's folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    async def save(self, content: bytes, session: AsyncSession | None = None) -> str:
        """Write the content (atomically, once per hash) and return its SHA-256."""
        return await asyncio.to_thread(self._write, content)

    async def load(self, sha256: str, session: AsyncSession | None = None) -> bytes:
        try:
            return await asyncio.to_thread(self.path_for(sha256).read_bytes)
        except FileNotFoundError:
            raise FileMissing(sha256, str(self.root)) from None

    async def exists(self, sha256: str, session: AsyncSession | None = None) -> bool:
        return await asyncio.to_thread(self.path_for(sha256).is_file)

    def _write(self, content: bytes) -> str:
        digest = digest_of(content)
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # A temporary name per writing thread and an atomic rename: writers of the same
            # content at once never leave a half-written file under the final name.
            temporary = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(content)
            os.replace(temporary, target)
        return digest


class DatabaseFileStore:
    """Files in the `stored_files` table: every instance on the database reaches them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    async def save(self, content: bytes, session: AsyncSession | None = None) -> str:
        digest = digest_of(content)
        if session is not None:
            await self._insert(session, digest, content)
            return digest
        async with self.sessions() as own, own.begin():
            await self._insert(own, digest, content)
        return digest

    async def load(self, sha256: str, session: AsyncSession | None = None) -> bytes:
        query = select(StoredFile.content).where(StoredFile.sha256 == sha256)
        content = await self._scalar(query, session)
        if content is None:
            raise FileMissing(sha256, "the database")
        return bytes(content)

    async def exists(self, sha256: str, session: AsyncSession | None = None) -> bool:
        query = select(StoredFile.sha256).where(StoredFile.sha256 == sha256)
        return await self._scalar(query, session) is not None

    async def _insert(self, session: AsyncSession, digest: str, content: bytes) -> None:
        # Insert-or-nothing: saves of the same content at once, from any instance, end
        # with one row and no error (the loser of the race waits for the winner's commit).
        statement = insert_for(session)(StoredFile).values(
            sha256=digest, size=len(content), content=content, created_at=self.clock.now()
        )
        await session.execute(statement.on_conflict_do_nothing(index_elements=["sha256"]))

    async def _scalar(self, query: Select[T], session: AsyncSession | None) -> T | None:
        if session is not None:
            return await session.scalar(query)
        async with self.sessions() as own:
            await read_only(own)
            return await own.scalar(query)


def build_file_store(
    kind: FileStoreKind,
    folder: Path,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> FileStore:
    """The store the setting names: `local` (the folder, the default) or `database`."""
    if kind == "database":
        return DatabaseFileStore(sessions, clock)
    return LocalFileStore(folder)


@dataclass
class CopyResult:
    copied: int = 0
    already_there: int = 0
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int | list[str]]:
        return {
            "copied": self.copied,
            "already_there": self.already_there,
            "missing": len(self.missing),
            "missing_sha256": self.missing,
        }


async def copy_files(
    sessions: async_sessionmaker[AsyncSession], source: FileStore, target: FileStore
) -> CopyResult:
    """Copy every attachment's bytes from `source` to `target`, one file per transaction.

    Repeating it copies only what is not there yet; a file the source lacks (or holds
    damaged) is listed as missing, not fatal: it was unreachable before the copy too.
    """
    async with sessions() as session:
        await read_only(session)
        hashes = list(await session.scalars(select(Attachment.sha256).distinct()))
    result = CopyResult()
    for sha256 in sorted(hashes):
        if await target.exists(sha256):
            result.already_there += 1
            continue
        try:
            content = await source.load(sha256)
        except FileMissing:
            result.missing.append(sha256)
            continue
        if digest_of(content) != sha256:  # damaged on disk: as good as missing
            result.missing.append(sha256)
            continue
        await target.save(content)
        result.copied += 1
    return result
