"""PerformanceMonitor: the spec's record / validate / alert, in Python style.

It holds no measurement logic: results come in complete, the monitor checks them against
the configured gates, stores them and tells people when something is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core.config import MonitorGates
from .core.env import read
from .core.numbers import number
from .core.results import PerformanceTestResults, Run
from .store import Store

__all__ = ["GateViolation", "PerformanceMonitor"]


@dataclass(frozen=True)
class GateViolation:
    gate: str
    observed: float | None
    limit: float

    def __str__(self) -> str:
        seen = "no data" if self.observed is None else f"{number(self.observed, digits=4)}"
        return f"{self.gate}: observed {seen}, limit {self.limit:g}"


class PerformanceMonitor:
    def __init__(self, store: Store | None = None, gates: MonitorGates | None = None,
                 webhook_url: str | None = None) -> None:
        self.store = store
        self.gates = gates or MonitorGates()
        self.webhook_url = webhook_url if webhook_url is not None else read("PERFMON_ALERT_WEBHOOK")

    def record_test_results(self, results: PerformanceTestResults) -> None:
        """Store the run behind ``results`` (one unit: run row and all details)."""
        if self.store is None:
            return
        run = results.run if results.run is not None else _run_from(results)
        self.store.write_run(run)

    def validate_performance_thresholds(self, results: PerformanceTestResults) -> list[GateViolation]:
        """The gates ``results`` breaks; empty when it passes. Missing data breaks a gate."""
        m, g = results.metrics, self.gates
        checks = [
            ("avg_response_time_ms <= max", m.avg_response_time, g.max_avg_response_time_ms, True),
            ("p95_response_time_ms <= max", m.p95_response_time, g.max_p95_response_time_ms, True),
            ("error_rate <= max", m.error_rate, g.max_error_rate, True),
            ("throughput_rps >= min", m.throughput, g.min_throughput_rps, False),
        ]
        out = []
        for name, observed, limit, upper in checks:
            ok = observed is not None and (observed <= limit if upper else observed >= limit)
            if not ok:
                out.append(GateViolation(name, observed, limit))
        return out

    def send_performance_alert(self, results: PerformanceTestResults, problems: list[str],
                               report_path: str | None = None) -> bool:
        """Post a Slack-compatible message to the webhook; never raises (an alert must not
        fail or lose the run). Returns whether it was delivered."""
        if not self.webhook_url:
            return False
        from .report.alert import run_alert  # the report package pulls in Jinja2: not at import (xdist workers)

        return run_alert(self.webhook_url, results, problems, report_path)


def _run_from(results: PerformanceTestResults) -> Run:
    run = Run(test_type=results.test_type, environment=results.environment, profile="custom", base_url=None,
              run_id=results.run_id, concurrent_users=results.concurrent_users,
              status="passed" if results.passed else "failed", thresholds=list(results.thresholds))
    run.finished_at = run.started_at + results.duration_seconds
    run.metadata["summary"] = results.metrics.to_dict()  # no metrics of its own: the figures as given
    return run
