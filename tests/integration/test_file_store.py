"""Where attachments' bytes live: the local folder or the database, one contract for both;
and several instances on one database with the database store all reach every file."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.delivery import Delivery
from domain.clock import FixedClock
from handlers.core import MAX_FILE_BYTES, Core
from handlers.messages import Reply
from handlers.ocr import CertificateReading
from storage.files import (
    DatabaseFileStore,
    FileMissing,
    FileStore,
    FileStoreKind,
    LocalFileStore,
    copy_files,
)
from storage.models import Attachment, StoredFile
from tests.conftest import build_world, make_core
from tests.integration.test_conversations import bind, submit_report
from tests.integration.test_thread import report_id_of
from tests.support import Chat

PHOTO = b"\xff\xd8fake-jpeg"


@pytest.fixture(params=["local", "database"])
async def store_core(
    request: pytest.FixtureRequest, database_url: str, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Core]:
    """A core whose files go to each store, on SQLite and on PostgreSQL."""
    kind: FileStoreKind = request.param
    core = make_core(database_url, clock, tmp_path / "files", kind)
    yield core
    await core.sessions.kw["bind"].dispose()


async def stored_copies(core: Core) -> int:
    if isinstance(core.files, LocalFileStore):
        return sum(1 for path in core.files.root.rglob("*") if path.is_file())
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(StoredFile)) or 0)


class TestContract:
    async def test_saved_content_loads_back_by_its_sha256(self, store_core: Core) -> None:
        store = store_core.files
        digest = await store.save(PHOTO)
        assert digest == hashlib.sha256(PHOTO).hexdigest()
        assert await store.load(digest) == PHOTO
        assert await store.exists(digest)

    async def test_saving_the_same_content_again_keeps_one_copy(self, store_core: Core) -> None:
        store = store_core.files
        assert await store.save(PHOTO) == await store.save(PHOTO)
        assert await stored_copies(store_core) == 1

    async def test_concurrent_saves_of_the_same_content_all_succeed_with_one_copy(
        self, store_core: Core
    ) -> None:
        content = b"%PDF-1.4 same report from eight chats"
        digests = await asyncio.gather(*(store_core.files.save(content) for _ in range(8)))
        assert set(digests) == {hashlib.sha256(content).hexdigest()}
        assert await store_core.files.load(digests[0]) == content
        assert await stored_copies(store_core) == 1

    async def test_an_unknown_hash_is_a_clear_error(self, store_core: Core) -> None:
        unknown = "ab" * 32
        assert not await store_core.files.exists(unknown)
        with pytest.raises(FileMissing, match=f"no stored file with SHA-256 {unknown}"):
            await store_core.files.load(unknown)

    async def test_the_largest_accepted_file_round_trips(self, store_core: Core) -> None:
        content = bytes(range(256)) * (MAX_FILE_BYTES // 256)
        assert len(content) == MAX_FILE_BYTES
        assert await store_core.files.load(await store_core.files.save(content)) == content


class TestDatabaseStoreInATransaction:
    async def test_a_file_saved_in_a_rolled_back_transaction_is_not_kept(
        self, any_core: Core
    ) -> None:
        store = DatabaseFileStore(any_core.sessions, any_core.clock)
        with pytest.raises(RuntimeError):
            async with any_core.sessions() as session, session.begin():
                digest = await store.save(PHOTO, session)
                # Readable in its own transaction before the commit (the OCR step does that).
                assert await store.load(digest, session) == PHOTO
                raise RuntimeError("the turn failed")
        assert not await store.exists(digest)


async def two_instances(url: str, clock: FixedClock, tmp_path: Path) -> tuple[Core, Core]:
    """Two cores on one database, each with its own data folder, as on two machines."""
    return (
        make_core(url, clock, tmp_path / "a" / "files", "database"),
        make_core(url, clock, tmp_path / "b" / "files", "database"),
    )


class RecordingSender:
    channel = "test"
    max_per_second: float | None = None

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Reply]] = []

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        self.delivered.append((chat_id, reply))


class TestSeveralInstances:
    async def test_a_photo_sent_through_one_instance_is_shown_and_delivered_by_another(
        self, database_url: str, clock: FixedClock, tmp_path: Path
    ) -> None:
        a, b = await two_instances(database_url, clock, tmp_path)
        try:
            world = await build_world(a)
            await submit_report(await bind(a, "staff", world.enterprise[1]))
            officer = await bind(b, "officer", world.officer[1])
            [page] = await officer.press(f"rep:view:{await report_id_of(b)}")
            assert [(f.file_name, f.content) for f in page.files] == [("defect.jpg", PHOTO)]
            # The new-report notice A queued goes out through B's delivery worker, photo and all.
            sender = RecordingSender()
            await Delivery(b, [sender]).run_once()
            [(chat_id, notice)] = [d for d in sender.delivered if d[1].files]
            assert chat_id == "officer"
            assert [(f.file_name, f.mime_type, f.content) for f in notice.files] == [
                ("defect.jpg", "image/jpeg", PHOTO)
            ]
            # Neither machine's folder was needed.
            assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
        finally:
            for core in (a, b):
                await core.sessions.kw["bind"].dispose()


class RecordingReader:
    def __init__(self) -> None:
        self.images: list[bytes] = []

    async def read(self, image: bytes) -> CertificateReading | None:
        self.images.append(image)
        return None


async def test_a_certificate_photo_is_read_from_the_database_store_in_its_own_turn(
    database_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    core = make_core(database_url, clock, tmp_path / "files", "database")
    try:
        reader = RecordingReader()
        core.certificate_reader = reader
        world = await build_world(core)
        chat = Chat(core, "staff")
        await chat.send(f"/start {world.enterprise[1]}")
        await chat.send("/instruments")
        await chat.press("➕ 登记")
        await chat.send_file(PHOTO, "cert.jpg", "image/jpeg")
        # Read ahead of the turn from the upload, then in the turn from the store.
        assert reader.images == [PHOTO, PHOTO]
        async with core.sessions() as session:
            evidence = (await session.scalars(select(Attachment))).one()
        assert await core.files.load(evidence.sha256) == PHOTO
    finally:
        await core.sessions.kw["bind"].dispose()


async def test_copying_the_local_files_into_the_database_is_idempotent(
    any_core: Core, tmp_path: Path
) -> None:
    assert isinstance(any_core.files, LocalFileStore)
    world = await build_world(any_core)
    await submit_report(await bind(any_core, "staff", world.enterprise[1]))
    async with any_core.sessions() as session, session.begin():
        [photo] = await session.scalars(select(Attachment))
        # A row whose file is gone from the folder (deleted by hand, a lost disk).
        session.add(
            Attachment(
                sha256="cd" * 32,
                size=1,
                mime_type="image/png",
                file_name="lost.png",
                uploaded_by_id=photo.uploaded_by_id,
                created_at=any_core.clock.now(),
            )
        )
    database: FileStore = DatabaseFileStore(any_core.sessions, any_core.clock)
    first = await copy_files(any_core.sessions, any_core.files, database)
    assert (first.copied, first.already_there, first.missing) == (1, 0, ["cd" * 32])
    assert await database.load(hashlib.sha256(PHOTO).hexdigest()) == PHOTO
    again = await copy_files(any_core.sessions, any_core.files, database)
    assert (again.copied, again.already_there, again.missing) == (0, 1, ["cd" * 32])
