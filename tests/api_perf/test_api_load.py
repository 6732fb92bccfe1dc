"""The spec's API performance requirements, as tests. Scenario sizes and durations come from
[tool.perfmon.scenarios] scaled by the profile (smoke: seconds; release: the full 10/15 min).
`perfmon run --type T` selects them by their ``perf_T`` marker."""

from __future__ import annotations

import pytest
from journeys import log_in, supplier_journey

from perfmon.load import PerfApi


@pytest.mark.perf_load
def test_load_100_users(perf_api: PerfApi) -> None:
    results = perf_api.run(supplier_journey, on_start=log_in, scenario="load")
    assert results.metrics.p95_response_time is not None
    assert results.metrics.p95_response_time < 2000
    assert results.metrics.error_rate is not None and results.metrics.error_rate < 0.01


@pytest.mark.perf_stress
def test_stress_500_users(perf_api: PerfApi) -> None:
    results = perf_api.run(supplier_journey, on_start=log_in, scenario="stress")
    assert results.metrics.p95_response_time is not None
    assert results.metrics.p95_response_time < 5000
    assert results.metrics.error_rate is not None and results.metrics.error_rate < 0.05


@pytest.mark.perf_spike
def test_spike_recovers(perf_api: PerfApi) -> None:
    results = perf_api.run(supplier_journey, on_start=log_in, scenario="spike")
    assert results.run is not None
    recovered = results.run.metrics.select("spike_recovery_time{scenario:spike}")
    assert recovered is not None, results.run.metadata.get("derived")  # says why there is no recovery time


@pytest.mark.perf_endurance
def test_endurance_holds_steady(perf_api: PerfApi) -> None:
    results = perf_api.run(supplier_journey, on_start=log_in, scenario="endurance")
    assert results.metrics.error_rate is not None and results.metrics.error_rate < 0.01
