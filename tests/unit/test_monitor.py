from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from perfmon import PerformanceMetrics, PerformanceMonitor, PerformanceTestResults, open_store
from perfmon.core.config import MonitorGates


def results(avg: float | None, p95: float | None, err: float | None, rps: float | None) -> PerformanceTestResults:
    return PerformanceTestResults("load", "staging", 100, 600, PerformanceMetrics(avg, p95, err, rps), passed=True)


def test_gates_are_the_spec_defaults() -> None:
    mon = PerformanceMonitor()
    assert mon.validate_performance_thresholds(results(1500, 3000, 0.01, 50)) == []
    bad = mon.validate_performance_thresholds(results(1501, 3001, 0.02, 49))
    assert [v.gate for v in bad] == ["avg_response_time_ms <= max", "p95_response_time_ms <= max",
                                     "error_rate <= max", "throughput_rps >= min"]
    assert str(bad[0]) == "avg_response_time_ms <= max: observed 1501, limit 1500"


def test_missing_data_breaks_a_gate() -> None:
    mon = PerformanceMonitor(gates=MonitorGates(min_throughput_rps=0))
    assert [v.gate for v in mon.validate_performance_thresholds(results(1, 1, None, 1))] == ["error_rate <= max"]


def test_record_writes_a_run_row(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    r = results(10, 20, 0, 60)
    PerformanceMonitor(store).record_test_results(r)
    [h] = store.history()
    assert h.run_id == r.run_id and h.test_type == "load" and h.environment == "staging"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    got: list[dict[str, Any]] = []
    answers = [503, 200]  # the first delivery fails: the monitor must retry

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got, answers
    server.shutdown()


def test_alert_is_slack_compatible_and_retried(receiver: tuple[str, list[dict[str, Any]], list[int]]) -> None:
    url, got, _ = receiver
    r = results(2000, 4000, 0.2, 5)
    assert PerformanceMonitor(webhook_url=url).send_performance_alert(r, ["p95 too high"], "perf-reports/x")
    assert len(got) == 2
    assert got[-1]["run_id"] == r.run_id and "p95 too high" in got[-1]["text"]


def test_alert_failure_never_raises() -> None:
    assert PerformanceMonitor(webhook_url="http://127.0.0.1:9/nope").send_performance_alert(
        results(1, 1, 0, 1), ["x"]) is False
