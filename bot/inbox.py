"""The inbox worker: takes a channel's stored updates per chat in arrival order and runs
their turns; different chats at once (README "One turn").

A channel stores each update (storage/inbox.py) and confirms it to the platform at once;
this worker does the rest. A turn the database could not take (locked, unreachable) stays in
the inbox and is tried again, in its place, when the database answers: never dropped, never
answered with an apology. At start-up every update left unhandled by an earlier life is taken
first.

Several instances on one PostgreSQL database share the inbox: an instance runs a chat's turns
only while it holds the chat's lease (storage/leases.py), renewed while it serves, and marks
the rows it handled done before letting the lease go, so the next holder, in this instance or
another, starts exactly after them. A chat another instance holds is looked at again later;
the rows of an instance that died are taken once its lease expires (their turns, if they ran,
are recognised by the dispatcher's update id and their kept replies sent). Several instances
need PostgreSQL: on SQLite one process serves a channel alone, so it takes no leases and keeps
a high-water mark of the rows it has taken (no extra write per chat on SQLite's one writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot import metrics
from bot.logs import default_instance_name
from handlers.core import Core
from handlers.dispatcher import StorageBusy
from storage import inbox, leases
from storage.db import read_only
from storage.inbox import Stored
from storage.models import InboxUpdate

log = logging.getLogger(__name__)

BATCH = 1000
# When nothing wakes the worker, it looks at the table this often anyway (rows stored by a
# request the channel could not signal, e.g. right before a restart).
IDLE_SECONDS = 1.0
RETRY_FIRST, RETRY_MAX = 0.5, 30.0
# Handled rows are marked in batches, at most this often while turns run (and at once when
# none does): a row handled but not yet marked is only looked at again after a crash, and its
# turn is then recognised by the dispatcher's update id.
RECORD_EVERY = 0.5
# At shutdown, how long the turns in hand may take to finish.
STOP_WAIT_SECONDS = 10.0
# A chat's lease (several instances): renewed this often while its turns run, so it only
# expires when its holder died or lost the database for longer than the difference.
LEASE_TTL = timedelta(seconds=30)
RENEW_EVERY = timedelta(seconds=10)


class InboxWorker:
    """Runs `handle_row` for each unhandled row of `channel`: per chat in order, chats at once."""

    def __init__(
        self,
        core: Core,
        channel: str,
        handle_row: Callable[[Stored], Awaitable[None]],
        holder: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.core = core
        self.channel = channel
        self.handle_row = handle_row
        # This instance's name on the chats' leases: unique per running instance.
        self.holder = holder or default_instance_name()
        self.sleep = sleep
        bind = core.sessions.kw.get("bind")
        self.shared = bind is not None and bind.dialect.name != "sqlite"
        # Rows up to this id were unhandled at start-up: their turn may have run already in an
        # earlier life (the dispatcher knows); rows stored later cannot have.
        self.recovered_until = 0
        self._stir = asyncio.Event()
        self._arrived = True
        self._taken_until = 0  # SQLite only: one process sees every row
        self._taking = False
        self._queues: dict[str, deque[Stored]] = {}
        self._serving: dict[str, asyncio.Task[None]] = {}
        # Handled, not yet recorded as done; an id leaves only once its record committed.
        self._done: set[int] = set()
        self._recording = asyncio.Lock()
        self._recorded_at = 0.0
        # Shared: chats found waiting while they were being served, looked at again after.
        self._look_again: set[str] = set()
        self._more_chats = False
        self._renewed_at: datetime | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def may_repeat(self, row: Stored) -> bool:
        """Whether the row's turn may have run before (then a button press is answered only if
        it was not handled, and the turn looks for an earlier run first): the rows found
        unhandled at start-up. With several instances a later row may also have been started
        by one that died since; that is rare, so it is not looked for on every turn: recording
        the turn's update id then fails, and the turn is answered from the first run's kept
        replies instead (handlers/dispatcher.py `_run_with_retries`)."""
        return row.id <= self.recovered_until

    def arrived(self) -> None:
        """New rows were stored: take them now rather than at the next idle look."""
        self._arrived = True
        self._stir.set()

    def hand_over(self, rows: list[Stored]) -> None:
        """Rows the caller just stored, oldest first, from a caller that stores one batch at a
        time (the polling loop). When every row stored before them was taken already (one
        process on SQLite, the worker not looking right now) they are queued as they are,
        without the worker reading them back; otherwise the worker looks as for `arrived`."""
        if self.shared or self._arrived or self._taking or self._stopping:
            self.arrived()
            return
        self._queue(rows)

    async def start(self) -> None:
        async with self.core.sessions() as session:
            await read_only(session)
            newest = await session.scalar(
                select(func.max(InboxUpdate.id)).where(
                    InboxUpdate.done_at.is_(None), InboxUpdate.channel == self.channel
                )
            )
        self.recovered_until = newest or 0
        if self.recovered_until:
            log.info("%s: %d-… unhandled updates from before the start", self.channel, newest)
        self._task = asyncio.create_task(self._run(), name=f"{self.channel}-inbox")

    async def stop(self) -> None:
        """Stop taking rows; let the turns in hand finish and record them — all bounded, so a
        stuck database call can never keep the process from stopping (an unrecorded row is
        taken again at the next start and recognised by its update id)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=STOP_WAIT_SECONDS)
            self._task = None
        for queue in self._queues.values():
            # Not started: left in the inbox for the next start.
            while len(queue) > 1:
                queue.pop()
        if self._serving:
            await asyncio.wait(list(self._serving.values()), timeout=STOP_WAIT_SECONDS)
        if self._serving:
            for task in self._serving.values():
                task.cancel()
            # Their leases are let go on the way out.
            await asyncio.wait(list(self._serving.values()), timeout=STOP_WAIT_SECONDS)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._record_done(), STOP_WAIT_SECONDS)

    async def drain(self) -> None:
        """Wait until every row stored so far is handled and recorded (tests, benchmarks)."""
        if self._task is None:
            raise RuntimeError(f"the {self.channel} inbox worker is not running")
        while True:
            self.arrived()
            await asyncio.sleep(0)
            while self._serving:
                await asyncio.wait(list(self._serving.values()))
            await self._record_done()
            async with self.core.sessions() as session:
                await read_only(session)
                left = await session.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.done_at.is_(None), InboxUpdate.channel == self.channel)
                )
            if not left and not self._serving:
                return
            await asyncio.sleep(0.01)

    async def _run(self) -> None:
        failures = 0
        while True:
            self._stir.clear()
            try:
                now = asyncio.get_running_loop().time()
                if not self._serving or now - self._recorded_at >= RECORD_EVERY:
                    self._recorded_at = now
                    await self._record_done()
                if self.shared:
                    await self._renew()
                if self._arrived:
                    self._arrived = False
                    await self._take()
                failures = 0
            except Exception as error:
                failures += 1
                delay = min(RETRY_MAX, RETRY_FIRST * 2 ** min(failures, 6))
                log.warning("%s inbox: %s; again in %.1f s", self.channel, error, delay)
                self._arrived = True
                await self.sleep(delay)
                continue
            try:
                await asyncio.wait_for(
                    self._stir.wait(), RECORD_EVERY if self._done else IDLE_SECONDS
                )
            except TimeoutError:
                self._arrived = True

    async def _take(self) -> None:
        if self.shared:
            await self._take_chats()
            return
        self._taking = True
        try:
            while True:
                async with self.core.sessions() as session:
                    await read_only(session)
                    rows = await inbox.pending(session, self.channel, self._taken_until, BATCH)
                self._queue(rows)
                if len(rows) < BATCH:
                    return
        finally:
            self._taking = False

    def _queue(self, rows: list[Stored]) -> None:
        """Queue rows newer than any taken so far, oldest first; start their chats."""
        for row in rows:
            if row.id <= self._taken_until:
                continue
            self._taken_until = row.id
            self._queues.setdefault(row.chat_id, deque()).append(row)
            if row.chat_id not in self._serving:
                task = asyncio.create_task(self._serve(row.chat_id))
                self._serving[row.chat_id] = task

    async def _take_chats(self) -> None:
        """Shared: start serving every waiting chat no other instance holds. No high-water
        mark: a chat skipped now (held, or left by an instance that died) is found again."""
        async with self.core.sessions() as session:
            await read_only(session)
            chats = await inbox.waiting_chats(
                session, self.channel, self.holder, self.core.clock.now(), BATCH
            )
        self._more_chats = len(chats) == BATCH
        for chat_id in chats:
            if chat_id in self._serving:
                self._look_again.add(chat_id)
            else:
                self._serving[chat_id] = asyncio.create_task(self._serve(chat_id))

    async def _serve(self, chat_id: str) -> None:
        """One chat's rows, one after the other; shared, under the chat's lease."""
        queue = self._queues.setdefault(chat_id, deque())
        leased, taken = False, set[int]()
        try:
            if self.shared:
                rows = await self._lease(chat_id)
                leased = rows is not None
                self._extend(queue, rows or [], taken)
            while queue:
                await self._run_queue(queue)
                if leased and not self._stopping:
                    # Looked at once more as the lease is let go: nothing is left behind.
                    more = await self._let_go_unless_more(chat_id, taken)
                    leased = more is not None
                    self._extend(queue, more or [], taken)
        except Exception as error:
            # Leasing or looking failed (the database): the rows wait; the idle look retries.
            log.warning("%s: chat %s paused: %s", self.channel, chat_id, error)
        finally:
            if leased:
                await self._let_go(chat_id)
            del self._serving[chat_id]
            if self.shared or not queue:
                del self._queues[chat_id]
            if chat_id in self._look_again or self._more_chats:
                self._look_again.discard(chat_id)
                self.arrived()

    async def _run_queue(self, queue: deque[Stored]) -> None:
        """Handle the queued rows in order; a busy database retries the same row."""
        failures = 0
        while queue:
            row = queue[0]
            try:
                with metrics.turn(self.channel):
                    await self.handle_row(row)
            except StorageBusy as busy:
                failures += 1
                delay = min(RETRY_MAX, RETRY_FIRST * 2 ** min(failures, 6))
                log.warning(
                    "%s: update %s waits in the inbox (%s); again in %.1f s",
                    self.channel,
                    row.key,
                    busy.__cause__ or busy,
                    delay,
                )
                await self.sleep(delay)
                continue
            except Exception:
                # The channel answered the person already; a bug must not block the chat.
                log.exception("%s: update %s failed", self.channel, row.key)
            failures = 0
            queue.popleft()
            self._done.add(row.id)
            self._stir.set()

    async def _lease(self, chat_id: str) -> list[Stored] | None:
        """Take the chat's lease and read its waiting rows in one transaction; None while
        another instance holds it."""
        now = self.core.clock.now()
        key = inbox.chat_lease(self.channel, chat_id)
        async with self.core.sessions() as session, session.begin():
            if not await leases.acquire(session, key, self.holder, now, LEASE_TTL):
                return None
            return await inbox.waiting(session, self.channel, chat_id)

    async def _let_go_unless_more(self, chat_id: str, taken: set[int]) -> list[Stored] | None:
        """Record the handled rows done and give the chat's lease up, in one transaction,
        unless rows not taken yet are waiting: those are returned, the lease kept."""
        async with self._recording:
            done = sorted(self._done)
            async with self.core.sessions() as session, session.begin():
                if done:
                    await inbox.mark_done(session, done, self.core.clock.now())
                rows = await inbox.waiting(session, self.channel, chat_id)
                more = [row for row in rows if row.id not in taken]
                if not more:
                    key = inbox.chat_lease(self.channel, chat_id)
                    await leases.release(session, key, self.holder)
            self._done.difference_update(done)
        return more or None

    def _extend(self, queue: deque[Stored], rows: list[Stored], taken: set[int]) -> None:
        """Queue the rows not taken yet: a row taken in this run, or handled here whose record
        is not committed yet, still reads as waiting."""
        for row in rows:
            if row.id not in taken and row.id not in self._done:
                taken.add(row.id)
                queue.append(row)

    async def _let_go(self, chat_id: str) -> None:
        """Record the handled rows done, then give the chat's lease up, in one transaction."""
        try:
            await self._record_done(release=inbox.chat_lease(self.channel, chat_id))
        except Exception as error:
            # The rows are recorded at the next try; the lease expires by itself.
            log.warning("%s: chat %s not let go: %s", self.channel, chat_id, error)

    async def _renew(self) -> None:
        """Extend the leases of the chats being served, every RENEW_EVERY, in one statement."""
        now = self.core.clock.now()
        if not self._serving or self._renewed_at is None:
            self._renewed_at = now
            return
        if now - self._renewed_at < RENEW_EVERY:
            return
        self._renewed_at = now
        keys = [inbox.chat_lease(self.channel, chat_id) for chat_id in self._serving]
        async with self.core.sessions() as session, session.begin():
            kept = await leases.renew(session, keys, self.holder, now, LEASE_TTL)
        if kept < len(keys):
            # Not yet taken, refused, or expired and taken by another instance (a turn that
            # both run is recognised by its update id).
            log.info("%s: %d of %d chat leases renewed", self.channel, kept, len(keys))

    async def _record_done(self, release: str | None = None) -> None:
        # One record at a time: two chats let go at once would otherwise update overlapping
        # sets of rows in two transactions, which PostgreSQL ends as a deadlock.
        async with self._recording:
            if not self._done and release is None:
                return
            done = sorted(self._done)
            async with self.core.sessions() as session, session.begin():
                if done:
                    await inbox.mark_done(session, done, self.core.clock.now())
                if release is not None:
                    await leases.release(session, release, self.holder)
            self._done.difference_update(done)
