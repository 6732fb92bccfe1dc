"""The series a run is judged on over history, each as one value plus its own sampling error.

For every series that matters (WS-180 and issue #13): p50 and p95 of each endpoint, the error rate
and throughput of the run, each Web Vital's p75 per page, each step's p95 per journey, and the peak
memory of each process role; with the target's database sampled, its lock waits' p95, the most
connections used and each top query's mean time. The sampling error is what the run itself says about how precisely it
measured the value (the within-run noise):

- a percentile: a distribution-free confidence interval from the run's own histogram, the
  order-statistic bounds ``p ± z·sqrt(p(1-p)/n)`` read off the same histogram (so a p95 from 30
  samples is known to be loose, one from 30 000 tight);
- an error rate: the binomial standard error ``sqrt(r(1-r)/n)``;
- a throughput: the Poisson standard error of the count, per second;
- a memory peak: none (one number per run; its noise is the between-run spread);
- a stress scenario's sustainable rate (capacity, higher is better): none either, so a release that
  holds less load is flagged like any regression.

The runner's own memory is not a series: it is the instrument, and its peak follows how many virtual
users the executor had to start (a slower endpoint under an arrival rate doubles it) rather than the
release. It is still watched for leaks (``analysis/leaks.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ...core.metrics import Counter, Metrics, Rate, Trend, merged_percentiles
from ...core.results import Run
from ..capacity import capacity_by_scenario

__all__ = ["CAPACITY", "LOCATION_GRID", "MIN_SAMPLES", "Observation", "observe"]

LOCATION_GRID = (5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0)
MIN_SAMPLES = 20  # fewer samples than this and a percentile is close to the run's maximum: not judged
_Z = 1.0  # bounds one standard error wide
CAPACITY = "sustainable_rate"  # the highest rate at which the SLO held (analysis/capacity.py)
RUNNER_ROLE = "runner"  # the instrument: judged for leaks, not as a release's series


@dataclass(frozen=True)
class Observation:
    """One series of one run: ``key`` names it (metric, statistic and tags), ``value`` is the run's
    figure, ``se`` its within-run standard error, ``higher_is_worse`` its direction."""

    key: str
    metric: str
    statistic: str
    tags: tuple[tuple[str, str], ...]
    value: float
    se: float
    samples: float
    higher_is_worse: bool = True
    unit: str = "ms"
    # An endpoint's quantiles at LOCATION_GRID (on its p50 only): location.py builds the endpoint's
    # location-shift series from them, against the baseline runs' own.
    profile: tuple[float, ...] = ()


def _grouped(metrics: Metrics, name: str, keys: tuple[str, ...]) -> dict[tuple[str, ...], list[Trend]]:
    """The Trends of ``name`` grouped by the values of ``keys`` (series lacking one are left out):
    one pass over the run's series instead of one merge per group."""
    out: dict[tuple[str, ...], list[Trend]] = {}
    for _, tags, series in metrics.series(name):
        values = tuple(tags.get(k) for k in keys)
        if isinstance(series, Trend) and series.count and all(v is not None for v in values):
            out.setdefault(values, []).append(series)  # type: ignore[arg-type]  # None was ruled out
    return dict(sorted(out.items()))


def _percentiles(trends: list[Trend], ps: tuple[float, ...],
                 profile: tuple[float, ...] = ()) -> tuple[list[tuple[float, float]], tuple[float, ...]] | None:
    """Each percentile of ``ps`` with its standard error, and the percentiles at ``profile``, from one
    read of the windows (reading them is most of a history's analysis time)."""
    n = sum(t.count for t in trends)
    if n < MIN_SAMPLES:
        return None
    wanted = []
    for p in ps:
        q = p / 100
        half = _Z * math.sqrt(q * (1 - q) / n)
        wanted += [p, 100 * max(0.0, q - half), 100 * min(1.0, q + half)]
    at = merged_percentiles(trends, [*wanted, *profile])
    out = []
    for i in range(0, len(wanted), 3):
        value, lo, hi = at[i:i + 3]
        if value is None:
            return None
        out.append((value, ((hi or value) - (lo or value)) / (2 * _Z)))
    shape = at[len(wanted):]
    return out, tuple(float(v) for v in shape if v is not None) if all(v is not None for v in shape) else ()


def _key(metric: str, statistic: str, tags: dict[str, str]) -> str:
    inner = ",".join(f"{k}:{v}" for k, v in sorted(tags.items()))
    return f"{statistic} {metric}" + (f"{{{inner}}}" if inner else "")


def _database(run: Run, out: list[Observation], add_trend: Callable[..., None]) -> None:
    """The target's database (target_db.py): lock waits' p95, the most connections used, and each top
    query's mean time (one figure a run, so its noise is the between-run spread, as a memory peak's)."""
    waits = [t for _, _, t in run.metrics.series("db_lock_wait_ms") if isinstance(t, Trend)]
    if waits:
        add_trend("db_lock_wait_ms", waits, {}, (95,))
    used = run.metrics.select("db_connections_used")
    if isinstance(used, Trend) and used.count >= MIN_SAMPLES and used.max:
        out.append(Observation(_key("db_connections_used", "max", {}), "db_connections_used", "max", (),
                               float(used.max), 0.0, float(used.count), unit="connections"))
    for q in (run.metadata.get("target_db") or {}).get("queries") or ():
        if q.get("calls", 0) >= MIN_SAMPLES and q.get("mean_ms"):
            tags = {"query": str(q["query"])}
            out.append(Observation(_key("db_query_time_ms", "mean", tags), "db_query_time_ms", "mean",
                                   tuple(tags.items()), float(q["mean_ms"]), 0.0, float(q["calls"]), unit="ms"))


def observe(run: Run) -> list[Observation]:
    """Every judged series of ``run`` with its value and within-run standard error."""
    out: list[Observation] = []
    m = run.metrics

    def add_trend(metric: str, trends: list[Trend], tags: dict[str, str], ps: tuple[float, ...],
                  unit: str = "ms", profile: tuple[float, ...] = ()) -> None:
        found = _percentiles(trends, ps, profile)
        values, shape = found or ([], ())
        for i, (p, (value, se)) in enumerate(zip(ps, values, strict=False)):
            stat = f"p{p:g}"
            out.append(Observation(_key(metric, stat, tags), metric, stat, tuple(sorted(tags.items())), value, se,
                                   float(sum(t.count for t in trends)), unit=unit, profile=shape if i == 0 else ()))

    for (name,), trends in _grouped(m, "http_req_duration", ("name",)).items():
        add_trend("http_req_duration", trends, {"name": name}, (50, 95), profile=LOCATION_GRID)
    failed = m.select("http_req_failed")
    if isinstance(failed, Rate) and failed.total >= MIN_SAMPLES:
        r, n = failed.rate or 0.0, failed.total
        out.append(Observation(_key("http_req_failed", "rate", {}), "http_req_failed", "rate", (), r,
                               math.sqrt(max(r * (1 - r), 1 / n) / n), float(n), unit="share"))
    reqs = m.select("http_reqs")
    duration = run.duration_seconds
    if isinstance(reqs, Counter) and duration > 0 and reqs.count >= MIN_SAMPLES:
        out.append(Observation(_key("http_reqs", "rate", {}), "http_reqs", "rate", (), reqs.count / duration,
                               math.sqrt(reqs.count) / duration, reqs.count, higher_is_worse=False, unit="/s"))
    for vital in ("lcp", "inp", "cls", "fcp", "ttfb"):
        name = f"browser_vital_{vital}"
        for (page,), trends in _grouped(m, name, ("page",)).items():
            add_trend(name, trends, {"page": page}, (75,), "" if vital == "cls" else "ms")
    for (journey, step), trends in _grouped(m, "browser_step_duration", ("journey", "step")).items():
        add_trend("browser_step_duration", trends, {"journey": journey, "step": step}, (95,))
    for scenario, found in capacity_by_scenario(run).items():
        # One figure per run, like a memory peak: its noise is the between-run spread, so no
        # within-run error (a search's bracket is a bound, not a sampling error).
        if rate := found.get("sustainable_rate"):
            tags = {"scenario": scenario}
            out.append(Observation(_key(CAPACITY, "max", tags), CAPACITY, "max", tuple(tags.items()), float(rate),
                                   0.0, float(len(found.get("steps") or [])), higher_is_worse=False, unit="/s"))
    _database(run, out, add_trend)
    for (role,), trends in _grouped(m, "process_rss_mb", ("role",)).items():
        if role == RUNNER_ROLE:
            continue
        peak = max(t.max for t in trends)
        out.append(Observation(_key("process_rss_mb", "max", {"role": role}), "process_rss_mb", "max",
                               (("role", role),), peak, 0.0, float(sum(t.count for t in trends)), unit="MB"))
    return out
