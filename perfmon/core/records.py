"""Per-test measurement records, appended by whichever process ran the test.

Each finished test appends one JSON line (a :class:`Record`: its metrics, thresholds and the
facts of how it ran) to a file of its own process under the session directory, flushed and
fsync'd at once. The controller reads the files at the end and the pipeline assembles them into
one run. Writing per test, not once per worker at exit, means a crashed worker loses only the
test it was running (pytest-xdist's ``workeroutput`` would lose everything it had measured).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .failures import Failure
from .metrics import Metrics
from .results import ScenarioRun
from .samples import TimedSamples
from .thresholds import Threshold

__all__ = ["SLOWEST_KEPT", "MeasurementLog", "Record", "merge_slowest", "read_records", "slowest_first"]

Resource = dict[str, Any]  # one slow resource as the page reported it: url, duration, size, type
SLOWEST_KEPT = 5  # the slowest resources per page, and interactions per run, a run keeps


def slowest_first(items: Iterable[Resource]) -> list[Resource]:
    """The slowest few of resources or interactions (by ``duration``): what a run keeps of them."""
    return sorted(items, key=lambda r: -float(r.get("duration") or 0))[:SLOWEST_KEPT]


def merge_slowest(into: dict[str, list[Resource]], pages: Mapping[str, Iterable[Resource]]) -> None:
    """Add each page's slow resources to ``into``, keeping the slowest few per page."""
    for page, items in pages.items():
        into[page] = slowest_first([*into.get(page, []), *items])


@dataclass
class Record:
    """What one test measured. ``kind`` is ``"browser"`` for a journey iteration or an API
    scenario's test type (load, stress, spike, endurance); ``None`` until a fixture measures."""

    nodeid: str
    kind: str | None = None
    metrics: Metrics = field(default_factory=Metrics)
    timed: TimedSamples = field(default_factory=TimedSamples)  # browser samples, judged by the pipeline
    thresholds: list[Threshold] = field(default_factory=list)
    vus: int = 0  # concurrent virtual users this test was part of
    scenarios: list[ScenarioRun] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C stopped it: the session stops too, and the run says so
    slowest: dict[str, list[Resource]] = field(default_factory=dict)  # page -> its slowest resources
    interactions: list[dict[str, Any]] = field(default_factory=list)  # its worst INP interactions, attributed
    artifacts: list[str] = field(default_factory=list)  # screenshots, traces, breaches.txt
    breaking_points: dict[str, dict[str, Any]] = field(default_factory=dict)  # scenario -> curve
    errors: list[Failure] = field(default_factory=list)  # the test's own failure (an exception in its body)

    @property
    def measured(self) -> bool:
        return self.kind is not None and (len(self.metrics) > 0 or len(self.timed) > 0 or bool(self.scenarios))

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "kind": self.kind,
            "metrics": self.metrics.to_dict(),
            "timed": self.timed.to_dict(),
            "thresholds": [t.to_dict() for t in self.thresholds],
            "vus": self.vus,
            "scenarios": [s.to_dict() for s in self.scenarios],
            "interrupted": self.interrupted,
            "slowest": self.slowest,
            "interactions": self.interactions,
            "artifacts": self.artifacts,
            "breaking_points": self.breaking_points,
            "errors": [e.to_dict() for e in self.errors],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Record:
        return cls(
            nodeid=str(d["nodeid"]),
            kind=d.get("kind"),
            metrics=Metrics.from_dict(d.get("metrics") or []),
            timed=TimedSamples.from_dict(d.get("timed") or []),
            thresholds=[Threshold.from_dict(t) for t in d.get("thresholds") or []],
            vus=int(d.get("vus") or 0),
            scenarios=[ScenarioRun.from_dict(s) for s in d.get("scenarios") or []],
            interrupted=bool(d.get("interrupted")),
            slowest={str(k): list(v) for k, v in (d.get("slowest") or {}).items()},
            interactions=[dict(i) for i in d.get("interactions") or []],
            artifacts=[str(a) for a in d.get("artifacts") or []],
            breaking_points={str(k): dict(v) for k, v in (d.get("breaking_points") or {}).items()},
            errors=[Failure.from_dict(e) for e in d.get("errors") or ()],
        )


class MeasurementLog:
    """One process's append-only file of records."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}.jsonl"

    def append(self, record: Record) -> None:
        self.append_line(json.dumps(record.to_dict()))

    def append_line(self, line: str) -> None:
        """A record already serialized (one that came from a remote worker)."""
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())


def read_records(directory: Path) -> Iterator[Record]:
    """Every complete record under ``directory``; a line cut short by a crash is skipped."""
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                continue
            yield Record.from_dict(d)
