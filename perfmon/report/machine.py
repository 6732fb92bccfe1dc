"""Machine-readable outputs: summary.json (versioned, k6-like) and JUnit XML (the Markdown summary
is ``markdown.py``).

summary.json's schema is ``perfmon/report/summary.schema.json`` (documented in
docs/summary-json.md); its ``schema`` field changes with any incompatible change.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from ..core.comparison import HistoryComparison
from ..core.findings import derived_dict
from ..core.metrics import Counter, Gauge, Rate, Trend
from ..core.numbers import number
from ..core.results import Run
from ..store.base import iso

__all__ = ["SUMMARY_SCHEMA", "junit_xml", "summary_json"]

SUMMARY_SCHEMA = "perfmon.summary/v1"


def _selector(name: str, tags: dict[str, str]) -> str:
    return name + ("{" + ",".join(f"{k}:{v}" for k, v in sorted(tags.items())) + "}" if tags else "")


def _values(metric: Any, duration_s: float) -> tuple[str, dict[str, float | None]]:
    if isinstance(metric, Trend):
        s = metric.stats()
        # k6's names for the same statistics.
        return "trend", {"avg": s.avg, "min": s.min, "med": s.p50, "max": s.max, "p(90)": s.p90, "p(95)": s.p95,
                         "p(99)": s.p99, "count": float(metric.count)}
    if isinstance(metric, Rate):
        return "rate", {"rate": metric.rate, "passes": float(metric.trues), "fails": float(metric.total - metric.trues)}
    if isinstance(metric, Counter):
        s = metric.stats(duration_s)
        return "counter", {"count": s.count, "rate": s.rate}
    assert isinstance(metric, Gauge)
    s = metric.stats()
    return "gauge", {"value": s.value, "min": s.min, "max": s.max}


def summary_json(run: Run) -> dict[str, Any]:
    """The end-of-run summary: run identity, verdict, thresholds, and every metric series
    (overall, and per tag set) with k6's aggregations."""
    duration = run.duration_seconds
    metrics: dict[str, Any] = {}
    for name in run.metrics.names():
        merged = run.metrics.select(name)
        if merged is not None:
            kind, values = _values(merged, duration)
            metrics[name] = {"type": kind, "values": values}
        for _, tags, series in run.metrics.series(name):
            if tags:
                kind, values = _values(series, duration)
                metrics[_selector(name, tags)] = {"type": kind, "values": values}
    return {
        "schema": SUMMARY_SCHEMA,
        "run": {
            "id": run.run_id, "test_type": run.test_type, "environment": run.environment, "profile": run.profile,
            "status": run.status, "passed": run.passed, "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at), "duration_s": duration, "base_url": run.base_url,
            "git_sha": run.git_sha, "branch": run.branch, "host": run.host, "tool_version": run.tool_version,
            "concurrent_users": run.concurrent_users, "client_saturation": run.client_saturation,
            "lost_iterations": run.lost_iterations, "unmeasured": list(run.metadata.get("unmeasured") or []),
            "warnings": list(run.metadata.get("warnings") or []),
        },
        "summary": run.summary_metrics().to_dict(),
        "thresholds": [{**o.to_dict(), "status": o.status, "detail": o.detail} for o in run.thresholds],
        "errors": [{**e.to_dict(), "first_at": iso(e.first_at)} for e in run.errors],
        "metrics": metrics,
        **({"regressions": run.comparison.to_dict()} if run.comparison is not None else {}),
        **({"derived": derived_dict(run.findings)} if run.findings else {}),
        **({"capacity": capacity} if (capacity := _capacity(run)) else {}),
        **({"quarantine": held} if isinstance(held := run.metadata.get("quarantine"), dict) else {}),
        **({"target_db": sampled} if isinstance(sampled := run.metadata.get("target_db"), dict) else {}),
        **({"shards": shards} if isinstance(shards := run.metadata.get("shards"), dict) else {}),
    }


def _capacity(run: Run) -> dict[str, Any]:
    from ..analysis.capacity import capacity_by_scenario, scalability_fits

    fits = scalability_fits(run)
    return {scenario: {**found, "sustainable_rate": found.get("sustainable_rate"),
                       "steps": list(found.get("steps") or []), **({"fit": fits[scenario]} if scenario in fits else {})}
            for scenario, found in capacity_by_scenario(run).items()}


def junit_xml(run: Run) -> str:
    """One testcase per threshold and per regression check, so CI shows which one failed."""
    found = run.comparison or HistoryComparison()
    checks = found.findings
    gating = found.gating
    regressed = found.regressions
    errors = run.errors
    failures = len(run.failed_thresholds) + (len(regressed) if gating else 0) + len(errors)
    unmeasured: list[str] = list(run.metadata.get("unmeasured") or [])
    tests = len(run.thresholds) + len(checks) + (1 if unmeasured else 0) + len(errors)
    suite = ET.Element("testsuite", name=f"perfmon {run.test_type}", tests=str(tests),
                       failures=str(failures), errors=str(1 if unmeasured else 0), time=f"{run.duration_seconds:.3f}",
                       timestamp=iso(run.started_at) or "")
    props = ET.SubElement(suite, "properties")
    for key, value in (("run_id", run.run_id), ("environment", run.environment), ("profile", run.profile),
                       ("status", run.status), ("git_sha", run.git_sha or "")):
        ET.SubElement(props, "property", name=key, value=value)
    if unmeasured:  # an error, not a failure: the run could not be measured (exit 3), so nothing was judged
        case = ET.SubElement(suite, "testcase", classname="perfmon.run", name="measured", time="0")
        ET.SubElement(case, "error", message=unmeasured[0], type="unmeasured").text = "\n".join(unmeasured)
    for e in errors:  # one failing case per distinct exception, named where it was raised
        case = ET.SubElement(suite, "testcase", classname=f"perfmon.errors.{e.source}", name=e.where or e.kind,
                             time="0")
        ET.SubElement(case, "failure", message=e.headline(), type=e.kind).text = (
            f"{e.headline()}\n{e.count} time(s), first at {iso(e.first_at)}" + (f", at {e.where}" if e.where else ""))
    for o in run.thresholds:
        case = ET.SubElement(suite, "testcase", classname=f"perfmon.core.thresholds.{o.threshold.metric}",
                             name=o.threshold.expression, time="0")
        if o.status == "fail":
            failure = ET.SubElement(case, "failure", message=f"{o.threshold}, {o.detail}", type="threshold")
            failure.text = f"{o.threshold} failed: {o.detail}"
        elif o.status == "no data":
            ET.SubElement(case, "skipped", message=o.detail)
    for f in checks:
        case = ET.SubElement(suite, "testcase", classname=f"perfmon.regressions.{f.metric}", name=f.key, time="0")
        change = "-" if f.change is None else f"{100 * f.change:+.1f}%"
        said = (f"{f.key}: {number(f.baseline, digits=4)} -> {number(f.observed, digits=4)} ({change}), "
                f"confidence {f.confidence:.3f}, against {len(found.against)} runs")
        if f.kind == "regression":
            if gating:
                ET.SubElement(case, "failure", message=said, type="regression").text = f"REGRESSION {said}"
            else:
                ET.SubElement(case, "skipped", message=f"REGRESSION (regressions = warn) {said}")
    suites = ET.Element("testsuites", tests=str(tests), failures=str(failures))
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
