"""A shard's slice of a run: its share of the users and the arrival rate, and the id all shards share."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from perfmon.core.config import Config, Profile, Scenario, Shard, Stage
from perfmon.core.errors import ConfigError
from perfmon.core.metrics import Metrics
from perfmon.core.records import Record
from perfmon.core.results import shared_run_id
from perfmon.pipeline import NO_OUTPUTS, RunFacts
from perfmon.pipeline.shards import make_part, merge_parts
from perfmon.store import ShardRow


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("n", [0, 1, 5, 10, 101])
def test_the_shards_shares_add_up_to_the_whole(n: int, count: int) -> None:
    shares = [Shard(i, count).share(n) for i in range(1, count + 1)]
    assert sum(shares) == n and max(shares) - min(shares) <= 1


def test_a_scenario_is_sliced_into_users_ramp_targets_and_rate() -> None:
    ramp = Scenario("ramp", "ramping-vus", stages=(Stage(10, 10), Stage(20, 30), Stage(5, 0)), think_time_s=0.5)
    parts = [ramp.sliced(Shard(i, 3)) for i in (1, 2, 3)]
    assert [[s.target for s in p.stages] for p in parts] == [[4, 10, 0], [3, 10, 0], [3, 10, 0]]
    assert all(p.total_duration_s == 35 for p in parts)  # the shards run side by side, as long as the whole
    rate = Scenario("open", "constant-arrival-rate", rate=50.0, max_vus=20, duration_s=60)
    assert [(p.rate, p.max_vus) for p in (rate.sliced(Shard(i, 4)) for i in (1, 2, 3, 4))] == [(12.5, 5)] * 4
    closed = Scenario("c", "constant-vus", vus=5, duration_s=30).scaled(Profile("p", users_factor=2.0))
    assert [closed.sliced(Shard(i, 3)).vus for i in (1, 2, 3)] == [4, 3, 3]


def test_fewer_users_than_shards_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="has 2 user"):
        Scenario("tiny", "constant-vus", vus=2, duration_s=5).sliced(Shard(1, 3))


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", ""])
def test_a_bad_shard_is_one_clear_error(text: str) -> None:
    with pytest.raises(ConfigError, match="is not I/N"):
        Shard.parse(text)


def test_the_run_id_is_the_same_on_every_runner() -> None:
    given = "8f14e45f-ceea-467f-a0e6-2e1a3f4b5c6d"
    assert shared_run_id(given) == given
    derived = shared_run_id("github-1234567-1")
    assert uuid.UUID(derived).version == 5 and derived == shared_run_id(" github-1234567-1 ")
    assert derived != shared_run_id("github-1234567-2")


def test_a_shard_that_measured_nothing_reports_without_changing_the_run(tmp_path: Path) -> None:
    """A shard whose tests measured nothing still stores a part (with its sampler's metrics), so the run
    is not left waiting for it; the merged run is the measuring shard's kind and users, not "mixed"."""
    cfg, t, run_id = Config(root=tmp_path), 1_700_000_000.0, shared_run_id("unit")
    rec = Record("test_x.py::test_load", kind="load", vus=2)
    for i in range(20):
        rec.metrics.trend("http_req_duration", {"name": "/"}).record(10.0 + i, t + i / 4)
    sampler = Metrics()
    sampler.trend("process_rss_mb", {"role": "runner"}).record(80.0, t)
    parts = [make_part(records, cfg, run_id=run_id, started_at=t, finished_at=t + 5, base_url=None, facts=RunFacts(),
                       session_metrics=sampler, metadata={}) for records in ([rec], [])]
    assert [p.measured for p in parts] == [True, False]
    rows = [ShardRow(run_id, i, 2, f"runner-{i}", json.loads(json.dumps(p.to_dict())))
            for i, p in enumerate(parts, start=1)]
    run = merge_parts(rows, cfg, outputs=NO_OUTPUTS).run
    assert (run.test_type, run.concurrent_users, run.metadata["shards"]["missing"]) == ("load", 2, [])
    assert run.summary_metrics().p95_response_time == pytest.approx(28.0, rel=0.01)
