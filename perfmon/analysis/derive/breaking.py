"""Where a stress ramp broke: the first 5-s window in which the SLO no longer held, the rate and the
users at that moment, and what broke it.

The SLO is the run's own thresholds on latency percentiles (``http_req_duration: p(N)<X``) and on
the error rate (``http_req_failed: rate<X``), each checked on the single window; throughput
*collapse* (completions falling below ``COLLAPSE`` of the best window so far while users did not
fall) breaks it too, because a saturated server can also fail by answering less. Reading windows,
not the whole run, is what places the break: a whole-run p95 only says that it broke somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.findings import RampBreak
from ...core.metrics import Rate, Trend, parse_selector
from ...core.results import Run
from ...core.thresholds import Threshold
from .scalability import ramp_windows

__all__ = ["COLLAPSE", "breaking_point"]

COLLAPSE = 0.7  # completions under this share of the best window so far, at no fewer users


def _applies(t: Threshold, metric: str, scenario: str) -> bool:
    name, tags = parse_selector(t.metric)
    return name == metric and set(tags) <= {"scenario"} and tags.get("scenario", scenario) == scenario \
        and t.op in ("<", "<=")


def breaking_point(run: Run, scenario: str, thresholds: Sequence[Threshold]) -> RampBreak:
    """The break of ``scenario`` in ``run``: ``rate``, ``users``, ``at_s`` (seconds into the run) and
    ``broken_by``; or ``why`` it did not break, or cannot be told. Either way ``sustainable_rate`` and
    ``sustainable_users`` (the best window that held, and its users) and ``steps`` (every window read,
    up to the break) for the capacity tables."""
    latency = run.metrics.select_tags("http_req_duration", {"scenario": scenario})
    failed = run.metrics.select_tags("http_req_failed", {"scenario": scenario})
    windows = ramp_windows(run.metrics, scenario)
    if not isinstance(latency, Trend) or not windows:
        return RampBreak(scenario, why="no requests were measured in a whole window of the ramp")
    slo_latency = [t for t in thresholds
                   if _applies(t, "http_req_duration", scenario) and t.aggregation.startswith("p(")]
    slo_errors = [t for t in thresholds if _applies(t, "http_req_failed", scenario) and t.aggregation == "rate"]
    best, best_users = 0.0, 0.0
    steps: list[dict[str, Any]] = []
    for w, users, rate in windows:
        reasons = []
        for t in slo_latency:
            value = latency.stat_over(t.aggregation, [w])
            if value is not None and not t.check(value):
                reasons.append(f"latency {t.aggregation} {value:.0f} ms against {t.expression}")
        errors = failed.stat_over("rate", [w]) if isinstance(failed, Rate) else None
        for t in slo_errors:
            if errors is not None and not t.check(errors):
                reasons.append(f"errors {100 * errors:.1f} % against {t.expression}")
        if best and rate < COLLAPSE * best:
            reasons.append(f"throughput collapsed to {rate:.1f}/s from {best:.1f}/s")
        steps.append({"rate": None, "throughput": rate, "concurrency": users, "error_rate": errors,
                      **{f"p{p}": latency.stat_over(f"p({p})", [w]) for p in (50, 95, 99)},
                      "held": not reasons, "broken_by": reasons})
        if reasons:
            return RampBreak(scenario, rate, users, w - run.started_at, tuple(reasons),
                                 sustainable_rate=best or None, sustainable_users=best_users or None,
                                 steps=tuple(steps))
        if rate > best:
            best, best_users = rate, users
    return RampBreak(scenario, why=f"held the SLO up to {max(users for _, users, _ in windows):.0f} users (best "
                         f"{best:.1f}/s)", sustainable_rate=best, sustainable_users=best_users, steps=tuple(steps))
