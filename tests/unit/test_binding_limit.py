"""The binding-code guessing limit: 5 per 10 minutes, then growing delays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.binding import bind_wait

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_five_failures_are_free_then_the_window_must_pass() -> None:
    failures = [NOW - timedelta(seconds=s) for s in (50, 40, 30, 20)]
    assert bind_wait(failures, NOW) == timedelta(0)
    failures.append(NOW - timedelta(seconds=10))
    assert bind_wait(failures, NOW) == timedelta(minutes=10) - timedelta(seconds=50)


def test_each_further_failure_doubles_the_wait_up_to_an_hour() -> None:
    # Failures spaced out so that the 10-minute window never fills: only the delay counts.
    waits = []
    for count in range(5, 14):
        failures = [NOW - timedelta(hours=20) + timedelta(minutes=11 * i) for i in range(count)]
        last = failures[-1]
        waits.append(bind_wait(failures, last))
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(waits) == timedelta(hours=1)


def test_failures_older_than_a_day_are_forgiven() -> None:
    failures = [NOW - timedelta(days=2, seconds=s) for s in range(20)]
    assert bind_wait(failures, NOW) == timedelta(0)
