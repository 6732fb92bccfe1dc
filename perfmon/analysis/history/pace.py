"""The machine's pace during a run, and each endpoint's latency adjusted to it before the gate judges.

Much of the run-to-run spread of an endpoint's latency on a shared machine is the machine, not the
release: in a slower moment (a busy neighbour core, a cache-hungry process, a throttled CPU) every
request takes longer, and so does the load generator's own work. The generator's CPU time per
request (its event loops' CPU over the requests sent, ``generator_cpu_seconds`` / ``http_reqs``)
measures that pace without looking at the target: a release that slows an endpoint makes the
generator wait, not compute. On the bench's runs it correlates +0.48 to +0.59 with the dashboard's
location across unchanged runs (three sets; bench/README.md).

So, as CUPED does with a pre-period covariate, each endpoint's latency series are adjusted on the
pace before the gate (gate.py) judges them: ``log value - b (pace - baseline pace)``, with ``b``
the slope of the endpoint's log latency (the mean log of its quantiles at LOCATION_GRID, the
location's raw material) on the log pace over the comparable history, by least squares
(scipy's ``linregress``). The slope is fitted only with ``MIN_RUNS`` history runs or more (a slope
from the 5 baseline runs alone adds more noise than it removes, measured), and kept within [0, 1]:
a faster machine never makes a request slower, and no more than the pace itself. One slope per
endpoint serves its p50, p95 and location, so a noisy p95 does not get its own noisy slope.

What it cannot tell apart: a release whose responses cost the generator more CPU to read (much
larger bodies) looks like a slower machine, and that endpoint's slowdown is underestimated by
``b`` times the generator's extra cost (b is 0.08-0.16 on the bench). The adjustment is named in
the comparison's ``pace`` entry, so a reader sees it was applied and by how much.
Hand-written because no library fits this covariate per endpoint from run summaries; the
regression is scipy's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from ...core.comparison import Pace
from ...core.metrics import Counter
from ...core.results import Run
from .series import Observation

__all__ = ["MIN_RUNS", "Pace", "adjust_for_pace", "run_pace"]

MIN_RUNS = 10  # history runs with a pace needed to fit an endpoint's slope
_ADJUSTED = "http_req_duration"


def run_pace(run: Run) -> float | None:
    """The log of the load generator's CPU-seconds per request, or None without an engine or requests."""
    cpu, requests = run.metrics.select("generator_cpu_seconds"), run.metrics.select("http_reqs")
    if not isinstance(cpu, Counter) or not isinstance(requests, Counter) or cpu.count <= 0 or requests.count <= 0:
        return None
    return math.log(cpu.count / requests.count)


def _level(obs: Observation) -> float:
    """An endpoint's log latency level in one run: the mean log of its quantiles (else its log p50)."""
    return statistics.fmean(math.log(max(q, 1e-9)) for q in obs.profile) if obs.profile else math.log(obs.value)


def _slopes(history: Sequence[tuple[Sequence[Observation], float]]) -> dict[tuple[tuple[str, str], ...], float]:
    from scipy import stats as sps

    points: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for observations, pace in history:
        for obs in observations:
            if obs.metric == _ADJUSTED and obs.statistic == "p50" and obs.value > 0:
                points.setdefault(obs.tags, []).append((pace, _level(obs)))
    out = {}
    for tags, xy in points.items():
        xs = [x for x, _ in xy]
        if len(xy) >= MIN_RUNS and max(xs) > min(xs):
            fit = sps.linregress(xs, [y for _, y in xy])
            out[tags] = min(max(float(fit.slope), 0.0), 1.0)
    return out


def _scaled(observations: Sequence[Observation], by: dict[tuple[tuple[str, str], ...], float],
            shift: float) -> list[Observation]:
    out = []
    for obs in observations:
        b = by.get(obs.tags) if obs.metric == _ADJUSTED else None
        if not b:
            out.append(obs)
            continue
        f = math.exp(-b * shift)
        out.append(replace(obs, value=obs.value * f, se=obs.se * f, profile=tuple(q * f for q in obs.profile)))
    return out


def adjust_for_pace(candidate: tuple[Sequence[Observation], float | None],
                    baselines: Sequence[tuple[Sequence[Observation], float | None]],
                    history: Sequence[tuple[Sequence[Observation], float | None]],
                    ) -> tuple[list[Observation], list[list[Observation]], Pace | None]:
    """The candidate's and each baseline run's series adjusted to the baseline runs' mean pace, with
    slopes fitted over ``history`` (comparable runs, the baseline's among them); unchanged, with None,
    when a run lacks a pace or no endpoint has ``MIN_RUNS`` history runs."""
    unchanged = list(candidate[0]), [list(obs) for obs, _ in baselines], None
    paced = [(obs, pace) for obs, pace in history if pace is not None]
    known = [(obs, pace) for obs, pace in baselines if pace is not None]
    if candidate[1] is None or len(known) < len(baselines) or len(paced) < MIN_RUNS:
        return unchanged
    slopes = _slopes(paced)
    if not any(slopes.values()):
        return unchanged
    center = statistics.fmean(pace for _, pace in known)
    adjusted = [_scaled(obs, slopes, pace - center) for obs, pace in known]
    names = {",".join(f"{k}:{v}" for k, v in tags): round(b, 3) for tags, b in slopes.items()}
    return (_scaled(candidate[0], slopes, candidate[1] - center), adjusted,
            Pace(math.exp(candidate[1] - center) - 1, len(paced), names))
