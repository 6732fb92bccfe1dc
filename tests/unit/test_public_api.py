from __future__ import annotations

import perfmon
import perfmon.load

EXPECTED = {
    "BrowserError", "Config", "ConfigError", "Counter", "GateViolation", "Gauge", "Metrics", "PerfmonError",
    "PerformanceMetrics", "PerformanceMonitor", "PerformanceTestResults", "Profile", "Rate", "Run", "Scenario",
    "ScriptError", "StoreError", "TargetError", "Threshold", "ThresholdError", "ThresholdOutcome", "Trend",
    "__version__", "evaluate", "load_config", "open_store", "parse_thresholds",
}


def test_public_names_are_exactly_the_intended_ones() -> None:
    assert set(perfmon.__all__) == EXPECTED
    for name in perfmon.__all__:
        assert hasattr(perfmon, name), name


def test_every_error_is_a_perfmon_error() -> None:
    for name in ("ConfigError", "ThresholdError", "TargetError", "BrowserError", "StoreError", "ScriptError"):
        assert issubclass(getattr(perfmon, name), perfmon.PerfmonError)


def test_load_api_names() -> None:
    assert {"run_load_test", "run_stress_test", "Client", "VirtualUser"} <= set(perfmon.load.__all__)
