"""The regression gate's decisions on series with known truth (the power and false-alarm study on the
real app is bench/regression_quality.py; these check the rules, not the rates)."""

from __future__ import annotations

import random

import pytest

from perfmon.analysis.history.regression import gate
from perfmon.analysis.history.series import Observation, observe
from perfmon.core.config import GateSettings
from perfmon.core.results import Run
from tests._support.runs import make_run


def obs(key: str, value: float, se: float = 0.5, unit: str = "ms", higher_is_worse: bool = True) -> Observation:
    return Observation(key, key.split()[-1], key.split()[0], (), value, se, 1000.0, higher_is_worse, unit)


BASE = [[obs("p95 a", v)] for v in (100.0, 101.5, 99.0, 100.5, 99.5)]


@pytest.mark.parametrize(("value", "kind"), [(130.0, "regression"), (100.8, "same"), (70.0, "improvement")])
def test_a_clear_change_is_found_and_noise_is_not(value: float, kind: str) -> None:
    [found] = gate([obs("p95 a", value)], BASE)
    assert found.kind == kind and found.runs == 5
    assert found.change == pytest.approx(value / 100.1 - 1, rel=1e-3)


def test_lower_throughput_is_the_regression() -> None:
    base = [[obs("rate http_reqs", v, unit="/s", higher_is_worse=False)] for v in (200.0, 202.0, 198.0, 201.0)]
    [found] = gate([obs("rate http_reqs", 150.0, unit="/s", higher_is_worse=False)], base)
    assert found.kind == "regression"


def test_a_significant_change_below_the_minimum_effect_is_not_a_regression() -> None:
    tight = [[obs("p95 a", v, se=0.01)] for v in (100.0, 100.01, 99.99, 100.0)]
    [found] = gate([obs("p95 a", 102.0, se=0.01)], tight, GateSettings(min_change=0.03))
    assert found.p_value < 1e-6 and found.kind == "same"
    [found] = gate([obs("p95 a", 102.0, se=0.01)], tight, GateSettings(min_change=0.005))
    assert found.kind == "regression"


def test_its_own_sampling_noise_keeps_a_loose_series_quiet() -> None:
    """A low-sample endpoint (wide within-run error) that moves as much as its error says it may."""
    [found] = gate([obs("p95 login", 112.0, se=15.0)], [[obs("p95 login", v, se=15.0)] for v in (100, 101, 99, 100)])
    assert found.kind == "same"


def test_too_little_history_gives_no_verdict() -> None:
    assert gate([obs("p95 a", 500.0)], BASE[:2]) == []


def test_many_noise_series_do_not_alarm_by_count_but_one_real_change_does() -> None:
    rng = random.Random(7)
    keys = [f"p95 s{i}" for i in range(80)]
    baselines = [[obs(k, rng.gauss(100, 2), se=1.0) for k in keys] for _ in range(5)]
    noise = [obs(k, rng.gauss(100, 2), se=1.0) for k in keys]
    assert [f.key for f in gate(noise, baselines) if f.kind == "regression"] == []
    noise[17] = obs("p95 s17", 130.0, se=1.0)
    assert [f.key for f in gate(noise, baselines) if f.kind == "regression"] == ["p95 s17"]


def test_each_series_says_what_it_could_have_detected() -> None:
    [tight] = gate([obs("p95 a", 100.0, se=0.1)], [[obs("p95 a", v, se=0.1)] for v in (100, 100.2, 99.8, 100.1, 99.9)])
    [loose] = gate([obs("p95 a", 100.0, se=0.1)], [[obs("p95 a", v, se=0.1)] for v in (100, 110, 90, 105, 95)])
    assert tight.detectable is not None and loose.detectable is not None
    assert 0.03 <= tight.detectable < loose.detectable


def test_a_precise_series_is_not_drowned_by_noisy_ones_of_the_same_unit() -> None:
    """Each series is shrunk towards its own sampling noise plus the run-to-run excess its unit shares,
    not towards the typical spread of the run: a +6 % move of a p95 measured to ±0.5 % is found even
    when the run's other endpoints swing by ±10 % (which their own sampling explains)."""
    rng = random.Random(3)
    def run(a: float) -> list[Observation]:
        return [obs("p95 a", a, se=0.5), *(obs(f"p95 loose{i}", rng.gauss(100, 10), se=10.0) for i in range(4))]
    baselines = [run(v) for v in (100.0, 100.6, 99.5, 100.2, 99.7)]
    found = {f.key: f for f in gate(run(106.0), baselines)}
    assert found["p95 a"].kind == "regression"
    assert [k for k, f in found.items() if f.kind != "same"] == ["p95 a"]


def test_the_runner_is_the_instrument_not_a_series_of_the_release() -> None:
    """Under an arrival rate a slower endpoint makes the executor start more users, and the runner's
    peak memory follows: blaming it would blame the symptom (CI saw runner +79 % beside /login +900 %)."""
    run = make_run()
    for role, mb in (("target", 300.0), ("browser", 900.0), ("runner", 150.0)):
        run.metrics.trend("process_rss_mb", {"role": role}).record(mb, run.started_at)
    peaks = {o.key: o.value for o in observe(run) if o.metric == "process_rss_mb"}
    assert peaks == {"max process_rss_mb{role:browser}": 900.0, "max process_rss_mb{role:target}": 300.0}


def latency_run(rng: random.Random, shift_ms: float = 0.0, n: int = 100, low: float = 20.0,
                high: float = 60.0) -> list[Observation]:
    """One run's observations: ``n`` requests of /api/dashboard taking U(low, high) + shift ms, read
    back through real histograms (the bench's jitter knob, DEMO_LATENCY_MS="40,20")."""
    run = Run(test_type="load", environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
    for _ in range(n):
        run.metrics.trend("http_req_duration", {"name": "/api/dashboard", "status": "200"}).record(
            rng.uniform(low, high) + shift_ms, run.started_at + 1)
    return [o for o in observe(run) if o.metric == "http_req_duration"]


LOCATION_KEY = "location http_req_duration{name:/api/dashboard}"


def test_the_location_series_reads_the_whole_distribution_more_precisely_than_its_p95() -> None:
    rng = random.Random(11)
    baselines = [latency_run(rng) for _ in range(5)]
    found = {f.key: f for f in gate(latency_run(rng), baselines)}
    location, p95 = found[LOCATION_KEY], found["p95 http_req_duration{name:/api/dashboard}"]
    assert location.kind == "same" and location.statistic == "location"
    assert location.detectable is not None and p95.detectable is not None
    # In milliseconds (a shift moves both by the same ms; the location sits lower, so its % is larger).
    assert location.detectable * location.baseline < p95.detectable * p95.baseline


def test_every_request_slower_by_a_few_ms_is_found_by_the_location_and_blamed_on_its_endpoint() -> None:
    rng = random.Random(5)
    baselines = [latency_run(rng) for _ in range(5)]
    slower = gate(latency_run(rng, shift_ms=4.0), baselines)  # +4 ms: +6 % of the p95
    assert [f.key for f in slower if f.kind == "regression"] == [LOCATION_KEY]
    flagged = sum(any(f.kind == "regression" for f in gate(latency_run(rng), baselines)) for _ in range(20))
    assert flagged == 0  # the same runs without the change


def test_a_distribution_without_spread_gets_no_location_series() -> None:
    rng = random.Random(2)
    flat = [latency_run(rng, low=30.0, high=30.0) for _ in range(5)]
    assert LOCATION_KEY not in {f.key for f in gate(latency_run(rng, low=30.0, high=30.0), flat)}


def db_run(mean_ms: float, lock_p95: float = 40.0) -> Run:
    run = make_run()
    run.metadata["target_db"] = {"queries": [
        {"query": "select * from submissions where supplier_id = $1", "calls": 500, "mean_ms": mean_ms},
        {"query": "select 1", "calls": 3, "mean_ms": 0.01}]}  # too few calls to judge
    for i in range(40):
        run.metrics.trend("db_lock_wait_ms").record(lock_p95 * (i + 1) / 40, run.started_at + i)
        run.metrics.trend("db_connections_used", resolution=1).record(8 + i % 3, run.started_at + i)
    return run


def test_the_target_databases_series_are_judged_and_a_slower_query_is_a_regression() -> None:
    keys = {o.key for o in observe(db_run(2.0))}
    query = "mean db_query_time_ms{query:select * from submissions where supplier_id = $1}"
    assert {query, "max db_connections_used", "p95 db_lock_wait_ms"} <= keys
    assert not any("select 1" in k for k in keys)
    baseline = [observe(db_run(v)) for v in (2.0, 2.1, 1.9, 2.05, 1.95)]
    found = {f.key: f.kind for f in gate(observe(db_run(6.0)), baseline)}
    assert found[query] == "regression"
    same = {f.key: f.kind for f in gate(observe(db_run(2.02)), baseline)}
    assert same[query] == "same"
