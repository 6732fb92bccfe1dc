"""Browser samples kept with the interval each one measured, until the pipeline has judged them.

A journey's step, vital or navigation phase is distorted when the client's CPU was saturated while
it was being measured, and only then: at ``-n 50`` on two cores some seconds of a run are clean and
most are not. A Trend keeps values by the window they were recorded in, which is neither the
interval they cover nor fine enough (5 s), so browser samples travel as they are — value, start and
end in epoch seconds — and become Trends in the pipeline, which keeps out the ones whose interval
overlaps the sampler's saturated seconds (``pipeline/quarantine.py``). A journey iteration has a
few dozen of them, so keeping them raw costs little.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .metrics import Metrics

__all__ = ["EVIDENCE_FILE", "QUARANTINED", "Sample", "TimedSamples"]

# The suffix of the metric that keeps a browser metric's samples measured on a saturated client
# (pipeline/quarantine.py sets them aside; thresholds say how many when nothing clean is left).
QUARANTINED = "_quarantined"
# In a kept iteration's evidence folder: whether it failed and when it ran (epoch seconds), so the
# controller can drop breach evidence measured on a saturated client (pipeline/evidence.py).
EVIDENCE_FILE = "iteration.json"

Sample = tuple[float, float, float]  # value, start, end (epoch seconds)
_Key = tuple[str, tuple[tuple[str, str], ...], float]  # metric, tags, resolution


class TimedSamples:
    """Trend samples by series, each with the interval it measured."""

    def __init__(self) -> None:
        self._series: dict[_Key, list[Sample]] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._series.values())

    def add(self, name: str, tags: Mapping[str, str], value: float, start: float, end: float, *,
            resolution: float = 0.001) -> None:
        key = (name, tuple(sorted(tags.items())), resolution)
        self._series.setdefault(key, []).append((float(value), float(start), max(float(start), float(end))))

    def relabelled(self, value: Callable[[str], str]) -> TimedSamples:
        """A copy with every tag value passed through ``value`` (the redactor), as ``Metrics.relabelled``."""
        out = TimedSamples()
        for (name, tags, resolution), samples in self._series.items():
            key = (name, tuple(sorted((k, value(v)) for k, v in tags)), resolution)
            out._series.setdefault(key, []).extend(samples)
        return out

    def extend(self, other: TimedSamples) -> None:
        for key, samples in other._series.items():
            self._series.setdefault(key, []).extend(samples)

    def series(self) -> Iterator[tuple[str, dict[str, str], float, list[Sample]]]:
        """``(metric, tags, resolution, samples)`` of every series."""
        for (name, tags, resolution), samples in self._series.items():
            yield name, dict(tags), resolution, samples

    def into(self, metrics: Metrics) -> None:
        """Record every sample into ``metrics``, each at the end of its interval."""
        for name, tags, resolution, samples in self.series():
            trend = metrics.trend(name, tags, resolution=resolution)
            for value, _, end in samples:
                trend.record(value, end)

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"name": name, "tags": tags, "resolution": resolution, "samples": [list(s) for s in samples]}
                for name, tags, resolution, samples in self.series()]

    @classmethod
    def from_dict(cls, rows: list[Mapping[str, Any]]) -> TimedSamples:
        out = cls()
        for row in rows:
            key = (str(row["name"]), tuple(sorted((str(k), str(v)) for k, v in row["tags"].items())),
                   float(row["resolution"]))
            out._series[key] = [(float(v), float(a), float(b)) for v, a, b in row["samples"]]
        return out
