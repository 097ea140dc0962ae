"""Binding, help, language and cancelling: what any chat may do."""

from __future__ import annotations

from domain.errors import DomainError
from domain.roles import Role
from handlers.i18n import LANGUAGES, normalise_language
from handlers.messages import Button
from handlers.payloads import SetLanguage
from handlers.turn import Turn
from handlers.usecases.people import (
    LINK_CODE_LIFETIME,
    BindChangeUnconfirmed,
    issue_link_code,
    try_bind,
)
from storage.models import Enterprise

# Commands listed in /help, by role; unbound chats see only binding and help.
# "instruments" and "certificates": the registers (issue 14), for every bound role.
_EVERYONE = ("instruments", "certificates", "profile", "link", "lang", "cancel", "help")
_SUPERVISING = ("inbox", "search", "commitments", "agreement", "stats", "export", "evaluations")
HELP_COMMANDS: dict[Role | None, tuple[str, ...]] = {
    None: ("start", "help", "lang"),
    Role.STAFF: ("report", "myreports", "commitments", "agreement", *_EVERYONE),
    Role.OFFICER: ("inbox", "search", "commitments", "agreement", *_EVERYONE),
    Role.SUPERVISOR: (*_SUPERVISING, *_EVERYONE),
    Role.ADMIN: (*_SUPERVISING, *_EVERYONE),
}
# Commands /help also offers as buttons: those that need no argument and leave nothing.
_NOT_AS_BUTTONS = ("start", "help", "search", "link", "cancel")
# Payloads "cmd:run:<command>" run that command, checked like a typed one (dispatcher).
COMMAND_FLOW = "cmd"


def command_payload(command: str) -> str:
    return f"{COMMAND_FLOW}:run:{command}"


async def start(turn: Turn) -> None:
    """Binds the chat with a code, or welcomes and explains how to bind."""
    code = turn.event.text.strip()
    if not code:
        if turn.person is None:
            turn.say(turn.t("bind.welcome"), title=turn.t("bot.name"))
        else:
            turn.say(
                turn.t(
                    "bind.already",
                    name=turn.person.name,
                    role=turn.t(f"role.{turn.person.role.value}"),
                )
            )
        return
    turn.end()
    await _bind(turn, code, confirmed=False)


async def _bind(turn: Turn, code: str, confirmed: bool) -> None:
    """Binds with the code; a refusal is said, not raised, so its record is kept."""
    try:
        person = await try_bind(
            turn.session,
            turn.event.channel,
            turn.event.user_id,
            turn.event.chat_id,
            code,
            turn.event.display_name,
            turn.now,
            confirmed,
        )
    except BindChangeUnconfirmed as question:
        turn.goto("bind", "confirm", code=code)
        params = {**question.params, "role": turn.t(f"role.{question.current_role.value}")}
        turn.say(
            turn.t(question.key, **params),
            buttons=[
                [
                    Button(turn.t("bind.confirm_yes"), "bind:yes"),
                    Button(turn.t("bind.confirm_no"), "bind:no"),
                ]
            ],
        )
        return
    except DomainError as refusal:
        turn.say(turn.t(refusal.key, **refusal.params))
        return
    if person.language is None:
        # The chat's own choice (/lang before binding), else what the platform tells (Telegram's
        # language_code): notifications are rendered in it later, outside this chat.
        person.language = turn.state.language or normalise_language(turn.event.language_hint)
    turn.person = person
    role = turn.t(f"role.{person.role.value}")
    enterprise = (
        await turn.session.get(Enterprise, person.enterprise_id) if person.enterprise_id else None
    )
    if enterprise is not None:
        # Staff see which enterprise the code bound them to: a wrong code shows at once.
        turn.say(turn.t("bind.done_staff", enterprise=enterprise.name, name=person.name, role=role))
    else:
        turn.say(turn.t("bind.done", name=person.name, role=role))
    await show_help(turn)


async def link_channel(turn: Turn) -> None:
    """Gives a short-lived code to bind another channel (Telegram, WeCom) to this person."""
    assert turn.person is not None
    code = await issue_link_code(turn.session, turn.person, turn.now)
    minutes = int(LINK_CODE_LIFETIME.total_seconds() // 60)
    turn.say(turn.t("bind.link_code", code=code, minutes=minutes))


async def show_help(turn: Turn) -> None:
    """Lists the commands this person may use."""
    role = turn.person.role if turn.person else None
    lines = [f"/{command} — {turn.t(f'command.{command}')}" for command in HELP_COMMANDS[role]]
    intro = turn.t("help.intro_bound") if turn.person else turn.t("help.intro_unbound")
    offered = [c for c in HELP_COMMANDS[role] if c not in _NOT_AS_BUTTONS]
    buttons = [
        [Button(turn.t(f"command.{c}"), command_payload(c)) for c in offered[i : i + 2]]
        for i in range(0, len(offered), 2)
    ]
    turn.say("\n".join([intro, *lines]), title=turn.t("bot.name"), buttons=buttons)


async def cancel(turn: Turn) -> None:
    """Leaves whatever conversation the chat was in."""
    if turn.state.flow is None:
        turn.say(turn.t("cancel.nothing"))
    else:
        turn.end()
        turn.say(turn.t("cancel.done"))


async def choose_language(turn: Turn) -> None:
    """Offers the languages as buttons."""
    turn.say(
        turn.t("lang.choose"),
        buttons=[
            [
                Button("中文", SetLanguage("zh_CN").pack()),
                Button("English", SetLanguage("en").pack()),
            ]
        ],
    )


async def set_language(turn: Turn, pressed: SetLanguage) -> None:
    """Stores the chosen language for the person (or the unbound chat)."""
    language = pressed.language
    if language not in LANGUAGES:
        turn.say(turn.t("error.button_invalid"))
        return
    turn.state.language = language
    if turn.person is not None:
        turn.person.language = language
    turn.say(turn.t("lang.set"), edit=True)


async def confirm_change(turn: Turn, _: str) -> None:
    """Binds with the code the person was asked about, now that they confirmed it."""
    if not turn.in_step("bind", "confirm"):
        turn.say(turn.t("error.button_invalid"))
        return
    code = str(turn.data.get("code", ""))
    turn.end()
    await _bind(turn, code, confirmed=True)


async def keep_binding(turn: Turn, _: str) -> None:
    """Leaves the binding as it was."""
    turn.end()
    turn.say(turn.t("bind.kept"), edit=True)


async def on_text(turn: Turn) -> None:
    turn.say(turn.t("help.not_understood"))


on_file = on_text

BUTTONS: dict[object, object] = {
    SetLanguage: set_language,
    "yes": confirm_change,
    "no": keep_binding,
}
