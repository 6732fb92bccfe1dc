"""Memory growth and leaks per process role (the target app, the runner, the browsers), within one run:
the one memory analysis. ``memory_growth`` (the gated ``memory_growth_mb_per_min``) and the leak
verdict both read the memory floor.

The runner (perfmon's own process and its helpers) is judged too since its own growth was fixed:
it used to grow about 1.8 GB/h at 160 requests/s because every closed window's histogram (188 KB)
waited for the cyclic garbage collector (metrics.py frees them at once now); in a 60-s soak its
memory floor now settles after warm-up (bench/README.md, leak quality).

Resident memory saws up and down with garbage collection, and consecutive samples are strongly
autocorrelated, so neither the raw samples nor plain Mann–Kendall will do (it flags most series
that do not leak). What is judged is the floor: the minimum RSS of each time window, which rises
only when memory is really kept. Its trend is tested with the Hamed–Rao modified Mann–Kendall test
(pymannkendall: the variance corrected for autocorrelation), and its slope is the Theil–Sen
estimate with its confidence interval (scipy). A leak needs all five: a significant increasing
trend, a slope whose lower bound is above ``min_slope_mb_per_h``, a floor still rising at that rate
in the last third of the run, a rise over the run of at least ``min_rise_mb``, and a run long enough
(``min_duration_s``) to tell a leak from warm-up. The first window (start-up) is left out.

The third condition separates a leak from warm-up that settles: a process's floor often climbs for
the first 20-30 s (allocator arenas, caches, imports) and then stays flat. Over a short run that
climb is a significant, monotone trend with a steep slope, and the runner's was flagged at
161 MB/h in a 45-s run whose last 20 s did not grow at all. A leak keeps growing to the end.

The fourth is a minimum effect size in megabytes: over a short run a steep slope can be a few
megabytes in all. The runner was flagged at 311 MB/h in a 45-s run (a fresh-clone test run,
2026-11-27), 3.5 MB from first floor to last; the bundled app leaking 50 KB per request rose 290 MB
in the same time. Over a soak of an hour the minimum slope binds first (30 MB/h is 30 MB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.findings import Leak
from ...core.metrics import Metrics, Trend

__all__ = ["ROLES", "LeakSettings", "detect_leak", "memory_floor", "memory_growth"]

ROLES = ("target", "runner", "browser")


@dataclass(frozen=True)
class LeakSettings:
    min_slope_mb_per_h: float = 30.0  # below this, growth is not worth failing a run over
    min_rise_mb: float = 10.0  # nor a rise smaller than this over the whole run
    min_duration_s: float = 40.0
    min_windows: int = 6
    alpha: float = 0.01


def memory_floor(metrics: Metrics, role: str) -> list[tuple[float, float]] | None:
    """``role``'s memory floor: (window start, minimum RSS in MB) per window after the first (start-up);
    None when the run has no memory samples of it."""
    trend = metrics.select_tags("process_rss_mb", {"role": role})
    if not isinstance(trend, Trend):
        return None
    return [(float(w), s.min) for w, s in trend.window_stats() if s.min is not None][1:]


def memory_growth(metrics: Metrics, role: str) -> float | None:
    """MB per minute ``role``'s memory floor grew over the run (the Theil-Sen slope of the floors, as
    the leak verdict reads it); None with fewer than three windows after start-up. This is the gated
    ``memory_growth_mb_per_min``: the floor, not the per-window peak, because peaks saw up and down
    with garbage collection and their slope is mostly noise."""
    floor = memory_floor(metrics, role)
    if floor is None or len(floor) < 3:
        return None
    from scipy.stats import theilslopes

    slope = float(theilslopes([mb for _, mb in floor], [w / 60 for w, _ in floor])[0])
    return 0.0 if slope == 0 else slope  # never -0.0


def detect_leak(metrics: Metrics, role: str, settings: LeakSettings = LeakSettings()) -> Leak | None:
    """The leak verdict for ``role``; ``None`` when the run has no memory samples of it."""
    floor = memory_floor(metrics, role)
    if floor is None:
        return None
    if len(floor) < settings.min_windows or floor[-1][0] - floor[0][0] < settings.min_duration_s:
        return Leak(role, False, f"too short to judge: {len(floor)} window(s) after warm-up, "
                                 f"{settings.min_windows} and {settings.min_duration_s:g}s needed")
    import pymannkendall
    from scipy.stats import theilslopes

    hours = [(w - floor[0][0]) / 3600 for w, _ in floor]
    mb = [v for _, v in floor]
    slope, _, low, high = theilslopes(mb, hours, alpha=0.95)
    test = pymannkendall.hamed_rao_modification_test(mb)
    if math.isnan(float(test.p)):
        # On a floor that only ever rises, Hamed-Rao's corrected variance comes out negative and
        # pymannkendall says "no trend" with p = NaN: the correction is undefined there, so the plain
        # Mann-Kendall test judges (a steady leak is exactly that series).
        test = pymannkendall.original_test(mb)
    p = float(test.p)
    rising = bool(test.trend == "increasing" and p < settings.alpha and low >= settings.min_slope_mb_per_h)
    tail = max(3, len(floor) // 3)
    tail_slope = float(theilslopes(mb[-tail:], hours[-tail:])[0])
    rise = float(slope) * hours[-1]
    leaking = rising and tail_slope >= settings.min_slope_mb_per_h and rise >= settings.min_rise_mb
    if leaking:
        why = f"the memory floor rises {slope:.0f} MB/h (95% CI {low:.0f}..{high:.0f}), trend p={p:.2g}"
    elif rising and tail_slope >= settings.min_slope_mb_per_h:
        why = (f"rose {slope:.0f} MB/h but only {rise:.1f} MB over the run, under the {settings.min_rise_mb:g} MB "
               "worth calling a leak")
    elif rising:
        why = (f"rose {slope:.0f} MB/h, then settled: {tail_slope:.0f} MB/h over the last {tail} windows "
               f"(warm-up, not a leak)")
    elif test.trend != "increasing" or p >= settings.alpha:
        why = f"no rising trend in the memory floor (p={p:.2g})"
    else:
        why = f"rising, but slower than {settings.min_slope_mb_per_h:g} MB/h for sure (CI low {low:.0f} MB/h)"
    return Leak(role, leaking, why, float(slope), float(low), float(high), p, len(floor))
