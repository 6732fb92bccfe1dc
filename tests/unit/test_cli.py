"""`perfmon history` and `perfmon compare` on a real SQLite store, read with the spec's column names."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfmon import open_store
from perfmon.cli import main
from tests._support.runs import make_run


def test_compare_names_the_specs_columns_and_the_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    base, cand = make_run(), make_run()
    for _ in range(200):
        cand.metrics.trend("http_req_duration", {"name": "/api/dashboard", "status": "200"}).record(900)
    store = open_store(url)
    store.write_run(base)
    store.write_run(cand)
    store.close()
    assert main(["--store", url, "compare", base.run_id[:8], cand.run_id[:8]]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert set(rows) >= {"avg_response_time_ms", "p95_response_time_ms", "error_rate", "throughput_rps", "verdict"}
    assert rows["p95_response_time_ms"][-1].startswith("+") and rows["p95_response_time_ms"][-1].endswith("%")
    # The endpoint that changed, with its confidence; nothing else (make_run's other series are equal).
    changed = [line for line in out.splitlines() if line.startswith("  REGRESSION")]
    assert any("p95 http_req_duration{name:/api/dashboard}" in line for line in changed), out
    assert all("{name:/api/dashboard}" in line and float(line.split()[-1]) > 0.99 for line in changed)
    assert main(["--store", url, "history"]) == 0
    history = capsys.readouterr().out
    assert base.run_id[:8] in history and cand.run_id[:8] in history and "p95 ms" in history


def test_an_accepted_baseline_starts_the_history_later_runs_compare_with(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    runs = []
    for i in range(6):
        run = make_run()
        run.started_at += i  # oldest first
        run.status = "failed" if i == 3 else "passed"
        store.write_run(run)
        runs.append(run)
    store.close()
    assert main(["--store", url, "baseline", "show"]) == 0
    before = capsys.readouterr().out
    assert "is compared with 4 run(s)" in before and runs[3].run_id[:8] not in before  # failed: never a baseline
    assert main(["--store", url, "baseline", "accept", runs[3].run_id[:8]]) == 0
    assert "is now the baseline" in capsys.readouterr().out
    assert main(["--store", url, "baseline", "show"]) == 0
    after = capsys.readouterr().out
    assert "is compared with 2 run(s)" in after and f"{runs[3].run_id[:8]}" in after and "(accepted baseline)" in after
    assert runs[0].run_id[:8] not in after and "not enough history" in after
    reread = open_store(url).load_run(runs[3].run_id)
    assert reread.metadata.get("baseline_accepted_at")


def test_compare_refuses_runs_of_another_environment_in_one_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    ci, staging = make_run(), make_run()
    staging.environment = "staging"
    store = open_store(url)
    store.write_run(ci)
    store.write_run(staging)
    store.close()
    assert main(["--store", url, "compare", staging.run_id[:8], ci.run_id[:8]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "environment staging, not ci" in err and "--across" in err
    assert main(["--store", url, "compare", staging.run_id[:8], ci.run_id[:8], "--across"]) == 0


def test_regressions_exit_codes_say_regressed_judged_or_no_verdict(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from perfmon.analysis.history import compare_with_history

    url = f"sqlite:///{tmp_path}/r.db"
    runs = []
    for i in range(5):
        run = make_run()
        run.started_at += i
        run.status = "passed"
        runs.append(run)
    for i, run in enumerate(runs):  # each judged against the runs before it, as a run's end does
        run.comparison = compare_with_history(run, runs[:i][::-1])
    store = open_store(url)
    for run in runs:
        store.write_run(run)
    store.close()
    assert main(["--store", url, "regressions", runs[1].run_id[:8]]) == 3  # one run before it: no verdict
    assert "not enough history" in capsys.readouterr().out
    assert main(["--store", url, "regressions", runs[4].run_id[:8]]) == 0  # four alike runs before it
    assert main(["--store", url, "regressions", "nosuchrun"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(("argv", "says"), [
    (["run", "--profil", "smoke"], "perfmon: error: unrecognized arguments: --profil; did you mean '--profile'? "
                                   "(see `perfmon run --help`)"),
    (["histroy"], "invalid choice: 'histroy'"),
    (["baseline", "acept", "x"], "did you mean 'accept'?"),
    (["history", "--limt", "3"], "did you mean '--limit'?"),
])
def test_a_misspelt_command_line_says_what_was_meant_and_exits_2(argv: list[str], says: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and says in err and err.startswith("perfmon: error: ")


def test_perfmon_version_names_the_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    from perfmon import __version__

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.strip() == f"perfmon {__version__} (pytest-perfmon)"


def test_perfmon_migrations_copies_the_shipped_schema_and_never_overwrites(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    shipped = sorted((Path(__file__).resolve().parents[2] / "supabase" / "migrations").glob("*.sql"))
    into = tmp_path / "supabase" / "migrations"
    into.mkdir(parents=True)
    (into / shipped[-1].name).write_text("-- the team's own edit\n")
    assert main(["migrations", "--into", str(into)]) == 0
    said = capsys.readouterr().out
    assert sorted(p.name for p in into.glob("*.sql")) == [p.name for p in shipped]
    assert all((into / p.name).read_text() == p.read_text() for p in shipped[:-1])
    assert (into / shipped[-1].name).read_text() == "-- the team's own edit\n"  # kept, and said
    assert f"kept {into / shipped[-1].name} (it exists and differs; nothing overwritten)" in said
    assert "supabase db push --db-url" in said
    assert main(["migrations", "--into", str(into)]) == 0 and "wrote" not in capsys.readouterr().out


def test_a_run_stamped_in_the_future_is_not_the_newest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """#36: a run from a machine whose clock was hours ahead stayed "the newest" for regressions and
    baseline show until that time came."""
    import time

    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    now, ahead = make_run(), make_run()
    now.started_at, ahead.started_at = time.time() - 60, time.time() + 3 * 3600
    store.write_run(now)
    store.write_run(ahead)
    store.close()
    assert main(["--store", url, "baseline", "show"]) == 0
    said = capsys.readouterr()
    assert f"run {now.run_id[:8]}" in said.out and ahead.run_id[:8] not in said.out, said.out
    assert f"passed over run {ahead.run_id[:8]}, stamped 108" in said.err and "s in the future" in said.err
    assert main(["--store", url, "show", ahead.run_id[:8]]) == 0  # named, it is used


def test_a_run_without_a_verdict_has_no_regression_nor_leak(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """#37: after an interrupted run `perfmon regressions` printed "not enough history" and exited 1
    ("regressed": true, "findings": []): the run's LEAK (50 workers starting: 69537 MB/h) made it so."""
    import json

    from perfmon.core.findings import Leak, Leaks

    url = f"sqlite:///{tmp_path}/r.db"
    run = make_run()
    run.status = "interrupted"
    run.findings = [Leaks({"runner": Leak("runner", True, "grew 69537 MB/h", slope_mb_per_h=69537.0)})]
    store = open_store(url)
    store.write_run(run)
    store.close()
    assert main(["--store", url, "regressions", run.run_id[:8], "--json"]) == 3
    said = json.loads(capsys.readouterr().out)
    assert said["regressed"] is False and said["judged"] is False
    assert main(["--store", url, "show", run.run_id[:8]]) == 0
    shown = capsys.readouterr().out
    assert "LEAK" not in shown and "not judged  process_rss_mb{role:runner}" in shown, shown
