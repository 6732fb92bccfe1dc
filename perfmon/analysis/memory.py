"""Memory growth over a run: the slope of per-window peak RSS, per process role.

A soak test's question is "does memory keep growing under steady load?". A least-squares slope
over the run's windows (MB per minute) answers it without being fooled by one spike; the first
window is left out as warm-up.
"""

from __future__ import annotations

import statistics

from ..core.metrics import Metrics, Trend

__all__ = ["memory_growth"]


def memory_growth(metrics: Metrics, role: str) -> float | None:
    """MB per minute that ``role``'s resident memory grew by over the run; ``None`` with too few windows."""
    trend = metrics.select_tags("process_rss_mb", {"role": role})
    if not isinstance(trend, Trend):
        return None
    points = [(float(w), s.max) for w, s in trend.window_stats() if s.max is not None]
    points = points[1:]
    if len(points) < 3:
        return None
    slope, _ = statistics.linear_regression([p[0] for p in points], [p[1] for p in points])
    return slope * 60
