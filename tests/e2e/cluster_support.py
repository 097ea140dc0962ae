"""Several `qabot run` instances on one PostgreSQL database, fed as a load balancer in front of
them would be: each delivery to one instance in turn, some to all of them at once (the platform
redelivering a slow answer), a refused or broken delivery retried at the next instance."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from aiohttp import ClientError, ClientSession, ClientTimeout

from domain.clock import SystemClock
from domain.roles import Role
from handlers.usecases.people import add_enterprise, add_officer
from tests.conftest import _dsn, make_core
from tests.e2e.telegram_support import BotProcess, Person
from tests.fakes.fake_telegram import FakeTelegram, Json, StoredMessage

# High enough that pacing never sets the pace, as in the benchmarks: these tests measure
# that nothing is lost or doubled, not the platform limits (tests of pacing do that).
UNPACED = {"TELEGRAM_MESSAGES_PER_SECOND": "100000", "TELEGRAM_CHAT_MESSAGES_PER_SECOND": "100000"}


async def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return [tuple(row) for row in await connection.fetch(sql, *params)]
    finally:
        await connection.close()


@dataclass
class Province:
    """Officers and the enterprises they look after, each with its binding code."""

    officer_codes: list[str]
    enterprise_codes: list[str]
    enterprise_names: list[str]


async def seed(url: str, officers: int, enterprises: int, files: Path) -> Province:
    """`enterprises` firms shared round-robin among `officers` officers (so each officer's
    notices stay within a platform's per-chat limits)."""
    core = make_core(url, SystemClock(), files)  # type: ignore[arg-type]
    now = core.clock.now()
    province = Province([], [], [])
    try:
        async with core.sessions() as session, session.begin():
            people = []
            for number in range(officers):
                officer, code = await add_officer(
                    session, f"官员{number}", "杭州市", Role.OFFICER, now
                )
                people.append(officer)
                province.officer_codes.append(code)
            for number in range(enterprises):
                name = f"杭州第{number}机械有限公司"
                officer = people[number % officers]
                _, code = await add_enterprise(session, name, "杭州市", officer.id, None, now)
                province.enterprise_codes.append(code)
                province.enterprise_names.append(name)
    finally:
        await core.sessions.kw["bind"].dispose()
    return province


class Listening(Protocol):
    name: str

    @property
    def listen(self) -> str: ...


@dataclass
class Spreader:
    """Posts each delivery to the instances in turn; every `both_every`th (if not 0) to all of
    them at once. A delivery not answered 2xx (instance down, connection cut) is posted again
    to the next instance, until one takes it — as a platform's retry through a balancer."""

    instances: list[Listening]
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    both_every: int = 7
    retry_delay: float = 0.2
    deliveries: int = 0
    accepted: Counter[str] = field(default_factory=Counter)  # instance name -> 2xx answers
    failed: int = 0
    _session: ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def deliver(self, body: bytes, params: dict[str, str] | None = None) -> None:
        self.deliveries += 1
        count = len(self.instances)
        if self.both_every and self.deliveries % self.both_every == 0:
            firsts = list(range(count))
        else:
            firsts = [self.deliveries % count]
        for first in firsts:
            task = asyncio.get_running_loop().create_task(self._until_taken(first, body, params))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _until_taken(self, first: int, body: bytes, params: dict[str, str] | None) -> None:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=30))
        attempt = 0
        while True:
            instance = self.instances[(first + attempt) % len(self.instances)]
            url = f"http://{instance.listen}{self.path}"
            try:
                async with self._session.post(
                    url, data=body, params=params, headers=self.headers
                ) as response:
                    await response.read()
                    status = response.status
            except (ClientError, TimeoutError):
                status = 0
            if 200 <= status < 300:
                self.accepted[instance.name] += 1
                return
            self.failed += 1
            attempt += 1
            await asyncio.sleep(self.retry_delay)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


@dataclass
class Instance(BotProcess):
    """One `qabot run` of the cluster: its own name, port and logs; the shared data folder."""

    name: str = "a"
    shared: Path | None = None

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(UNPACED, QABOT_INSTANCE=self.name)
        if self.shared is not None:
            env["QABOT_DATA_DIR"] = str(self.shared)
        return env


def normalised(message: StoredMessage, names: list[str]) -> str:
    """A bot message as a person sees it, without what differs between people (their firm's
    name, the report's reference)."""
    text = re.sub(r"QP-[0-9-]+", "QP-#", message.text or "")
    for name in names:
        text = text.replace(name, "<firm>")
    return text


def transcripts(people: list[Person], names: list[str]) -> dict[int, tuple[str, ...]]:
    return {
        p.user_id: tuple(normalised(m, names) for m in p.messages() if m.from_bot) for p in people
    }


def extra_messages(transcript: tuple[str, ...], usual: tuple[str, ...]) -> int:
    """How many messages this chat got beyond the usual conversation (doubled replies)."""
    return sum((Counter(transcript) - Counter(usual)).values())


def missing_messages(transcript: tuple[str, ...], usual: tuple[str, ...]) -> int:
    return sum((Counter(usual) - Counter(transcript)).values())


class SpreadingTelegram(FakeTelegram):
    """The fake Bot API, its updates posted through a Spreader rather than to its one webhook
    (each instance registers its own URL; Telegram would keep the last, a balancer spreads)."""

    spreader: Spreader | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.webhook_auto_deliver = False

    def push_update(self, update: Json) -> Json:
        update = super().push_update(update)
        self._updates.clear()  # nobody polls: every update goes out through the spreader
        assert self.spreader is not None, "set the spreader before people write"
        self.spreader.deliver(json.dumps(update).encode())
        return update


class Restartable(Protocol):
    name: str

    async def kill9(self) -> None: ...

    async def start(self) -> None: ...


async def crash_and_restart(victim: Restartable, when: asyncio.Event) -> float:
    """SIGKILL `victim` once `when` is set and start it again a second later, under a new
    name (nothing of the dead instance is reused); the loop time of the kill."""
    await when.wait()
    await victim.kill9()
    killed = asyncio.get_running_loop().time()
    await asyncio.sleep(1.0)
    victim.name += "-restarted"
    await victim.start()
    return killed


@dataclass
class Progress:
    """Steps done by everyone; `half_way` is set once half of `total` are."""

    total: int
    done: int = 0
    half_way: asyncio.Event = field(default_factory=asyncio.Event)

    def step(self) -> None:
        self.done += 1
        if self.done >= self.total // 2:
            self.half_way.set()


def differences(
    chats: dict[Any, tuple[str, ...]], usual: tuple[str, ...]
) -> dict[Any, dict[str, list[str]]]:
    """Per chat unlike the usual one: the beginnings of its extra and missing messages, and
    where its order first differs."""
    found = {}
    for chat, transcript in chats.items():
        if transcript == usual:
            continue
        extra = Counter(transcript) - Counter(usual)
        missing = Counter(usual) - Counter(transcript)
        first = (
            next(
                n
                for n, pair in enumerate(zip(transcript, usual, strict=False))
                if pair[0] != pair[1]
            )
            if any(a != b for a, b in zip(transcript, usual, strict=False))
            else min(len(transcript), len(usual))
        )
        found[chat] = {
            "extra": [text[:30] for text in extra.elements()],
            "missing": [text[:30] for text in missing.elements()],
            "from": [text[:30] for text in transcript[first : first + 3]],
            "instead of": [text[:30] for text in usual[first : first + 3]],
        }
    return found


async def stored_reports(url: str, reporters: list[str]) -> list[str]:
    """The references of the stored reports, oldest first, after checking that each of the
    `reporters` (their channel user ids) stored exactly one."""
    rows = await query(
        url,
        "SELECT r.reference, i.external_id FROM reports r "
        "JOIN channel_identities i ON i.person_id = r.reporter_id ORDER BY r.id",
    )
    per_reporter = Counter(external for _, external in rows)
    assert sorted(per_reporter) == sorted(reporters), per_reporter
    assert set(per_reporter.values()) == {1}, f"reports stored twice: {per_reporter}"
    return [reference for reference, _ in rows]


async def notices_once_all_arrived(
    counted: Callable[[], Counter[str]], references: list[str]
) -> Counter[str]:
    """`counted()` (notices per reference) once every reference has one (or after 30 s), and
    2 s more, by when a doubled notice would have arrived too."""
    for _ in range(300):
        if set(references) <= set(counted()):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)
    return counted()


def most_common(chats: dict[Any, tuple[str, ...]]) -> tuple[str, ...]:
    """The transcript most chats share: what every chat should have seen."""
    return Counter(chats.values()).most_common(1)[0][0]
