"""Several instances on one database share the inbox (issue 11): any instance takes any
chat's updates, each once, per chat in arrival order, never two turns of one chat at once;
the chats of an instance that died are taken once its leases expire; a turn that committed
but whose replies were never sent is answered from storage, not run twice."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.inbox import LEASE_TTL, InboxWorker
from bot.web import build_app
from bot.wecom import WeComChannel
from domain.clock import FixedClock
from handlers.core import Core
from handlers.dispatcher import handle
from handlers.messages import IncomingEvent, Reply
from storage import inbox
from storage.inbox import Stored
from storage.models import ConversationState, InboxUpdate, Lease, Report
from tests.conftest import build_world, make_core
from tests.e2e.test_wecom_channel import AES_KEY, AGENT, CORP, SECRET, TOKEN, WeCom, settings_for
from tests.fakes.fake_wecom import FakeWeCom
from tests.support import Chat

CHANNEL = "test"
only_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
HandleRow = Callable[[Stored], Awaitable[None]]


@pytest.fixture
async def instances(
    database_url: str, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Callable[[], Core]]:
    """Cores of separate "instances": each its own engine (connection pool) on one database."""
    cores: list[Core] = []

    def another() -> Core:
        cores.append(make_core(database_url, clock, tmp_path / "files"))
        return cores[-1]

    yield another
    for core in cores:
        await core.sessions.kw["bind"].dispose()


async def store(worker: InboxWorker, key: str, chat_id: str, body: dict[str, Any]) -> None:
    """What a channel does on receipt: store the update, then wake its own inbox worker."""
    core = worker.core
    async with core.sessions() as session, session.begin():
        await inbox.store(session, [inbox.Arrival(key, CHANNEL, chat_id, body)], core.clock.now())
    worker.arrived()


async def waiting_rows(core: Core) -> int:
    async with core.sessions() as session:
        query = select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        return int(await session.scalar(query) or 0)


@only_postgresql
async def test_two_instances_handle_every_update_once_in_order_never_two_turns_of_a_chat_at_once(
    instances: Callable[[], Core],
) -> None:
    handled: dict[str, list[int]] = defaultdict(list)
    by_instance: Counter[str] = Counter()
    running: Counter[str] = Counter()
    overlapping: list[str] = []

    def turns_of(name: str, core: Core) -> HandleRow:
        async def handle_row(row: Stored) -> None:
            running[row.chat_id] += 1
            if running[row.chat_id] > 1:
                overlapping.append(row.chat_id)
            # A turn takes a while and talks to the database: the other instance runs meanwhile.
            async with core.sessions() as session:
                await session.execute(select(1))
            await asyncio.sleep(0)
            handled[row.chat_id].append(row.body["n"])
            by_instance[name] += 1
            running[row.chat_id] -= 1

        return handle_row

    first, second = instances(), instances()
    workers = [
        InboxWorker(first, CHANNEL, turns_of("a", first), holder="a"),
        InboxWorker(second, CHANNEL, turns_of("b", second), holder="b"),
    ]
    for worker in workers:
        await worker.start()
    chats, steps = 30, 6
    for n in range(steps):
        for chat in range(chats):
            # Alternately received by one instance and the other; every 4th by both (redelivered).
            receivers = itertools.islice(itertools.cycle(workers), chat + n, chat + n + 2)
            for worker in list(receivers)[: 2 if (chat + n) % 4 == 0 else 1]:
                await store(worker, f"{CHANNEL}:{chat}:{n}", f"c{chat}", {"n": n})
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*(worker.drain() for worker in workers)), 60)
    for worker in workers:
        await worker.stop()

    assert overlapping == []
    assert dict(handled) == {f"c{chat}": list(range(steps)) for chat in range(chats)}
    assert by_instance["a"] > 0 and by_instance["b"] > 0  # any instance takes any chat
    assert sum(by_instance.values()) == chats * steps
    assert await waiting_rows(first) == 0
    async with first.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Lease)) == 0  # let go


@only_postgresql
async def test_the_chats_of_an_instance_that_died_are_taken_once_its_lease_expires(
    instances: Callable[[], Core], clock: FixedClock
) -> None:
    started: list[tuple[str, int]] = []
    in_turn, never = asyncio.Event(), asyncio.Event()

    async def dies_in_its_first_turn(row: Stored) -> None:
        started.append(("a", row.body["n"]))
        in_turn.set()
        await never.wait()

    async def takes_over(row: Stored) -> None:
        started.append(("b", row.body["n"]))

    dying = InboxWorker(instances(), CHANNEL, dies_in_its_first_turn, holder="a")
    survivor = InboxWorker(instances(), CHANNEL, takes_over, holder="b")
    await dying.start()
    for n in range(3):
        await store(dying, f"{CHANNEL}:x:{n}", "x", {"n": n})
    await asyncio.wait_for(in_turn.wait(), 10)
    # The process dies in its turn: no more renewals, nothing recorded.
    hung = list(dying._serving.values())
    assert dying._task is not None
    dying._task.cancel()
    try:
        await survivor.start()
        # The chat is still leased: the survivor looks and leaves it alone…
        for _ in range(3):
            survivor.arrived()
            await asyncio.sleep(0.05)
        assert started == [("a", 0)]
        assert await waiting_rows(survivor.core) == 3
        # …until the lease runs out; then it takes every row the dead instance left, in order.
        clock.advance(LEASE_TTL)
        await asyncio.wait_for(survivor.drain(), 30)
        assert started == [("a", 0), ("b", 0), ("b", 1), ("b", 2)]
        assert await waiting_rows(survivor.core) == 0
    finally:
        await survivor.stop()
        for task in hung:
            task.cancel()
        await asyncio.wait(hung, timeout=10)


@only_postgresql
async def test_a_long_turn_keeps_its_chat_the_lease_is_renewed_while_it_runs(
    instances: Callable[[], Core], clock: FixedClock
) -> None:
    started: list[tuple[str, int]] = []
    in_turn, finish = asyncio.Event(), asyncio.Event()

    async def slow(row: Stored) -> None:
        started.append(("a", row.body["n"]))
        in_turn.set()
        await finish.wait()

    async def other(row: Stored) -> None:
        started.append(("b", row.body["n"]))

    holder = InboxWorker(instances(), CHANNEL, slow, holder="a")
    other_instance = InboxWorker(instances(), CHANNEL, other, holder="b")
    await holder.start()
    try:
        await store(holder, f"{CHANNEL}:y:0", "y", {"n": 0})
        await asyncio.wait_for(in_turn.wait(), 10)
        # Started once the holder has the chat: before, its idle look could take row 0 first.
        await other_instance.start()
        acquired = clock.now()
        for n in range(1, 4):  # 45 s of one turn, half again the lease's term
            clock.advance(LEASE_TTL / 2)
            await renewed(holder.core, "y", until=clock.now() + LEASE_TTL)
            await store(other_instance, f"{CHANNEL}:y:{n}", "y", {"n": n})
        assert clock.now() - acquired > LEASE_TTL
        assert started == [("a", 0)]  # the other instance never took the chat
        finish.set()
        await asyncio.wait_for(holder.drain(), 30)
        assert started == [("a", 0), ("a", 1), ("a", 2), ("a", 3)]
    finally:
        finish.set()
        await holder.stop()
        await other_instance.stop()


async def renewed(core: Core, chat_id: str, until: datetime) -> None:
    """Wait for the holder's next idle look, which renews the chat's lease until `until`."""
    key = inbox.chat_lease(CHANNEL, chat_id)
    for _ in range(100):
        async with core.sessions() as session:
            ends = await session.scalar(select(Lease.expires_at).where(Lease.key == key))
        if ends is not None and ends >= until:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the lease of {chat_id} was not renewed")


def event_of(row: Stored) -> IncomingEvent:
    body = row.body
    return IncomingEvent(
        CHANNEL,
        row.chat_id,
        row.chat_id,
        text=body.get("text", ""),
        payload=body.get("payload"),
        update_key=row.key,
    )


async def test_a_turn_committed_but_never_answered_is_answered_from_storage_not_run_again(
    any_core: Core,
) -> None:
    core = any_core
    world = await build_world(core)
    staff = Chat(core, "staff", channel=CHANNEL)
    assert "绑定成功" in (await staff.send(f"/start {world.enterprise[1]}"))[0].text
    for step in ("/report", "rp:area:std", "rp:areas", "M8 螺栓", "尺寸超差", "rp:files"):
        await (staff.press(step) if step.startswith("rp:") else staff.send(step))
    await staff.press("rp:urg:normal")
    assert staff.find_button("rp:submit") is not None
    received: list[Reply] = []

    async def send(row: Stored) -> None:
        handled = await handle(core, event_of(row))
        assert handled.repeat
        received.extend(handled.replies)

    worker = InboxWorker(core, CHANNEL, send, holder="second")
    async with core.sessions() as session, session.begin():
        submit = inbox.Arrival("test:submit", CHANNEL, "staff", {"payload": "rp:submit"})
        await inbox.store(session, [submit], core.clock.now())
        row = (await inbox.waiting(session, CHANNEL, "staff"))[0]
    # An instance runs the turn, commits, and dies before sending or marking the row done.
    lost = (await handle(core, event_of(row))).replies
    assert "QP-2026-" in lost[-1].text

    await worker.start()
    await worker.drain()
    await worker.stop()
    # The person receives the same answer, from storage: the report was submitted once.
    assert [reply.to_json() for reply in received] == [reply.to_json() for reply in lost]
    async with core.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 1
        state = await session.get(ConversationState, (CHANNEL, "staff"))
        assert state is not None and state.flow is None  # the draft ended once, with the submit
    assert await waiting_rows(core) == 0


@only_postgresql
async def test_two_wecom_instances_answer_every_callback_once_in_order(
    instances: Callable[[], Core], database_url: str
) -> None:
    """The real channel: callbacks spread over two instances, some delivered to both."""
    people, steps = 8, 5
    async with (
        FakeWeCom(CORP, SECRET, agent_id=AGENT) as fake,
        contextlib.AsyncExitStack() as stack,
    ):
        sides: list[WeCom] = []
        for name in ("a", "b"):
            core = instances()
            settings = settings_for(fake.base_url, database_url).model_copy(
                update={"instance_name": name}
            )
            channel = WeComChannel(settings, core)
            await channel.start()
            stack.push_async_callback(channel.stop)
            transport = httpx.ASGITransport(app=build_app(core, channel.routes()))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://qabot")
            )
            sides.append(WeCom(fake, channel, client, core, WeChatCrypto(TOKEN, AES_KEY, CORP)))
        for step in range(steps):
            for person in range(people):
                inner = WeCom.message(f"u{person}", "text", Content=f"/c{person}n{step}")
                body, query = sides[0].encrypt(inner)
                receivers = sides if (person + step) % 3 == 0 else [sides[(person + step) % 2]]
                for side in receivers:  # WeCom redelivers when it misses the answer
                    assert (await side.post_raw(body, query)).status_code == 200
        await asyncio.wait_for(asyncio.gather(*(side.channel.drain() for side in sides)), 60)

    for person in range(people):
        said = [
            text.split("/", 1)[1].split(" ", 1)[0]
            for text in WeCom.texts(sides[0].to(f"u{person}")).splitlines()
            if "这个命令" in text
        ]
        assert said == [f"c{person}n{step}" for step in range(steps)]


@only_postgresql
async def test_many_chats_let_go_at_once_without_a_deadlock(
    instances: Callable[[], Core], caplog: pytest.LogCaptureFixture
) -> None:
    """Chats finishing together each record their handled rows and give their lease up; the
    records must not cross (PostgreSQL would end one as a deadlock and the chat would wait)."""
    core = instances()

    async def handle_row(row: Stored) -> None:
        await asyncio.sleep(0)

    worker = InboxWorker(core, CHANNEL, handle_row, holder="a")
    await worker.start()
    chats, steps = 60, 3
    async with core.sessions() as session, session.begin():
        arrivals = [
            inbox.Arrival(f"{CHANNEL}:{chat}:{n}", CHANNEL, f"c{chat}", {"n": n})
            for n in range(steps)
            for chat in range(chats)
        ]
        await inbox.store(session, arrivals, core.clock.now())
    worker.arrived()
    await asyncio.wait_for(worker.drain(), 60)
    await worker.stop()
    assert "not let go" not in caplog.text
    assert await waiting_rows(core) == 0
    async with core.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Lease)) == 0
