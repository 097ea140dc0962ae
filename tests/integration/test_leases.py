"""Leases (storage/leases.py), on SQLite and PostgreSQL: one holder at a time, passed on
when the holder stops renewing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from handlers.core import Core
from storage import leases

TTL = timedelta(seconds=30)


async def _take(core: Core, key: str, holder: str, after: timedelta = timedelta()) -> bool:
    async with core.sessions() as session, session.begin():
        return await leases.acquire(session, key, holder, core.clock.now() + after, TTL)


async def test_a_held_lease_is_refused_to_others_and_renewed_for_its_holder(any_core: Core) -> None:
    assert await _take(any_core, "chat:telegram:1", "a")
    assert not await _take(any_core, "chat:telegram:1", "b")
    assert await _take(any_core, "chat:telegram:1", "a", after=timedelta(seconds=20))
    # Renewed at +20 s: still a's at +40 s, although the first term ended at +30 s.
    assert not await _take(any_core, "chat:telegram:1", "b", after=timedelta(seconds=40))
    # Other keys are independent.
    assert await _take(any_core, "chat:telegram:2", "b")


async def test_an_expired_lease_passes_to_the_next_taker(any_core: Core) -> None:
    assert await _take(any_core, "sweep:2026-12-01", "a")
    assert await _take(any_core, "sweep:2026-12-01", "b", after=TTL)
    assert not await _take(any_core, "sweep:2026-12-01", "a", after=TTL)


async def test_a_released_lease_is_free_at_once_but_only_its_holder_releases(
    any_core: Core,
) -> None:
    assert await _take(any_core, "k", "a")
    async with any_core.sessions() as session, session.begin():
        await leases.release(session, "k", "b")  # not b's: nothing happens
    assert not await _take(any_core, "k", "b")
    async with any_core.sessions() as session, session.begin():
        await leases.release(session, "k", "a")
    assert await _take(any_core, "k", "b")


async def test_of_many_simultaneous_takers_exactly_one_wins(any_core: Core) -> None:
    won = await asyncio.gather(*(_take(any_core, "contested", f"i{n}") for n in range(12)))
    assert sum(won) == 1


async def test_prune_deletes_only_expired_leases(any_core: Core) -> None:
    assert await _take(any_core, "old", "a", after=-TTL * 2)
    assert await _take(any_core, "current", "a")
    async with any_core.sessions() as session, session.begin():
        assert await leases.prune(session, any_core.clock.now()) == 1
    assert not await _take(any_core, "current", "b")


async def test_renew_extends_only_the_leases_the_holder_still_has(any_core: Core) -> None:
    assert await _take(any_core, "mine", "a")
    assert await _take(any_core, "theirs", "b")
    later = any_core.clock.now() + timedelta(seconds=20)
    async with any_core.sessions() as session, session.begin():
        assert await leases.renew(session, ["mine", "theirs", "gone"], "a", later, TTL) == 1
    # a's runs to +50 s now; b's still ends at +30 s.
    assert not await _take(any_core, "mine", "b", after=timedelta(seconds=40))
    assert await _take(any_core, "theirs", "c", after=timedelta(seconds=30))
