"""What the reports show, computed once from a Run (and its history) for every output format."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..analysis.capacity import capacity_by_scenario, scalability_fits
from ..core.findings import DbBottleneck, GeneratorCost, JourneyCost
from ..core.metrics import Counter, Metrics, Rate, Trend
from ..core.results import Run
from ..store import RunSummary

__all__ = ["VITAL_BANDS", "ReportModel", "build_model", "vital_coverage"]

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
    # the target's database over time (target_db.py), drawn beside the p95 latency
    db_connections: list[tuple[str, list[Point]]] = field(default_factory=list)
    db_waiting: list[tuple[str, list[Point]]] = field(default_factory=list)
    db_time: list[tuple[str, list[Point]]] = field(default_factory=list)
    breaking_points: dict[str, Any] = field(default_factory=dict)  # scenario -> analysis/capacity.py's finding
    fits: dict[str, Any] = field(default_factory=dict)  # scenario -> its USL fit, or why there is none
    history: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)  # per journey and page: visits, vitals, navigations
    step_inp: list[dict[str, Any]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)  # the worst, with their LoAF scripts
    slowest_resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    # What the analyses found that the report shows in sections of their own (core/findings.py).
    journey_cost: JourneyCost | None = None
    generator_cost: GeneratorCost | None = None
    db_bottleneck: DbBottleneck | None = None


def _per_window(metric: Trend | Rate | Counter, field: str, factor: float = 1.0) -> list[Point]:
    """One statistic per window, e.g. ``p95`` of a Trend or ``rate`` of a Rate, as chart points."""
    out: list[Point] = []
    for w, stats in metric.window_stats():
        value = getattr(stats, field)
        if value is not None:
            out.append((float(w), value * factor))
    return out


def _history_rows(run: Run, history: list[RunSummary]) -> list[dict[str, Any]]:
    """Key metrics over the last comparable runs (same type and environment), oldest first."""
    past = [h for h in history if h.run_id != run.run_id][::-1]
    s = run.summary_metrics()
    rows = []
    for label, attr, now in (("p95 response time (ms)", "p95_response_time_ms", s.p95_response_time),
                             ("average response time (ms)", "avg_response_time_ms", s.avg_response_time),
                             ("error rate", "error_rate", s.error_rate),
                             ("throughput (/s)", "throughput_rps", s.throughput)):
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
    _http(m, model)
    _browser(m, model)
    model.interactions = list(run.metadata.get("slowest_interactions") or [])
    for role in ("runner", "browser", "target", "system"):
        cpu = m.select_tags("process_cpu_percent", {"role": role})
        if isinstance(cpu, Trend) and cpu.count:
            model.cpu.append((role, _per_window(cpu, "max")))
        mem = m.select_tags("process_rss_mb", {"role": role})
        if isinstance(mem, Trend) and mem.count:
            model.memory.append((role, _per_window(mem, "max")))
    _database(m, model)
    model.breaking_points = capacity_by_scenario(run)
    model.fits = scalability_fits(run)
    model.slowest_resources = dict(run.metadata.get("slowest_resources") or {})
    model.artifacts = list(run.metadata.get("artifacts") or [])
    model.journey_cost = run.finding(JourneyCost)
    model.generator_cost = run.finding(GeneratorCost)
    model.db_bottleneck = run.finding(DbBottleneck)
    if history:
        model.history = _history_rows(run, history)
    return model


def _http(m: Metrics, model: ReportModel) -> None:
    """Latency, users, throughput and errors over time, and every endpoint's figures."""
    latency = m.select("http_req_duration")
    if isinstance(latency, Trend) and latency.count:
        model.latency = [(p, _per_window(latency, p)) for p in ("p50", "p95", "p99")]
    if vus := m.summed_over_parts("vus_active", {}, "max"):  # a scenario's processes' users, added up
        model.vus = [(float(w), users) for w, users in vus.items()]
    reqs = m.select("http_reqs")
    if isinstance(reqs, Counter):
        model.throughput = _per_window(reqs, "rate")
    failed = m.select("http_req_failed")
    if isinstance(failed, Rate):
        model.errors = _per_window(failed, "rate", 100)
    names = sorted({tags.get("name", "") for _, tags, _ in m.series("http_req_duration")})
    for name in names:
        t = m.select_tags("http_req_duration", {"name": name})
        f = m.select_tags("http_req_failed", {"name": name})
        if not isinstance(t, Trend) or not t.count:
            continue
        s = t.stats()
        model.endpoints.append({
            "name": name, "count": t.count, "avg": s.avg, "p50": s.p50, "p95": s.p95, "p99": s.p99, "max": s.max,
            "errors": f.rate if isinstance(f, Rate) else None, "values": t.distribution(),
        })


def _browser(m: Metrics, model: ReportModel) -> None:
    """Web Vitals per journey and page, step times, coverage and each step's INP."""
    for vital in VITAL_BANDS:
        for _, tags, series in m.series(f"browser_vital_{vital.lower()}"):
            if isinstance(series, Trend) and series.count:
                model.vitals.append({"vital": vital, "page": tags.get("page", ""), "journey": tags.get("journey", ""),
                                     "p75": series.stats().p75, "count": series.count})
    for _, tags, series in m.series("browser_step_duration"):
        if isinstance(series, Trend) and series.count:
            s = series.stats()
            model.steps.append({"journey": tags.get("journey", ""), "step": tags.get("step", ""),
                                "p50": s.p50, "p95": s.p95, "count": series.count})
    model.coverage = vital_coverage(m)
    missing = {(t.get("journey", ""), t.get("step", "")): c.count for _, t, c in m.series("browser_step_inp_missing")
               if isinstance(c, Counter)}
    for _, tags, series in m.series("browser_step_inp"):
        if isinstance(series, Trend) and series.count:
            key = (tags.get("journey", ""), tags.get("step", ""))
            model.step_inp.append({"journey": key[0], "step": key[1], "p75": series.stats().p75, "max": series.max,
                                   "count": series.count, "scripted": missing.pop(key, 0)})
    model.step_inp += [{"journey": j, "step": st, "p75": None, "max": None, "count": 0, "scripted": n}
                       for (j, st), n in missing.items()]


def _database(m: Metrics, model: ReportModel) -> None:
    """The sampled database's connections by state, waiting backends and statement time per window."""
    for _, tags, series in m.series("db_connections"):
        if isinstance(series, Trend) and series.count:
            model.db_connections.append((tags.get("state", ""), _per_window(series, "avg")))
    for name, label in (("db_lock_waits", "lock waits"), ("db_waiting", "")):
        for _, tags, series in m.series(name):
            if isinstance(series, Trend) and series.count and (series.max or 0) > 0:
                model.db_waiting.append((label or f"waiting: {tags.get('wait_type', '')}", _per_window(series, "avg")))
    spent = m.select("db_statements_ms")
    if isinstance(spent, Counter) and spent.count:
        model.db_time = [("statement ms/s", _per_window(spent, "rate"))]


def vital_coverage(m: Metrics) -> list[dict[str, Any]]:
    """Per journey and page: visits, the share of them that produced each vital (a visit without one is
    counted, never dropped), and how the visits navigated (back-forward-cache restores apart)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for _, tags, visits in m.series("browser_page_visits"):
        if isinstance(visits, Counter) and visits.count:
            row = rows.setdefault((tags.get("journey", ""), tags.get("page", "")), {"visits": 0.0, "missing": {},
                                                                                     "navigations": {}})
            row["visits"] += visits.count
    for name, field_ in (("browser_vital_missing", "missing"), ("browser_navigations", "navigations")):
        for _, tags, counter in m.series(name):
            seen = rows.get((tags.get("journey", ""), tags.get("page", "")))
            if seen is not None and isinstance(counter, Counter):
                key = tags.get("vital" if field_ == "missing" else "type", "")
                seen[field_][key] = seen[field_].get(key, 0.0) + counter.count
    return [{"journey": j, "page": page, "visits": row["visits"], "navigations": row["navigations"],
             "coverage": {v: 1 - row["missing"].get(v, 0.0) / row["visits"] for v in VITAL_BANDS}}
            for (j, page), row in sorted(rows.items())]
