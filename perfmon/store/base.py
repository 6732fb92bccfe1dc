"""The store protocol and the rows every backend writes.

A backend only moves rows; :func:`run_rows` turns a :class:`~perfmon.results.Run` into them
once, so SQLite, PostgreSQL and Supabase store exactly the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..metrics import Counter, Gauge, Rate, Trend
from ..results import Run

__all__ = ["RunRows", "RunSummary", "Store", "iso", "run_rows"]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RunSummary:
    """One line of history."""

    run_id: str
    created_at: str
    test_type: str
    environment: str
    profile: str
    status: str
    concurrent_users: int
    duration_seconds: float
    avg_response_time: float | None
    p95_response_time: float | None
    error_rate: float | None
    throughput: float | None
    git_sha: str | None


class Store(Protocol):
    """What every backend offers. Writes are one unit: a reader never sees a run without its details."""

    url: str

    def write_run(self, run: Run) -> None: ...

    def history(
        self, *, test_type: str | None = None, environment: str | None = None, limit: int = 20
    ) -> list[RunSummary]: ...

    def load_run(self, run_id: str) -> Run: ...

    def close(self) -> None: ...


@dataclass
class RunRows:
    """The run row and, per detail table, its rows: what every backend writes."""

    run: dict[str, Any]
    details: dict[str, list[dict[str, Any]]]


_PCTS = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}


def _series_rows(run: Run) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    duration = run.duration_seconds
    for name, tags, m in run.metrics.series():
        tags_key = json.dumps(tags, sort_keys=True, separators=(",", ":"))
        row: dict[str, Any] = dict.fromkeys(("count", "avg", "min", "max", "rate", "value", *_PCTS))
        row.update(run_id=run.run_id, name=name, tags=tags, tags_key=tags_key, kind=m.kind, data=m.to_dict())
        windows: list[dict[str, Any]] = []
        if isinstance(m, Trend):
            hist = m.histogram()
            row.update(count=m.count, avg=m.avg, min=m.min if m.count else None, max=m.max if m.count else None)
            row.update({k: m.percentile(p, hist) for k, p in _PCTS.items()})
            for w, h in m.windows():
                n = h.get_total_count()
                windows.append(
                    {
                        "window_start": iso(w),
                        "count": n,
                        "avg": h.get_mean_value() / m.scale if n else None,
                        "p50": h.get_value_at_percentile(50) / m.scale if n else None,
                        "p95": h.get_value_at_percentile(95) / m.scale if n else None,
                        "p99": h.get_value_at_percentile(99) / m.scale if n else None,
                        "rate": None,
                    }
                )
        elif isinstance(m, Rate):
            row.update(count=m.total, rate=m.rate)
            windows = [
                {"window_start": iso(w), "count": n, "avg": None, "p50": None, "p95": None, "p99": None,
                 "rate": t / n if n else None}
                for w, (t, n) in sorted(m.windows_.items())
            ]
        elif isinstance(m, Counter):
            row.update(count=m.count, rate=m.count / duration if duration else None)
            windows = [
                {"window_start": iso(w), "count": v, "avg": None, "p50": None, "p95": None, "p99": None, "rate": None}
                for w, v in sorted(m.windows_.items())
            ]
        elif isinstance(m, Gauge):
            row.update(value=m.value, min=m.stat("min"), max=m.stat("max"))
        for win in windows:
            win.update(run_id=run.run_id, name=name, tags_key=tags_key)
        yield row, windows


def _sample_rows(run: Run) -> list[dict[str, Any]]:
    """Resource samples per role and window, from the sampler's ``process_*`` trends."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for metric, column in (("process_cpu_percent", "cpu_percent"), ("process_rss_mb", "rss_bytes")):
        for _, tags, m in run.metrics.series(metric):
            if not isinstance(m, Trend):
                continue
            role = tags.get("role", "unknown")
            for w, h in m.windows():
                key = (role, iso(w) or "")
                row = by_key.setdefault(
                    key, {"run_id": run.run_id, "role": role, "sampled_at": key[1], "cpu_percent": None,
                          "rss_bytes": None, "processes": None}
                )
                value = h.get_max_value() / m.scale
                row[column] = value * 1e6 if column == "rss_bytes" else value
    return list(by_key.values())


def run_rows(run: Run) -> RunRows:
    s = run.summary_metrics()
    run_row = {
        "id": run.run_id,
        "test_type": run.test_type,
        "environment": run.environment,
        "concurrent_users": run.concurrent_users,
        "duration_seconds": run.duration_seconds,
        **s.to_dict(),
        "passed": run.passed,
        "status": run.status,
        "profile": run.profile,
        "base_url": run.base_url,
        "git_sha": run.git_sha,
        "branch": run.branch,
        "host": run.host,
        "tool_version": run.tool_version,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "client_saturation": run.client_saturation,
        "lost_iterations": run.lost_iterations,
        "metadata": run.context(),
    }
    series: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    for row, wins in _series_rows(run):
        series.append(row)
        windows.extend(wins)
    thresholds = [
        {"run_id": run.run_id, "metric": o.threshold.metric, "expression": o.threshold.expression,
         "observed": o.observed, "passed": o.passed, "abort_on_fail": o.threshold.abort_on_fail}
        for o in run.thresholds
    ]
    return RunRows(run_row, {
        "performance_metric_series": series,
        "performance_metric_windows": windows,
        "performance_threshold_results": thresholds,
        "performance_resource_samples": _sample_rows(run),
        "performance_web_vitals": _vital_rows(run),
        "performance_breaking_points": _breaking_point_rows(run),
    })


def _vital_rows(run: Run) -> list[dict[str, Any]]:
    """Web Vitals per journey and page, p75 as Google judges them, from the vitals Trends."""
    out = []
    for vital in ("LCP", "FCP", "CLS", "INP", "TTFB"):
        for _, tags, m in run.metrics.series(f"browser_vital_{vital.lower()}"):
            if not isinstance(m, Trend) or not m.count:
                continue
            hist = m.histogram()
            out.append({"run_id": run.run_id, "journey": tags.get("journey", ""), "page": tags.get("page", ""),
                        "metric": vital, "count": m.count, "p75": m.percentile(75, hist),
                        "p95": m.percentile(95, hist)})
    return out


def _breaking_point_rows(run: Run) -> list[dict[str, Any]]:
    found = run.metadata.get("breaking_points") or {}
    return [{"run_id": run.run_id, "scenario": scenario, "sustainable_rate": bp.get("sustainable_rate"),
             "breaking_rate": bp.get("breaking_rate"), "steps": bp.get("steps", [])}
            for scenario, bp in found.items()]
