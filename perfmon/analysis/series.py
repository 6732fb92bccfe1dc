"""The series a run is judged on over history, each as one value plus its own sampling error.

For every series that matters (WS-180 and issue #13): p50 and p95 of each endpoint, the error rate
and throughput of the run, each Web Vital's p75 per page, each step's p95 per journey, and the peak
memory of each process role. The sampling error is what the run itself says about how precisely it
measured the value (the within-run noise):

- a percentile: a distribution-free confidence interval from the run's own histogram, the
  order-statistic bounds ``p ± z·sqrt(p(1-p)/n)`` read off the same histogram (so a p95 from 30
  samples is known to be loose, one from 30 000 tight);
- an error rate: the binomial standard error ``sqrt(r(1-r)/n)``;
- a throughput: the Poisson standard error of the count, per second;
- a memory peak: none (one number per run; its noise is the between-run spread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..metrics import Counter, Metric, Rate, Trend
from ..results import Run

__all__ = ["MIN_SAMPLES", "Observation", "observe"]

MIN_SAMPLES = 20  # fewer samples than this and a percentile is close to the run's maximum: not judged
_Z = 1.0  # bounds one standard error wide


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


def _percentile(trend: Trend, p: float) -> tuple[float, float] | None:
    n = trend.count
    if n < MIN_SAMPLES:
        return None
    q = p / 100
    half = _Z * math.sqrt(q * (1 - q) / n)
    value, lo, hi = trend.percentiles([p, 100 * max(0.0, q - half), 100 * min(1.0, q + half)])
    if value is None:
        return None
    se = ((hi or value) - (lo or value)) / (2 * _Z)
    return value, se


def _key(metric: str, statistic: str, tags: dict[str, str]) -> str:
    inner = ",".join(f"{k}:{v}" for k, v in sorted(tags.items()))
    return f"{statistic} {metric}" + (f"{{{inner}}}" if inner else "")


def observe(run: Run) -> list[Observation]:
    """Every judged series of ``run`` with its value and within-run standard error."""
    out: list[Observation] = []
    m = run.metrics

    def add_trend(metric: str, series: Metric | None, tags: dict[str, str], p: float, unit: str = "ms") -> None:
        if not isinstance(series, Trend):
            return
        found = _percentile(series, p)
        if found is not None:
            stat = f"p{p:g}"
            out.append(Observation(_key(metric, stat, tags), metric, stat, tuple(sorted(tags.items())), found[0],
                                   found[1], float(series.count), unit=unit))

    endpoints = sorted({t["name"] for _, t, _ in m.series("http_req_duration") if "name" in t})
    for name in endpoints:
        series = m.select_tags("http_req_duration", {"name": name})
        add_trend("http_req_duration", series, {"name": name}, 50)
        add_trend("http_req_duration", series, {"name": name}, 95)
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
        pages = sorted({t.get("page", "") for _, t, _ in m.series(name)})
        for page in pages:
            add_trend(name, m.select_tags(name, {"page": page}), {"page": page}, 75, "" if vital == "cls" else "ms")
    steps = sorted({(t.get("journey", ""), t.get("step", "")) for _, t, _ in m.series("browser_step_duration")})
    for journey, step in steps:
        tags = {"journey": journey, "step": step}
        add_trend("browser_step_duration", m.select_tags("browser_step_duration", tags), tags, 95)
    roles = sorted({t.get("role", "") for _, t, _ in m.series("process_rss_mb")})
    for role in roles:
        rss = m.select_tags("process_rss_mb", {"role": role})
        if isinstance(rss, Trend) and rss.count and rss.max is not None:
            out.append(Observation(_key("process_rss_mb", "max", {"role": role}), "process_rss_mb", "max",
                                   (("role", role),), rss.max, 0.0, float(rss.count), unit="MB"))
    return out
