"""One turn: load who is talking and where they are, run the step, save, reply.

Where is a button handled? Its payload is "<flow>:<step>:…", one class in handlers/payloads.py:
FLOWS below maps the flow prefix to its module, and that module's BUTTONS maps the payload
class to the function. The buttons of /help ("cmd") are this module's own: they run the
command through the same role check as a typed one.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

from sqlalchemy import and_, bindparam, literal, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from domain.errors import DomainError
from domain.roles import BUREAU_ROLES, SUPERVISING_ROLES, Role
from domain.text import clean_input
from handlers import (
    binding,
    browse,
    commitments,
    date_input,
    escalations,
    evaluation,
    onboarding,
    outcome,
    paging,
    profile,
    registers,
    report_problem,
    reports,
    research,
    statistics,
    typed_words,
)
from handlers.attachments import load_attachments, prefetched
from handlers.core import Core
from handlers.i18n import LANGUAGES, normalise_language, translate
from handlers.messages import IncomingEvent, Reply
from handlers.payloads import InvalidPayload, Payload, RunCommand, SetLanguage, unpack
from handlers.turn import Turn
from handlers.usecases.people import person_seen
from storage import inbox, outbox
from storage.models import ChannelIdentity, ConversationState, Person

log = logging.getLogger(__name__)

Step = Callable[[Turn], Awaitable[None]]

FLOWS: dict[str, ModuleType] = {
    "lang": onboarding,
    binding.FLOW: binding,
    RunCommand.FLOW: sys.modules[__name__],
    "rp": report_problem,
    "rep": reports,
    "cm": commitments,
    "pf": profile,
    "st": statistics,
    "ev": evaluation,
    "dt": date_input,
    paging.FLOW: browse,
    typed_words.FLOW: typed_words,
    "reg": registers,
    "rt": research,
    "esc": escalations,
    outcome.FLOW: outcome,
}

# command -> (handler, roles allowed; None = anyone, bound or not)
COMMANDS: dict[str, tuple[Step, tuple[Role, ...] | None]] = {
    "start": (binding.start, None),
    "help": (onboarding.show_help, None),
    "lang": (onboarding.choose_language, None),
    "cancel": (onboarding.cancel, None),
    "link": (binding.link_channel, tuple(Role)),
    "profile": (profile.begin, tuple(Role)),
    "report": (report_problem.begin, (Role.STAFF,)),
    "myreports": (browse.my_reports, (Role.STAFF,)),
    "inbox": (browse.show_inbox, BUREAU_ROLES),
    "search": (browse.search, BUREAU_ROLES),
    "commitments": (commitments.show_open, tuple(Role)),
    "agreement": (commitments.show_agreement, tuple(Role)),
    "stats": (statistics.show_stats, SUPERVISING_ROLES),
    "export": (statistics.send_export, SUPERVISING_ROLES),
    "evaluations": (evaluation.show_evaluations, SUPERVISING_ROLES),
    "instruments": (registers.show_instruments, tuple(Role)),
    "certificates": (registers.show_certificates, tuple(Role)),
}


class StorageBusy(Exception):
    """The database could not run the turn now (locked, unreachable): nothing of it was kept.
    The caller keeps the update and tries again later instead of apologising."""


# WeCom users type Chinese words for binding (SPEC §6).
ALIASES = {"绑定": "start"}


@dataclass(frozen=True)
class Handled:
    """What a turn gives its channel to send."""

    replies: list[Reply]
    # The update's turn ran before (its replies were maybe never sent): these are the replies it
    # kept, sent again; nothing else of the turn is known.
    repeat: bool = False
    # The chat's person or their language changed (bound, /lang): per-chat menus are redone.
    person_changed: bool = False
    # The turn queued notifications (storage/outbox.py): the delivery worker is woken for them.
    notified: bool = False


async def handle(core: Core, event: IncomingEvent, *, may_repeat: bool = True) -> Handled:
    """Handle one event: the replies for the same chat, and what the channel may need to know.
    `may_repeat=False` when the caller knows the update was never taken before (the inbox's
    own rows in a single process): the turn then skips the look for an earlier run."""
    if not event.private:
        return Handled([private_chat_please()])
    event = cleaned(event)
    async with core.chat_lock(event.channel, event.chat_id):
        try:
            if event.file is not None:
                event = dataclasses.replace(event, file=await prefetched(event.file))
                await registers.read_ahead(core, event)
            async with core.turn_slots():
                handled = await _run_with_retries(core, event, may_repeat)
        except Exception as error:
            if _unavailable(error):
                raise StorageBusy(str(error)) from error
            # Nothing of the turn was committed; the person is told to try again.
            log.exception("turn failed: update %s on %s", event.update_key, event.channel)
            language = normalise_language(event.language_hint) or core.default_language
            return Handled([Reply(text=translate(language, "error.internal"))])
        # Outside the turn slot: reading the files shown does not hold other chats back. The
        # turn is committed by now: a failure here must not tell the person to try again.
        try:
            await load_attachments(core, handled.replies)
        except Exception:
            log.exception("files for update %s not loaded; sent without", event.update_key)
        return handled


async def _run_with_retries(core: Core, event: IncomingEvent, may_repeat: bool) -> Handled:
    for _attempt in range(3):
        try:
            return await _run_turn(core, event, may_repeat)
        except (StaleDataError, IntegrityError) as error:
            # Another instance changed the same row first: re-run on fresh data (and look for
            # an earlier run of the update, in case that was the conflict).
            log.info("retrying turn %s after conflict: %s", event.update_key, error)
            may_repeat = True
    return await _refuse(core, event, DomainError("error.busy"))


def private_chat_please() -> Reply:
    """The one answer in a group chat, in both languages: nobody there has said which is theirs."""
    return Reply(text="\n".join(translate(lang, "error.group_chat") for lang in LANGUAGES))


def cleaned(event: IncomingEvent) -> IncomingEvent:
    """The event with control characters removed from everything the person typed."""
    return dataclasses.replace(
        event,
        text=clean_input(event.text),
        payload=None if event.payload is None else clean_input(event.payload),
        selected=None if event.selected is None else [clean_input(v) for v in event.selected],
        display_name=None if event.display_name is None else clean_input(event.display_name),
    )


def _unavailable(error: Exception) -> bool:
    """A database that is locked, busy or unreachable, as opposed to a bug in the turn."""
    if isinstance(error, ConnectionRefusedError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    reason = str(error.orig).lower()
    return any(word in reason for word in ("locked", "busy", "connect", "timeout"))


async def _run_turn(core: Core, event: IncomingEvent, may_repeat: bool) -> Handled:
    now = core.clock.now()
    key = event.update_key
    try:
        async with core.sessions() as session, session.begin():
            if key and may_repeat and not await inbox.first_time(session, key, now):
                return await _kept(session, key)
            turn = await _load_turn(core, session, event, now)
            before = _who(turn)
            await _route(turn)
            _save_state(session, turn.state, now)
            if key and not may_repeat:
                await inbox.handled_once(session, key, now, _as_json(turn.replies))
            else:
                await _keep(session, key, turn.replies)
        return Handled(
            turn.replies,
            person_changed=_who(turn) != before,
            notified=outbox.queued_in(session),
        )
    except DomainError as refusal:
        # Everything the turn changed is rolled back: a refusal changes nothing.
        return await _refuse(core, event, refusal)


def _save_state(session: AsyncSession, state: ConversationState, now: datetime) -> None:
    """Stamp a changed state; write nothing for a state the turn did not change."""
    if state in session.new:
        if state.flow is None and not state.data and state.language is None:
            session.expunge(state)  # nothing to remember for this chat
            return
    elif not session.is_modified(state):
        return
    state.updated_at = now


def _who(turn: Turn) -> tuple[int, str | None] | None:
    """The chat's person and their language: what a channel's per-chat menu depends on."""
    return None if turn.person is None else (turn.person.id, turn.person.language)


async def _refuse(core: Core, event: IncomingEvent, refusal: DomainError) -> Handled:
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        if event.update_key and not await inbox.first_time(session, event.update_key, now):
            return await _kept(session, event.update_key)
        turn = await _load_turn(core, session, event, now)
        replies = [Reply(text=translate(turn.lang, refusal.key, **refusal.params))]
        await _keep(session, event.update_key, replies)
        return Handled(replies)


async def _keep(session: AsyncSession, update_key: str | None, replies: list[Reply]) -> None:
    """The replies go into the turn's own transaction, as durable as its notifications (README
    "Delivery guarantees"). A file made for the reply (an export, a chart) is not kept: a
    re-send carries its text only; a report's attachments are references and do arrive."""
    if update_key and replies:
        await inbox.keep_replies(session, update_key, _as_json(replies))


def _as_json(replies: list[Reply]) -> list[dict[str, object]]:
    return [reply.to_json() for reply in replies]


async def _kept(session: AsyncSession, update_key: str) -> Handled:
    """The update's turn ran before (committed, then the process died before its inbox row was
    marked done, or a redelivery): its replies are sent again instead of running it twice."""
    kept = await inbox.kept_replies(session, update_key)
    return Handled([Reply.from_json(data) for data in kept], repeat=True)


# What a turn needs, in one statement built once (SQLAlchemy then finds its compiled form by
# identity): the chat's state and the account's identity and person, each maybe missing.
_ONE_ROW = select(literal(1).label("one")).subquery()
_TURN = (
    select(ConversationState, ChannelIdentity, Person)
    .select_from(_ONE_ROW)
    .outerjoin(
        ConversationState,
        and_(
            ConversationState.channel == bindparam("channel"),
            ConversationState.chat_id == bindparam("chat_id"),
        ),
    )
    .outerjoin(
        ChannelIdentity,
        and_(
            ChannelIdentity.channel == bindparam("channel"),
            ChannelIdentity.external_id == bindparam("external_id"),
        ),
    )
    .outerjoin(Person, Person.id == ChannelIdentity.person_id)
)


async def _load_turn(
    core: Core, session: AsyncSession, event: IncomingEvent, now: datetime
) -> Turn:
    params = {"channel": event.channel, "chat_id": event.chat_id, "external_id": event.user_id}
    state, identity, bound = (await session.execute(_TURN, params)).one()
    if state is None:
        state = ConversationState(
            channel=event.channel, chat_id=event.chat_id, data={}, updated_at=now
        )
        session.add(state)
    person = person_seen(identity, bound, event.chat_id, now)
    return Turn(core=core, session=session, event=event, state=state, person=person, now=now)


async def _route(turn: Turn) -> None:
    event = turn.event
    if event.command is None and turn.person is None and event.payload is None:
        # WeCom: "绑定 CODE" / "绑定CODE" binds like /start CODE.
        text = event.text.strip()
        for word, command in ALIASES.items():
            if text.startswith(word):
                turn.event = IncomingEvent(
                    **{**event.__dict__, "command": command, "text": text[len(word) :].strip()}
                )
                event = turn.event
    # Words for commands (帮助, 我的报告, 搜索 X): only where no step waits for text.
    said = typed_words.command_word(event.text) if turn.state.flow is None else None
    if event.command is None and event.payload is None and said is not None:
        turn.event = event = dataclasses.replace(event, command=said[0], text=said[1])
    if event.command is not None:
        await _run_command(turn, event.command)
    elif event.payload is not None:
        await _press_button(turn, event.payload)
    elif turn.person is None:
        turn.say(turn.t("bind.please_bind"))
    elif turn.state.flow in FLOWS:
        module = FLOWS[turn.state.flow]
        handler = module.on_file if event.file is not None else module.on_text
        await handler(turn)
    else:
        # A typed reference, text or files for an open report, a search: never a dead end.
        await typed_words.free_text(turn)


async def _run_command(turn: Turn, command: str) -> None:
    entry = COMMANDS.get(ALIASES.get(command, command))
    if entry is None:
        turn.say(turn.t("help.unknown_command", command=command[:32]))
        return
    handler, roles = entry
    if roles is not None:
        if turn.person is None:
            turn.say(turn.t("bind.please_bind"))
            return
        if turn.person.role not in roles:
            turn.say(turn.t("error.command_not_for_role", command=command))
            return
    await handler(turn)


async def _press_button(turn: Turn, payload: str) -> None:
    try:
        pressed = unpack(payload)
    except InvalidPayload:
        # Forged or from an older bot: nothing to act on.
        turn.say(turn.t("error.button_invalid"))
        return
    module = FLOWS.get(pressed.FLOW)
    handler = module.BUTTONS.get(type(pressed)) if module else None
    if handler is None:
        turn.say(turn.t("error.button_invalid"))
        return
    if turn.person is None and not isinstance(pressed, _UNBOUND_MAY_PRESS):
        turn.say(turn.t("bind.please_bind"))
        return
    await handler(turn, pressed)


async def _press_command(turn: Turn, pressed: RunCommand) -> None:
    """Runs the command of a /help button, checked like the typed command."""
    await _run_command(turn, pressed.command)


# An unbound chat is offered /lang; a command button checks binding per command itself.
_UNBOUND_MAY_PRESS: tuple[type[Payload], ...] = (SetLanguage, RunCommand)

BUTTONS = {RunCommand: _press_command}
