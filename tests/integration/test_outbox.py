"""Outbox delivery guarantees, on SQLite and PostgreSQL: no second copy after a crash between
send and mark, every digest exactly once through 30% faults, quiet hours, channel pacing."""

from __future__ import annotations

import random
from collections import Counter, deque
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.delivery import CLAIM_LEASE, Delivery, DeliveryError
from bot.pacing import Limiter
from domain.clock import FixedClock
from domain.reminders import QuietHours
from domain.roles import Party, Role
from handlers.core import Core
from handlers.messages import Reply
from handlers.usecases.commitments import add_commitment
from handlers.usecases.people import add_enterprise, add_officer, bind
from handlers.usecases.reminders import sweep
from storage import outbox
from storage.models import ChannelIdentity, OutboxMessage
from tests.fakes.virtual_time import VirtualTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL = "fake"


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI).astimezone(UTC)


class RecordingSender:
    """Records every delivered message; optionally fails a share of sends like a busy API."""

    channel = CHANNEL

    def __init__(self, fault_rate: float = 0.0, seed: int = 7) -> None:
        self.max_per_second: float | None = None
        self.delivered: list[tuple[str, str]] = []
        self.faults = 0
        self.fault_rate = fault_rate
        self.random = random.Random(seed)

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        if self.random.random() < self.fault_rate:
            self.faults += 1
            if self.random.random() < 0.5:
                raise DeliveryError("429 retry after", retry_after=3)
            raise DeliveryError("502 bad gateway")
        self.delivered.append((chat_id, reply.title or reply.text))


class RateEnforcingSender(RecordingSender):
    """Answers 429 when more than `limit` sends fall into any rolling second (like the API),
    on the virtual time the worker's pacing waits on."""

    def __init__(self, limit: int, clock: VirtualTime) -> None:
        super().__init__()
        self.clock = clock
        self.max_per_second = limit
        self.limit = limit
        self.window: deque[float] = deque()
        self.rejected = 0

    async def deliver(self, chat_id: str, reply: Reply) -> None:
        now = self.clock.monotonic()
        self.clock.sent()
        while self.window and now - self.window[0] >= 1.0 - 1e-9:  # the float error of slots
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.rejected += 1
            raise DeliveryError("429 too many requests", retry_after=1)
        self.window.append(now)
        await super().deliver(chat_id, reply)


async def people_with_digests(core: Core, count: int) -> list[int]:
    """`count` enterprise contacts, each with a commitment due today, bound on CHANNEL."""
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        officer, _ = await add_officer(session, "王丽", "杭州市", Role.OFFICER, now)
        ids = []
        for n in range(count):
            firm, code = await add_enterprise(session, f"企业{n}", "杭州市", officer.id, None, now)
            await add_commitment(session, firm.id, Party.ENTERPRISE, f"事项{n}", core.today(), now)
            person = await bind(session, CHANNEL, f"u{n}", f"chat{n}", code, f"联系人{n}", now)
            ids.append(person.id)
    return ids


async def statuses(core: Core) -> Counter[str]:
    async with core.sessions() as session:
        return Counter(await session.scalars(select(OutboxMessage.status)))


async def test_a_crash_loses_no_claimed_message_and_doubles_only_the_one_in_flight(
    any_core: Core,
) -> None:
    await people_with_digests(any_core, 3)
    assert (await sweep(any_core)).digests == 3
    sender = RecordingSender()
    # The first worker claims all three (committed), starts sending the first, delivers it,
    # and dies before marking it sent; the other two were claimed but never started.
    async with any_core.sessions() as session:
        claimed = await outbox.claim_due(session, any_core.clock.now(), 3, CLAIM_LEASE)
    assert len(claimed) == 3
    in_flight = claimed[0]
    async with any_core.sessions() as session, session.begin():
        await outbox.mark_started(session, in_flight.id, any_core.clock.now())
    await sender.deliver("chat0", Reply.from_json(in_flight.message))
    # Restart: a new worker, after the dead one's lease ran out.
    clock = any_core.clock
    assert isinstance(clock, FixedClock)
    clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    restarted = Delivery(any_core, [sender])
    assert await restarted.recover() == 3
    async with any_core.sessions() as session:
        back = {row.id: row for row in await session.scalars(select(OutboxMessage))}
    assert {row.status for row in back.values()} == {"pending"}
    assert back[in_flight.id].last_error == outbox.RESENT_AFTER_CRASH
    # The never-started ones were not counted as attempts.
    assert [back[row.id].attempts for row in claimed[1:]] == [0, 0]
    report = await restarted.run_once()
    assert report.sent == 3
    # Every person got their digest; only the one in flight at the crash arrived twice.
    assert Counter(chat for chat, _ in sender.delivered) == {"chat0": 2, "chat1": 1, "chat2": 1}
    assert await statuses(any_core) == {"sent": 3}
    # Later rounds and further restarts send nothing more.
    assert await Delivery(any_core, [sender]).recover() == 0
    assert (await Delivery(any_core, [sender]).run_once()).sent == 0
    assert len(sender.delivered) == 4


async def test_a_claim_within_its_lease_is_not_taken_by_a_second_worker(any_core: Core) -> None:
    await people_with_digests(any_core, 2)
    await sweep(any_core)
    async with any_core.sessions() as session:
        first = await outbox.claim_due(session, any_core.clock.now(), 10, CLAIM_LEASE)
    assert len(first) == 2
    sender = RecordingSender()
    second = Delivery(any_core, [sender])
    assert await second.recover() == 0  # the lease still runs: maybe still sending
    assert (await second.run_once()).sent == 0 and sender.delivered == []


async def test_the_due_look_sees_what_a_claim_would_take_and_nothing_else(any_core: Core) -> None:
    await people_with_digests(any_core, 1)
    await sweep(any_core)
    now = any_core.clock.now()

    async def due(channels: set[str], at: datetime = now) -> bool:
        async with any_core.sessions() as session:
            return await outbox.any_due(session, at, channels)

    assert await due({CHANNEL})
    # Someone not reachable on the channels this worker runs: left alone.
    assert not await due({"wecom"})
    async with any_core.sessions() as session:
        assert len(await outbox.claim_due(session, now, 10, CLAIM_LEASE)) == 1
    assert not await due({CHANNEL})  # claimed: sending, not due


async def test_thirty_percent_faults_still_deliver_every_digest_once(any_core: Core) -> None:
    people = await people_with_digests(any_core, 40)
    assert (await sweep(any_core)).digests == 40
    sender = RecordingSender(fault_rate=0.3)
    delivery = Delivery(any_core, [sender], QuietHours(any_core.tz))
    clock = any_core.clock
    assert isinstance(clock, FixedClock)
    for _ in range(30):
        await delivery.run_once()
        if (await statuses(any_core)) == {"sent": 40}:
            break
        clock.advance(timedelta(seconds=5))  # past every backoff and retry_after so far
    assert await statuses(any_core) == {"sent": 40}
    assert sender.faults > 5
    assert sorted(Counter(chat for chat, _ in sender.delivered).values()) == [1] * len(people)


async def test_quiet_hours_defer_digests_but_not_escalations(any_core: Core) -> None:
    await people_with_digests(any_core, 1)
    clock = any_core.clock
    assert isinstance(clock, FixedClock)
    clock.instant = local(date(2026, 12, 1), 21, 30)
    await sweep(any_core)
    async with any_core.sessions() as session, session.begin():
        supervisor, code = await add_officer(
            session, "领导", "杭州市", Role.SUPERVISOR, clock.now()
        )
        await bind(session, CHANNEL, "lead", "lead-chat", code, "领导", clock.now())
        await outbox.enqueue(
            session,
            outbox.Notification(
                supervisor.id, "escalation", "urgent-1", Reply("督办").to_json(), urgent=True
            ),
            clock.now(),
        )
    sender = RecordingSender()
    delivery = Delivery(any_core, [sender], QuietHours(any_core.tz))
    report = await delivery.run_once()
    assert (report.sent, report.deferred) == (1, 1)
    assert sender.delivered == [("lead-chat", "督办")]
    async with any_core.sessions() as session:
        waiting = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
        assert waiting is not None and waiting.status == "pending" and waiting.attempts == 0
        assert waiting.next_attempt_at == local(date(2026, 12, 2), 8)
    clock.instant = local(date(2026, 12, 2), 8)
    assert (await delivery.run_once()).sent == 1
    assert [chat for chat, _ in sender.delivered] == ["lead-chat", "chat0"]


async def test_a_blocked_chat_is_given_up_with_its_reason(any_core: Core) -> None:
    await people_with_digests(any_core, 1)
    await sweep(any_core)

    class Blocked(RecordingSender):
        async def deliver(self, chat_id: str, reply: Reply) -> None:
            raise DeliveryError("403 forbidden: bot was blocked by the user", permanent=True)

    report = await Delivery(any_core, [Blocked()]).run_once()
    assert report.failed == 1
    async with any_core.sessions() as session:
        message = await session.scalar(select(OutboxMessage))
        assert message is not None and message.status == "failed"
        assert message.last_error is not None and "403" in message.last_error
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None and identity.unreachable_since is not None


async def test_the_worker_paces_a_sender_that_declares_its_limit(core: Core) -> None:
    """60 people at once against a 30/s limit: zero 429s, close to the limit."""
    await people_with_digests(core, 60)
    await sweep(core)
    clock = VirtualTime()
    sender = RateEnforcingSender(limit=30, clock=clock)
    limiter = Limiter(monotonic=clock.monotonic, sleep=clock.sleep)
    report = await Delivery(core, [sender], limiter=limiter).run_once()
    assert report.sent == 60 and sender.rejected == 0
    assert 59 / 30 - 0.05 <= clock.now - 1000.0 <= 59 / 30 + 0.05
