"""One turn of a conversation: the event, who sent it, their state, and the replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotAllowed
from domain.roles import Actor
from handlers.core import Core
from handlers.i18n import normalise_language
from handlers.i18n import translate as t
from handlers.messages import Button, IncomingEvent, Reply
from handlers.usecases.people import actor_of
from storage.models import ConversationState, Person


@dataclass
class Turn:
    core: Core
    session: AsyncSession
    event: IncomingEvent
    state: ConversationState
    person: Person | None
    now: datetime
    replies: list[Reply] = field(default_factory=list)

    @property
    def lang(self) -> str:
        if self.person is not None and self.person.language:
            return self.person.language
        return (
            self.state.language
            or normalise_language(self.event.language_hint)
            or self.core.default_language
        )

    @property
    def actor(self) -> Actor:
        if self.person is None:
            raise NotAllowed("error.not_bound")
        return actor_of(self.person)

    @property
    def today(self) -> date:
        return self.core.today()

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    def t(self, key: str, **params: Any) -> str:
        return t(self.lang, key, **params)

    def say(
        self,
        text: str,
        buttons: list[list[Button]] | None = None,
        title: str | None = None,
        edit: bool = False,
    ) -> None:
        self.replies.append(Reply(text=text, title=title, buttons=buttons or [], edit=edit))

    def reply(self, reply: Reply) -> None:
        self.replies.append(reply)

    def goto(self, flow: str, step: str, **data: Any) -> None:
        """Enter (or move within) a flow; `data` is merged into the flow's saved answers."""
        if self.state.flow != flow:
            self.state.data = {}
        self.state.flow, self.state.step = flow, step
        # A new dict so SQLAlchemy sees the JSON column change.
        self.state.data = {**self.state.data, **data}

    def end(self) -> None:
        self.state.flow, self.state.step, self.state.data = None, None, {}

    def in_step(self, flow: str, *steps: str) -> bool:
        return self.state.flow == flow and self.state.step in steps
