"""Asking for a date or a time: read what was typed, echo it, confirm, then go on.

A step that asks for a date calls `read(turn, text, need_time=…)` once. It returns the value
("YYYY-MM-DD" or "YYYY-MM-DD HH:MM", local time) when nothing was interpreted (literal ISO);
otherwise it asks — confirm the reading, pick a time, or type again — and returns None. A
confirmed reading is fed back to the flow registered with `resume_with` as if it had been
typed in ISO, so the step's own code runs once, the same way for typed and confirmed values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time

from domain.typed_dates import TypedWhen, read_when
from handlers.messages import Button
from handlers.payloads import ConfirmWhen, OtherTime, PickTime, RetypeWhen
from handlers.turn import Turn

FLOW = ConfirmWhen.FLOW
PENDING = "when_pending"
QUICK_TIMES = ("09:00", "14:00")

Resume = Callable[[Turn], Awaitable[None]]
# flow name -> that flow's on_text, which calls read() again with the confirmed value
_RESUMERS: dict[str, Resume] = {}


def resume_with(flow: str, on_text: Resume) -> None:
    """Register the step function a confirmed date is handed back to."""
    _RESUMERS[flow] = on_text


def read(turn: Turn, text: str, *, need_time: bool) -> str | None:
    """Return the date (and time) once certain; else ask about it and return None."""
    local_now = turn.now.astimezone(turn.core.tz).replace(tzinfo=None)
    reading = read_when(text, local_now)
    pending = turn.data.get(PENDING) or {}
    if reading is not None and not reading.day_typed and "day" in pending:
        # The time typed after "其他时间": it belongs to the day already chosen.
        day = date.fromisoformat(pending["day"])
        reading = TypedWhen(day, reading.at, literal=False)
    if reading is None:
        turn.say(turn.t("when.bad_date_time" if need_time else "when.bad_date"))
        return None
    if need_time and reading.at is None:
        if reading.day < local_now.date():
            turn.say(turn.t("when.past", when=_shown(turn, reading.day, None)))
            return None
        _keep(turn, {"day": reading.day.isoformat()})
        turn.say(
            turn.t("when.pick_time", day=_shown(turn, reading.day, None)),
            buttons=[
                [Button(at, PickTime(at.replace(":", "")).pack()) for at in QUICK_TIMES]
                + [Button(turn.t("button.other_time"), OtherTime().pack())]
            ],
        )
        return None
    at = reading.at if need_time else None
    is_past = (
        datetime.combine(reading.day, at) <= local_now
        if at is not None
        else reading.day < local_now.date()
    )
    if is_past:
        turn.say(turn.t("when.past", when=_shown(turn, reading.day, at)))
        return None
    value = _value(reading.day, at)
    if reading.literal:
        _keep(turn, None)
        return value
    _keep(turn, {"value": value})
    turn.say(
        turn.t("when.confirm", when=_shown(turn, reading.day, at)),
        buttons=[
            [
                Button(turn.t("button.when_confirm"), _confirm_button(value).pack()),
                Button(turn.t("button.retype"), RetypeWhen().pack()),
            ]
        ],
    )
    return None


def _confirm_button(value: str) -> ConfirmWhen:
    # The digits alone: "2026-12-03 14:00" has a colon, the payload separator.
    return ConfirmWhen("".join(c for c in value if c.isdigit()))


def _value(day: date, at: time | None) -> str:
    return day.isoformat() if at is None else f"{day.isoformat()} {at.strftime('%H:%M')}"


def _shown(turn: Turn, day: date, at: time | None) -> str:
    shown = turn.t("when.day", day=day.isoformat(), weekday=turn.t(f"when.weekday_{day.weekday()}"))
    return shown if at is None else f"{shown} {at.strftime('%H:%M')}"


def _keep(turn: Turn, pending: dict[str, str] | None) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    data = {k: v for k, v in turn.data.items() if k != PENDING}
    if pending is not None:
        data[PENDING] = pending
    turn.state.data = data


async def _resume(turn: Turn, value: str) -> None:
    """Hand the certain value to the asking step as if it had been typed in ISO."""
    resume = _RESUMERS.get(turn.state.flow or "")
    if resume is None:
        turn.say(turn.t("error.button_stale"))
        return
    turn.event = dataclasses.replace(turn.event, payload=None, text=value)
    await resume(turn)


async def confirm(turn: Turn, pressed: ConfirmWhen) -> None:
    """Takes the echoed reading as the answer."""
    value = (turn.data.get(PENDING) or {}).get("value")
    if value is None or _confirm_button(value) != pressed:
        turn.say(turn.t("error.button_stale"))
        return
    await _resume(turn, value)


async def retype(turn: Turn, _: RetypeWhen) -> None:
    """Forgets the reading and asks for the date again."""
    if PENDING not in turn.data:
        turn.say(turn.t("error.button_stale"))
        return
    _keep(turn, None)
    turn.say(turn.t("when.retype"))


async def pick_time(turn: Turn, pressed: PickTime) -> None:
    """Completes the chosen day with a quick time button."""
    day = (turn.data.get(PENDING) or {}).get("day")
    at = f"{pressed.hhmm[:2]}:{pressed.hhmm[2:]}"
    if day is None or at not in QUICK_TIMES:
        turn.say(turn.t("error.button_stale"))
        return
    await _resume(turn, f"{day} {at}")


async def other_time(turn: Turn, _: OtherTime) -> None:
    """Asks for a time of the chosen day."""
    if "day" not in (turn.data.get(PENDING) or {}):
        turn.say(turn.t("error.button_stale"))
        return
    turn.say(turn.t("when.ask_time"))


BUTTONS = {ConfirmWhen: confirm, RetypeWhen: retype, PickTime: pick_time, OtherTime: other_time}
