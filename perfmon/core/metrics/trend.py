"""Trend: a distribution of values (durations in ms, or unitless like CLS), kept as one HDR histogram
per time window (``hdr.py``), never raw samples. Closed windows stay encoded (a few hundred bytes) so
a 15-minute run stays small; averages, min and max are exact; windows with the same start add up
exactly across workers, processes and machines."""


from __future__ import annotations

import base64
import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from hdrh.histogram import HdrHistogram

from .hdr import (
    _FEW,
    _HIGHEST,
    _LIVE_WINDOWS,
    _add_encoded,
    _add_histogram,
    _add_values,
    _at_percentiles,
    _mean,
    _new_histogram,
    _no_counts,
    _release,
    _window,
)
from .stats import PERCENTILES, MetricKind, Stats

if TYPE_CHECKING:
    from .hdr import Counts

__all__ = ["Trend", "merged_percentiles"]

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


