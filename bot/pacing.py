"""Pacing: every send first reserves its slot in the budgets it counts against.

One limiter for every channel (README "Delivery guarantees"). A budget is a steady rate with a
burst, kept per key ("telegram", "telegram:chat:<id>", "wecom:member:<id>", …) by the generic
cell rate algorithm (virtual scheduling): each key holds the theoretical arrival time (TAT) of
its next message; a reservation moves it on by one interval per message and answers how long
to wait. A Telegram message takes its chat's slot, then the bot's (`Limiter.wait_in_turn`).
Sends made at their slots never put more than `burst - 1 + ceil(W / interval)` messages into
any window of W seconds — the budgets below are chosen from that bound.

Two stores keep the TATs: in process (one instance; SQLite), and PostgreSQL (one row per key,
on the database's clock), so that every instance of a cluster draws on the same budgets.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

NO_LIMIT = math.inf


@dataclass(frozen=True)
class Budget:
    """`burst` messages at once, then one per `interval` seconds."""

    interval: float
    burst: int = 1

    @classmethod
    def per_second(cls, rate: float, burst: int = 1) -> Budget:
        return cls(1.0 / rate, burst)

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval

    def most_in(self, window: float) -> int:
        """The most messages sent at their slots can put into any `window` seconds."""
        return self.burst - 1 + math.ceil(window / self.interval - 1e-9)


# Telegram counts ~30 messages/s per bot and ~1/s per private chat (a short burst passes);
# groups 20 per minute: 3 at once, then one per 3.75 s keeps every minute at 18.
TELEGRAM = "telegram"
TELEGRAM_GROUP = Budget(3.75, burst=3)
# WeCom silently drops what exceeds 30 messages per member per minute. A turn's replies (up to
# 15 messages) go at once, then one per 3.85 s: 14 + ceil(61 / 3.85) = 30 in any 61 seconds (a
# little over a minute, for the latency between our clock and WeCom's count).
WECOM_MEMBER = Budget(3.85, burst=15)


def telegram_chat_key(chat_id: int) -> str:
    return f"telegram:chat:{chat_id}"


def wecom_member_key(user: str) -> str:
    return f"wecom:member:{user}"


Slot = tuple[str, Budget]


def schedule(
    tats: Sequence[float | None],
    now: float,
    budgets: Sequence[Budget],
    count: int,
    max_wait: float,
    binding: Sequence[bool] | None = None,
) -> tuple[float, list[float] | None]:
    """(seconds to wait, the keys' new TATs) for `count` messages sent together at the end of
    the wait, counted in every budget at that one instant. Only the `binding` keys (all, by
    default) decide the instant; the others are merely told of it (a slot of theirs was taken
    earlier and the message is going later). The new TATs are None (nothing reserved) if the
    wait would exceed `max_wait`."""
    binding = binding or [True] * len(tats)
    at = now
    for tat, budget, binds in zip(tats, budgets, binding, strict=True):
        if not 1 <= count <= budget.burst:
            raise ValueError(f"{count} messages at once do not fit a burst of {budget.burst}")
        if tat is not None and binds:
            at = max(at, tat + (count - 1) * budget.interval - budget.tolerance)
    if at - now > max_wait:
        return at - now, None
    new = [
        # A binding key's slots are taken now; a told key's were taken (from its TAT) before.
        max(at, tat or at) + count * b.interval
        if binds
        else max(tat or at, at + count * b.interval)
        for tat, b, binds in zip(tats, budgets, binding, strict=True)
    ]
    return at - now, new


class Store(Protocol):
    async def reserve(
        self, slots: Sequence[Slot], count: int, max_wait: float, settle: Sequence[Slot]
    ) -> float:
        """Reserve `count` slots of every key unless the wait exceeds `max_wait`; the wait.
        The `settle` keys count the messages at that instant but do not delay them."""
        ...


class LocalStore:
    """The budgets of one process, on its monotonic clock."""

    # Beyond this many keys, those whose TAT has passed (as good as new) are forgotten.
    PRUNE_AT = 10_000

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.tats: dict[str, float] = {}

    async def reserve(
        self, slots: Sequence[Slot], count: int, max_wait: float, settle: Sequence[Slot]
    ) -> float:
        now = self.monotonic()
        keys = [key for key, _ in [*slots, *settle]]
        tats = [self.tats.get(key) for key in keys]
        budgets = [budget for _, budget in [*slots, *settle]]
        binding = [True] * len(slots) + [False] * len(settle)
        wait, new = schedule(tats, now, budgets, count, max_wait, binding)
        if new is not None:
            self.tats.update(zip(keys, new, strict=True))
            if len(self.tats) > self.PRUNE_AT:
                self.tats = {k: t for k, t in self.tats.items() if t > now}
        return wait


# Locks the keys' rows (created if new; in key order, so two instances never deadlock) and
# reads their TATs and the database's clock once the locks are held.
_LOCK = text(
    """
    INSERT INTO pacing_budgets AS b (key, tat, reserved_at)
    SELECT k, 0, 0 FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k
    ON CONFLICT (key) DO UPDATE SET tat = b.tat
    RETURNING b.key, b.tat, extract(epoch FROM clock_timestamp())::float8
    """
)
_MOVE_ON = text(
    """
    UPDATE pacing_budgets AS b SET tat = v.tat, reserved_at = :now
    FROM unnest(CAST(:keys AS text[]), CAST(:tats AS float8[])) AS v(key, tat)
    WHERE b.key = v.key
    """
)


# A key whose TAT has passed is as good as absent: such rows (a chat quiet for a while) go.
# Rows a reservation holds are skipped, not waited for: a DELETE that waited, holding the rows
# it had taken in table order, deadlocked with reservations taking theirs in key order.
_FORGET = text(
    """
    DELETE FROM pacing_budgets WHERE key IN (
        SELECT key FROM pacing_budgets
        WHERE tat < extract(epoch FROM clock_timestamp())
        FOR UPDATE SKIP LOCKED
    )
    """
)


class PostgresStore:
    """The budgets of every instance, in the `pacing_budgets` table, on the database's clock
    (instances whose clocks disagree still agree on it). A reservation is one short
    transaction holding its keys' rows: concurrent instances queue up behind each other."""

    # Every this many reservations of an instance, the rows of idle keys are deleted.
    FORGET_EVERY = 1000

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._reservations = 0

    async def reserve(
        self, slots: Sequence[Slot], count: int, max_wait: float, settle: Sequence[Slot]
    ) -> float:
        budgets = dict([*settle, *slots])
        binding = {key for key, _ in slots}
        async with self.engine.begin() as connection:
            rows = (await connection.execute(_LOCK, {"keys": sorted(budgets)})).all()
            now = max(row[2] for row in rows)
            keys = [row[0] for row in rows]
            tats = [row[1] or None for row in rows]  # 0: a new key
            wait, new = schedule(
                tats, now, [budgets[k] for k in keys], count, max_wait, [k in binding for k in keys]
            )
            if new is not None:
                await connection.execute(_MOVE_ON, {"now": now, "keys": keys, "tats": new})
        self._reservations += 1
        if self._reservations % self.FORGET_EVERY == 0:
            await self.forget()
        return wait

    async def forget(self) -> None:
        """Housekeeping: its failure must never fail the send that happened to run it."""
        try:
            async with self.engine.begin() as connection:
                await connection.execute(_FORGET)
        except Exception as error:
            log.info("pacing: idle budgets not forgotten now: %s", error)


class Limiter:
    """Reservations on a store, and the waiting for them (`sleep` injectable for tests)."""

    def __init__(
        self,
        store: Store | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store or LocalStore(monotonic)
        self.sleep = sleep
        self._turns: dict[str, _Turn] = {}

    async def reserve(
        self, slots: Sequence[Slot], count: int = 1, max_wait: float = NO_LIMIT
    ) -> float:
        """Seconds until `count` messages may go together, counted against every (key,
        budget) of `slots`; nothing is reserved when that is more than `max_wait` (the caller
        may come back later instead)."""
        return await self.store.reserve(slots, count, max_wait, ())

    async def wait(self, slots: Sequence[Slot], count: int = 1) -> None:
        """Reserve and wait for the slot. Always sleeps, if only for 0 s: a test's virtual
        clock sees every slot taken."""
        await self.sleep(await self.reserve(slots, count))

    async def wait_in_turn(self, own: Slot, shared: Slot) -> None:
        """Wait for a slot of `own` (a chat's budget: its wait can be seconds), then of `shared`
        (the bot's: a short queue). Reserving both at one instant instead would make the whole
        bot wait for one busy chat. The message counts in `own` when it really goes, and one
        message of a key at a time waits in this process, so the wait for `shared` never
        bunches up a key's messages."""
        key = own[0]
        turn = self._turns.setdefault(key, _Turn())
        turn.waiting += 1
        try:
            async with turn.lock:
                await self.wait([own])
                await self.sleep(await self.store.reserve([shared], 1, NO_LIMIT, [own]))
        finally:
            turn.waiting -= 1
            if not turn.waiting:
                del self._turns[key]


@dataclass
class _Turn:
    """One key's messages wait one at a time (`waiting`: how many are here, so the last one
    out forgets the key)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


def limiter_for(engine: AsyncEngine) -> Limiter:
    """Cluster-wide on PostgreSQL (several instances need it), in process on SQLite."""
    if engine.dialect.name == "postgresql":
        return Limiter(PostgresStore(engine))
    return Limiter()
