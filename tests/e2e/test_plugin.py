"""The plugin and CLI end to end, as a user runs them: real pytest processes, the real bundled app,
real Chromium, a real store file. Bad input must give one line and a non-zero exit."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.apps import DemoApp
from tests._support.sessions import (
    AS_WRITTEN,
    ROOT,
    SCENARIO_TOML,
    TEST_FILE,
    perf_project,
    project,
    pytest_cmd,
    run,
    runs_in,
    said,
)


def test_api_scenario_is_judged_and_stored_once_per_session(pytester: pytest.Pytester, clean_env: None) -> None:
    db = perf_project(pytester) / "r.db"
    out = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{db}", timeout=600)
    assert out.ret == 0, said(out)
    out.assert_outcomes(passed=1)
    out.stdout.fnmatch_lines(["*PASS  http_req_duration{scenario:quick}: p(95)<2000*"])
    [(_, kind, status)] = runs_in(db)
    assert (kind, status) == ("load", "passed")


def test_failed_threshold_fails_the_session_and_names_it(pytester: pytest.Pytester, clean_env: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = perf_project(pytester, limit="1") / "r.db"
    monkeypatch.setenv("DEMO_LATENCY_MS", "20")
    out = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{db}", timeout=600)
    assert out.ret == 1, said(out)
    out.assert_outcomes(passed=1)  # the test ran as written; the run failed on its threshold
    out.stdout.fnmatch_lines(["perfmon: FAILED thresholds: http_req_duration{scenario:quick}: p(95)<1"])
    [(_, _, status)] = runs_in(db)
    assert status == "failed"


@pytest.mark.parametrize(
    ("args", "extra_env", "toml", "message"),
    [
        (["--perf-profile", "nightly"], {}, "", "unknown profile 'nightly'; choose one of ci, release, smoke"),
        ([], {}, '[scenarios.quick.thresholds]\nhttp_req_failed = ["rate<<0.1"]\n', "threshold 'rate<<0.1'"),
        ([], {"BASE_URL": "http://127.0.0.1:9"}, "", "BASE_URL http://127.0.0.1:9 is unreachable"),
        ([], {"PERFMON_ENV": "moon"}, "", "unknown environment 'moon'"),
    ],
    ids=["unknown-profile", "bad-threshold", "unreachable-base-url", "bad-env"],
)
def test_bad_input_is_one_line_and_non_zero(pytester: pytest.Pytester, clean_env: None, monkeypatch: pytest.MonkeyPatch,
                                            args: list[str], extra_env: dict[str, str], toml: str,
                                            message: str) -> None:
    proj = perf_project(pytester)
    if toml:
        (proj / "perfmon.toml").write_text("[scenarios.quick]\nvus = 1\nduration = \"1s\"\n" + toml)
    for key, value in extra_env.items():
        monkeypatch.setenv(key, value)
    out = pytester.runpytest_subprocess("test_quick.py", *args, timeout=600)
    assert out.ret != 0
    assert message in out.stderr.str(), said(out)
    assert "Traceback" not in said(out)
    assert len([line for line in out.errlines if line.strip()]) == 1


def test_store_down_spools_the_run_and_flush_replays_it_once(tmp_path: Path) -> None:
    proj = project(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    bad = f"sqlite:///{blocker}/r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", bad), proj)
    assert out.returncode == 4  # measured, passed, but not stored: spooled
    assert "store failed: cannot open the result store" in out.stdout
    spooled = list((proj / ".perfmon" / "spool").glob("*.json"))
    assert len(spooled) == 1
    run_id = spooled[0].stem
    db = tmp_path / "good.db"
    perfmon = [sys.executable, "-m", "perfmon", "--config", str(proj / "perfmon.toml"), "--store", f"sqlite:///{db}"]
    flushed = run([*perfmon, "flush", "--all"], proj)  # into another store than the one it was meant for
    assert flushed.returncode == 0 and run_id in flushed.stdout
    again = run([*perfmon, "flush"], proj)
    assert "nothing to flush" in again.stdout
    assert [r[0] for r in runs_in(db)] == [run_id]
    hist = run([*perfmon, "history"], proj)
    assert run_id[:8] in hist.stdout and "PASSED" in hist.stdout


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    out = run([sys.executable, "-m", "perfmon", "--store", "mysql://x", "history"], tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "perfmon: error: unsupported store URL 'mysql://x'; use sqlite:///path.db, postgresql://user@host/db or "
        "supabase (with SUPABASE_URL)")
    from perfmon import open_store

    open_store(f"sqlite:///{tmp_path}/x.db").close()  # an empty store: read commands never create one
    out = run([sys.executable, "-m", "perfmon", "--store", f"sqlite:///{tmp_path}/x.db", "show", "abc"], tmp_path)
    assert out.returncode == 2 and "no run matches 'abc'" in out.stderr


@pytest.mark.browser
def test_smoke_run_merges_workers_into_one_run(tmp_path: Path) -> None:
    """The main job, as README's command runs it, with 2 xdist workers: one stored run."""
    db = tmp_path / "r.db"
    out = run([sys.executable, "-m", "perfmon", "--store", f"sqlite:///{db}", "run", "--profile", "smoke",
               "--workers", "2"], ROOT)
    [(run_id, kind, status)] = runs_in(db)
    # Two workers on two cores can saturate this machine's browsers: then the run is honestly unmeasured
    # (exit 3, quarantine). The one merged run is what this test checks, and it holds either way.
    assert (out.returncode, kind, status) in {(0, "mixed", "passed"), (3, "mixed", "unmeasured")}, (
        out.stdout[-3000:] + out.stderr[-3000:])
    assert status == "passed" or "UNMEASURED  only " in out.stdout
    con = sqlite3.connect(db)
    journeys = {r[0] for r in con.execute(
        "select json_extract(tags, '$.journey') from performance_metric_series where run_id = ? and "
        "name = 'browser_iterations'", (run_id,))}
    assert journeys == {"login", "dashboard", "form_submit", "full_journey"}
    iterations = con.execute("select sum(count) from performance_metric_series where run_id = ? and "
                             "name = 'browser_iterations'", (run_id,)).fetchone()[0]
    assert iterations == 8  # 4 journeys x 2 virtual users (one per worker) x 1 smoke iteration
    scenarios = {r[0] for r in con.execute(
        "select json_extract(tags, '$.scenario') from performance_metric_series where run_id = ? and "
        "name = 'http_reqs'", (run_id,))}
    assert scenarios == {"load", "stress"}


def test_added_latency_fails_the_smoke_load_run(tmp_path: Path) -> None:
    # The load part only: journeys at 2.5 s a page took a minute of CI and judged nothing more here.
    db = tmp_path / "r.db"
    out = run([sys.executable, "-m", "perfmon", "--store", f"sqlite:///{db}", "run", "--type", "load", "--profile",
               "smoke", "--workers", "2"], ROOT, DEMO_LATENCY_MS="2500")
    assert out.returncode != 0
    assert "perfmon: FAILED thresholds:" in out.stdout
    assert "http_req_duration{scenario:load}: p(95)<2000" in out.stdout
    [(_, _, status)] = runs_in(db)
    assert status == "failed"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_missing_chromium_is_one_line_before_any_journey(workers: list[str]) -> None:
    out = run(pytest_cmd("tests/browser_perf", "--perf-profile", "smoke", *workers), ROOT,
              PERFMON_CHROMIUM="/nonexistent/chromium")
    assert out.returncode == 2
    text = out.stdout + out.stderr
    assert "ERROR: PERFMON_CHROMIUM=/nonexistent/chromium is not an executable" in text
    assert "Traceback" not in text and "INTERNALERROR" not in text


@pytest.mark.browser
def test_hybrid_run_puts_api_load_and_journeys_in_one_run(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    out = run(pytest_cmd("tests/browser_perf", "-n", "2", "--perf-profile", "smoke", "--perf-load", "load",
                         "--perf-store", f"sqlite:///{db}", "-k", "login"), ROOT)
    [(run_id, kind, status)] = runs_in(db)
    # Two workers, browsers, load and the app on two cores may saturate the machine: then the run is
    # honestly unmeasured (exit 3). One run holding both kinds of measurement is what this checks.
    assert (out.returncode, status) in {(0, "passed"), (3, "unmeasured")}, out.stdout[-3000:]
    assert status == "passed" or ("UNMEASURED  the client CPU was saturated" in out.stdout
                                  or "UNMEASURED  only " in out.stdout)  # its load, or its browser samples
    assert kind == "mixed"
    con = sqlite3.connect(db)
    names = {r[0] for r in con.execute("select name from performance_metric_series where run_id = ?", (run_id,))}
    assert {"http_reqs", "browser_iterations"} <= names
    assert names & {"browser_vital_lcp", "browser_vital_lcp_quarantined"}  # clean, or kept apart when saturated
    assert "PASS  http_req_duration{scenario:load}: p(95)<2000" in out.stdout


def test_bad_load_script_is_one_line(tmp_path: Path) -> None:
    out = run(pytest_cmd("tests/browser_perf", "--perf-profile", "smoke", "--perf-load", "load",
                         "--perf-load-script", "tests/api_perf/journeys.py:nope"), ROOT)
    assert out.returncode == 2
    assert "ERROR: script 'tests/api_perf/journeys.py' has no function 'nope'" in out.stderr
    assert "Traceback" not in out.stderr
    # The bundled app it started for the load is stopped too (it was left running, one per run).
    import psutil

    left = [p for p in psutil.process_iter(["cmdline", "environ"]) if "demo_app" in " ".join(p.info["cmdline"] or ())
            and "test_bad_load_script_is_one_line" in str((p.info["environ"] or {}).get("PYTEST_CURRENT_TEST"))]
    assert left == []


def test_a_failed_run_alerts_the_webhook_and_the_next_run_flushes_the_spool(pytester: pytest.Pytester, clean_env: None,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    got: list[dict[str, object]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proj = perf_project(pytester, limit="0.001")
        blocker = proj / "blocker"
        blocker.write_text("")
        monkeypatch.setenv("PERFMON_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
        first = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{blocker}/x.db",
                                              timeout=600)
        assert first.ret == 1 and "alert sent" in first.stdout.str(), said(first)
        assert got and "p(95)<0.001" in str(got[0]["text"])
        monkeypatch.delenv("PERFMON_ALERT_WEBHOOK")
        blocker.unlink()
        blocker.mkdir()  # the store is back: the next run into it sends the spooled one too
        db = blocker / "x.db"
        second = pytester.runpytest_subprocess("test_quick.py", "--perf-store", f"sqlite:///{db}", timeout=600)
        second.stdout.fnmatch_lines(["*also sent 1 run(s) spooled earlier*"])
        assert len(runs_in(db)) == 2
        assert not list((proj / ".perfmon" / "spool").glob("*.json"))
    finally:
        server.shutdown()


CRASH_SUITE = """
import os

import pytest


@pytest.mark.parametrize("vu", range(1, 5))
def test_journey(perf, vu):
    perf.page.goto("/login")
    with perf.step("open"):
        perf.page.goto("/login")
    if vu == 3:
        os._exit(1)  # the worker dies mid-iteration
"""


@pytest.mark.browser
def test_a_crashed_worker_loses_only_its_iteration(pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makefile(".toml", perfmon='[scenarios.browser]\nthink_time = "0s"\n')
    pytester.makepyfile(test_crash=CRASH_SUITE)
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("test_crash.py", "-n", "2", "--perf-store", f"sqlite:///{db}", timeout=600)
    # Failed for the crash; or unmeasured when two workers saturated this machine's browsers (quarantine).
    assert out.ret == 1 or (out.ret == 3 and "UNMEASURED  only " in out.stdout.str()), said(out)[-2000:]
    out.assert_outcomes(passed=3, failed=1)  # xdist reports the crashed worker's test as failed
    assert "1 iteration(s) lost to crashed workers" in out.stdout.str()
    con = sqlite3.connect(db)
    [(run_id, lost)] = con.execute("select id, lost_iterations from performance_test_runs").fetchall()
    assert lost == 1
    done = con.execute("select sum(count) from performance_metric_series where run_id = ? and "
                       "name = 'browser_iterations'", (run_id,)).fetchone()[0]
    assert done == 3  # the other three iterations were kept


@pytest.mark.browser
@pytest.mark.parametrize("driver", ["", "1"], ids=["thin-client", "playwright-driver"])
def test_four_workers_on_shared_browser_servers_merge_into_one_run(tmp_path: Path, driver: str) -> None:
    db = tmp_path / "r.db"
    out = run(pytest_cmd("tests/browser_perf", "-n", "4", "--perf-browsers", "2", "--perf-profile", "smoke",
                         "-k", "test_login", "--perf-store", f"sqlite:///{db}"), ROOT,
              PERFMON_PLAYWRIGHT_DRIVER=driver)
    [(run_id, kind, status)] = runs_in(db)
    # Four workers on two cores may saturate this machine: then too few browser samples are clean and the
    # run is honestly unmeasured (exit 3). The merge is what this test checks, and it holds either way.
    verdicts = {(0, "browser", "passed"), (3, "browser", "unmeasured")}
    assert (out.returncode, kind, status) in verdicts, out.stdout[-2000:]
    assert status == "passed" or "browser samples were measured on an unsaturated client" in out.stdout
    con = sqlite3.connect(db)
    assert con.execute("select sum(count) from performance_metric_series where run_id = ? and "
                       "name = 'browser_iterations'", (run_id,)).fetchone()[0] == 4  # one per worker
    visits = con.execute("select sum(count) from performance_metric_series where run_id = ? and "
                         "name in ('browser_vital_ttfb', 'browser_vital_ttfb_quarantined')", (run_id,)).fetchone()[0]
    assert visits == 8  # /login and /dashboard, from each of the four workers (clean or quarantined)


BREAKING_SUITE = """
from perfmon.load import CapacitySearch, Client, VirtualUser


async def page(client: Client, user: VirtualUser) -> None:
    await client.get("/login")


def test_capacity(perf_api):
    bp = perf_api.find_breaking_point(page, scenario="cap", start_rate=30, step_rate=40, max_rate=60,
                                      step_duration_s=2, refine=0)  # the one search, under its old name
    assert bp.limited_by == "max_rate", bp.why


def test_capacity_search(perf_api):
    found = perf_api.find_capacity(page, scenario="search",
                                   settings=CapacitySearch(start_rate=20, width=0.3, trials=1, step_duration_s=2))
    assert found.limited_by == "server", found.why
"""


def test_breaking_point_is_stored_with_the_run(pytester: pytest.Pytester, clean_env: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makefile(".toml", perfmon='[scenarios.cap]\nvus = 1\nduration = "1s"\n'
                                       '[scenarios.cap.thresholds]\nhttp_req_duration = ["p(95)<250"]\n'
                                       '[scenarios.search]\nvus = 1\nduration = "1s"\nthink_time = "1s"\n'
                                       '[scenarios.search.thresholds]\nhttp_req_duration = ["p(95)<250"]\n')
    pytester.makepyfile(test_cap=BREAKING_SUITE)
    db = pytester.path / "r.db"
    monkeypatch.setenv("DEMO_CAPACITY", "4")  # capacity 80 requests per second
    monkeypatch.setenv("DEMO_SERVICE_MS", "50")
    out = pytester.runpytest_subprocess("test_cap.py", *AS_WRITTEN, "--perf-store", f"sqlite:///{db}",
                                        "--perf-report-dir", str(pytester.path / "rep"), timeout=600)
    out.assert_outcomes(passed=2)
    con = sqlite3.connect(db)
    [(scenario, held, broke), search] = con.execute(
        "select scenario, sustainable_rate, breaking_rate from performance_breaking_points "
        "order by scenario").fetchall()
    assert scenario == "cap" and held == 60 and broke is None
    # The adaptive search: its bracket, the users it serves (1 s of think time each), every step a row.
    [(held, broke, users, limited)] = con.execute(
        "select sustainable_rate, breaking_rate, users, limited_by from performance_breaking_points "
        "where scenario = 'search'").fetchall()
    assert search[0] == "search" and 80 <= held < broke <= 1.3 * held and limited == "server"
    assert held * 1.0 < users < held * 1.5  # rate x (iteration + think time)
    steps = con.execute("select rate, achieved_rate, concurrency, p50, p95, p99, held from performance_capacity_steps "
                        "where scenario = 'search' order by step").fetchall()
    assert [r[0] for r in steps][:4] == [20, 40, 80, 160] and all(r[1] and r[4] for r in steps)
    assert all(bool(r[6]) == (r[0] <= held) for r in steps)
    assert all(r[3] <= r[4] <= r[5] for r in steps)
    [(estimate, low, high)] = con.execute("select rate_estimate, rate_low, rate_high from "
                                          "performance_breaking_points where scenario = 'search'").fetchall()
    assert low <= estimate <= high and held * 0.8 <= estimate <= broke * 1.2
    [(points, refused)] = con.execute("select points, refused from performance_scalability_fits "
                                      "where scenario = 'search'").fetchall()
    assert points == len(steps) or refused  # fitted over every step, or said why not
    html = next((pytester.path / "rep").glob("*/index.html")).read_text()
    assert "Capacity: cap" in html and "Capacity: search" in html and "about " in html


def test_ctrl_c_stops_gracefully_and_stores_what_was_measured(pytester: pytest.Pytester, clean_env: None,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              clean_demo: DemoApp) -> None:
    import signal
    import time

    pytester.makefile(".toml", perfmon='[scenarios.quick]\nvus = 2\nduration = "60s"\nthink_time = "0.05s"\n')
    pytester.makepyfile(test_quick=TEST_FILE.replace('"/healthz"', '"/login"'))  # the app counts /login, not /healthz
    db = pytester.path / "r.db"
    monkeypatch.setenv("BASE_URL", clean_demo.url)  # an app this test can watch
    served = clean_demo.stats()["count"]
    proc = pytester.popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_quick.py", *AS_WRITTEN,
                           "--perf-store", f"sqlite:///{db}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while clean_demo.stats()["count"] < served + 20 and time.monotonic() < deadline:  # the load is under way
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3, out[-3000:]  # interrupted: the run could not be measured whole
    [(run_id, _, status)] = runs_in(db)
    assert status == "interrupted"
    reqs = sqlite3.connect(db).execute("select sum(count) from performance_metric_series where run_id = ? and "
                                       "name = 'http_reqs'", (run_id,)).fetchone()[0]
    assert reqs >= 20
    assert b"Traceback" not in out


HYBRID_SCRIPT = """
import time

from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("{path}")


def test_journeys_take_a_while():
    time.sleep({seconds})  # stands in for journeys that outlast the background scenario
"""


def hybrid(pytester: pytest.Pytester, toml: str, *, path: str, seconds: float,
           scenario: str) -> tuple[pytest.RunResult, Path]:
    pytester.makefile(".toml", perfmon=toml)
    pytester.makepyfile(test_hybrid=HYBRID_SCRIPT.replace("{path}", path).replace("{seconds}", str(seconds)))
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("test_hybrid.py", *AS_WRITTEN, "--perf-load", scenario, "--perf-load-script",
                                        "test_hybrid.py:hit", "--perf-load-on-start", "none", "--perf-store",
                                        f"sqlite:///{db}", timeout=600)
    out.assert_outcomes(passed=1)
    return out, db


def test_a_hybrid_spike_is_analysed_like_any_spike(pytester: pytest.Pytester, clean_env: None) -> None:
    toml = """
[scenarios.spike]
executor = "ramping-vus"
think_time = "0.1s"
stages = [{duration = "11s", target = 2}, {duration = "1s", target = 8}, {duration = "4s", target = 8},
          {duration = "1s", target = 2}, {duration = "11s", target = 2}]
[scenarios.spike.thresholds]
spike_recovery_time = ["max<60000"]
"""
    out, db = hybrid(pytester, toml, path="/healthz", seconds=30, scenario="spike")
    assert out.ret == 0, said(out)[-3000:]
    assert "PASS  spike_recovery_time{scenario:spike}: max<60000" in out.stdout.str()
    assert "spike recovery (spike): " in out.stdout.str()
    [(_, kind, status)] = runs_in(db)
    assert (kind, status) == ("spike", "passed")


def test_a_hybrid_abort_on_fail_stop_is_kept(pytester: pytest.Pytester, clean_env: None) -> None:
    toml = """
[scenarios.load]
vus = 2
duration = "30s"
think_time = "0.1s"
[scenarios.load.thresholds]
http_req_failed = [{ threshold = "rate<0.01", abortOnFail = true }]
"""
    # /api/dashboard without a token answers 401: every request fails, and abortOnFail stops the load.
    out, db = hybrid(pytester, toml, path="/api/dashboard", seconds=8, scenario="load")
    assert out.ret == 1, said(out)[-3000:]
    assert ("stopped early: load: threshold http_req_failed{scenario:load}: rate<0.01 failed (abortOnFail)"
            in out.stdout.str())
    con = sqlite3.connect(db)
    [(status, meta)] = con.execute("select status, metadata from performance_test_runs").fetchall()
    assert status == "failed"
    [scenario] = __import__("json").loads(meta)["scenarios"]
    assert "abortOnFail" in scenario["stop_reason"] and not scenario["cut_short"]


FACTS_SUITE = """
from perfmon.load import Client, VirtualUser


async def slow(client: Client, user: VirtualUser) -> None:
    await client.get("/login")
    await user.sleep(0.2)


def test_open_model(perf_api):
    perf_api.run(slow, scenario="open")
"""


def test_a_scenario_s_facts_reach_the_stored_run(pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makefile(".toml", perfmon="""
[scenarios.open]
executor = "constant-arrival-rate"
rate = 40
duration = "3s"
max_vus = 2
processes = 2
""")
    pytester.makepyfile(test_facts=FACTS_SUITE)
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("test_facts.py", *AS_WRITTEN, "--perf-store", f"sqlite:///{db}", timeout=600)
    assert out.ret == 0, said(out)[-3000:]
    out.assert_outcomes(passed=1)
    [(meta,)] = sqlite3.connect(db).execute("select metadata from performance_test_runs").fetchall()
    [scenario] = __import__("json").loads(meta)["scenarios"]
    assert (scenario["name"], scenario["executor"], scenario["processes"]) == ("open", "constant-arrival-rate", 2)
    assert scenario["dropped_iterations"] > 0 and scenario["vus_created"] == 2


def test_a_user_error_inside_a_worker_is_one_line_and_its_own_code(pytester: pytest.Pytester,
                                                                    clean_env: None) -> None:
    broken = 'target_command = "{python} -c \\"raise SystemExit(3)\\""\n'  # the app dies at start
    pytester.makefile(".toml", perfmon=broken + SCENARIO_TOML.replace("{limit}", "2000"))
    pytester.makepyfile(**{name: TEST_FILE.replace("test_quick", name) for name in ("test_quick", "test_more")})
    out = pytester.runpytest_subprocess("test_quick.py", "test_more.py", "-n", "2", timeout=600)
    text = said(out)
    assert out.ret == 3, text[-3000:]  # the target never came up: nothing could be measured
    assert "INTERNALERROR" not in text and "Traceback" not in text
    assert text.count("ERROR: the target app exited with code 3 at start") == 1


NO_STEP_SUITE = """
def test_first_journey(perf):
    perf.page.goto("/login")
"""


@pytest.mark.browser
def test_a_first_journey_without_steps_is_not_failed_by_a_default_it_never_fed(pytester: pytest.Pytester,
                                                                                clean_env: None) -> None:
    pytester.makefile(".toml", perfmon='[scenarios.browser]\nthink_time = "0s"\n')
    pytester.makepyfile(test_first=NO_STEP_SUITE)
    out = pytester.runpytest_subprocess("test_first.py", "--perf-store", f"sqlite:///{pytester.path}/r.db",
                                        timeout=600)
    assert out.ret == 0, said(out)[-3000:]
    out.assert_outcomes(passed=1)
    out.stdout.fnmatch_lines(["*PASS  browser_vital_lcp: p(75)<=2500*", "*NO DATA  browser_step_duration: p(95)<2000  "
                              "no data: this run recorded no browser_step_duration*"])
