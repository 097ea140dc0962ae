"""WeCom pacing: at most 30 messages per member per minute."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# WeCom silently drops what exceeds 30 messages per member per minute. A rolling window
# (a little longer than a minute, for clock and latency jitter) keeps every minute within it.
MEMBER_LIMIT = 30
MEMBER_WINDOW = 61.0


@dataclass
class _Pacer:
    """Keeps each member at or below MEMBER_LIMIT messages per MEMBER_WINDOW seconds."""

    monotonic: Callable[[], float]
    sent: dict[str, deque[float]] = field(default_factory=dict)

    def wait_for(self, user: str, count: int) -> float:
        """Seconds until `count` more messages fit in the member's window (0: now)."""
        window = self.sent.get(user, deque())
        now = self.monotonic()
        while window and now - window[0] >= MEMBER_WINDOW:
            window.popleft()
        if not window:
            self.sent.pop(user, None)  # forget members who have been quiet for a minute
        room = MEMBER_LIMIT - len(window)
        if count <= room:
            return 0.0
        # The (count - room)-th oldest send must leave the window first.
        needed = min(count - room, len(window))
        return window[needed - 1] + MEMBER_WINDOW - now

    def record(self, user: str) -> None:
        self.sent.setdefault(user, deque()).append(self.monotonic())
