"""Metrics in the k6 sense (Trend, Rate, Counter, Gauge), windowed and mergeable.

Every value lands in a time window (``WINDOW_S`` seconds, aligned to the epoch) so runs from
several xdist workers, processes or machines merge exactly: windows with the same start are
added. Trends keep an HdrHistogram per window, never raw samples; closed windows are kept
encoded (a few hundred bytes) so a 15-minute run stays small. Percentiles come from
HdrHistogram's counts and bucket arithmetic; averages, min and max are exact. The percentile scan
is done here with numpy (the windows' counts summed, one cumulative sum, a binary search per
percentile) rather than with hdrh's merge and ``get_percentile_to_value_dict``: those build a
histogram per merge and walk every bucket in Python, about 1 ms per series, which made judging a
run against its history 10 s instead of 1 (bench/regression_speed.py). The results are the same
values hdrh gives (tests/unit/test_metrics.py compares them). numpy is imported by the functions
that read counts, not at import: every xdist worker imports this module only to record, and numpy
cost each of 50 workers about 0.1 CPU-s to start (bench/browser_pool.py).

Each metric type owns its statistics: ``stats()`` for the whole run and ``window_stats()``
per window return :class:`Stats`, whose fields are the columns the stores write. Nothing
outside this module touches HdrHistogram or the integer scale its values are stored at.

Everything serialises to plain builtins (``to_dict``), which is what crosses process
boundaries (xdist ``workeroutput``, spool files, the store).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from hdrh.codec import HdrHistogramEncoder, payload_header_size
from hdrh.histogram import HdrHistogram
from pyhdrh import decode as _decode_counts  # hdrh's own C decoder (hdrh.codec imports it anyway)

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "PERCENTILES",
    "WINDOW_S",
    "Counter",
    "Gauge",
    "Metric",
    "MetricKind",
    "Metrics",
    "Rate",
    "Stats",
    "Trend",
    "merged_percentiles",
    "parse_selector",
    "sliding_spans",
    "window_of",
]

WINDOW_S = 5
"""Width of a time window in seconds: fine enough for charts, coarse enough to stay small."""

_LOWEST = 1
_HIGHEST = 3_600_000_000  # one hour in microseconds
_SIGFIGS = 3
_LIVE_WINDOWS = 3  # windows kept decoded; late samples rarely reach further back
# A window's first values are kept as a short list and become a histogram only past this many: a
# histogram's counts take 188 KB whatever it holds, and a browser journey's record has dozens of
# series with one or two values each (measured: bench/memory_by_role.py, bench/README.md).
_FEW = 32

MetricKind = Literal["trend", "rate", "counter", "gauge"]
Tags = tuple[tuple[str, str], ...]

PERCENTILES: Mapping[str, float] = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
"""The one set of named percentiles every summary (store, report, capacity curve) is drawn from."""


@dataclass(frozen=True)
class Stats:
    """A summary of one series, for the whole run or one window. Fields a kind has no use for
    stay ``None``: a Trend has count, avg, min, max and the percentiles; a Rate has count (all
    values) and rate (the share that was true); a Counter has count and rate (per second); a
    Gauge has value, min and max."""

    count: float | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    rate: float | None = None
    value: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {f: getattr(self, f) for f in _STATS_FIELDS}


_STATS_FIELDS = ("count", "avg", "min", "max", *PERCENTILES, "rate", "value")


def _window(t: float | None) -> int:
    ts = time.time() if t is None else t
    return int(ts // WINDOW_S) * WINDOW_S


def window_of(t: float) -> int:
    """The start of the window that holds time ``t`` (epoch seconds)."""
    return _window(t)


def sliding_spans(starts: Sequence[int], span_s: float) -> list[list[int]]:
    """Every run of consecutive windows ``span_s`` long between the first and last of ``starts``,
    sliding one window at a time (a windowed threshold's spans); one span of them all when the run
    is shorter than ``span_s``."""
    if not starts:
        return []
    k = max(1, round(span_s / WINDOW_S))
    first, last = min(starts), max(starts)
    if last - first < (k - 1) * WINDOW_S:
        return [list(range(first, last + WINDOW_S, WINDOW_S))]
    return [[w + i * WINDOW_S for i in range(k)] for w in range(first, last - (k - 1) * WINDOW_S + 1, WINDOW_S)]


def _new_histogram() -> HdrHistogram:
    """An empty histogram with the range and precision every Trend window uses."""
    return HdrHistogram(_LOWEST, _HIGHEST, _SIGFIGS)


def _release(hist: HdrHistogram) -> None:
    """Free a histogram now, not at the next full garbage collection: an hdrh histogram and its encoder
    refer to each other, so a dropped one (and its 188 KB of counts) waits for the cyclic collector,
    which counts objects, not bytes. Dropped histograms piled up that way in every worker and in a
    long run's runner (bench/README.md). Only for histograms nothing else holds."""
    hist.encoder = None


_BUCKETS = _new_histogram()  # every window has this layout: its bucket arithmetic converts indexes to values
_LAYOUT = (_LOWEST, _HIGHEST, _SIGFIGS)


if TYPE_CHECKING:
    Counts = np.ndarray[Any, np.dtype[np.uint64]]


def _no_counts() -> Counts:
    import numpy as np
    return np.zeros(_BUCKETS.counts_len, dtype=np.uint64)


def _add_histogram(total: Counts, hist: HdrHistogram) -> int:
    """Add ``hist``'s bucket counts to ``total`` (only up to its maximum: the buckets above it are empty,
    and there are about 23 000 of them); returns how many values that was."""
    import numpy as np
    if not (count := hist.get_total_count()):
        return 0
    end = min(hist.get_counts_array_index(hist.get_max_value()) + 1, hist.encoder.payload.counts_len)
    total[:end] += np.ctypeslib.as_array(hist.counts)[:end].astype(np.uint64, copy=False)
    return int(count)


def _add_encoded(total: Counts, encoded: bytes) -> int | None:
    """Add a stored window's bucket counts to ``total`` through hdrh's own decoder (zlib, then its C
    varint decoder) into a reused buffer, without building an ``HdrHistogram``: its constructor sets up
    all 23,552 buckets and an encoder, which was most of reading a stored history (bench/README.md,
    regression speed). None when the window has another layout than every Trend's (the caller then
    decodes it the usual way). Reaches into hdrh's codec (its payload header size and decompressed
    data), so tests/unit/test_metrics.py compares it with ``HdrHistogram.decode``."""
    payload = HdrHistogramEncoder.decode(encoded)
    head = payload.payload
    if (head.lowest_trackable_value, head.highest_trackable_value, head.significant_figures) != _LAYOUT:
        return None
    scratch, address = _scratch()
    found = _decode_counts(payload._data, payload_header_size, address, _BUCKETS.counts_len, 8)
    if not found["total"]:
        return 0
    # The decoder writes only the window's non-empty buckets, all between these two: adding them and
    # zeroing them again leaves the buffer empty for the next window.
    used = slice(found["min_nonzero_index"], found["max_nonzero_index"] + 1)
    total[used] += scratch[used]
    scratch[used] = 0
    return int(found["total"])


_scratch_by_thread = threading.local()


def _scratch() -> tuple[Counts, int]:
    """This thread's empty counts buffer for decoding one window into, and its address (allocating 188 KB
    per window, of which a latency uses the first third, cost more than the decoding)."""
    found: tuple[Counts, int] | None = getattr(_scratch_by_thread, "found", None)
    if found is None:
        buffer = _no_counts()
        found = _scratch_by_thread.found = (buffer, buffer.ctypes.data)
    return found


def _add_values(total: Counts, stored: Sequence[int]) -> int:
    """Add values (in stored units) to ``total`` at hdrh's bucket of each, computed for all at once: the
    same index ``get_counts_array_index`` gives (tests/unit/test_metrics.py), without a histogram."""
    import numpy as np
    b = _BUCKETS
    v = np.asarray(stored, dtype=np.int64)
    bit_length = np.frexp((v | b.sub_bucket_mask).astype(np.float64))[1]  # exact: values stay below 2**53
    bucket = bit_length - b.unit_magnitude - (b.sub_bucket_half_count_magnitude + 1)
    sub = v >> (bucket + b.unit_magnitude)
    np.add.at(total, ((bucket + 1) << b.sub_bucket_half_count_magnitude) + (sub - b.sub_bucket_half_count), 1)
    return len(stored)


def _at_percentiles(counts: Counts, n: int, ps: Sequence[float]) -> list[int]:
    """hdrh's value at each percentile (the same target count and bucket edges), in stored units: the
    highest value of the bucket that holds it (the lowest, for the 0th), as hdrh's
    ``get_value_at_percentile`` (and ``get_min_value``) give."""
    import numpy as np
    at = np.asarray(ps, dtype=np.float64)
    targets = np.maximum((np.minimum(at, 100.0) * n / 100 + 0.5).astype(np.int64), 1)
    index = np.minimum(np.searchsorted(np.cumsum(counts), targets, side="left"), len(counts) - 1)
    start, width = _bucket_edges()
    values: list[int] = np.where(at > 0, start[index] + width[index] - 1, start[index]).tolist()
    return values


@functools.cache
def _bucket_edges() -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Every bucket's lowest value and width, from hdrh's layout (its ``get_value_from_index`` and
    ``get_size_of_equivalent_value_range`` for all buckets at once; tests/unit/test_metrics.py checks
    them against hdrh's)."""
    import numpy as np
    b = _BUCKETS
    index = np.arange(b.counts_len, dtype=np.int64)
    bucket = (index >> b.sub_bucket_half_count_magnitude) - 1
    sub = (index & (b.sub_bucket_half_count - 1)) + b.sub_bucket_half_count
    first = bucket < 0
    sub = np.where(first, sub - b.sub_bucket_half_count, sub)
    bucket = np.where(first, 0, bucket)
    shift = bucket + b.unit_magnitude
    return sub << shift, np.int64(1) << shift


@functools.cache
def _bucket_middles() -> np.ndarray[Any, np.dtype[np.int64]]:
    """The middle value of every bucket (what hdrh's mean weighs each count by)."""
    start, width = _bucket_edges()
    middles: np.ndarray[Any, np.dtype[np.int64]] = start + (width >> 1)
    return middles


def _mean(counts: Counts, n: int) -> float:
    """hdrh's ``get_mean_value`` (each count at its bucket's middle), without walking every bucket in
    Python (which took 30 ms per window and made storing a long run take minutes)."""
    import numpy as np
    return int(np.dot(counts.astype(np.int64), _bucket_middles())) / n


def merged_percentiles(trends: Sequence[Trend], ps: Sequence[float]) -> list[float | None]:
    """Percentiles of several Trends taken together, without building a merged Trend (one read of
    each window; the regression analysis asks this of every endpoint of every history run)."""
    if not trends or any(t._scale != trends[0]._scale for t in trends):
        msg = "merged_percentiles needs Trends of one resolution"
        raise ValueError(msg)
    counts = _no_counts()
    n = sum(t._counts_into(counts) for t in trends)
    if n == 0:
        return [None] * len(ps)
    return [v / trends[0]._scale for v in _at_percentiles(counts, n, ps)]


@dataclass
class Trend:
    """A distribution of values (durations in ms, or unitless like CLS).

    ``resolution`` is the smallest difference worth keeping, in the value's own unit: 0.001
    keeps microseconds for milliseconds (the default), 0.0001 keeps four decimals for CLS, 1
    suits whole counts. HdrHistogram stores integers, so values are kept as multiples of it.
    """

    resolution: float = 0.001
    count: int = 0
    sum: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    _live: dict[int, HdrHistogram] = field(default_factory=dict, repr=False)
    _closed: dict[int, bytes] = field(default_factory=dict, repr=False)
    _few: dict[int, list[int]] = field(default_factory=dict, repr=False)  # windows of up to _FEW stored values
    _scale: int = field(init=False, repr=False, compare=False)  # set once: record() runs per request

    kind: ClassVar[MetricKind] = "trend"

    def __post_init__(self) -> None:
        self._scale = round(1 / self.resolution)

    def record(self, value: float, t: float | None = None) -> None:
        value = max(0.0, float(value))
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self._add(_window(t), min(round(value * self._scale), _HIGHEST))

    def _add(self, window: int, stored: int) -> None:
        """One value, already in stored units, into its window: the histogram, or the short list."""
        hist = self._live.get(window)
        if hist is None:
            few = self._few.get(window)
            if few is None and window not in self._closed:
                self._few[window] = [stored]
                return
            if few is not None and len(few) < _FEW:
                few.append(stored)
                return
            hist = self._hist_for(window)
        hist.record_value(stored)

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
        hist = HdrHistogram.decode(encoded) if encoded is not None else _new_histogram()
        for stored in self._few.pop(window, ()):
            hist.record_value(stored)
        self._live[window] = hist
        while len(self._live) > _LIVE_WINDOWS:
            oldest = min(w for w in self._live if w != window)  # never the one about to be written
            closing = self._live.pop(oldest)
            self._closed[oldest] = closing.encode()
            _release(closing)
        return hist

    @contextlib.contextmanager
    def _reading(self, w: int) -> Iterator[HdrHistogram]:
        """Window ``w`` as a histogram for the ``with`` block: the live one, or one decoded or built for
        the block and freed after it (the one place a histogram is made only to be read)."""
        if w in self._live:
            yield self._live[w]
            return
        if w in self._closed:
            hist = HdrHistogram.decode(self._closed[w])
        else:
            hist = _new_histogram()
            for stored in self._few[w]:
                hist.record_value(stored)
        try:
            yield hist
        finally:
            _release(hist)

    def _windows(self) -> Iterator[tuple[int, HdrHistogram]]:
        """Every window in time order, as a histogram; use each before taking the next (see _reading)."""
        for w in self.window_starts():
            with self._reading(w) as hist:
                yield w, hist

    def _histogram(self) -> HdrHistogram:
        total = _new_histogram()
        for _, hist in self._windows():
            total.add(hist)
        return total

    def window_starts(self) -> list[int]:
        """The start (epoch seconds) of every window that holds a value."""
        return sorted({*self._live, *self._closed, *self._few})

    # --- statistics (in the recorded unit) ---------------------------------------------------
    def percentile(self, p: float) -> float | None:
        return self.percentiles([p])[0]

    def percentiles(self, ps: Sequence[float]) -> list[float | None]:
        """Several percentiles from one read of the windows."""
        if self.count == 0:
            return [None] * len(ps)
        return merged_percentiles([self], ps)

    def stats(self) -> Stats:
        """Count, exact avg/min/max and the named percentiles of the whole series."""
        if self.count == 0:
            return Stats(count=0)
        named = dict(zip(PERCENTILES, self.percentiles(list(PERCENTILES.values())), strict=True))
        return Stats(count=self.count, avg=self.avg, min=self.min, max=self.max, **named)

    def window_stats(self) -> list[tuple[int, Stats]]:
        """Per window (start, statistics), in time order; min, max and avg are the histogram's (hdrh's
        numbers for that window, taken from its bucket counts)."""
        out = []
        for w in self.window_starts():
            counts = _no_counts()
            if n := self._counts_into(counts, (w,)):
                at = _at_percentiles(counts, n, [0.0, *PERCENTILES.values(), 100.0])
                low, *named, high = (v / self._scale for v in at)
                out.append((w, Stats(count=n, avg=_mean(counts, n) / self._scale, min=low, max=high,
                                     **dict(zip(PERCENTILES, named, strict=True)))))
        return out

    def _counts_into(self, total: Counts, windows: Iterable[int] | None = None) -> int:
        """Add the bucket counts of ``windows`` (default: all) to ``total``; returns how many values.
        Short windows go in straight from their list, stored ones from their encoding, live ones from
        their histogram."""
        n, few = 0, []
        for w in self.window_starts() if windows is None else windows:
            if w in self._few:
                few += self._few[w]
            elif w in self._live:
                n += _add_histogram(total, self._live[w])
            elif w in self._closed:  # a stored window: counted without building its histogram
                got = _add_encoded(total, self._closed[w])
                if got is None:  # another layout
                    with self._reading(w) as hist:
                        got = _add_histogram(total, hist)
                n += got
        return n + (_add_values(total, few) if few else 0)

    def distribution(self) -> list[tuple[float, int]]:
        """``(value, count)`` for every distinct recorded value (at the histogram's precision)."""
        total = self._histogram()
        found = [(it.value_iterated_to / self._scale, it.count_at_value_iterated_to)
                 for it in total.get_recorded_iterator()]
        _release(total)
        return found

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

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        """The aggregation ``name`` over ``windows`` alone (a windowed threshold's span), from their
        bucket counts: min and max at the histogram's precision."""
        counts = _no_counts()
        n = self._counts_into(counts, windows)
        if name == "count":
            return float(n)
        if n == 0:
            return None
        if name == "avg":
            return _mean(counts, n) / self._scale
        at = {"min": 0.0, "max": 100.0, "med": 50.0}.get(name)
        if at is None and name.startswith("p(") and name.endswith(")"):
            at = float(name[2:-1])
        if at is None:
            self.stat(name)  # raises the one message for an unknown aggregation
        return _at_percentiles(counts, n, [at or 0.0])[0] / self._scale

    # --- merge and serialise -----------------------------------------------------------------
    def merge(self, other: Trend) -> None:
        if other._scale != self._scale:
            msg = f"cannot merge Trends with resolutions {self.resolution} and {other.resolution}"
            raise ValueError(msg)
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        for w in other.window_starts():
            if w in other._few:
                for stored in other._few[w]:
                    self._add(w, stored)
            else:
                with other._reading(w) as theirs:
                    self._hist_for(w).add(theirs)

    def to_dict(self) -> dict[str, Any]:
        wins = {}
        for w in self.window_starts():
            if w in self._closed:  # sent as it is kept: decoding it only to encode it again costs a histogram
                encoded = self._closed[w]
            else:
                with self._reading(w) as hist:
                    encoded = hist.encode()
            wins[str(w)] = base64.b64encode(encoded).decode("ascii")
        return {
            "kind": "trend",
            "scale": self._scale,
            "count": self.count,
            "sum": self.sum,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
            "windows": wins,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trend:
        t = cls(resolution=1 / int(d["scale"]), count=int(d["count"]), sum=float(d["sum"]))
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

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        """The aggregation ``name`` over ``windows`` alone (a windowed threshold's span)."""
        trues = sum(self.windows_[w][0] for w in windows if w in self.windows_)
        total = sum(self.windows_[w][1] for w in windows if w in self.windows_)
        if name == "count":
            return float(total)
        if name == "rate":
            return trues / total if total else None
        return self.stat(name)  # raises the one message for an unknown aggregation

    def window_starts(self) -> list[int]:
        return sorted(self.windows_)

    def stats(self) -> Stats:
        return Stats(count=float(self.total), rate=self.rate)

    def window_stats(self) -> list[tuple[int, Stats]]:
        return [(w, Stats(count=float(n), rate=t / n if n else None)) for w, (t, n) in sorted(self.windows_.items())]

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

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        """The aggregation ``name`` over ``windows`` alone; ``rate`` is per second of those windows."""
        count = sum(self.windows_.get(w, 0.0) for w in windows)
        if name == "count":
            return count
        if name == "rate":
            return count / (len(windows) * WINDOW_S) if windows else None
        return self.stat(name)

    def window_starts(self) -> list[int]:
        return sorted(self.windows_)

    def stats(self, duration_s: float | None = None) -> Stats:
        """The total and, given the run's duration, the rate per second."""
        return Stats(count=self.count, rate=self.count / duration_s if duration_s else None)

    def window_stats(self) -> list[tuple[int, Stats]]:
        """Per window the total and its rate per second."""
        return [(w, Stats(count=v, rate=v / WINDOW_S)) for w, v in sorted(self.windows_.items())]

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

    def stat_over(self, name: str, windows: Sequence[int]) -> float | None:
        msg = "a Gauge keeps no windows, so it has no windowed aggregation; drop the 'over' or use a Trend"
        raise ValueError(msg)

    def window_starts(self) -> list[int]:
        return []

    def stats(self) -> Stats:
        if self.value is None:
            return Stats()
        return Stats(value=self.value, min=self.min, max=self.max)

    def window_stats(self) -> list[tuple[int, Stats]]:
        """A Gauge keeps no windows: only its latest value and range."""
        return []

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

    def trend(self, name: str, tags: Mapping[str, str] | None = None, *, resolution: float = 0.001) -> Trend:
        t: Trend = self._get("trend", name, tags, resolution=resolution)
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
        return self.select_tags(*parse_selector(selector))

    def summed_over_parts(self, name: str, wanted: Mapping[str, str], field: str) -> dict[int, float]:
        """Per window, ``field`` (``avg``, ``max``) of each process part's Trend ``name`` added up.

        A scenario split over processes records ``vus_active`` per part (tag ``part``): merging the
        parts' histograms would give the users of one part (their mean), not of the scenario."""
        parts: dict[str, Trend] = {}
        for _, tags, m in self.series(name):
            if isinstance(m, Trend) and all(tags.get(k) == v for k, v in wanted.items()):
                parts.setdefault(tags.get("part", ""), Trend(resolution=m.resolution)).merge(m)
        out: dict[int, float] = {}
        for trend in parts.values():
            for w, stats in trend.window_stats():
                if (value := getattr(stats, field)) is not None:
                    out[w] = out.get(w, 0.0) + value
        return dict(sorted(out.items()))

    def select_tags(self, name: str, wanted: Mapping[str, str]) -> Metric | None:
        """Merge every series of ``name`` carrying the ``wanted`` tags. Code that has tag values in hand
        (a URL path with a comma, a brace) uses this: a selector string rebuilt from them would not parse."""
        merged: Metric | None = None
        for _, tags, m in self.series(name):
            if any(tags.get(k) != v for k, v in wanted.items()):
                continue
            if merged is None:
                # A fresh metric merged into, not a serialised copy: select runs during a run
                # (abortOnFail checks), so it must not base64 every window each time.
                merged = Trend(resolution=m.resolution) if isinstance(m, Trend) else _KINDS[m.kind]()
            merged.merge(m)  # type: ignore[arg-type]
        return merged

    def recent_percentile(self, name: str, p: float) -> float | None:
        """``p`` of the newest window across every series of ``name`` (live progress): merges one
        window per series, never the whole run."""
        trends = [t for _, _, t in self.series(name) if isinstance(t, Trend) and t.window_starts()]
        if not trends:
            return None
        window = max(t.window_starts()[-1] for t in trends)
        counts = _no_counts()
        n = sum(t._counts_into(counts, (window,)) for t in trends)  # a series without that window adds none
        return _at_percentiles(counts, n, [p])[0] / trends[0]._scale if n else None

    def merge(self, other: Metrics) -> None:
        for (name, tags), m in other._series.items():
            kw = {"resolution": m.resolution} if isinstance(m, Trend) else {}
            self._get(m.kind, name, dict(tags), **kw).merge(m)

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"name": n, "tags": tags, **m.to_dict()} for n, tags, m in self.series()]

    @classmethod
    def from_dict(cls, rows: Iterable[Mapping[str, Any]]) -> Metrics:
        reg = cls()
        for row in rows:
            reg._series[(str(row["name"]), _tags(row["tags"]))] = _KINDS[row["kind"]].from_dict(row)
        return reg
