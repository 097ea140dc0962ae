"""Master data and binding: bureaus, people, enterprises, codes, channel identities."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from domain.binding import FAILURE_MEMORY, bind_wait
from domain.credit_code import InvalidCreditCode, validate_credit_code
from domain.errors import DomainError, NotFound
from domain.roles import BUREAU_ROLES, Actor, Role
from domain.text import clip
from handlers.usecases.notify import audit
from storage.models import (
    BindingCode,
    BindingFailure,
    Bureau,
    ChannelIdentity,
    Enterprise,
    Person,
)

PROVINCE_NAMES = ("省局", "province", "省")
# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
STAFF_CODE_LIFETIME = timedelta(days=365)
LINK_CODE_LIFETIME = timedelta(minutes=10)
# A leaked officer code that was never used stops working on its own; `qabot code reissue`.
OFFICER_CODE_LIFETIME = timedelta(days=14)
MAX_NAME = 100
MAX_CITY = 50  # bureaus.city is VARCHAR(50)


def actor_of(person: Person) -> Actor:
    return Actor(
        person_id=person.id,
        role=person.role,
        bureau_id=person.bureau_id,
        bureau_is_province=bool(person.bureau and person.bureau.is_province),
        enterprise_id=person.enterprise_id,
    )


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def normalise_code(text: str) -> str:
    return "".join(text.split()).upper().replace("-", "")


def clean_name(text: str, key: str = "error.name_invalid", limit: int = MAX_NAME) -> str:
    name = " ".join(text.split())
    if not name or len(name) > limit:
        raise DomainError(key, limit=limit)
    return name


async def bureau_for(session: AsyncSession, city: str) -> Bureau:
    """Find or create the bureau of a city; "省局" means the provincial bureau."""
    city = clean_name(city, "error.city_invalid", MAX_CITY)
    if city.lower() in PROVINCE_NAMES:
        found = await session.scalar(select(Bureau).where(Bureau.is_province.is_(True)))
        if found is None:
            found = Bureau(name="省局", city=None, is_province=True)
            session.add(found)
            await session.flush()
        return found
    found = await session.scalar(select(Bureau).where(Bureau.city == city))
    if found is None:
        found = Bureau(name=city, city=city, is_province=False)
        session.add(found)
        await session.flush()
    return found


async def add_officer(
    session: AsyncSession, name: str, city: str, role: Role, now: datetime
) -> tuple[Person, str]:
    """Add an officer, supervisor or admin; return them and their one-time binding code."""
    if role not in BUREAU_ROLES:
        raise DomainError("error.role_invalid")
    bureau = await bureau_for(session, city)
    person = Person(name=clean_name(name), role=role, bureau_id=bureau.id, created_at=now)
    session.add(person)
    await session.flush()
    code = await _issue_code(
        session, now, person_id=person.id, expires_at=now + OFFICER_CODE_LIFETIME
    )
    audit(session, None, "person.add", "person", person.id, now, role=role.value, code=code)
    return person, code


async def add_enterprise(
    session: AsyncSession,
    name: str,
    city: str,
    officer_id: int,
    credit_code: str | None,
    now: datetime,
) -> tuple[Enterprise, str]:
    """Add an enterprise assigned to an officer; return it and its staff binding code."""
    officer = await session.get(Person, officer_id)
    if officer is None or officer.role not in BUREAU_ROLES:
        raise NotFound("error.officer_unknown", id=officer_id)
    bureau = await bureau_for(session, city)
    officer_bureau = await session.get(Bureau, officer.bureau_id)
    if officer_bureau is None or not (officer_bureau.is_province or officer_bureau.id == bureau.id):
        raise DomainError("error.officer_other_city", city=bureau.name)
    code_value: str | None = None
    if credit_code:
        try:
            code_value = validate_credit_code(credit_code)
        except InvalidCreditCode:
            raise DomainError("error.credit_code_invalid", code=credit_code) from None
        taken = await session.scalar(
            select(Enterprise.id).where(Enterprise.credit_code == code_value)
        )
        if taken is not None:
            raise DomainError("error.credit_code_taken", code=code_value)
    enterprise = Enterprise(
        name=clean_name(name, "error.enterprise_name_invalid"),
        bureau_id=bureau.id,
        officer_id=officer.id,
        credit_code=code_value,
        created_at=now,
    )
    session.add(enterprise)
    await session.flush()
    code = await _issue_code(
        session,
        now,
        enterprise_id=enterprise.id,
        reusable=True,
        expires_at=now + STAFF_CODE_LIFETIME,
    )
    audit(session, None, "enterprise.add", "enterprise", enterprise.id, now, officer_id=officer.id)
    return enterprise, code


async def _issue_code(
    session: AsyncSession,
    now: datetime,
    person_id: int | None = None,
    enterprise_id: int | None = None,
    reusable: bool = False,
    expires_at: datetime | None = None,
) -> str:
    while True:
        code = new_code()
        if await session.scalar(select(BindingCode.id).where(BindingCode.code == code)) is None:
            break
    session.add(
        BindingCode(
            code=code,
            person_id=person_id,
            enterprise_id=enterprise_id,
            reusable=reusable,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return code


async def issue_link_code(session: AsyncSession, person: Person, now: datetime) -> str:
    """A one-time code, valid for minutes, that binds another channel to this same person."""
    code = await _issue_code(session, now, person_id=person.id, expires_at=now + LINK_CODE_LIFETIME)
    audit(session, person.id, "binding.link_code", "person", person.id, now)
    return code


async def _identity(
    session: AsyncSession, channel: str, external_id: str
) -> ChannelIdentity | None:
    return await session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    )


async def person_for_identity(
    session: AsyncSession, channel: str, external_id: str
) -> Person | None:
    identity = await _identity(session, channel, external_id)
    return None if identity is None else await session.get(Person, identity.person_id)


def person_seen(
    identity: ChannelIdentity | None, person: Person | None, chat_id: str, now: datetime
) -> Person | None:
    """The person bound to the account talking (loaded with the turn), remembered as just
    seen here (notifications follow the channel used last); None for an unbound account."""
    if identity is None or person is None:
        return None
    _seen(identity, chat_id, now)
    # A deactivated officer's chats read as unbound: no reports, no commitments, no actions.
    return None if person.deactivated_at is not None else person


# "Seen" is stamped at most once a minute per account: most turns then write nothing for it
# (issue 10, a lean turn). The cost: between two channels used within the same minute the
# notifications may follow the one used a few seconds earlier.
SEEN_GRANULARITY = timedelta(minutes=1)


def _seen(identity: ChannelIdentity, chat_id: str, now: datetime) -> None:
    if identity.chat_id != chat_id:
        identity.chat_id = chat_id
    if identity.unreachable_since is not None:
        identity.unreachable_since = None
    if now - identity.last_seen_at >= SEEN_GRANULARITY or now < identity.last_seen_at:
        identity.last_seen_at = now


class BindThrottled(DomainError):
    """Too many wrong codes from this chat or account: it must wait before trying again."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__("bind.throttled", minutes=max(1, -(-int(wait.total_seconds()) // 60)))


class BindChangeUnconfirmed(DomainError):
    """A bureau person's account would become someone else: they are asked first."""

    def __init__(self, current: Person, target: str) -> None:
        super().__init__("bind.confirm_change", name=current.name, target=target)
        self.current_role = current.role


async def try_bind(
    session: AsyncSession,
    channel: str,
    external_id: str,
    chat_id: str,
    code_text: str,
    display_name: str | None,
    now: datetime,
    confirmed: bool = False,
) -> Person:
    """Bind like `bind`, within the guessing limit; record and audit every refused attempt.

    The caller keeps the transaction when this raises: the refusal itself is the record.
    """
    where = {"channel": channel, "chat_id": chat_id, "external_id": external_id}
    await _one_attempt_at_a_time(session, f"{channel}:chat:{chat_id}", f"{channel}:{external_id}")
    failures = await session.scalars(
        select(BindingFailure.at).where(
            BindingFailure.channel == channel,
            or_(BindingFailure.chat_id == chat_id, BindingFailure.external_id == external_id),
            BindingFailure.at > now - FAILURE_MEMORY,
        )
    )
    wait = bind_wait(list(failures), now)
    if wait:
        audit(session, None, "binding.throttled", "chat", None, now, **where)
        raise BindThrottled(wait)
    try:
        return await bind(
            session, channel, external_id, chat_id, code_text, display_name, now, confirmed
        )
    except BindChangeUnconfirmed:
        raise
    except DomainError as refusal:
        session.add(BindingFailure(at=now, **where))
        audit(session, None, "binding.failed", "chat", None, now, reason=refusal.key, **where)
        raise


async def _one_attempt_at_a_time(session: AsyncSession, *keys: str) -> None:
    """Serialise binding attempts of a chat and an account until this transaction ends.

    Otherwise concurrent turns (PostgreSQL runs several at once, on several instances) would
    each count the failures before any of them is stored and all pass the limit. SQLite runs
    one writing turn at a time already.
    """
    engine = session.bind
    if engine is None or engine.dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):  # one order everywhere: no deadlock between two attempts
        number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
        await session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": number - 2**63})


async def bind(
    session: AsyncSession,
    channel: str,
    external_id: str,
    chat_id: str,
    code_text: str,
    display_name: str | None,
    now: datetime,
    confirmed: bool = False,
) -> Person:
    """Bind a chat account to the person (or enterprise) a code stands for.

    An officer, supervisor or admin whose account would become another person (e.g. staff,
    by a staff code) is refused with BindChangeUnconfirmed unless `confirmed`.
    """
    code_value = normalise_code(code_text)
    if not code_value:
        raise DomainError("bind.code_missing")
    code = await session.scalar(select(BindingCode).where(BindingCode.code == code_value))
    if code is None:
        raise DomainError("bind.code_unknown")
    if code.expires_at is not None and code.expires_at <= now:
        raise DomainError("bind.code_expired")
    current = await person_for_identity(session, channel, external_id)
    if code.person_id is not None:
        person = await session.get(Person, code.person_id)
        if person is None:
            raise DomainError("bind.code_unknown")
        if code.used_at is not None and (current is None or current.id != person.id):
            raise DomainError("bind.code_used")
        if not confirmed and _changes_bureau_person(current, person.id):
            assert current is not None
            raise BindChangeUnconfirmed(current, person.name)
        code.used_at = code.used_at or now
    else:
        if (
            current is not None
            and current.role is Role.STAFF
            and current.enterprise_id == code.enterprise_id
        ):
            person = current
        else:
            enterprise = await session.get(Enterprise, code.enterprise_id)
            fallback = enterprise.name if enterprise else "—"
            if not confirmed and _changes_bureau_person(current, None):
                assert current is not None
                raise BindChangeUnconfirmed(current, fallback)
            person = Person(
                # Telegram allows 64 + 64 characters of first and last name: shorten, not refuse.
                name=clean_name(clip(" ".join((display_name or "").split()), MAX_NAME) or fallback),
                role=Role.STAFF,
                enterprise_id=code.enterprise_id,
                created_at=now,
            )
            session.add(person)
            await session.flush()
        code.used_at = now
    await _attach_identity(session, person, channel, external_id, chat_id, now)
    audit(session, person.id, "binding.bind", "person", person.id, now, channel=channel)
    return person


def _changes_bureau_person(current: Person | None, target_id: int | None) -> bool:
    """Would binding make a bound officer, supervisor or admin account somebody else?"""
    return current is not None and current.role in BUREAU_ROLES and current.id != target_id


async def _attach_identity(
    session: AsyncSession,
    person: Person,
    channel: str,
    external_id: str,
    chat_id: str,
    now: datetime,
) -> None:
    identity = await _identity(session, channel, external_id)
    if identity is None:
        session.add(
            ChannelIdentity(
                person_id=person.id,
                channel=channel,
                external_id=external_id,
                chat_id=chat_id,
                last_seen_at=now,
            )
        )
    else:
        identity.person_id = person.id
        _seen(identity, chat_id, now)


async def count_people(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(Person.id))) or 0)
