"""The one retry helper: tries, waits with full jitter between tries (never after the last), and
never swallows an error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from perfmon.core.retry import retry


class Flaky(Exception):
    pass


class Broken(Exception):
    pass


def failing(times: int, error: type[Exception] = Flaky) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error(f"try {len(calls)}")
        return "done"

    return calls, attempt


def test_a_transient_error_is_tried_again_until_it_succeeds() -> None:
    calls, attempt = failing(2)
    waits: list[float] = []
    assert retry(attempt, attempts=3, backoff_s=1.0, transient=lambda e: isinstance(e, Flaky),
                 sleep=waits.append) == "done"
    assert len(calls) == 3
    assert len(waits) == 2 and 0 <= waits[0] <= 1.0 and 0 <= waits[1] <= 2.0  # full jitter under 1 s, 2 s


def test_the_last_error_is_raised_and_nothing_sleeps_after_it() -> None:
    calls, attempt = failing(10)
    waits: list[float] = []
    with pytest.raises(Flaky, match="try 4"):
        retry(attempt, attempts=4, backoff_s=0.1, transient=lambda e: True, sleep=waits.append)
    assert len(calls) == 4 and len(waits) == 3


def test_an_error_that_is_not_transient_is_raised_at_once() -> None:
    calls, attempt = failing(10, Broken)
    with pytest.raises(Broken):
        retry(attempt, attempts=5, backoff_s=0.1, transient=lambda e: isinstance(e, Flaky),
              sleep=lambda s: None)
    assert len(calls) == 1


def test_between_runs_before_each_next_try_and_not_after_the_last() -> None:
    calls, attempt = failing(2)
    reconnects: list[int] = []
    assert retry(attempt, attempts=3, backoff_s=0.0, transient=lambda e: isinstance(e, Flaky),
                 between=lambda: reconnects.append(len(calls)), sleep=lambda s: None) == "done"
    assert reconnects == [1, 2] and len(calls) == 3


def test_at_least_one_try() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        retry(lambda: None, attempts=0, backoff_s=0.1, transient=lambda e: True)
