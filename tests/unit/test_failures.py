"""The tally of exceptions a script raised (perfmon.core.failures): distinct by place, type and
message, redacted, bounded, merged across processes."""

from __future__ import annotations

from pathlib import Path

from perfmon.core.failures import Failure, FailureTally, merged_failures, where_raised


def _raise(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:  # noqa: BLE001 - the point: a caught exception with its traceback
        return caught


def test_where_raised_is_the_callers_line_relative_to_the_project() -> None:
    exc = _raise(KeyError("x"))
    where = where_raised(exc, root=Path(__file__).parents[2])
    assert where.startswith("tests/unit/test_failures.py:") and int(where.rsplit(":", 1)[1]) > 0


def test_the_same_exception_is_counted_once_and_a_secret_in_its_message_is_masked() -> None:
    tally = FailureTally("load")
    for t in (3.0, 1.0, 2.0):
        tally.add(_raise(ValueError("bad answer from http://h/api?token=abc123")), t)
    tally.add(_raise(KeyError("id")), 4.0)
    first, second = tally.failures()
    assert (first.kind, first.count, first.first_at) == ("ValueError", 3, 3.0)
    assert "abc123" not in first.message and "token=***" in first.message
    assert (second.kind, second.count) == ("KeyError", 1)


def test_a_script_raising_a_new_message_every_time_keeps_memory_bounded() -> None:
    tally = FailureTally("load")
    for i in range(1000):
        tally.add(_raise(ValueError(f"order {i}")), float(i))
    found = tally.failures()
    assert len(found) == 50 and sum(f.count for f in found) == 1000


def test_failures_from_several_processes_merge() -> None:
    a = Failure("KeyError", "'x'", "j.py:3", 2, 5.0, "load")
    b = Failure("KeyError", "'x'", "j.py:3", 3, 4.0, "load")
    other = Failure("KeyError", "'x'", "j.py:3", 9, 1.0, "stress")
    assert merged_failures([a, b, other]) == (other, Failure("KeyError", "'x'", "j.py:3", 5, 4.0, "load"))
    assert Failure.from_dict(a.to_dict()) == a
