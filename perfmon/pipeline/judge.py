"""The verdict: made once per run, here, by one rule.

Thresholds are evaluated on the run's merged (and derived) metrics, then the status follows:

- ``interrupted`` when Ctrl-C stopped a test or a scenario;
- ``failed`` when a threshold failed, a test failed, a scenario stopped early on an
  ``abortOnFail`` threshold, or the run regressed against its history (unless configured to warn);
- ``partial`` when a crashed worker lost iterations;
- ``passed`` otherwise.

The client's own saturation decides whether browser numbers are trustworthy: past the
configured share of the run they are flagged unreliable (shown, not failed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..results import Run
from ..thresholds import Threshold, evaluate

__all__ = ["RunFacts", "judge"]


@dataclass(frozen=True)
class RunFacts:
    """What the verdict reads beyond the metrics: how the session around the run went."""

    lost_iterations: int = 0  # iterations of crashed workers
    client_saturation: float | None = None  # share of the run the controller's machine was saturated
    interrupted: bool = False  # Ctrl-C
    tests_failed: bool = False  # a journey or scenario test failed its own assertions
    regressions: int = 0  # regressions against history that fail the run (config regressions = "fail")


def judge(run: Run, thresholds: list[Threshold], facts: RunFacts, *, unreliable_saturation: float) -> None:
    """Evaluate ``thresholds`` on ``run`` and set its status (the rule is in the module docstring)."""
    run.lost_iterations = facts.lost_iterations
    seen = [s for s in (facts.client_saturation, *(sc.client_saturation for sc in run.scenarios)) if s is not None]
    run.client_saturation = max(seen) if seen else None
    has_browser = any(name.startswith("browser_") for name in run.metrics.names())
    if has_browser and run.client_saturation is not None and run.client_saturation > unreliable_saturation:
        run.metadata["browser_metrics_unreliable"] = True
    run.thresholds = evaluate(thresholds, run.metrics, duration_s=run.duration_seconds)
    if problems := {str(o.threshold): o.problem for o in run.thresholds if o.problem}:
        run.metadata["threshold_problems"] = problems
    if facts.interrupted or any(s.interrupted for s in run.scenarios):
        run.status = "interrupted"
    elif run.failed_thresholds or facts.tests_failed or run.stop_reasons or facts.regressions:
        run.status = "failed"
    elif facts.lost_iterations:
        run.status = "partial"
    else:
        run.status = "passed"
