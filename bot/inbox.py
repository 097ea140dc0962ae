"""The inbox worker: takes a channel's stored updates per chat in arrival order and runs
their turns; different chats at once (README "One turn").

A channel stores each update (storage/inbox.py) and confirms it to the platform at once;
this worker does the rest. A turn the database could not take (locked, unreachable) stays in
the inbox and is tried again, in its place, when the database answers: never dropped, never
answered with an apology. At start-up every update left unhandled by an earlier life is taken
first. Today one process serves each channel; the rows carry everything needed for several
instances to share the work later (a lease per chat in place of the in-memory queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from bot import metrics
from handlers.core import Core
from handlers.dispatcher import StorageBusy
from storage import inbox
from storage.db import read_only
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


class InboxWorker:
    """Runs `handle_row` for each unhandled row of `channel`: per chat in order, chats at once."""

    def __init__(
        self,
        core: Core,
        channel: str,
        handle_row: Callable[[InboxUpdate], Awaitable[None]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.core = core
        self.channel = channel
        self.handle_row = handle_row
        self.sleep = sleep
        # Rows up to this id were unhandled at start-up: their turn may have run already in an
        # earlier life (the dispatcher knows); rows stored later cannot have.
        self.recovered_until = 0
        self._stir = asyncio.Event()
        self._arrived = True
        self._taken_until = 0
        self._queues: dict[str, deque[InboxUpdate]] = {}
        self._serving: dict[str, asyncio.Task[None]] = {}
        self._done: list[int] = []
        self._recorded_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def arrived(self) -> None:
        """New rows were stored: take them now rather than at the next idle look."""
        self._arrived = True
        self._stir.set()

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
        for task in list(self._serving.values()):
            task.cancel()
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
        while True:
            async with self.core.sessions() as session:
                await read_only(session)
                rows = await inbox.pending(session, self.channel, self._taken_until, BATCH)
            for row in rows:
                self._taken_until = row.id
                self._queues.setdefault(row.chat_id, deque()).append(row)
                if row.chat_id not in self._serving:
                    task = asyncio.create_task(self._serve(row.chat_id))
                    self._serving[row.chat_id] = task
            if len(rows) < BATCH:
                return

    async def _serve(self, chat_id: str) -> None:
        """One chat's rows, one after the other; a busy database retries the same row."""
        queue = self._queues[chat_id]
        failures = 0
        try:
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
                self._done.append(row.id)
                self._stir.set()
        finally:
            del self._serving[chat_id]
            if not queue:
                del self._queues[chat_id]

    async def _record_done(self) -> None:
        if not self._done:
            return
        done, self._done = self._done, []
        try:
            async with self.core.sessions() as session, session.begin():
                await inbox.mark_done(session, done, self.core.clock.now())
        except Exception:
            self._done = done + self._done
            raise
