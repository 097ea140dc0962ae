"""Lists a person pages through: /myreports, /inbox (and its closed filter), /search."""

from __future__ import annotations

from domain.errors import DomainError
from domain.search_text import MAX_QUERY
from handlers import commitments, views
from handlers.messages import Button
from handlers.paging import PAGE, more_row, numbered, page_title
from handlers.payloads import ListKind, ShowMore, ViewReport
from handlers.turn import Turn
from handlers.usecases import reports as report_usecases
from handlers.usecases import search as search_usecases
from storage.models import Enterprise, Report

SEARCH_KEY = "search"


# Deeper pages stop here: a list that long is searched, not paged through.
MAX_OFFSET = 10_000


def _report_buttons(found: list[tuple[Report, Enterprise | None]]) -> list[list[Button]]:
    return [[Button(r.reference, ViewReport(r.id).pack())] for r, _ in found]


def _say_page(
    turn: Turn,
    title: str,
    found: list[tuple[Report, Enterprise | None]],
    kind: ListKind,
    offset: int,
    extra: list[list[Button]] | None = None,
) -> None:
    shown = found[:PAGE]
    lines = [views.report_line(turn.lang, r, e) for r, e in shown]
    turn.say(
        numbered(lines, offset),
        title=page_title(turn, title, offset, len(shown)),
        buttons=_report_buttons(shown)
        + more_row(turn, kind, offset, len(found) > PAGE)
        + (extra or []),
    )


async def my_reports(turn: Turn, offset: int = 0) -> None:
    """Lists the enterprise's reports, most recent first, a page at a time."""
    found = await report_usecases.reports_of_enterprise(
        turn.session, turn.actor, limit=PAGE + 1, offset=offset
    )
    if not found:
        turn.say(turn.t("reports.none" if offset == 0 else "list.end"))
        return
    _say_page(turn, turn.t("reports.mine_title"), [(r, None) for r in found], ListKind.MINE, offset)


async def show_inbox(turn: Turn, offset: int = 0) -> None:
    """Lists the reports waiting for the bureau side, oldest first, with the closed filter."""
    found = await report_usecases.inbox(turn.session, turn.actor, limit=PAGE + 1, offset=offset)
    closed_row = [[Button(turn.t("button.closed_reports"), ShowMore(ListKind.CLOSED, 0).pack())]]
    if not found:
        turn.say(turn.t("inbox.empty" if offset == 0 else "list.end"), buttons=closed_row)
        return
    rows: list[tuple[Report, Enterprise | None]] = list(found)
    _say_page(turn, turn.t("inbox.title"), rows, ListKind.INBOX, offset, closed_row)


async def closed(turn: Turn, offset: int = 0) -> None:
    """Lists the closed reports in scope (已办结), most recently closed first."""
    found = await search_usecases.closed_reports(
        turn.session, turn.actor, offset=offset, limit=PAGE + 1
    )
    if not found:
        turn.say(turn.t("list.closed_none" if offset == 0 else "list.end"))
        return
    rows: list[tuple[Report, Enterprise | None]] = list(found)
    _say_page(turn, turn.t("list.closed_title"), rows, ListKind.CLOSED, offset)


async def search(turn: Turn) -> None:
    """Searches the reports in scope for the typed text."""
    query = turn.event.text.strip()[:MAX_QUERY]
    if not query:
        turn.say(turn.t("search.usage"))
        return
    # Kept for the More button: a query does not fit in a 64-byte payload.
    turn.state.data = {**turn.data, SEARCH_KEY: query}
    await show_search(turn, query, 0)


async def show_search(turn: Turn, query: str, offset: int) -> None:
    """Shows one page of search results for the query."""
    found = await search_usecases.search_reports(
        turn.session, turn.actor, query, offset=offset, limit=PAGE + 1
    )
    if not found:
        turn.say(turn.t("search.none" if offset == 0 else "list.end", query=query))
        return
    rows: list[tuple[Report, Enterprise | None]] = list(found)
    _say_page(turn, turn.t("search.title", query=query), rows, ListKind.SEARCH, offset)


async def more(turn: Turn, pressed: ShowMore) -> None:
    """Shows the next page of a list."""
    offset = pressed.offset
    if offset > MAX_OFFSET:
        raise DomainError("error.button_invalid")
    match pressed.kind:
        case ListKind.MINE:
            await my_reports(turn, offset)
        case ListKind.INBOX:
            await show_inbox(turn, offset)
        case ListKind.CLOSED:
            await closed(turn, offset)
        case ListKind.COMMITMENTS:
            await commitments.show_open(turn, offset)
        case ListKind.SEARCH:
            query = turn.data.get(SEARCH_KEY)
            if not query:
                turn.say(turn.t("search.expired"))
                return
            await show_search(turn, str(query), offset)


BUTTONS = {ShowMore: more}
