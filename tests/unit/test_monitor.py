
from __future__ import annotations

from pathlib import Path

from perfmon import PerformanceMonitor, open_store
from perfmon.core.config import MonitorGates
from tests._support.runs import results


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


def test_a_malformed_webhook_url_is_not_delivered_and_never_raises() -> None:
    from perfmon.report.alert import post_webhook

    assert post_webhook("http://127.0.0.1:abc/h", {"text": "run failed"}) is False  # httpx.InvalidURL, no request
