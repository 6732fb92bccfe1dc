"""Whether a run measured the target at all: the reasons it could not be, each one line with what to
change. A run with such a reason is ``unmeasured`` (exit 3): it neither passes nor fails on numbers
it knows are distorted.

- **The load generator's client was saturated** longer than ``unreliable_saturation`` of the time
  the run measured (the sampler's samples in the windows that hold requests or browser samples;
  saturated means the load generator's own event loop, or the whole machine while browsers ran):
  latencies then measure the client as much as the server. Locust warns at the same 90 % CPU; k6
  says nothing. A run without API load is judged per sample instead (quarantine.py).
- **The target stopped answering**: the run ends with at least two windows (10 s) in which requests
  went out and none got an HTTP answer (refused, reset, timed out), or no request ever got one. A
  stalled target is "failed"; a silent one measured nothing.
- **Too few samples**: a threshold you wrote had nothing to judge (unless the absence is what an
  analysis found: a spike that never recovered). Only decisive when nothing else failed (see
  ``judge``): a failure measured on real samples stands.
"""

from __future__ import annotations

from ..core.findings import SpikeRecovery
from ..core.metrics import WINDOW_S, Counter, Rate, Trend, parse_selector, window_of
from ..core.metrics.catalog import NO_ANSWER
from ..core.results import Run
from ..core.thresholds import ThresholdOutcome

__all__ = ["distorted", "measured_saturation", "silent_target", "unsampled"]

_MIN_SATURATED_SAMPLES = 3  # the sampler's samples (one a second) before saturation can void a run
_SILENT_WINDOWS = 2  # trailing windows without an answer that mean "stopped answering"
_CANCELLED = "interrupted"  # in flight when the graceful stop ran out: the scheduler's doing, not the target's


def measured_saturation(run: Run) -> tuple[float, int] | None:
    """The share of the sampler's samples in which the client was saturated, and how many were,
    counting only the windows in which the run measured something (requests, browser samples): a
    busy start-up (50 workers importing Playwright) or teardown distorts no number. ``None``
    without samples."""
    saturated = run.metrics.select("client_saturated")
    if not isinstance(saturated, Rate) or not saturated.total:
        return None
    measuring: set[int] = set()
    for sc in run.scenarios:  # a scenario measures from its start, though its requests are recorded as they end
        measuring.update(range(window_of(sc.started_at), window_of(sc.finished_at) + 1, WINDOW_S))
    for name in run.metrics.names():
        if name == "http_reqs" or name.startswith("browser_"):
            for _, _, series in run.metrics.series(name):
                measuring.update(series.window_starts() if isinstance(series, Trend) else
                                 series.windows_ if isinstance(series, Counter) else ())
    cells = [cell for w, cell in saturated.windows_.items() if w in measuring] or list(saturated.windows_.values())
    total, hot = sum(n for _, n in cells), sum(t for t, _ in cells)
    return (hot / total, hot) if total else None


def distorted(run: Run, *, saturation_share: float, saturated_samples: int | None) -> list[str]:
    """Reasons the run's numbers cannot be trusted at all because of the client (saturated, its loop
    blocked); ``saturated_samples`` is what ``measured_saturation`` counted (None: only a share is known).
    A target that went silent is :func:`silent_target`."""
    reasons = []
    share = run.client_saturation
    # A second or two of a busy client (a run's start in the same 5-s window) distorts nothing much.
    sustained = saturated_samples is None or saturated_samples >= _MIN_SATURATED_SAMPLES
    # Browser samples are quarantined one by one (quarantine.py); the share voids a load generator's run.
    load = bool(run.scenarios) or any(True for _ in run.metrics.series("http_reqs"))
    blocked = run.metrics.select("generator_loop_blocked")
    if load and isinstance(blocked, Rate) and blocked.trues and share is not None and share > saturation_share \
            and sustained:
        reasons.append(f"the load generator's event loop was blocked {blocked.rate:.0%} of the run (a blocking call in "
                       "the journey, such as time.sleep or a synchronous HTTP client, holds every virtual user and "
                       "adds its time to their requests): use `await user.sleep(...)` and the client perfmon gives")
    elif load and share is not None and share > saturation_share and sustained:
        reasons.append(f"the client CPU was saturated {share:.0%} of the run (more than unreliable_saturation = "
                       f"{saturation_share:g}), so its numbers measure this machine as much as the target: use fewer "
                       "users or workers (-n), or a bigger runner")
    return reasons


def unsampled(run: Run) -> list[ThresholdOutcome]:
    """The thresholds you wrote that had no samples to judge. A derived metric whose absence is the
    finding (a spike that never recovered has no recovery time) is a failure, not missing data."""
    findings = {found.absent_is_failure for found in run.findings_of(SpikeRecovery)}
    return [o for o in run.thresholds if not o.passed and o.observed is None and o.problem is None
            and parse_selector(o.threshold.metric)[0] not in findings]


def silent_target(run: Run) -> str | None:
    """Why the target counts as gone (the run ended with seconds in which no request got an answer)."""
    answered: dict[int, float] = {}
    unanswered: dict[int, float] = {}
    for _, tags, series in run.metrics.series("http_reqs"):
        if isinstance(series, Counter) and tags.get("status") != NO_ANSWER:
            for w, n in series.windows_.items():
                answered[w] = answered.get(w, 0.0) + n
    for _, tags, series in run.metrics.series("http_req_errors"):
        error = tags.get("error", "")
        if isinstance(series, Counter) and not error.isdigit() and error != _CANCELLED:
            for w, n in series.windows_.items():
                unanswered[w] = unanswered.get(w, 0.0) + n
    if not unanswered:
        return None
    windows = sorted(set(answered) | set(unanswered))
    silent = 0
    for w in reversed(windows):
        if answered.get(w):
            break
        silent += 1
    if silent < min(_SILENT_WINDOWS, len(windows)):
        return None
    lost = sum(unanswered.get(w, 0.0) for w in windows[-silent:])
    if silent == len(windows):
        return (f"the target never answered: {lost:.0f} request(s) got no HTTP response; check that it is up at "
                f"{run.base_url or 'BASE_URL'}")
    return (f"the target stopped answering: its last {silent} window(s) of the run, {lost:.0f} request(s), got no "
            "HTTP response; check whether it crashed or hung (its log, its memory)")
