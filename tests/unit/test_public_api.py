from __future__ import annotations

from types import ModuleType

import perfmon
import perfmon.load

EXPECTED = {
    "BrowserError", "Config", "ConfigError", "Counter", "ExitCode", "GateViolation", "Gauge", "Metrics", "PerfmonError",
    "PerformanceMetrics", "PerformanceMonitor", "PerformanceTestResults", "Profile", "Rate", "Run", "Scenario",
    "ScriptError", "StoreError", "TargetError", "Threshold", "ThresholdError", "ThresholdOutcome", "Trend",
    "__version__", "evaluate", "load_config", "open_store", "parse_thresholds",
}


def public(module: ModuleType) -> set[str]:
    """What a module offers by name, as httpx tests it: every name without an underscore that is not a
    subpackage (importing ``perfmon.core`` binds ``core`` on ``perfmon``)."""
    return {name for name, value in vars(module).items() if not name.startswith("_")
            and not isinstance(value, ModuleType) and name != "annotations"}


def test_public_names_are_exactly_the_intended_ones() -> None:
    assert set(perfmon.__all__) == EXPECTED
    assert public(perfmon) == EXPECTED - {"__version__"}  # a stray public name fails here
    for name in perfmon.__all__:
        assert hasattr(perfmon, name), name


def test_every_error_is_a_perfmon_error() -> None:
    for name in ("ConfigError", "ThresholdError", "TargetError", "BrowserError", "StoreError", "ScriptError"):
        assert issubclass(getattr(perfmon, name), perfmon.PerfmonError)


def test_each_error_exits_with_its_code_in_the_table() -> None:
    assert [perfmon.ConfigError.exit_code, perfmon.TargetError.exit_code] == [perfmon.ExitCode.USAGE,
                                                                             perfmon.ExitCode.UNMEASURED]


def test_load_api_names() -> None:
    assert set(perfmon.load.__all__) == {
        "BreakingPoint", "Capacity", "CapacitySearch", "CapacityStep", "Client", "Engine", "EngineOptions", "Journey",
        "PerfApi", "RequestError", "Response", "SearchStep", "VirtualUser", "endpoint_name", "find_breaking_point",
        "find_capacity", "measure_scenario", "run_endurance_test",
        "run_load_test", "run_scenario", "run_spike_test", "run_stress_test", "run_test",
    }
    assert public(perfmon.load) == set(perfmon.load.__all__)
    for name in perfmon.load.__all__:
        assert hasattr(perfmon.load, name), name


def test_the_named_tests_are_plain_functions_with_one_signature() -> None:
    import inspect

    named = [perfmon.load.run_load_test, perfmon.load.run_stress_test, perfmon.load.run_spike_test,
             perfmon.load.run_endurance_test]
    assert all(inspect.isfunction(f) and f.__module__ == "perfmon.load.api" for f in named)
    shapes = {tuple((p.name, p.kind) for p in inspect.signature(f).parameters.values()) for f in named}
    assert len(shapes) == 1
    assert [f.__name__ for f in named] == ["run_load_test", "run_stress_test", "run_spike_test", "run_endurance_test"]
