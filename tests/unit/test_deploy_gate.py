"""`perfmon gate`: a commit deploys only on a recent, complete, passing run with no open regression;
every refusal is one line and its own exit code. On a real SQLite store (PostgreSQL shares the SQL;
the Supabase backend's filter is checked against the fake PostgREST in test_store_supabase.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from perfmon.cli import main
from perfmon.core.comparison import HistoryComparison, SeriesChange
from tests._support.runs import SHA, commit_run, gate, make_run, stored

REGRESSED: dict[str, Any] = {"regressions": HistoryComparison(("a", "b", "c"), (SeriesChange(
    "p95 http_req_duration{name:/api/dashboard}", "http_req_duration", "p95", (("name", "/api/dashboard"),), "ms",
    100.0, 131.0, 0.31, 0.001, 0.002, 0.05, 3, "regression"),)).to_dict()}  # as a store keeps it


def test_a_passing_recent_run_of_the_commit_lets_it_deploy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = commit_run()
    url = stored(tmp_path, run)
    code, line = gate(url, capsys, "--sha", SHA, "--max-age", "24h")
    assert code == 0 and line.startswith(f"perfmon gate: ALLOWED: run {run.run_id[:8]} of commit 0123456789ab")
    assert "\n" not in line
    assert gate(url, capsys, "--sha", SHA[:7]) == (0, line)  # a short SHA finds the same run


# Each run is described, not built, here: a run built at collection would age by the time its test runs.
@pytest.mark.parametrize(("runs", "args", "code", "says"), [
    ([], (), 3, "no complete performance run of commit 0123456789ab in environment ci"),
    ([{"env": "staging"}], (), 3, "no complete performance run"),  # another environment does not count
    ([{"sha": "f" * 40}], (), 3, "no complete performance run"),  # another commit does not count
    ([{}], ("--profile", "release"), 3, "profile release"),
    ([{"age_s": 30 * 3600}], ("--max-age", "24h"), 3, "is 30.0h old, more than --max-age 24.0h"),
    ([{"age_s": 90}], ("--max-age", "10s"), 3, "is 2min old, more than --max-age 10s"),
    ([{"status": "failed"}], (), 1, "FAILED: http_req_failed rate<0.01"),
    ([{"status": "partial"}], (), 1, "PARTIAL"),
    ([{"status": "unmeasured", "unmeasured": ["the target stopped answering"]}], (), 3,
     "could not be measured (UNMEASURED: the target stopped answering)"),
    ([{"status": "interrupted"}], (), 3, "could not be measured (INTERRUPTED: it was interrupted)"),
    ([REGRESSED], (), 1, "regressed against its history: p95 http_req_duration{name:/api/dashboard} +31.0%"),
    ([{"derived": {"leaks": {"target": {"leaking": True, "slope_mb_per_h": 420.0}}}}], (), 1,
     "leak process_rss_mb{role:target} 420 MB/h"),
    # The newest run decides: an older pass does not outvote a newer failure.
    ([{"age_s": 600}, {"status": "failed", "age_s": 60}], (), 1, "FAILED"),
    # #36: a run stamped in the future (a wrong clock) has no age to trust; 5 min of skew is allowed.
    ([{"age_s": -3 * 3600}], ("--max-age", "1h"), 3, "is stamped 3.0h in the future"),
])
def test_every_refusal_is_one_line_with_its_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     runs: list[dict[str, Any]], args: tuple[str, ...], code: int,
                                                     says: str) -> None:
    # The store exists, with an unrelated run in it.
    url = stored(tmp_path, make_run(), *(commit_run(**spec) for spec in runs))
    got, line = gate(url, capsys, "--sha", SHA, *args)
    assert (got, "\n" in line) == (code, False), line
    assert line.startswith("perfmon gate: REFUSED:") and says in line, line


def test_a_short_sha_that_starts_two_commits_is_refused_as_git_refuses_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """#36: ``--sha abcd`` allowed a deploy of abcd1111 on abcd2222's passing run."""
    passing, failing = "abcd2222" + "0" * 32, "abcd1111" + "0" * 32
    url = stored(tmp_path, commit_run(sha=passing, age_s=60), commit_run(sha=failing, status="failed", age_s=600))
    code, line = gate(url, capsys, "--sha", "abcd", "--allow-missing")  # not a missing run: no bypass
    assert code == 2 and "abcd is the start of 2 commits with runs (abcd11110000, abcd22220000)" in line, line
    assert gate(url, capsys, "--sha", "abcd2")[0] == 0 and gate(url, capsys, "--sha", "abcd1")[0] == 1


def test_a_run_a_few_minutes_ahead_is_clock_skew_not_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    url = stored(tmp_path, commit_run(age_s=-120))
    assert gate(url, capsys, "--sha", SHA, "--max-age", "1h")[0] == 0


def test_the_profile_is_asked_of_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The newest run of the asked profile decides, however many newer runs of other profiles there are."""
    ci = commit_run(age_s=3600)
    ci.profile = "ci"
    url = stored(tmp_path, ci, *(commit_run("failed", age_s=60 + i) for i in range(25)))  # 25 newer smoke runs
    code, line = gate(url, capsys, "--sha", SHA, "--profile", "ci")
    assert code == 0 and f"run {ci.run_id[:8]}" in line, line
    assert gate(url, capsys, "--sha", SHA)[0] == 1  # without a profile the newest (failed smoke) run decides


def test_an_accepted_regression_is_no_longer_open(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = commit_run(**REGRESSED)
    url = stored(tmp_path, run)
    assert gate(url, capsys, "--sha", SHA)[0] == 1
    assert main(["--store", url, "baseline", "accept", run.run_id[:8]]) == 0
    assert gate(url, capsys, "--sha", SHA)[0] == 0


def test_the_gate_fails_closed_and_is_bypassed_only_when_asked(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    down = "postgresql://perfmon@127.0.0.1:1/perfmon"  # nothing listens on port 1: the store cannot be reached
    code, line = gate(down, capsys, "--sha", SHA)
    assert code == 4 and line.startswith("perfmon gate: REFUSED: the store could not be read") and "\n" not in line
    assert "--allow-missing" in line
    code, line = gate(down, capsys, "--sha", SHA, "--allow-missing")
    assert code == 0 and "ALLOWED WITHOUT LOOKING (--allow-missing)" in line
    url = stored(tmp_path, make_run())
    code, line = gate(url, capsys, "--sha", SHA, "--allow-missing")
    assert code == 0 and "ALLOWED WITHOUT A RUN (--allow-missing)" in line
    # --allow-missing never lets a failed run through.
    url = stored(tmp_path, commit_run("failed"))
    assert gate(url, capsys, "--sha", SHA, "--allow-missing")[0] == 1


@pytest.mark.parametrize(("args", "says"), [
    (("--sha", "main"), "is not a commit SHA"),
    ((), "pass --sha"),
    (("--sha", SHA, "--max-age", "soon"), "--max-age"),
])
def test_bad_gate_input_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], says: str) -> None:
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.delenv("CI_COMMIT_SHA", raising=False)
    code, line = gate(stored(tmp_path, commit_run()), capsys, *args)
    assert code == 2 and says in line and "\n" not in line


def test_the_commit_comes_from_the_ci_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SHA", SHA)
    assert gate(stored(tmp_path, commit_run()), capsys)[0] == 0


@pytest.mark.parametrize(("table", "column", "garbage"), [
    ("performance_test_runs", "metadata", "{not json"),
    ("performance_test_runs", "started_at", "yesterday-ish"),
    ("performance_metric_series", "data", '{"kind": "trend", "windows": "not a histogram"}'),
], ids=["metadata", "started_at", "series"])
def test_a_damaged_stored_row_is_one_line_and_the_gate_fails_closed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, column: str, garbage: str) -> None:
    """#36: gate, show, report and compare ended in a traceback (exit 1) on a row edited by hand."""
    import sqlite3

    run = commit_run()
    url = stored(tmp_path, run)
    con = sqlite3.connect(tmp_path / "r.db")
    key = "id" if table == "performance_test_runs" else "run_id"
    con.execute(f"update {table} set {column} = ? where {key} = ?", (garbage, run.run_id))
    con.commit()
    con.close()
    code, line = gate(url, capsys, "--sha", SHA, "--allow-missing")  # a damaged run is not a missing one
    assert code == 4 and "\n" not in line, line
    assert line.startswith("perfmon gate: REFUSED: the store could not be read (stored run ") and "damaged" in line
    for command in (["show", run.run_id[:8]], ["report", run.run_id[:8], "--out", str(tmp_path / "rep")],
                    ["compare", run.run_id[:8], run.run_id[:8]]):
        assert main(["--store", url, *command]) != 0, command
        said = capsys.readouterr()
        assert "Traceback" not in said.out + said.err and said.err.count("\n") == 1, said.err
        assert f"stored run {run.run_id} cannot be read back, its row is damaged" in said.err
