"""The 督办 list a supervisor opens from the day's escalation message, page by page."""

from __future__ import annotations

from domain.errors import NotAllowed
from domain.roles import BUREAU_ROLES
from handlers import reminder_views
from handlers.payloads import EscalationListPage
from handlers.turn import Turn
from handlers.usecases.escalations import open_escalations

FLOW = EscalationListPage.FLOW
PAGE_SIZE = 10


async def show_list(turn: Turn, pressed: EscalationListPage) -> None:
    """Shows one page of the escalated items still open in the person's scope."""
    if turn.actor.role not in BUREAU_ROLES:
        raise NotAllowed()
    items = await open_escalations(turn.session, turn.core, turn.actor, turn.today)
    last_page = max(0, (len(items) - 1) // PAGE_SIZE)
    page = min(pressed.page, last_page)
    shown = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    turn.reply(reminder_views.escalation_list_page(turn.lang, shown, page, PAGE_SIZE, len(items)))


BUTTONS = {EscalationListPage: show_list}
