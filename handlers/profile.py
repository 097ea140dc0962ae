"""/profile: how a person is addressed, and an optional phone number (SPEC §5).

The other side of a report sees both: the officer sees the reporting staff member's, the
enterprise sees its officer's (on the report and in /agreement).
"""

from __future__ import annotations

import re

from handlers.attachments import clean_text
from handlers.messages import Button
from handlers.payloads import KeepName, SkipPhone
from handlers.turn import Turn
from handlers.usecases.notify import audit

FLOW = "pf"
MAX_NAME = 50
# Digits with the usual separators: +86 138-0000-0000, (0571) 8888 8888, 0571-88888888 转 123.
PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{3,22}[0-9](\s*(转|ext\.?|x)\s*[0-9]{1,6})?", re.IGNORECASE)


async def begin(turn: Turn) -> None:
    """Shows the profile and asks how the person wants to be addressed."""
    assert turn.person is not None
    turn.end()
    turn.goto(FLOW, "name")
    turn.say(
        turn.t("profile.current", name=turn.person.name, phone=turn.person.phone or "—")
        + "\n"
        + turn.t("profile.ask_name"),
        title=turn.t("profile.title"),
        buttons=[[Button(turn.t("profile.keep"), KeepName().pack())]],
    )


async def keep_name(turn: Turn, _: KeepName) -> None:
    """Keeps the name and asks for the phone number."""
    if not turn.in_step(FLOW, "name"):
        turn.say(turn.t("error.button_stale"))
        return
    _ask_phone(turn)


def _ask_phone(turn: Turn) -> None:
    turn.goto(FLOW, "phone")
    turn.say(
        turn.t("profile.ask_phone"),
        buttons=[[Button(turn.t("profile.no_phone"), SkipPhone().pack())]],
    )


async def skip_phone(turn: Turn, _: SkipPhone) -> None:
    """Removes the phone number (or leaves none) and ends."""
    if not turn.in_step(FLOW, "phone"):
        turn.say(turn.t("error.button_stale"))
        return
    _save_phone(turn, None)


async def on_text(turn: Turn) -> None:
    """Takes the name, then the phone number."""
    assert turn.person is not None
    if turn.state.step == "name":
        name = clean_text(turn, MAX_NAME)
        if name is None:
            return
        # One line, no control characters: it is shown inside other people's messages.
        kept = (c if c.isprintable() else " " if c.isspace() else "" for c in name)
        name = " ".join("".join(kept).split())
        if not name:
            turn.say(turn.t("input.empty"))
            return
        audit(turn.session, turn.person.id, "profile.name", "person", turn.person.id, turn.now)
        turn.person.name = name
        _ask_phone(turn)
        return
    text = clean_text(turn, 40)
    if text is None:
        return
    if not PHONE.fullmatch(text):
        turn.say(turn.t("profile.bad_phone"))
        return
    _save_phone(turn, text)


def _save_phone(turn: Turn, phone: str | None) -> None:
    assert turn.person is not None
    turn.person.phone = phone
    audit(turn.session, turn.person.id, "profile.phone", "person", turn.person.id, turn.now)
    turn.end()
    turn.say(turn.t("profile.saved", name=turn.person.name, phone=phone or "—"))


async def on_file(turn: Turn) -> None:
    turn.say(turn.t("file.not_expected"))


BUTTONS = {KeepName: keep_name, SkipPhone: skip_phone}
