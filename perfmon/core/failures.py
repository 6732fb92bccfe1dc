"""The exceptions a run's scripts raised, tallied: what the summary's "Errors" block shows.

A journey that raises is a failed iteration (counted in ``iteration_failed``); this keeps *which*
exception, so the person reading the run sees ``KeyError: 'no_such_key'`` at ``journeys.py:14``
six times, first at 12:01:03, as k6 prints an uncaught exception with its line and Locust lists
its Exceptions. Distinct failures are keyed by where they were raised, their type and their
message; messages are redacted when captured (a failed login's URL may carry a token).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .redaction import redact

__all__ = ["Failure", "FailureTally", "failure_message", "merged_failures", "where_raised"]

_MESSAGE_CHARS = 300  # a response body in a message would drown the summary
_DISTINCT_KEPT = 50  # per tally: past this, failures of new kinds are counted under the last one
_PERFMON = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class Failure:
    """One distinct exception: its type, message and ``file:line``, how often, and first when."""

    kind: str  # the exception's type name, or a request error's kind (ConnectError, ResponseTooLarge)
    message: str
    where: str  # file:line of the innermost frame in the user's code; "" when none is known
    count: int
    first_at: float  # epoch seconds
    source: str = ""  # the scenario (API) or the test's node id (browser) it came from

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.source, self.kind, self.message, self.where

    def headline(self) -> str:
        """``KeyError: 'no_such_key'`` (the message only when there is one)."""
        return f"{self.kind}: {self.message}" if self.message else self.kind

    def redacted(self, one: Callable[[str], str]) -> Failure:
        return replace(self, message=one(self.message), where=one(self.where), source=one(self.source))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "where": self.where, "count": self.count,
                "first_at": self.first_at, "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Failure:
        return cls(kind=str(d["kind"]), message=str(d.get("message") or ""), where=str(d.get("where") or ""),
                   count=int(d.get("count") or 0), first_at=float(d.get("first_at") or 0.0),
                   source=str(d.get("source") or ""))


def where_raised(exc: BaseException, root: Path | None = None) -> str:
    """``file:line`` of the innermost traceback frame outside perfmon and the Python installation: the
    line of the user's script that raised (or called what raised); relative to ``root`` (the working
    folder by default: the project's, under pytest and ``perfmon run``) when under it."""
    return _Places(root).where(exc)


class _Places:
    """Where exceptions were raised, each file's verdict (the user's, shown as this path; or not) kept:
    a failing journey raises on every iteration, and resolving paths each time would load the generator."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root if root is not None else Path.cwd()).resolve()
        self._shown: dict[str, str | None] = {}

    def where(self, exc: BaseException) -> str:
        found = ""
        for frame, line in traceback.walk_tb(exc.__traceback__):  # outermost first; no source read
            shown = self._shown.get(frame.f_code.co_filename, "?")
            if shown == "?":
                shown = self._shown[frame.f_code.co_filename] = self._show(frame.f_code.co_filename)
            if shown is not None:
                found = f"{shown}:{line}"
        return found

    def _show(self, filename: str) -> str | None:
        path = Path(filename)
        if filename.startswith(("<", _PERFMON)) or "site-packages" in path.parts:
            return None
        if any(part.startswith("python3") for part in path.parts[:-1]) and "lib" in path.parts:
            return None  # the standard library
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return filename


def failure_message(exc: BaseException) -> str:
    """The exception's message as the Errors block shows it: its first line, redacted, cut at a length."""
    return redact(_first_line(exc))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


class FailureTally:
    """Counts a script's exceptions by kind, message and place (one per engine, on its loop's thread).
    Cheap per exception (a failing journey raises on every iteration): messages are redacted once each,
    when the tally is read."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._places = _Places()
        self._seen: dict[tuple[str, str, str], tuple[int, float]] = {}  # (kind, message, where) -> count, first

    def add(self, exc: BaseException, at: float, kind: str | None = None) -> None:
        key = (kind or type(exc).__name__, _first_line(exc), self._places.where(exc))
        known = self._seen.get(key)
        if known is None and len(self._seen) >= _DISTINCT_KEPT:
            key = next(reversed(self._seen))  # bounded memory: a script raising a new message each time
            known = self._seen[key]
        self._seen[key] = (1, at) if known is None else (known[0] + 1, known[1])

    def failures(self) -> tuple[Failure, ...]:
        return merged_failures(Failure(kind=kind, message=redact(message), where=where, count=count, first_at=first,
                                       source=self.source)
                               for (kind, message, where), (count, first) in self._seen.items())


def merged_failures(failures: Iterable[Failure]) -> tuple[Failure, ...]:
    """The same failure from several processes or tests as one, counts added; most frequent first."""
    out: dict[tuple[str, str, str, str], Failure] = {}
    for f in failures:
        known = out.get(f.key)
        out[f.key] = f if known is None else replace(known, count=known.count + f.count,
                                                     first_at=min(known.first_at, f.first_at))
    return tuple(sorted(out.values(), key=lambda f: (-f.count, f.first_at)))
