"""Metrics in the k6 sense (Trend, Rate, Counter, Gauge), windowed and mergeable.

Every value lands in a time window (``WINDOW_S`` seconds, aligned to the epoch) so runs from
several xdist workers, processes or machines merge exactly: windows with the same start are
added. Trends keep an HdrHistogram per window, never raw samples; closed windows are kept
encoded (a few hundred bytes) so a 15-minute run stays small. Percentiles come from
HdrHistogram; averages, min and max are exact.

Everything serialises to plain builtins (``to_dict``), which is what crosses process
boundaries (xdist ``workeroutput``, spool files, the store).
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from hdrh.histogram import HdrHistogram

__all__ = [
    "WINDOW_S",
    "Counter",
    "Gauge",
    "Metric",
    "MetricKind",
    "Metrics",
    "Rate",
    "Trend",
    "new_histogram",
    "parse_selector",
]

WINDOW_S = 5
"""Width of a time window in seconds: fine enough for charts, coarse enough to stay small."""

_LOWEST = 1
_HIGHEST = 3_600_000_000  # one hour in microseconds
_SIGFIGS = 3
_LIVE_WINDOWS = 3  # windows kept decoded; late samples rarely reach further back

MetricKind = Literal["trend", "rate", "counter", "gauge"]
Tags = tuple[tuple[str, str], ...]


def _window(t: float | None) -> int:
    ts = time.time() if t is None else t
    return int(ts // WINDOW_S) * WINDOW_S


def new_histogram() -> HdrHistogram:
    """An empty histogram with the range and precision every Trend window uses."""
    return HdrHistogram(_LOWEST, _HIGHEST, _SIGFIGS)


@dataclass
class Trend:
    """A distribution of values (durations in ms, or unitless like CLS).

    ``scale`` turns values into the integers HdrHistogram stores: 1000 keeps microsecond
    resolution for milliseconds; 10000 keeps four decimals for CLS.
    """

    scale: int = 1000
    count: int = 0
    sum: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    _live: dict[int, HdrHistogram] = field(default_factory=dict, repr=False)
    _closed: dict[int, bytes] = field(default_factory=dict, repr=False)

    kind: ClassVar[MetricKind] = "trend"

    def record(self, value: float, t: float | None = None) -> None:
        value = max(0.0, float(value))
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self._hist_for(_window(t)).record_value(min(round(value * self.scale), _HIGHEST))

    def record_corrected(self, value: float, expected_interval: float, t: float | None = None) -> None:
        """Record ``value`` plus the samples a stalled client would have missed (HdrHistogram's
        coordinated-omission correction); ``expected_interval`` is in the same unit as ``value``."""
        if expected_interval <= 0 or value <= expected_interval:
            self.record(value, t)
            return
        missing = value - expected_interval
        self.record(value, t)
        while missing >= expected_interval:
            self.record(missing, t)
            missing -= expected_interval

    def _hist_for(self, window: int) -> HdrHistogram:
        hist = self._live.get(window)
        if hist is not None:
            return hist
        encoded = self._closed.pop(window, None)
        hist = HdrHistogram.decode(encoded) if encoded is not None else new_histogram()
        self._live[window] = hist
        while len(self._live) > _LIVE_WINDOWS:
            oldest = min(w for w in self._live if w != window)  # never the one about to be written
            self._closed[oldest] = self._live.pop(oldest).encode()
        return hist

    def windows(self) -> Iterator[tuple[int, HdrHistogram]]:
        """Every window in time order, decoded."""
        for w in sorted(set(self._live) | set(self._closed)):
            yield w, self._live[w] if w in self._live else HdrHistogram.decode(self._closed[w])

    def latest(self) -> tuple[int, HdrHistogram] | None:
        """The newest window, without decoding any closed one (for live progress)."""
        if self._live:
            w = max(self._live)
            if not self._closed or w > max(self._closed):
                return w, self._live[w]
        if self._closed:
            w = max(self._closed)
            return w, HdrHistogram.decode(self._closed[w])
        return None

    def histogram(self) -> HdrHistogram:
        total = new_histogram()
        for _, hist in self.windows():
            total.add(hist)
        return total

    # --- statistics (in the recorded unit) ---------------------------------------------------
    def percentile(self, p: float, hist: HdrHistogram | None = None) -> float | None:
        if self.count == 0:
            return None
        h = hist if hist is not None else self.histogram()
        return float(h.get_value_at_percentile(p)) / self.scale

    @property
    def avg(self) -> float | None:
        return self.sum / self.count if self.count else None

    def stat(self, name: str) -> float | None:
        """The k6 aggregation ``name`` (avg, min, max, med, count, p(N))."""
        if name == "count":
            return float(self.count)
        if self.count == 0:
            return None
        if name == "avg":
            return self.avg
        if name == "min":
            return self.min
        if name == "max":
            return self.max
        if name == "med":
            return self.percentile(50)
        if name.startswith("p(") and name.endswith(")"):
            return self.percentile(float(name[2:-1]))
        msg = f"a Trend has no aggregation {name!r}; use avg, min, max, med, count or p(N)"
        raise ValueError(msg)

    # --- merge and serialise -----------------------------------------------------------------
    def merge(self, other: Trend) -> None:
        if other.scale != self.scale:
            msg = f"cannot merge Trends with scales {self.scale} and {other.scale}"
            raise ValueError(msg)
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        for w, hist in other.windows():
            self._hist_for(w).add(hist)

    def to_dict(self) -> dict[str, Any]:
        wins = {str(w): base64.b64encode(h.encode()).decode("ascii") for w, h in self.windows()}
        return {
            "kind": "trend",
            "scale": self.scale,
            "count": self.count,
            "sum": self.sum,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
            "windows": wins,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trend:
        t = cls(scale=int(d["scale"]), count=int(d["count"]), sum=float(d["sum"]))
        if t.count:
            t.min, t.max = float(d["min"]), float(d["max"])
        for w, enc in d["windows"].items():
            t._closed[int(w)] = base64.b64decode(enc)
        return t


@dataclass
class Rate:
    """The share of non-zero (true) values, e.g. ``http_req_failed`` or ``checks``."""

    windows_: dict[int, list[int]] = field(default_factory=dict)  # window -> [trues, total]
    kind: ClassVar[MetricKind] = "rate"

    def record(self, value: bool | float, t: float | None = None) -> None:
        cell = self.windows_.setdefault(_window(t), [0, 0])
        cell[0] += 1 if value else 0
        cell[1] += 1

    @property
    def trues(self) -> int:
        return sum(c[0] for c in self.windows_.values())

    @property
    def total(self) -> int:
        return sum(c[1] for c in self.windows_.values())

    @property
    def rate(self) -> float | None:
        total = self.total
        return self.trues / total if total else None

    def stat(self, name: str) -> float | None:
        if name == "rate":
            return self.rate
        if name == "count":
            return float(self.total)
        msg = f"a Rate has no aggregation {name!r}; use rate or count"
        raise ValueError(msg)

    def merge(self, other: Rate) -> None:
        for w, (t, n) in other.windows_.items():
            cell = self.windows_.setdefault(w, [0, 0])
            cell[0] += t
            cell[1] += n

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "rate", "windows": {str(w): list(c) for w, c in sorted(self.windows_.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rate:
        return cls(windows_={int(w): [int(c[0]), int(c[1])] for w, c in d["windows"].items()})


@dataclass
class Counter:
    """A cumulative sum (requests, bytes, dropped iterations); ``rate`` is per second of the run."""

    windows_: dict[int, float] = field(default_factory=dict)
    kind: ClassVar[MetricKind] = "counter"

    def add(self, value: float = 1.0, t: float | None = None) -> None:
        w = _window(t)
        self.windows_[w] = self.windows_.get(w, 0.0) + value

    record = add

    @property
    def count(self) -> float:
        return sum(self.windows_.values())

    def stat(self, name: str, duration_s: float | None = None) -> float | None:
        if name == "count":
            return self.count
        if name == "rate":
            return self.count / duration_s if duration_s else None
        msg = f"a Counter has no aggregation {name!r}; use count or rate"
        raise ValueError(msg)

    def merge(self, other: Counter) -> None:
        for w, v in other.windows_.items():
            self.windows_[w] = self.windows_.get(w, 0.0) + v

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "counter", "windows": {str(w): v for w, v in sorted(self.windows_.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counter:
        return cls(windows_={int(w): float(v) for w, v in d["windows"].items()})


@dataclass
class Gauge:
    """The latest value and its range (VUs, memory); merging keeps min, max and the newest value."""

    value: float | None = None
    min: float = math.inf
    max: float = -math.inf
    at: float = 0.0
    kind: ClassVar[MetricKind] = "gauge"

    def record(self, value: float, t: float | None = None) -> None:
        ts = time.time() if t is None else t
        if ts >= self.at:
            self.value, self.at = float(value), ts
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def stat(self, name: str) -> float | None:
        if self.value is None:
            return None
        if name == "value":
            return self.value
        if name == "min":
            return self.min
        if name == "max":
            return self.max
        msg = f"a Gauge has no aggregation {name!r}; use value, min or max"
        raise ValueError(msg)

    def merge(self, other: Gauge) -> None:
        if other.value is None:
            return
        self.record(other.min, other.at)
        self.record(other.max, other.at)
        self.record(other.value, other.at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "gauge",
            "value": self.value,
            "min": None if self.value is None else self.min,
            "max": None if self.value is None else self.max,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gauge:
        g = cls()
        if d["value"] is not None:
            g.value, g.min, g.max, g.at = float(d["value"]), float(d["min"]), float(d["max"]), float(d["at"])
        return g


Metric = Trend | Rate | Counter | Gauge
_KINDS: dict[str, type[Trend] | type[Rate] | type[Counter] | type[Gauge]] = {
    "trend": Trend,
    "rate": Rate,
    "counter": Counter,
    "gauge": Gauge,
}


def _tags(tags: Mapping[str, str] | None) -> Tags:
    return tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items()))


def parse_selector(selector: str) -> tuple[str, dict[str, str]]:
    """``http_req_duration{endpoint:login,method:POST}`` -> name and tag filter (k6 syntax)."""
    name, brace, rest = selector.partition("{")
    if not brace:
        return selector.strip(), {}
    if not rest.endswith("}"):
        msg = f"metric selector {selector!r} is missing its closing '}}'"
        raise ValueError(msg)
    wanted: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest[:-1].split(","))):
        key, colon, value = part.partition(":")
        if not colon or not key.strip():
            msg = f"metric selector {selector!r}: tag {part!r} must be written key:value"
            raise ValueError(msg)
        wanted[key.strip()] = value.strip()
    return name.strip(), wanted


class Metrics:
    """A registry of metric series keyed by name and tags; the unit workers send and controllers merge."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, Tags], Metric] = {}

    def __len__(self) -> int:
        return len(self._series)

    def _get(self, kind: MetricKind, name: str, tags: Mapping[str, str] | None, **kw: Any) -> Any:
        key = (name, _tags(tags))
        series = self._series.get(key)
        if series is None:
            series = _KINDS[kind](**kw)
            self._series[key] = series
        elif series.kind != kind:
            msg = f"metric {name!r} is a {series.kind}, not a {kind}"
            raise ValueError(msg)
        return series

    def trend(self, name: str, tags: Mapping[str, str] | None = None, *, scale: int = 1000) -> Trend:
        t: Trend = self._get("trend", name, tags, scale=scale)
        return t

    def rate(self, name: str, tags: Mapping[str, str] | None = None) -> Rate:
        r: Rate = self._get("rate", name, tags)
        return r

    def counter(self, name: str, tags: Mapping[str, str] | None = None) -> Counter:
        c: Counter = self._get("counter", name, tags)
        return c

    def gauge(self, name: str, tags: Mapping[str, str] | None = None) -> Gauge:
        g: Gauge = self._get("gauge", name, tags)
        return g

    def series(self, name: str | None = None) -> Iterable[tuple[str, dict[str, str], Metric]]:
        for (n, tags), m in sorted(self._series.items(), key=lambda kv: kv[0]):
            if name is None or n == name:
                yield n, dict(tags), m

    def names(self) -> list[str]:
        return sorted({n for n, _ in self._series})

    def select(self, selector: str) -> Metric | None:
        """Merge every series matching a k6 selector; ``None`` when nothing matched."""
        name, wanted = parse_selector(selector)
        merged: Metric | None = None
        for _, tags, m in self.series(name):
            if any(tags.get(k) != v for k, v in wanted.items()):
                continue
            if merged is None:
                # A fresh metric merged into, not a serialised copy: select runs during a run
                # (abortOnFail checks), so it must not base64 every window each time.
                merged = Trend(scale=m.scale) if isinstance(m, Trend) else _KINDS[m.kind]()
            merged.merge(m)  # type: ignore[arg-type]
        return merged

    def merge(self, other: Metrics) -> None:
        for (name, tags), m in other._series.items():
            kw = {"scale": m.scale} if isinstance(m, Trend) else {}
            self._get(m.kind, name, dict(tags), **kw).merge(m)

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"name": n, "tags": tags, **m.to_dict()} for n, tags, m in self.series()]

    @classmethod
    def from_dict(cls, rows: Iterable[Mapping[str, Any]]) -> Metrics:
        reg = cls()
        for row in rows:
            reg._series[(str(row["name"]), _tags(row["tags"]))] = _KINDS[row["kind"]].from_dict(row)
        return reg
