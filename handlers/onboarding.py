"""Help, language and cancelling: what any chat may do (binding is in binding.py)."""

from __future__ import annotations

from domain.roles import Role
from handlers.i18n import LANGUAGES
from handlers.messages import Button
from handlers.payloads import RunCommand, SetLanguage
from handlers.turn import Turn

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


async def show_help(turn: Turn) -> None:
    """Lists the commands this person may use."""
    role = turn.person.role if turn.person else None
    lines = [f"/{command} — {turn.t(f'command.{command}')}" for command in HELP_COMMANDS[role]]
    intro = turn.t("help.intro_bound") if turn.person else turn.t("help.intro_unbound")
    offered = [c for c in HELP_COMMANDS[role] if c not in _NOT_AS_BUTTONS]
    buttons = [
        [Button(turn.t(f"command.{c}"), RunCommand(c).pack()) for c in offered[i : i + 2]]
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


async def on_text(turn: Turn) -> None:
    turn.say(turn.t("help.not_understood"))


on_file = on_text

BUTTONS = {SetLanguage: set_language}
