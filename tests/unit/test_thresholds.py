from __future__ import annotations

import pytest

from perfmon import Metrics, ThresholdError, evaluate, parse_thresholds
from perfmon.core.thresholds import ThresholdOutcome, iteration_breaches


@pytest.mark.parametrize(
    ("expr", "agg", "op", "value"),
    [
        ("p(95)<2000", "p(95)", "<", 2000.0),
        ("p(99.9) <= 3000", "p(99.9)", "<=", 3000.0),
        ("avg<1500", "avg", "<", 1500.0),
        ("rate<0.01", "rate", "<", 0.01),
        ("count>100", "count", ">", 100.0),
        ("med>=1", "med", ">=", 1.0),
        ("max == 5", "max", "==", 5.0),
    ],
)
def test_parses_k6_expressions(expr: str, agg: str, op: str, value: float) -> None:
    [t] = parse_thresholds({"my_custom_metric": [expr]})
    assert (t.aggregation, t.op, t.value) == (agg, op, value)


def test_object_form_with_abort_on_fail() -> None:
    [t] = parse_thresholds({"http_req_failed": [{"threshold": "rate<0.05", "abortOnFail": True,
                                                   "delayAbortEval": "10s"}]})
    assert t.abort_on_fail and t.delay_abort_eval_s == 10.0


@pytest.mark.parametrize("bad", ["p95<2000", "avg <", "<2000", "p(95)<<2000", "average<3", "p(101)<5", ""])
def test_bad_expressions_say_what_was_expected(bad: str) -> None:
    with pytest.raises(ThresholdError) as err:
        parse_thresholds({"http_req_duration": [bad]})
    msg = str(err.value)
    assert "http_req_duration" in msg
    assert "p(95)<2000" in msg or "between p(0) and p(100)" in msg


def test_error_points_at_the_line_of_the_file() -> None:
    text = (
        '[tool.perfmon.scenarios.load.thresholds]\nhttp_req_duration = ["p(95)<2000"]\n'
        'http_req_failed = ["rate<<1"]\n'
    )
    with pytest.raises(ThresholdError, match=r"^pyproject.toml:3: threshold 'rate<<1'"):
        parse_thresholds({"http_req_duration": ["p(95)<2000"], "http_req_failed": ["rate<<1"]},
                         source="pyproject.toml", text=text)


def test_unknown_object_keys_are_rejected() -> None:
    with pytest.raises(ThresholdError, match="expected keys threshold, abortOnFail"):
        parse_thresholds({"http_reqs": [{"threshold": "count>1", "abort": True}]})


def test_bad_selector_is_rejected() -> None:
    with pytest.raises(ThresholdError, match="closing"):
        parse_thresholds({"http_req_duration{name:/x": ["p(95)<1"]})


def test_evaluate_against_tagged_series() -> None:
    m = Metrics()
    for v in range(1, 101):
        m.trend("http_req_duration", {"name": "/fast"}).record(v)
        m.trend("http_req_duration", {"name": "/slow"}).record(v * 100)
    thresholds = parse_thresholds({
        "http_req_duration{name:/fast}": ["p(95)<100"],
        "http_req_duration{name:/slow}": ["p(95)<100"],
        "http_req_duration": ["max<=10000", "count==200"],
    })
    outcomes = evaluate(thresholds, m)
    assert [o.passed for o in outcomes] == [True, False, True, True]
    assert outcomes[0].observed == pytest.approx(95, rel=0.01)


def test_a_metric_with_no_data_fails_but_zero_count_is_zero() -> None:
    outcomes = evaluate(parse_thresholds({"nothing": ["p(95)<1", "count<1"]}), Metrics())
    assert [(o.passed, o.observed) for o in outcomes] == [(False, None), (True, 0.0)]


def test_wrong_aggregation_for_a_builtin_metric_is_refused_when_parsed() -> None:
    with pytest.raises(ThresholdError, match=r"http_req_duration is a trend, which has no rate; use avg"):
        parse_thresholds({"http_req_duration": ["rate<0.01"]})
    with pytest.raises(ThresholdError, match=r"http_req_failed is a rate, which has no p\(95\)"):
        parse_thresholds({"http_req_failed{name:/login}": ["p(95)<1"]})


def test_wrong_aggregation_for_a_custom_metric_fails_that_threshold_with_the_reason() -> None:
    m = Metrics()
    m.rate("my_rate").record(True)
    m.trend("my_trend").record(5)
    outcomes = evaluate(parse_thresholds({"my_rate": ["p(95)<1"], "my_trend": ["max<10"]}), m)
    assert [o.status for o in outcomes] == ["fail", "pass"]
    assert outcomes[0].problem is not None and "a Rate has no aggregation 'p(95)'" in outcomes[0].problem
    assert "cannot be evaluated" in outcomes[0].detail
    assert ThresholdOutcome.from_dict(outcomes[0].to_dict()) == outcomes[0]


def test_thresholds_written_as_a_list_not_a_table_are_one_line() -> None:
    with pytest.raises(ThresholdError, match="expected a table of metric = \\[expressions\\]"):
        parse_thresholds(["p(95)<2000"])  # type: ignore[arg-type]


def test_an_iteration_breaches_a_bound_with_its_own_worst_value() -> None:
    m = Metrics()
    m.trend("browser_vital_lcp", {"page": "/dashboard"}).record(1200)
    m.trend("browser_vital_lcp", {"page": "/login"}).record(4000)
    m.trend("browser_vital_cls", {"page": "/login"}, resolution=0.0001).record(0.05)
    m.rate("browser_step_failed").record(True)
    thresholds = parse_thresholds({
        "browser_vital_lcp": ["p(75)<=2500"],            # /login's 4000 is beyond it
        "browser_vital_lcp{page:/dashboard}": ["p(75)<=2500"],
        "browser_vital_cls": ["p(75)<=0.1"],
        "browser_step_failed": ["rate<0.01"],             # left to the run
        "browser_vital_fcp": ["p(75)<=1800"],             # no data in this iteration: no breach
        "browser_vital_ttfb": ["count>5"],
    })
    [breach] = iteration_breaches(thresholds, m)
    assert breach.startswith("browser_vital_lcp: p(75)<=2500") and "4000" in breach
    lower = parse_thresholds({"browser_vital_lcp": ["min>1500"]})
    assert len(iteration_breaches(lower, m)) == 1


T0 = 1_800_000_000  # a window boundary


def burst_at_the_end() -> Metrics:
    """110 s of successes then 10 s of errors, 10 requests a second: 8 % of the run failed."""
    m = Metrics()
    for second in range(120):
        for _ in range(10):
            m.rate("http_req_failed").record(second >= 110, T0 + second)
            m.trend("http_req_duration").record(2000.0 if second >= 110 else 50.0, T0 + second)
    return m


def test_a_windowed_threshold_sees_a_burst_the_whole_run_hides() -> None:
    whole, windowed, wide = evaluate(parse_thresholds({"http_req_failed": ["rate<0.1", "rate<0.1 over 10s",
                                                                           "rate<0.1 over 60s"]}), burst_at_the_end())
    assert whole.passed and whole.observed == pytest.approx(100 / 1200)
    assert not windowed.passed and windowed.observed == 1.0  # the last 10 s were all errors
    assert windowed.detail == "observed 1 (worst 10s span)"
    assert not wide.passed and wide.observed == pytest.approx(100 / 600)  # a minute holding the burst
    [p95] = evaluate(parse_thresholds({"http_req_duration": ["p(95)<1000 over 20s"]}), burst_at_the_end())
    assert not p95.passed and p95.observed == pytest.approx(2000, rel=1e-3)


def test_a_windowed_threshold_that_holds_reports_the_span_closest_to_its_bound() -> None:
    m = Metrics()
    for second in range(30):
        m.trend("http_req_duration").record(100.0 + second, T0 + second)
    [o] = evaluate(parse_thresholds({"http_req_duration": ["max<500 over 10s"]}), m)
    assert o.passed and o.observed == pytest.approx(129, rel=1e-3)


@pytest.mark.parametrize(("expr", "says"), [
    ("rate<0.1 over 7s", "a span must be a whole number of 5s windows"),
    ("rate<0.1 over 2s", "a span must be a whole number of 5s windows"),
    ("rate<0.1 over soon", "the span of 'rate<0.1 over soon'"),
])
def test_a_bad_span_is_one_line(expr: str, says: str) -> None:
    with pytest.raises(ThresholdError, match=says):
        parse_thresholds({"http_req_failed": [expr]})


def test_a_gauge_keeps_no_windows() -> None:
    with pytest.raises(ThresholdError, match="is a gauge, which keeps no windows; drop 'over'"):
        parse_thresholds({"vus": ["max<10 over 10s"]})
    m = Metrics()
    m.gauge("my_gauge").record(3, T0)
    [o] = evaluate(parse_thresholds({"my_gauge": ["max<10 over 10s"]}), m)  # a custom one: known only now
    assert not o.passed and o.problem is not None and "keeps no windows" in o.problem


def test_a_windowed_threshold_round_trips() -> None:
    [t] = parse_thresholds({"http_req_failed": [{"threshold": "rate<0.05 over 30s", "abortOnFail": True}]})
    assert t.over_s == 30.0 and type(t).from_dict(t.to_dict()) == t


def test_an_abort_watcher_checks_only_the_newest_spans() -> None:
    """The burst is at the end: the newest spans see it. An early burst, since followed by calm, is
    left to the whole-run evaluation (the watcher saw it on the tick when it happened)."""
    threshold = parse_thresholds({"http_req_failed": ["rate<0.1 over 10s"]})
    [late] = evaluate(threshold, burst_at_the_end(), newest_span=True)
    assert not late.passed and late.observed == 1.0
    early = Metrics()
    for second in range(120):
        for _ in range(10):
            early.rate("http_req_failed").record(second < 10, T0 + second)
    assert evaluate(threshold, early, newest_span=True)[0].passed
    assert not evaluate(threshold, early)[0].passed
