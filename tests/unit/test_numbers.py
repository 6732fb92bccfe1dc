"""The one number formatter: significant digits without scientific notation, units, shares."""

from __future__ import annotations

import pytest

from perfmon.core.numbers import number, percent


@pytest.mark.parametrize(("value", "kwargs", "written"), [
    (None, {}, "-"),
    (0.0, {}, "0"),
    (3010.4, {}, "3010"),  # Python's .3g says 3.01e+03
    (123456789.0, {"unit": "ms"}, "123456789 ms"),
    (12.345, {"unit": "ms"}, "12.3 ms"),
    (2.5, {}, "2.5"),
    (0.000123456, {}, "0.000123"),
    (-1.5, {"unit": "ms", "space": False}, "-1.5ms"),
    (12.3456, {"digits": 4, "unit": "/s", "space": False}, "12.35/s"),
    (0.0204, {"unit": "share"}, "2.04 %"),
    (0.0, {"unit": "share"}, "0.00 %"),
    (float("nan"), {}, "-"),
])
def test_numbers_as_a_person_reads_them(value: float | None, kwargs: dict[str, object], written: str) -> None:
    assert number(value, **kwargs) == written  # type: ignore[arg-type]


def test_percent() -> None:
    assert percent(0.5) == "50.00 %" and percent(None) == "-" and percent(0.00123, space=False) == "0.12%"
    assert percent(float("nan")) == "-"


def test_a_threshold_says_what_it_observed_without_scientific_notation() -> None:
    from perfmon import Metrics, evaluate, parse_thresholds

    metrics = Metrics()
    metrics.trend("browser_step_duration", {"step": "orders"}).record(30110.0)
    [outcome] = evaluate(parse_thresholds({"browser_step_duration": ["p(95)<2000"]}), metrics)
    assert not outcome.passed and outcome.detail.startswith("observed 30") and "e+" not in outcome.detail
