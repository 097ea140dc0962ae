"""Errors a user can cause: each carries a message key of the text catalogue."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused action; `key` names the user-facing message, `params` fill it."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class NotAllowed(DomainError):
    """The actor's role or scope does not permit the action."""

    def __init__(self, key: str = "error.not_allowed", **params: Any) -> None:
        super().__init__(key, **params)


class NotFound(DomainError):
    """The thing does not exist, or is outside the actor's scope (we do not say which)."""

    def __init__(self, key: str = "error.not_found", **params: Any) -> None:
        super().__init__(key, **params)


class InvalidTransition(DomainError):
    """The action does not apply to the current status (e.g. a stale button)."""

    def __init__(self, key: str = "error.invalid_transition", **params: Any) -> None:
        super().__init__(key, **params)
