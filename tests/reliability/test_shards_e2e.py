"""Sharded runs against the real bundled app: N independent pytest runs, one run id, merged in the store.

Each shard's journey also writes down every response time the client measured, so the merged run's
request count and percentiles are checked against the union of the shards' own samples."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from perfmon.core.results import shared_run_id
from tests._support.hosts import network_hosts
from tests._support.sessions import env, perfmon_cmd, pytest_cmd

SCENARIO = """
[scenarios.quick]
executor = "constant-vus"
vus = 3
duration = "2s"
think_time = "0.02s"
[scenarios.quick.thresholds]
http_req_duration = ["p(95)<2000"]
"""

JOURNEY = """
import os
from pathlib import Path

from perfmon.load import Client, VirtualUser

SAMPLES = Path(os.environ["SAMPLES"])


async def hit(client: Client, user: VirtualUser) -> None:
    response = await client.get("/healthz")
    with SAMPLES.open("a") as f:
        f.write(f"{response.elapsed_ms!r}\\n")


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "perfmon.toml").write_text(SCENARIO)
    (proj / "test_quick.py").write_text(JOURNEY)
    return proj


def _shard(proj: Path, db: Path, shard: str, run_id: str, samples: Path) -> subprocess.CompletedProcess[str]:
    samples.unlink(missing_ok=True)  # a retried shard's samples replace its earlier ones
    return subprocess.run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-shard", shard,
                                     "--perf-run-id", run_id),
                          cwd=proj, env=env(SAMPLES=str(samples)), capture_output=True, text=True, timeout=300)


def _series(db: Path, run_id: str, name: str) -> list[dict[str, float]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    return [dict(row) for row in con.execute(
        "select count, p50, p95, p99 from performance_metric_series where run_id = ? and name = ?", (run_id, name))]


def _at_rank(values: np.ndarray, p: float) -> float:
    """The raw sample HdrHistogram's percentile stands for: rank p/100 * n, rounded half up."""
    return float(np.sort(values)[max(1, int(p / 100 * len(values) + 0.5)) - 1])


def test_three_shards_merge_into_one_run_with_the_union_of_their_samples(tmp_path: Path) -> None:
    proj, db = _project(tmp_path), tmp_path / "r.db"
    samples = [tmp_path / f"shard-{i}.txt" for i in (1, 2, 3)]
    first = _shard(proj, db, "1/3", "ci-123", samples[0])
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    assert "waiting for shard(s) 2/3, 3/3" in first.stdout
    second = _shard(proj, db, "2/3", "ci-123", samples[1])
    assert "waiting for shard(s) 3/3" in second.stdout, second.stdout[-2000:]
    last = _shard(proj, db, "3/3", "ci-123", samples[2])
    assert last.returncode == 0, last.stdout[-3000:] + last.stderr
    assert "the run is judged on all 3 shards" in last.stdout
    assert "shards 3 of 3: 1: " in last.stdout and "(1 users)" in last.stdout
    run_id = shared_run_id("ci-123")
    con = sqlite3.connect(db)
    [(stored_id, users, status)] = con.execute("select id, concurrent_users, status from performance_test_runs")
    assert (stored_id, users, status) == (run_id, 3, "passed")  # one user per shard, added up
    assert [r for (r,) in con.execute("select shard from performance_run_shards where run_id = ? order by shard",
                                      (run_id,))] == [1, 2, 3]
    _check_union(db, run_id, samples)

    # A retried shard replaces its part: the run is judged again, and nothing is counted twice.
    retried = _shard(proj, db, "2/3", "ci-123", samples[1])
    assert retried.returncode == 0 and "the run is judged on all 3 shards" in retried.stdout, retried.stdout[-2000:]
    assert con.execute("select count(*) from performance_test_runs").fetchone()[0] == 1
    _check_union(db, run_id, samples)


def _check_union(db: Path, run_id: str, samples: list[Path]) -> None:
    union = np.array([float(v) for path in samples for v in path.read_text().split()])
    reqs = _series(db, run_id, "http_reqs")
    assert sum(s["count"] for s in reqs) == len(union)
    [duration] = _series(db, run_id, "http_req_duration")
    for p in (50, 95, 99):
        merged = duration[f"p{p}"]
        # The histograms keep 3 significant digits: the merged percentile is the raw one within 0.1 %.
        assert merged == pytest.approx(_at_rank(union, p), rel=2e-3, abs=0.002), p


def test_three_shards_on_three_hosts_at_once_are_judged_once(tmp_path: Path) -> None:
    """Three runners in network namespaces of the test's own (or loopback), finishing together: the
    parts are read in the transaction that wrote each, so exactly one of them judges the whole run."""
    proj, db = _project(tmp_path), tmp_path / "r.db"
    samples = [tmp_path / f"shard-{i}.txt" for i in (1, 2, 3)]
    with network_hosts(3) as hosts:
        base_url = hosts.serve_target(tmp_path / "target.log")
        runs = [host.start(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-shard", f"{i}/3",
                                      "--perf-run-id", "ci-127", "--base-url", base_url),
                           log=tmp_path / f"shard-{i}.log", env=env(SAMPLES=str(samples[i - 1])), cwd=proj)
                for i, host in enumerate(hosts.hosts, start=1)]
        codes = [r.wait(timeout=300) for r in runs]
        logs = [(tmp_path / f"shard-{i}.log").read_text() for i in (1, 2, 3)]
        assert codes == [0, 0, 0], f"[{hosts.mode}] " + "\n".join(log[-1500:] for log in logs)
        judged = [log for log in logs if "the run is judged on all 3 shards" in log]
        assert len(judged) == 1, f"[{hosts.mode}] " + "\n".join(log[-800:] for log in logs)
        assert sum("waiting for shard(s)" in log for log in logs) == 2
    run_id = shared_run_id("ci-127")
    assert sqlite3.connect(db).execute("select concurrent_users, status from performance_test_runs").fetchall() == \
        [(3, "passed")]
    _check_union(db, run_id, samples)


def test_a_shard_that_never_reports_leaves_the_run_partial_at_the_deadline(tmp_path: Path) -> None:
    proj, db = _project(tmp_path), tmp_path / "r.db"
    for i in (1, 2):
        out = _shard(proj, db, f"{i}/3", "ci-124", tmp_path / f"shard-{i}.txt")
        assert out.returncode == 0, out.stdout[-2000:]
    merged = subprocess.run(perfmon_cmd("--config", str(proj / "perfmon.toml"), "--store", f"sqlite:///{db}",
                                        "merge", "ci-124", "--wait", "1s"),
                            cwd=proj, env=env(), capture_output=True, text=True, timeout=120)
    assert merged.returncode == 3, merged.stdout + merged.stderr
    assert "shard(s) 3/3 never reported" in merged.stderr
    assert "MISSING 3/3 (the run is partial)" in merged.stdout
    con = sqlite3.connect(db)
    [(status, users, meta)] = con.execute("select status, concurrent_users, metadata from performance_test_runs")
    assert (status, users) == ("partial", 2)
    assert json.loads(meta)["shards"]["missing"] == ["3/3"]
    summary = json.loads((proj / "perf-reports" / shared_run_id("ci-124") / "summary.json").read_text())
    jsonschema.validate(summary, json.loads(resources.files("perfmon.report").joinpath("summary.schema.json")
                                            .read_text()))
    assert summary["shards"]["missing"] == ["3/3"] and summary["run"]["status"] == "partial"
    # The late shard arrives after all: the run is judged again, whole.
    late = _shard(proj, db, "3/3", "ci-124", tmp_path / "shard-3.txt")
    assert "the run is judged on all 3 shards" in late.stdout, late.stdout[-2000:]
    assert con.execute("select status from performance_test_runs").fetchone()[0] == "passed"


def test_two_runners_claiming_one_shard_is_one_line_and_keeps_the_part(tmp_path: Path) -> None:
    proj, db = _project(tmp_path), tmp_path / "r.db"
    runs = [subprocess.Popen(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-shard", "1/2",
                                        "--perf-run-id", "ci-125"),
                             cwd=proj, env=env(SAMPLES=str(tmp_path / f"s{i}.txt")), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    outs = [r.communicate(timeout=300) for r in runs]
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 2], outs
    said = [out + err for (out, err) in outs if "two runners claim the same index" in out + err]
    assert len(said) == 1 and "Traceback" not in said[0], outs
    assert len([line for line in said[0].splitlines() if line.startswith("ERROR")]) == 1
    kept = list((proj / ".perfmon" / "spool" / "rejected").glob("shard-*.json"))
    assert len(kept) == 1  # what the second runner measured is not lost


@pytest.mark.parametrize(("args", "message"), [
    (["--perf-shard", "4/3", "--perf-run-id", "x"], "shard '4/3' is not I/N with 1 <= I <= N"),
    (["--perf-shard", "1/3"], "--perf-shard 1/3 needs --perf-run-id"),
    (["--perf-shard", "a/b", "--perf-run-id", "x"], "shard 'a/b' is not I/N"),
    (["--perf-shard", "1/2", "--perf-run-id", "x", "--perf-no-store"], "drop --perf-no-store"),
], ids=["index-out-of-range", "no-run-id", "not-a-shard", "no-store"])
def test_bad_shard_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proj = _project(tmp_path)
    out = subprocess.run(pytest_cmd("test_quick.py", *args), cwd=proj, env=env(SAMPLES=str(tmp_path / "s.txt")),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout[-1000:] + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len([line for line in out.stderr.splitlines() if line.strip()]) == 1


def test_a_shard_whose_store_is_down_is_kept_and_flushed_later(tmp_path: Path) -> None:
    proj, db = _project(tmp_path), tmp_path / "r.db"
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    out = subprocess.run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{blocker}/r.db", "--perf-shard", "1/1",
                                    "--perf-run-id", "ci-126"),
                         cwd=proj, env=env(SAMPLES=str(tmp_path / "s.txt")), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 4, out.stdout[-2000:] + out.stderr  # measured, kept, not stored
    assert "could not be stored" in out.stdout and "`perfmon flush` sends it" in out.stdout
    [kept] = (proj / ".perfmon" / "spool").glob("shard-*.json")
    perfmon = perfmon_cmd("--config", str(proj / "perfmon.toml"), "--store", f"sqlite:///{db}")
    flushed = subprocess.run([*perfmon, "flush"], cwd=proj, env=env(), capture_output=True, text=True, timeout=120)
    assert flushed.returncode == 0 and "(shard 1/1)" in flushed.stdout, flushed.stdout + flushed.stderr
    assert not kept.exists()
    merged = subprocess.run([*perfmon, "merge", "ci-126"], cwd=proj, env=env(), capture_output=True, text=True,
                            timeout=120)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    _check_union(db, shared_run_id("ci-126"), [tmp_path / "s.txt"])
