"""The machine's pace as the gate's covariate (perfmon/analysis/pace.py), on runs with known truth read
back through real histograms: a slower moment of the machine slows the requests and the load
generator's own CPU per request alike; a slower endpoint slows only the requests. (How much it helps
on the real app is bench/regression_quality.py's to measure.)"""

from __future__ import annotations

import math
import random

from perfmon.analysis.history import compare_with_history
from perfmon.analysis.history.pace import MIN_RUNS, adjust_for_pace, run_pace
from perfmon.analysis.history.regression import gate
from perfmon.analysis.history.series import observe
from perfmon.core.results import Run
from perfmon.pipeline.summary import history_lines

DASHBOARD = "/api/dashboard"


def paced_run(rng: random.Random, at: float, machine: float = 0.0, shift_ms: float = 0.0, slope: float = 0.5,
              n: int = 300) -> Run:
    """A passed run whose machine was ``machine`` slower (log scale): each request takes U(20, 60) ms
    times ``exp(slope * machine)``, plus ``shift_ms`` (the release), and the generator spends
    ``exp(machine)`` ms of CPU per request, give or take 2 %."""
    run = Run(test_type="load", environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
    run.started_at, run.finished_at, run.status = at, at + 20, "passed"
    for _ in range(n):
        took = rng.uniform(20, 60) * math.exp(slope * machine) + shift_ms
        run.metrics.trend("http_req_duration", {"name": DASHBOARD, "status": "200"}).record(took, at + 1)
    run.metrics.counter("http_reqs", {"name": DASHBOARD}).add(n, at + 1)
    run.metrics.counter("generator_cpu_seconds").add(n * 0.001 * math.exp(machine + rng.gauss(0, 0.02)), at + 1)
    return run


def history(rng: random.Random, runs: int = 20, **kw: float) -> list[Run]:
    """``runs`` unchanged runs on a machine whose pace wanders by about 6 %, newest first."""
    return [paced_run(rng, 1000.0 + 100 * i, machine=rng.gauss(0, 0.06), **kw) for i in range(runs)][::-1]


def regressions(run: Run, past: list[Run]) -> list[str]:
    return [f.key for f in compare_with_history(run, past).findings if f.kind == "regression"]


def test_a_slow_moment_of_the_machine_is_not_a_regression_once_its_pace_is_known() -> None:
    rng = random.Random(3)
    past = history(rng)
    slow = paced_run(rng, 9000.0, machine=0.25)  # every request 13 % slower, and the generator 28 % slower
    found = compare_with_history(slow, past)
    assert found.pace is not None and found.pace.runs == 20 and 0.2 < found.pace.change < 0.4
    assert 0.3 < found.pace.slopes[f"name:{DASHBOARD}"] < 0.7  # the true slope is 0.5
    slow.comparison = found  # as the pipeline keeps it: the summary names the adjustment
    assert any("adjusted for the machine's pace: the load generator used +" in line for line in history_lines(slow))
    assert [f.key for f in found.findings if f.kind == "regression"] == []
    # The same judgement without the pace: the slow moment is taken for the release.
    unadjusted = gate(observe(slow), [observe(r) for r in past[:10]])
    assert any(f.kind == "regression" for f in unadjusted)


def test_a_slower_endpoint_on_an_unchanged_machine_is_still_found() -> None:
    rng = random.Random(4)
    past = history(rng)
    assert f"location http_req_duration{{name:{DASHBOARD}}}" in regressions(paced_run(rng, 9000.0, shift_ms=4.0), past)
    assert regressions(paced_run(rng, 9000.0), past) == []  # the same run without the change


def test_a_release_that_also_costs_the_generator_more_is_still_found() -> None:
    # A slower endpoint whose bigger responses also cost the generator 10 % more CPU per request: the
    # adjustment takes off only the slope's share of that (pace.py says so), not the slowdown.
    rng = random.Random(5)
    past = history(rng)
    bigger = paced_run(rng, 9000.0, shift_ms=6.0)
    bigger.metrics.counter("generator_cpu_seconds").add(0.03, 9001.0)
    assert f"location http_req_duration{{name:{DASHBOARD}}}" in regressions(bigger, past)


def test_too_little_history_or_no_pace_leaves_every_series_as_it_was() -> None:
    rng = random.Random(6)
    past = history(rng, runs=MIN_RUNS - 1)
    candidate = paced_run(rng, 9000.0, machine=0.25)
    assert compare_with_history(candidate, past).pace is None
    unpaced = Run(test_type="load", environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
    assert run_pace(unpaced) is None
    seen = observe(candidate)
    pairs = [(observe(r), run_pace(r)) for r in history(rng)]
    same, _, pace = adjust_for_pace((seen, None), pairs[:5], pairs)
    assert pace is None and same == seen


def test_a_machine_whose_pace_does_not_slow_the_requests_adjusts_nothing() -> None:
    rng = random.Random(7)
    past = [paced_run(rng, 1000.0 + 100 * i, machine=rng.gauss(0, 0.06), slope=-0.5) for i in range(20)][::-1]
    assert compare_with_history(paced_run(rng, 9000.0, machine=0.1, slope=-0.5), past).pace is None  # slope < 0: 0
