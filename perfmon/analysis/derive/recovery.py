"""How long the system takes to recover after a spike.

The spike is read from the scenario's stages: it ends when the first stage after the peak has
brought the load back down. The baseline is the median per-window p95 before the load started
to climb to the peak. Recovery is the time from the end of the spike to the end of the first
window whose p95 is back within ``tolerance`` (or ``slack_ms``) of the baseline, and stays there
for the next window, so one lucky window does not count.
"""

from __future__ import annotations

import statistics

from ...core.config import Stage
from ...core.metrics import WINDOW_S, Trend

__all__ = ["recovery_time", "spike_phases"]


def spike_phases(stages: tuple[Stage, ...]) -> tuple[float, float] | None:
    """(time the climb to the peak starts, time the spike is over), seconds from the start."""
    if not stages:
        return None
    peak = max(range(len(stages)), key=lambda i: stages[i].target)
    climb_start = sum(s.duration_s for s in stages[:peak])
    level_before = stages[peak - 1].target if peak else 0
    # The climb may span several stages; it starts after the last stage at the pre-spike level.
    while peak > 0 and stages[peak - 1].target > level_before:
        peak -= 1
    climb_start = sum(s.duration_s for s in stages[:peak])
    end = climb_start
    for i in range(peak, len(stages)):
        end += stages[i].duration_s
        if stages[i].target <= level_before and i > peak:
            return climb_start, end
    return None


def recovery_time(latency: Trend, stages: tuple[Stage, ...], started_at: float, *, tolerance: float = 1.2,
                  slack_ms: float = 25.0) -> float | None:
    """Seconds from the end of the spike until p95 is back near its pre-spike level; ``None``
    when it never recovered within the run (or the stages hold no spike)."""
    phases = spike_phases(stages)
    if phases is None:
        return None
    climb_start, spike_end = started_at + phases[0], started_at + phases[1]
    windows = [(w, ws.p95) for w, ws in latency.window_stats() if ws.p95 is not None]
    before = [p95 for w, p95 in windows if w + WINDOW_S <= climb_start]
    if not before:
        return None
    usual = statistics.median(before)
    # Within 20 % of the usual p95, or a few ms of it: a 5 ms API wobbling to 7 ms has recovered.
    baseline = max(usual * tolerance, usual + slack_ms)
    after = [(w, p95) for w, p95 in windows if w + WINDOW_S > spike_end]
    for i, (w, p95) in enumerate(after):
        nxt = after[i + 1][1] if i + 1 < len(after) else p95
        if p95 <= baseline and nxt <= baseline:
            return max(0.0, w + WINDOW_S - spike_end)
    return None
