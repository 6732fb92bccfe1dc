"""Step changes across a run history, on histories with known truth (placement rates are in bench/)."""

from __future__ import annotations

import random

from perfmon import Run
from perfmon.analysis.history.changepoints import change_points


def history(centres: list[float], seed: int = 5) -> list[Run]:
    rng = random.Random(seed)
    runs = []
    for i, centre in enumerate(centres):
        run = Run(test_type="load", environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
        run.started_at = 1_700_000_000.0 + 3600 * i
        run.git_sha = f"{i:040x}"
        for _ in range(400):
            run.metrics.trend("http_req_duration", {"name": "/api/forms/submit"}).record(
                max(1.0, rng.gauss(centre, centre * 0.1)), run.started_at)
        run.finished_at = run.started_at + 10
        runs.append(run)
    return runs


def test_a_step_is_placed_at_its_first_run_with_its_commit_range() -> None:
    runs = history([100.0] * 7 + [120.0] * 5)
    steps = [c for c in change_points(runs) if c.key == "p95 http_req_duration{name:/api/forms/submit}"]
    assert len(steps) == 1
    [step] = steps
    assert step.first_run == runs[7].run_id and step.worse
    assert (step.previous_sha, step.first_sha) == (runs[6].git_sha, runs[7].git_sha)
    assert step.change is not None and 0.1 < step.change < 0.3


def test_a_flat_history_has_no_step_and_a_short_one_is_not_judged() -> None:
    assert change_points(history([100.0] * 12)) == []
    assert change_points(history([100.0] * 4 + [150.0] * 3)) == []  # 7 runs: too few to tell


def test_noise_alone_does_not_make_steps_in_many_histories() -> None:
    """The split is chosen where the segments differ most, so its t-test is corrected for the scan and
    the steps of all series share one false-discovery control: 40 flat histories of 3 noisy series
    (3 % spread, 20 runs) give no step at all."""
    from perfmon.analysis.history.series import Observation

    rng = random.Random(11)
    found = 0
    for _ in range(40):
        runs = history([100.0] * 20)  # identities only; the values are drawn below
        seen = [[Observation(f"p95 s{k}", "s", "p95", (), rng.gauss(100, 3), 1.0, 500.0) for k in range(3)]
                for _ in runs]
        found += len(change_points(runs, observed=seen))
    assert found == 0
