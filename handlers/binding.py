"""Binding a chat to a person: /start CODE, confirming a change of binding, /link."""

from __future__ import annotations

from domain.errors import DomainError
from handlers.i18n import normalise_language
from handlers.messages import Button
from handlers.onboarding import show_help
from handlers.payloads import ConfirmBinding, KeepBinding
from handlers.turn import Turn
from handlers.usecases.people import (
    LINK_CODE_LIFETIME,
    BindChangeUnconfirmed,
    issue_link_code,
    try_bind,
)
from storage.models import Enterprise

FLOW = ConfirmBinding.FLOW


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
        turn.goto(FLOW, "confirm", code=code)
        params = {**question.params, "role": turn.t(f"role.{question.current_role.value}")}
        turn.say(
            turn.t(question.key, **params),
            buttons=[
                [
                    Button(turn.t("bind.confirm_yes"), ConfirmBinding().pack()),
                    Button(turn.t("bind.confirm_no"), KeepBinding().pack()),
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
    if enterprise is not None and person.name != enterprise.name:
        # Staff see which enterprise the code bound them to: a wrong code shows at once.
        turn.say(turn.t("bind.done_staff", enterprise=enterprise.name, name=person.name, role=role))
    else:
        # Officers; and staff whose chat told no name (they are called by the enterprise's).
        turn.say(turn.t("bind.done", name=person.name, role=role))
    await show_help(turn)


async def confirm_change(turn: Turn, _: ConfirmBinding) -> None:
    """Binds with the code the person was asked about, now that they confirmed it."""
    if not turn.in_step(FLOW, "confirm"):
        turn.say(turn.t("error.button_invalid"))
        return
    code = str(turn.data.get("code", ""))
    turn.end()
    await _bind(turn, code, confirmed=True)


async def keep_binding(turn: Turn, _: KeepBinding) -> None:
    """Leaves the binding as it was."""
    turn.end()
    turn.say(turn.t("bind.kept"), edit=True)


async def link_channel(turn: Turn) -> None:
    """Gives a short-lived code to bind another channel (Telegram, WeCom) to this person."""
    assert turn.person is not None
    code = await issue_link_code(turn.session, turn.person, turn.now)
    minutes = int(LINK_CODE_LIFETIME.total_seconds() // 60)
    turn.say(turn.t("bind.link_code", code=code, minutes=minutes))


async def on_text(turn: Turn) -> None:
    turn.say(turn.t("help.not_understood"))


on_file = on_text

BUTTONS = {ConfirmBinding: confirm_change, KeepBinding: keep_binding}
