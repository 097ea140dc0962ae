"""Research topics (专题研究) on common problems: a supervisor opens one from the weekly list."""

from __future__ import annotations

from handlers import register_views
from handlers.payloads import OpenResearchTopic
from handlers.turn import Turn
from handlers.usecases.common_problems import open_topic

FLOW = register_views.RESEARCH_FLOW


async def open_research_topic(turn: Turn, pressed: OpenResearchTopic) -> None:
    """Opens the proposed topic, links its reports, and tells the enterprises."""
    topic, reports = await open_topic(turn.session, turn.actor, pressed.topic_id, turn.now)
    turn.reply(register_views.topic_opened(turn.lang, topic, reports))


async def on_text(turn: Turn) -> None:
    """Nothing to type in this flow."""
    turn.end()
    turn.say(turn.t("help.not_understood"))


async def on_file(turn: Turn) -> None:
    """Nothing to send in this flow."""
    turn.say(turn.t("file.not_expected"))


BUTTONS = {OpenResearchTopic: open_research_topic}
