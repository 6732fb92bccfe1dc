"""Per-test measurement records, appended by whichever process ran the test.

Each finished test appends one JSON line (its metrics, thresholds and kind) to a file of its
own process under the session directory, flushed at once. The controller merges the files
at the end. Writing per test, not once per worker at exit, means a crashed worker loses only
the test it was running.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .metrics import Metrics
from .thresholds import Threshold

__all__ = ["MeasurementLog", "Record", "read_records"]


@dataclass
class Record:
    nodeid: str
    kind: str  # "browser" or an API scenario's test type (load, stress, ...)
    metrics: Metrics
    thresholds: list[Threshold] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _threshold_dict(t: Threshold) -> dict[str, Any]:
    return {"metric": t.metric, "expression": t.expression, "aggregation": t.aggregation, "op": t.op,
            "value": t.value, "abort_on_fail": t.abort_on_fail}


class MeasurementLog:
    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}.jsonl"

    def append(self, record: Record) -> None:
        line = json.dumps({
            "nodeid": record.nodeid,
            "kind": record.kind,
            "metrics": record.metrics.to_dict(),
            "thresholds": [_threshold_dict(t) for t in record.thresholds],
            "extra": record.extra,
        })
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
            yield Record(
                nodeid=d["nodeid"],
                kind=d["kind"],
                metrics=Metrics.from_dict(d["metrics"]),
                thresholds=[Threshold(t["metric"], t["expression"], t["aggregation"], t["op"], float(t["value"]),
                                      bool(t["abort_on_fail"])) for t in d["thresholds"]],
                extra=d.get("extra") or {},
            )
