"""The outbox worker: claim due notifications, send each on the person's last-used
channel, mark it sent, or put it back with backoff (README "Delivery guarantees")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.pacing import Budget, Limiter
from handlers.attachments import load_attachments
from handlers.core import Core
from handlers.messages import Reply
from storage import outbox
from storage.models import ChannelIdentity, OutboxMessage

if TYPE_CHECKING:
    from bot.channels import Channel

log = logging.getLogger(__name__)

# Small: after a crash the claimed rows wait for their lease to run out before they go back.
CLAIM_BATCH = 16
# Short, and renewed while the batch is being sent (pacing can make that take longer): the
# claims of a worker that died return to the queue within seconds, not minutes.
CLAIM_LEASE = timedelta(seconds=20)
RENEW_CLAIMS_EVERY = 5.0
# The channel label of a deferral decided before a channel was chosen (quiet hours, none).
NO_CHANNEL = "none"
# A dead worker's claims wait for their lease anyway: looking every 10 s is soon enough.
RECOVER_EVERY = 10.0
# People served at once within a batch; one person's messages always go one by one, in order.
CONCURRENT_PEOPLE = 8


class DeliveryError(Exception):
    """A failed send. `permanent`: never retry (e.g. the user blocked the bot)."""

    def __init__(
        self, reason: str, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class Sender(Protocol):
    """One channel's way of delivering a reply to a chat; raises DeliveryError.

    A sender paces itself to its platform's limits inside `deliver` (the Telegram and WeCom
    channels do). A sender that does not may declare `max_per_second`: the worker then spaces
    its sends on that channel (bot/pacing.py) so that no second holds more than that many.
    """

    channel: str
    # None: the sender paces itself.
    max_per_second: float | None

    async def deliver(self, chat_id: str, reply: Reply) -> None: ...


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0


class QuietHours(Protocol):
    def defer_until(self, now: datetime) -> datetime | None:
        """When a non-urgent message may go out, or None if it may go now."""
        ...


class Delivery:
    def __init__(
        self,
        core: Core,
        senders: list[Sender],
        quiet_hours: QuietHours | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.core = core
        self.senders = {sender.channel: sender for sender in senders}
        self.quiet_hours = quiet_hours
        self.wakeup = asyncio.Event()
        self.limiter = limiter or Limiter()
        self.spacing = {
            sender.channel: Budget.per_second(float(limit))
            for sender in senders
            if (limit := sender.max_per_second)
        }

    async def recover(self) -> int:
        """Put claims left by a worker that died back in the queue (README "Delivery")."""
        async with self.core.sessions() as session, session.begin():
            return await outbox.recover_stale_claims(session, self.core.clock.now())

    async def run_once(self) -> DeliveryReport:
        """Deliver every message that is due now; return what happened."""
        report = DeliveryReport()
        while True:
            async with self.core.sessions() as session:
                if not await outbox.any_due(session, self.core.clock.now(), set(self.senders)):
                    return report
            async with self.core.sessions() as session:
                batch = await outbox.claim_due(
                    session,
                    self.core.clock.now(),
                    CLAIM_BATCH,
                    CLAIM_LEASE,
                    channels=set(self.senders),
                )
            if not batch:
                return report
            by_person: dict[int, list[OutboxMessage]] = {}
            for message in batch:
                by_person.setdefault(message.person_id, []).append(message)
            gate = asyncio.Semaphore(CONCURRENT_PEOPLE)
            renewing = asyncio.create_task(self._keep_claims([m.id for m in batch]))
            try:
                await asyncio.gather(
                    *(self._serve(messages, gate, report) for messages in by_person.values())
                )
            finally:
                renewing.cancel()

    async def _keep_claims(self, ids: list[int]) -> None:
        """Extend the batch's claims while it is being sent, so only a dead worker's lapse."""
        while True:
            await asyncio.sleep(RENEW_CLAIMS_EVERY)
            try:
                async with self.core.sessions() as session, session.begin():
                    await outbox.extend_claims(
                        session, ids, self.core.clock.now() + CLAIM_LEASE
                    )
            except Exception as error:  # the next try, or the sends, will say more
                log.warning("outbox claims not extended: %s", error)

    async def _serve(
        self, messages: list[OutboxMessage], gate: asyncio.Semaphore, report: DeliveryReport
    ) -> None:
        """One person's messages, one after the other so they arrive in order."""
        async with gate:
            for message in messages:
                await self._deliver_one(message, report)

    async def run_forever(self, idle_seconds: float = 1.0) -> None:
        recovered_at = -RECOVER_EVERY
        while True:
            try:
                # Claims of a worker that died go back to the queue; not every round: rounds
                # follow every turn, and a recovery is a write transaction.
                if time.monotonic() - recovered_at >= RECOVER_EVERY:
                    await self.recover()
                    recovered_at = time.monotonic()
                await self.run_once()
            except Exception:
                log.exception("delivery round failed; retrying")
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), idle_seconds)

    async def _deliver_one(self, message: OutboxMessage, report: DeliveryReport) -> None:
        now = self.core.clock.now()
        async with self.core.sessions() as session, session.begin():
            if not message.urgent and self.quiet_hours is not None:
                until = self.quiet_hours.defer_until(now)
                if until is not None:
                    await outbox.defer(session, message.id, until, "quiet hours")
                    report.deferred += 1
                    metrics.current().record_delivery(NO_CHANNEL, "deferred")
                    return
            identity = await _last_used_identity(session, message.person_id, set(self.senders))
            if identity is None:
                # The person has no reachable channel running here: keep it for later.
                await outbox.defer(session, message.id, now + timedelta(minutes=1), "no channel")
                report.deferred += 1
                metrics.current().record_delivery(NO_CHANNEL, "deferred")
                return
            await outbox.mark_started(session, message.id, now)
        sender = self.senders[identity.channel]
        spacing = self.spacing.get(identity.channel)
        if spacing is not None:
            await self.limiter.wait([(f"sender:{identity.channel}", spacing)])
        try:
            reply = Reply.from_json(message.message)
            await load_attachments(self.core, [reply])
            await sender.deliver(identity.chat_id, reply)
        except DeliveryError as error:
            await self._failed(message, identity, error, report)
            return
        except Exception as error:  # an unexpected bug must not lose the message
            log.exception("sending outbox message %s failed", message.id)
            await self._failed(message, identity, DeliveryError(repr(error)), report)
            return
        async with self.core.sessions() as session, session.begin():
            await outbox.mark_sent(session, message.id, identity.channel, self.core.clock.now())
        report.sent += 1
        metrics.current().record_delivery(identity.channel, "sent")

    async def _failed(
        self,
        message: OutboxMessage,
        identity: ChannelIdentity,
        error: DeliveryError,
        report: DeliveryReport,
    ) -> None:
        now = self.core.clock.now()
        give_up = error.permanent or message.attempts >= outbox.MAX_ATTEMPTS
        async with self.core.sessions() as session, session.begin():
            if error.permanent:
                stored = await session.get(ChannelIdentity, identity.id)
                if stored is not None:
                    stored.unreachable_since = now
            await outbox.mark_retry(
                session,
                message.id,
                error.reason,
                now + outbox.backoff(message.attempts, error.retry_after),
                give_up,
            )
        if give_up:
            report.failed += 1
            metrics.current().record_delivery(identity.channel, "failed")
            log.warning("outbox message %s given up: %s", message.id, error.reason)
        else:
            report.retried += 1
            metrics.current().record_delivery(identity.channel, "retried")


async def open_senders(senders: list[Channel]) -> None:
    """Make channels able to send without receiving (for `qabot remind`)."""
    for sender in senders:
        await sender.open_for_sending()


async def close_senders(senders: list[Channel]) -> None:
    for sender in senders:
        await sender.close_for_sending()


async def _last_used_identity(
    session: AsyncSession, person_id: int, channels: set[str]
) -> ChannelIdentity | None:
    return await session.scalar(
        select(ChannelIdentity)
        .where(
            ChannelIdentity.person_id == person_id,
            ChannelIdentity.channel.in_(channels),
            ChannelIdentity.unreachable_since.is_(None),
        )
        .order_by(ChannelIdentity.last_seen_at.desc())
        .limit(1)
    )
