"""Research topics (专题研究) on common problems: a supervisor opens one from the weekly list."""

from __future__ import annotations

from domain.errors import DomainError
from handlers import register_views
from handlers.turn import Turn
from handlers.usecases.common_problems import open_topic

FLOW = register_views.RESEARCH_FLOW


async def open_research_topic(turn: Turn, argument: str) -> None:
    """Opens the proposed topic, links its reports, and tells the enterprises."""
    if not argument.isdigit():
        raise DomainError("error.button_invalid")
    topic, reports = await open_topic(turn.session, turn.actor, int(argument), turn.now)
    turn.reply(register_views.topic_opened(turn.lang, topic, reports))


async def on_text(turn: Turn) -> None:
    """Nothing to type in this flow."""
    turn.end()
    turn.say(turn.t("help.not_understood"))


async def on_file(turn: Turn) -> None:
    """Nothing to send in this flow."""
    turn.say(turn.t("file.not_expected"))


BUTTONS = {"open": open_research_topic}
