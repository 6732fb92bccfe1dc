"""The verdict: made once per run, here, by one rule.

Thresholds are evaluated on the run's merged (and derived) metrics, then the status follows:

- ``interrupted`` when Ctrl-C stopped a test or a scenario;
- ``failed`` when a test failed on a client whose numbers were distorted: a broken test is the
  release's to fix whatever the machine did (a CI that retries exit 3 as "the bench was busy" would
  hide it); the numbers are still not judged, and ``metadata["unmeasured"]`` says why;
- ``unmeasured`` when the numbers are distorted (the load generator's client saturated past
  ``unreliable_saturation`` of the run, fewer than ``min_clean_share`` of a browser metric's samples
  measured on an unsaturated client (``quarantine.py``: the others are never judged), or the target
  stopped answering or the bench broke, whose failed tests are theirs; ``validity.py``): whatever
  they say, they are not judged;
- ``failed`` when a threshold failed on its samples, a test failed, a scenario stopped early on an
  ``abortOnFail`` threshold, or the run regressed against its history (unless configured to warn);
- ``unmeasured`` when no threshold had a sample at all (nothing was measured), or when the only
  failures are thresholds you wrote that had no samples (and a usage
  error, exit 2, when such a metric's name is one letter off a metric the run did record:
  ``metadata["misnamed"]``);
- ``partial`` when a crashed worker lost iterations, or shards of a sharded run never reported;
- ``passed`` otherwise.

The reasons a run is unmeasured are kept in ``metadata["unmeasured"]``, one line each.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.metrics import parse_selector
from ..core.metrics.catalog import misspelt
from ..core.results import FAILED_PARTS, UNMEASURED_PARTS, Run
from ..core.thresholds import Threshold, ThresholdOutcome, evaluate
from .quarantine import clean_shortfall
from .validity import distorted, measured_saturation, silent_target, unsampled

__all__ = ["RunFacts", "judge"]


@dataclass(frozen=True)
class RunFacts:
    """What the verdict reads beyond the metrics: how the session around the run went."""

    lost_iterations: int = 0  # iterations of crashed workers
    client_saturation: float | None = None  # share of the run the controller's machine was saturated
    client_busy: tuple[tuple[float, float], ...] = ()  # the spans it was saturated (epoch seconds)
    interrupted: bool = False  # Ctrl-C
    tests_failed: bool = False  # a journey or scenario test failed its own assertions
    regressions: int = 0  # regressions against history that fail the run (config regressions = "fail")
    missing_shards: tuple[str, ...] = ()  # shards of a sharded run that never reported ("2/3")
    bench_broken: tuple[str, ...] = ()  # the bench itself broke mid-run (a browser server went away)


def judge(run: Run, thresholds: list[Threshold], facts: RunFacts, *, unreliable_saturation: float) -> None:
    """Evaluate ``thresholds`` on ``run`` and set its status (the rule is in the module docstring)."""
    run.lost_iterations = facts.lost_iterations
    seen = [s for s in (facts.client_saturation, *(sc.client_saturation for sc in run.scenarios)) if s is not None]
    measured = measured_saturation(run)
    run.client_saturation = measured[0] if measured is not None else max(seen) if seen else None
    run.thresholds = evaluate(thresholds, run.metrics, duration_s=run.duration_seconds)
    if problems := {str(o.threshold): o.problem for o in run.thresholds if o.problem}:
        run.metadata["threshold_problems"] = problems
    busy_client = distorted(run, saturation_share=unreliable_saturation,
                            saturated_samples=measured[1] if measured is not None else None)
    api_busy = bool(busy_client)
    if (shortfall := clean_shortfall(run)) is not None:
        busy_client.append(shortfall)
    # A silent target or a broken bench fails every test after it: those failures are theirs, not the release's.
    gone = [*filter(None, [silent_target(run)]), *facts.bench_broken]
    bad_data = busy_client + gone
    empty = unsampled(run)
    measured_failures = len(run.failed_thresholds) > len(empty)
    if facts.interrupted or any(s.interrupted for s in run.scenarios):
        run.status = "interrupted"
    elif facts.tests_failed and busy_client and not gone:
        run.status = "failed"
    elif bad_data:
        run.status = "unmeasured"
    elif measured_failures or facts.tests_failed or run.stop_reasons or facts.regressions:
        run.status = "failed"
    elif empty:
        run.status = "unmeasured"
        bad_data = [f"too few samples for a verdict: {o.threshold}: {o.detail}; check that the suite records it"
                    for o in empty]
        if misnamed := _misnamed(run, empty):  # a typo only the run could reveal: the user's to fix (exit 2)
            run.metadata["misnamed"] = misnamed
    elif run.thresholds and all(o.observed is None for o in run.thresholds):
        # Built-in defaults that all had no data: not a pass, nothing was measured.
        run.status = "unmeasured"
        bad_data = ["nothing was measured: no threshold had a sample (no page visit, step or request was "
                    "recorded); check that the tests navigate to the target or send it requests"]
    elif facts.lost_iterations or facts.missing_shards:
        run.status = "partial"
    else:
        run.status = "passed"
    if bad_data:
        run.metadata["unmeasured"] = bad_data
    if run.status == "unmeasured":
        _parts(run, api_busy=api_busy, browser_busy=shortfall is not None, gone=bool(gone))


def _parts(run: Run, *, api_busy: bool, browser_busy: bool, gone: bool) -> None:
    """Which parts of an unmeasured run were not measured, and which of its measured numbers failed
    anyway: ``perfmon run --retry-unmeasured`` runs only the first again, and keeps the second's verdict."""
    parts = {"api"} if api_busy else set()
    parts |= {"browser"} if browser_busy else set()
    run.metadata[UNMEASURED_PARTS] = sorted(parts) if parts and not gone else ["api", "browser"]
    run.metadata[FAILED_PARTS] = sorted({"browser" if parse_selector(o.threshold.metric)[0].startswith("browser_")
                                         else "api" for o in run.failed_thresholds if o.observed is not None})


def _misnamed(run: Run, empty: list[ThresholdOutcome]) -> list[str]:
    """A threshold whose metric recorded nothing, named like one that did (or a built-in one): a typo
    that only the run could reveal (a custom metric's name is known once the suite records it)."""
    recorded = run.metrics.names()
    out = []
    for o in empty:
        name = parse_selector(o.threshold.metric)[0]
        if (meant := misspelt(name, recorded)) is not None:
            out.append(f"threshold {o.threshold} names {name!r}, which this run never recorded; did you mean "
                       f"{meant!r}?")
    return out
