"""Time windows and the HDR histogram codec behind every Trend: the one place HdrHistogram, its
layout and the integer scale of its values are handled.

Percentiles come from HdrHistogram's counts and bucket arithmetic. The percentile scan is done
here with numpy (the windows' counts summed, one cumulative sum, a binary search per percentile)
rather than with hdrh's merge and ``get_percentile_to_value_dict``: those build a histogram per
merge and walk every bucket in Python, about 1 ms per series, which made judging a run against its
history 10 s instead of 1 (bench/regression_speed.py). The results are the same values hdrh gives
(tests/unit/test_metrics.py compares them). numpy is imported by the functions that read counts,
not at import: every xdist worker imports this module only to record, and numpy cost each of 50
workers about 0.1 CPU-s to start (bench/browser_pool.py).
"""


from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hdrh.codec import HdrHistogramEncoder, payload_header_size
from hdrh.histogram import HdrHistogram
from pyhdrh import decode as _decode_counts  # hdrh's own C decoder (hdrh.codec imports it anyway)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["WINDOW_S", "sliding_spans", "window_of"]

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

