"""How often a chat may try binding codes: guessing must take longer than anyone will wait."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

FAILURES_ALLOWED = 5
FAILURE_WINDOW = timedelta(minutes=10)
# Failures older than this are forgiven; the growing delay starts again from nothing.
FAILURE_MEMORY = timedelta(hours=24)
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=1)


def bind_wait(failures: Sequence[datetime], now: datetime) -> timedelta:
    """How long a chat or account with these failed attempts must wait (zero: it may try).

    At most FAILURES_ALLOWED failures per FAILURE_WINDOW; from then on each further attempt
    waits twice as long after the last failure as the one before (1, 2, 4 … 60 minutes).
    """
    remembered = sorted(at for at in failures if now - at < FAILURE_MEMORY)
    if len(remembered) < FAILURES_ALLOWED:
        return timedelta(0)
    waits = []
    recent = [at for at in remembered if now - at < FAILURE_WINDOW]
    if len(recent) >= FAILURES_ALLOWED:
        # The window frees up when the oldest of the last FAILURES_ALLOWED leaves it.
        waits.append(recent[-FAILURES_ALLOWED] + FAILURE_WINDOW - now)
    extra = len(remembered) - FAILURES_ALLOWED
    delay = min(FIRST_DELAY * 2 ** min(extra, 16), LONGEST_DELAY)
    waits.append(remembered[-1] + delay - now)
    return max(timedelta(0), *waits)
