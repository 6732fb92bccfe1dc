"""What the reports show, computed once from a Run (and its history) for every output format."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..metrics import WINDOW_S, Counter, Rate, Trend
from ..results import Run
from ..store import RunSummary

__all__ = ["VITAL_BANDS", "ReportModel", "build_model"]

# Google's Core Web Vitals thresholds: good up to the first, poor above the second (p75).
VITAL_BANDS = {"LCP": (2500, 4000), "INP": (200, 500), "CLS": (0.1, 0.25), "FCP": (1800, 3000), "TTFB": (800, 1800)}
Point = tuple[float, float]


@dataclass
class ReportModel:
    run: Run
    verdict: str
    started: str
    summary: dict[str, float | None]
    latency: list[tuple[str, list[Point]]] = field(default_factory=list)
    vus: list[Point] = field(default_factory=list)
    throughput: list[Point] = field(default_factory=list)
    errors: list[Point] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    vitals: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    cpu: list[tuple[str, list[Point]]] = field(default_factory=list)
    memory: list[tuple[str, list[Point]]] = field(default_factory=list)
    breaking_points: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    slowest_resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)


def _windows(trend: Trend, *percentiles: float) -> list[list[Point]]:
    out: list[list[Point]] = [[] for _ in percentiles]
    for w, hist in trend.windows():
        if not hist.get_total_count():
            continue
        for i, p in enumerate(percentiles):
            out[i].append((float(w), hist.get_value_at_percentile(p) / trend.scale))
    return out


def _max_windows(trend: Trend) -> list[Point]:
    return [(float(w), h.get_max_value() / trend.scale) for w, h in trend.windows() if h.get_total_count()]


def _history_rows(run: Run, history: list[RunSummary]) -> list[dict[str, Any]]:
    """Key metrics over the last comparable runs (same type and environment), oldest first."""
    past = [h for h in history if h.run_id != run.run_id][::-1]
    s = run.summary_metrics()
    rows = []
    for label, attr, now in (("p95 response time (ms)", "p95_response_time", s.p95_response_time),
                             ("average response time (ms)", "avg_response_time", s.avg_response_time),
                             ("error rate", "error_rate", s.error_rate),
                             ("throughput (/s)", "throughput", s.throughput)):
        values = [getattr(h, attr) for h in past]
        known = [v for v in values if v is not None]
        median = statistics.median(known) if known else None
        change = (now - median) / median if now is not None and median else None
        rows.append({"label": label, "values": [*values, now], "median": median, "now": now, "change": change})
    return rows


def build_model(run: Run, history: list[RunSummary] | None = None) -> ReportModel:
    m = run.metrics
    model = ReportModel(
        run=run,
        verdict=run.status.upper(),
        started=datetime.fromtimestamp(run.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        summary=run.summary_metrics().to_dict(),
    )
    latency = m.select("http_req_duration")
    if isinstance(latency, Trend) and latency.count:
        p50, p95, p99 = _windows(latency, 50, 95, 99)
        model.latency = [("p50", p50), ("p95", p95), ("p99", p99)]
    vus = m.select("vus_active")
    if isinstance(vus, Trend):
        model.vus = _max_windows(vus)
    reqs = m.select("http_reqs")
    if isinstance(reqs, Counter):
        model.throughput = [(float(w), v / WINDOW_S) for w, v in sorted(reqs.windows_.items())]
    failed = m.select("http_req_failed")
    if isinstance(failed, Rate):
        model.errors = [(float(w), 100 * t / n) for w, (t, n) in sorted(failed.windows_.items()) if n]
    names = sorted({tags.get("name", "") for _, tags, _ in m.series("http_req_duration")})
    for name in names:
        t = m.select(f"http_req_duration{{name:{name}}}")
        f = m.select(f"http_req_failed{{name:{name}}}")
        if not isinstance(t, Trend) or not t.count:
            continue
        hist = t.histogram()
        values = [(it.value_iterated_to / t.scale, it.count_at_value_iterated_to)
                  for it in hist.get_recorded_iterator()]
        model.endpoints.append({
            "name": name, "count": t.count, "avg": t.avg, "p50": t.percentile(50, hist),
            "p95": t.percentile(95, hist), "p99": t.percentile(99, hist), "max": t.max,
            "errors": f.rate if isinstance(f, Rate) else None, "values": values,
        })
    for vital in VITAL_BANDS:
        for _, tags, series in m.series(f"browser_vital_{vital.lower()}"):
            if isinstance(series, Trend) and series.count:
                model.vitals.append({"vital": vital, "page": tags.get("page", ""), "journey": tags.get("journey", ""),
                                     "p75": series.percentile(75), "count": series.count})
    for _, tags, series in m.series("browser_step_duration"):
        if isinstance(series, Trend) and series.count:
            model.steps.append({"journey": tags.get("journey", ""), "step": tags.get("step", ""),
                                "p50": series.percentile(50), "p95": series.percentile(95), "count": series.count})
    for role in ("runner", "browser", "target", "system"):
        cpu = m.select(f"process_cpu_percent{{role:{role}}}")
        if isinstance(cpu, Trend) and cpu.count:
            model.cpu.append((role, _max_windows(cpu)))
        mem = m.select(f"process_rss_mb{{role:{role}}}")
        if isinstance(mem, Trend) and mem.count:
            model.memory.append((role, _max_windows(mem)))
    model.breaking_points = dict(run.metadata.get("breaking_points") or {})
    model.slowest_resources = dict(run.metadata.get("slowest_resources") or {})
    model.artifacts = list(run.metadata.get("artifacts") or [])
    if history:
        model.history = _history_rows(run, history)
    return model
