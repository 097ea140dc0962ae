"""The polling loop hands its freshly stored batches to the inbox worker (bot/inbox.py
`hand_over`) instead of the worker reading them back: with the worker's own looks at the table
interleaved at any point, each update is still handled once, per chat in arrival order."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

from bot.inbox import InboxWorker
from handlers.core import Core
from storage import inbox
from storage.inbox import Stored

CHANNEL = "test"


async def test_batches_handed_over_while_the_worker_also_looks_are_each_handled_once_in_order(
    core: Core,
) -> None:
    handled: dict[str, list[int]] = defaultdict(list)

    async def handle_row(row: Stored) -> None:
        for _ in range(row.id % 3):  # turns of different lengths: chats overtake each other
            await asyncio.sleep(0)
        handled[row.chat_id].append(row.body["n"])

    worker = InboxWorker(core, CHANNEL, handle_row)
    await worker.start()
    chance = random.Random(10)
    sent: dict[str, list[int]] = defaultdict(list)
    number = 0
    try:
        for _batch in range(80):
            if chance.random() < 0.3:
                worker.arrived()  # the worker's idle look, due just now
            arrivals = []
            for _ in range(chance.randint(1, 5)):
                number += 1
                chat = f"chat{chance.randint(1, 6)}"
                sent[chat].append(number)
                arrivals.append(inbox.Arrival(f"u{number}", CHANNEL, chat, {"n": number}))
            async with core.sessions() as session, session.begin():
                stored = await inbox.store(session, arrivals, core.clock.now())
            worker.hand_over(stored)
            for _ in range(chance.randint(0, 3)):
                await asyncio.sleep(0)
        await asyncio.wait_for(worker.drain(), 10)
    finally:
        await worker.stop()
    assert dict(handled) == dict(sent)
