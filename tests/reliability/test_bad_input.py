"""Bad input of every kind is one line (with ``file:line`` for the config), a non-zero exit and no
traceback; nothing is accepted silently. Each case failed on main before issue #11."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.sessions import env, perfmon_cmd, project, pytest_cmd, run, runs_in

QUICK = '[scenarios.quick]\nvus = 1\nduration = "1s"\n'


def one_line_error(out: object) -> str:
    """The error text, after checking there is exactly one line of it and no traceback."""
    stderr: str = out.stderr  # type: ignore[attr-defined]
    stdout: str = out.stdout  # type: ignore[attr-defined]
    assert "Traceback" not in stderr + stdout, stderr + stdout
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    ("toml", "where", "message"),
    [
        ('[scenarios.quick]\nvus = 1\nthresholds = ["p(95)<2000"]\n', ":3:",
         "scenarios.quick.thresholds = ['p(95)<2000']: expected a table"),
        ('[scenarios.quick]\nexecutor = "ramping-vus"\nstages = "2m"\n', ":3:",
         "scenarios.quick.stages = '2m': expected a list of tables"),
        ('[scenarios.quick]\nexecutor = "ramping-vus"\nstages = [{ duration = "1m", target = "ten" }]\n', ":3:",
         "scenarios.quick.target = 'ten': expected a whole number of at least 0"),
        ('[monitor]\nmax_avg_response_time_ms = "fast"\n', ":2:",
         "monitor.max_avg_response_time_ms = 'fast': expected a finite number"),
        ('scenarios = "load"\n', ":1:", "scenarios = 'load': expected a table"),
        ("[profiles]\nsmoke = 5\n", ":2:", "profiles.smoke = 5: expected a table"),
        ("store = 5\n", ":1:", "store = 5: expected a string"),
        ('[profiles.smoke]\nusers_factor = "nan"\n', ":2:", "profiles.smoke.users_factor = 'nan': expected a finite"),
        ("[profiles.smoke]\nusers_factor = nan\n", ":2:", "profiles.smoke.users_factor = nan: expected a finite"),
        ("[scenarios.quick]\nvus = -5\n", ":2:", "scenarios.quick.vus = -5: expected a whole number of at least 1"),
        ('[scenarios.quick]\nexecutor = "ramping-vus"\nstages = [{ duration = "1m", target = -50 }]\n', ":3:",
         "scenarios.quick.target = -50: expected a whole number of at least 0"),
        ('[scenarios.quick]\nexecutor = "constant-arrival-rate"\nrate = -10\nduration = "1s"\n', ":3:",
         "scenarios.quick.rate = -10: expected a finite number of at least 0"),
        ('[scenarios.quick]\nvus = 1\n[scenarios.quick.thresholds]\nhttp_req_duration = ["rate<0.01"]\n', ":4:",
         "http_req_duration is a trend, which has no rate; use avg, min, max, med, count or p(N)"),
        ('[scenarios.quick]\nvus = 1\ngraceful_stop = "soon"\n', ":3:", "'soon' is not a duration"),
        ("colour = 'blue'\n", ":1:", "unknown key 'colour' at the top level"),
        ('[scenarios.quick]\nvus = 1\n[scenarios.quick.thresholds]\nhttp_req_duration = [{ threshold = "p(95)<2000", '
         'abortOnFail = true, delayAbortEval = "soon" }]\n', ":4:", "delayAbortEval of http_req_duration: 'soon'"),
        ('[scenarios.quick]\nvus = 1\n[scenarios.quick.thresholds]\nhttp_req_duration = [{ threshold = "p(95)<2000", '
         'abortOnFail = "false" }]\n', ":4:", "abortOnFail of http_req_duration = 'false': expected true or false"),
    ],
    ids=["thresholds-list", "stages-string", "target-text", "gate-text", "scenarios-string", "profile-number",
         "store-number", "factor-nan-text", "factor-nan", "vus-negative", "target-negative", "rate-negative",
         "rate-on-trend", "graceful-stop", "unknown-key", "delay-abort-eval", "abort-on-fail-text"],
)
def test_config_errors_name_the_file_line_key_and_expectation(tmp_path: Path, toml: str, where: str,
                                                              message: str) -> None:
    (tmp_path / "perfmon.toml").write_text(toml)
    out = run(perfmon_cmd("--config", str(tmp_path / "perfmon.toml"), "history"), tmp_path)
    assert out.returncode == 2
    line = one_line_error(out)
    assert f"perfmon.toml{where}" in line and message in line, line


def test_a_thresholds_list_under_pytest_is_one_line_not_an_internal_error(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 1\nthresholds = ["p(95)<2000"]\n')
    out = run(pytest_cmd("test_quick.py"), proj)
    assert out.returncode == 2 and "INTERNALERROR" not in out.stdout + out.stderr
    assert "perfmon.toml:3: scenarios.quick.thresholds" in one_line_error(out)


@pytest.mark.parametrize("name", ["perfmon.toml", "pyproject.toml"])
def test_a_utf16_config_is_one_line_even_when_found_by_discovery(tmp_path: Path, name: str) -> None:
    text = ("[tool.perfmon]\n" if name == "pyproject.toml" else "") + QUICK
    (tmp_path / name).write_bytes(text.encode("utf-16"))
    below = tmp_path / "deep" / "er"
    below.mkdir(parents=True)
    out = run(perfmon_cmd("history"), below)  # no --config: found by walking up the tree
    assert out.returncode == 2
    assert f"{tmp_path / name}: not UTF-8 text" in one_line_error(out)


@pytest.mark.parametrize(("url", "said"), [
    ("http://127.0.0.1:abc", "base URL 'http://127.0.0.1:abc' is not a valid URL"),
    ("http://[::1", "base URL 'http://[::1' is not a valid URL"),
    (" http://127.0.0.1:9", "base URL ' http://127.0.0.1:9' has spaces around it"),
    ("http://127.0.0.1:9/?x=1", "base URL 'http://127.0.0.1:9/?x=1' has a query or fragment"),
    ("http://127.0.0.1:9/app#top", "base URL 'http://127.0.0.1:9/app#top' has a query or fragment"),
    ("ftp://127.0.0.1:9", "base URL 'ftp://127.0.0.1:9' is not an http(s) address"),
], ids=["port", "ipv6-open", "space", "query", "fragment", "scheme"])
def test_a_base_url_no_request_could_use_is_one_line(tmp_path: Path, url: str, said: str) -> None:
    """Before #36 a query or fragment sent every request to '/' and the run passed; a space or an
    open IPv6 bracket ended as 'unreachable' or an INTERNALERROR, exit 3."""
    out = run(pytest_cmd("test_quick.py"), project(tmp_path), BASE_URL=url)
    assert out.returncode == 2
    assert said in one_line_error(out)


def test_a_malformed_alert_webhook_does_not_break_a_failing_run(tmp_path: Path) -> None:
    proj = project(tmp_path, limit="0.001")
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj,
              PERFMON_ALERT_WEBHOOK="http://127.0.0.1:abc/h")
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "alert to PERFMON_ALERT_WEBHOOK failed (the run is stored all the same)" in out.stdout
    assert [status for _, _, status in runs_in(db)] == ["failed"]


def test_a_report_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    proj = project(tmp_path)
    db = tmp_path / "r.db"
    assert run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj).returncode == 0
    [(run_id, _, _)] = runs_in(db)
    out = run(perfmon_cmd("--store", f"sqlite:///{db}", "report", run_id[:8], "--out", "/proc/x"), proj)
    assert out.returncode == 2
    assert "cannot write the reports under /proc/x" in one_line_error(out)


@pytest.mark.parametrize("workers", [["-n", "2"], []], ids=["xdist", "alone"])
def test_a_chromium_that_is_not_chromium_is_named(tmp_path: Path, workers: list[str]) -> None:
    (tmp_path / "test_page.py").write_text("def test_page(perf):\n    perf.page.goto('/login')\n")
    out = run(pytest_cmd("test_page.py", *workers), tmp_path, PERFMON_CHROMIUM="/bin/true")
    assert out.returncode == 2
    said = "ERROR: Chromium at /bin/true failed to start: true (GNU coreutils)"
    assert said in out.stdout + out.stderr, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_a_chromium_that_crashes_under_perfmon_run_is_named_once(tmp_path: Path) -> None:
    """Under `perfmon run` (xdist, PERFMON_EXIT_FILE) the workers' error was replaced by "no test was
    selected": the workers collected nothing because their Chromium could not start."""
    chrome = tmp_path / "chrome"
    chrome.write_text("#!/bin/sh\necho 'chromium: segfault' >&2\nexit 139\n")
    chrome.chmod(0o755)
    (tmp_path / "perfmon.toml").write_text('environment = "ci"\n')
    (tmp_path / "tests" / "browser_perf").mkdir(parents=True)
    (tmp_path / "tests" / "browser_perf" / "test_page.py").write_text(
        "def test_page(perf):\n    perf.page.goto('/login')\n")
    out = run(perfmon_cmd("run", "--no-store", "--type", "browser"), tmp_path, PERFMON_CHROMIUM=str(chrome))
    assert out.returncode == 2, out.stdout + out.stderr
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("ERROR")]
    assert errors == [f"ERROR: Chromium at {chrome} failed to start: chromium: segfault; point PERFMON_CHROMIUM at a "
                      "Chromium binary"], out.stdout + out.stderr


def test_run_ids_are_not_like_patterns_and_read_commands_create_nothing(tmp_path: Path) -> None:
    proj = project(tmp_path)
    db = tmp_path / "r.db"
    assert run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj).returncode == 0
    out = run(perfmon_cmd("--store", f"sqlite:///{db}", "show", "%"), proj)
    assert out.returncode == 2 and "'%' is not a run id" in one_line_error(out)
    missing = tmp_path / "typo" / "resluts.db"
    out = run(perfmon_cmd("--store", f"sqlite:///{missing}", "history"), proj)
    assert out.returncode == 2 and f"no result store at {missing}" in one_line_error(out)
    assert not missing.parent.exists()


def test_type_load_selects_by_marker_not_by_name(tmp_path: Path) -> None:
    from tests._support.sessions import ROOT

    out = run([sys.executable, "-m", "perfmon", "run", "--type", "load", "--", "--collect-only", "-q"], ROOT)
    collected = [line for line in out.stdout.splitlines() if "::" in line]
    assert collected == ["tests/api_perf/test_api_load.py::test_load_100_users"], out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--suite", "no/such/suite"], "--suite no/such/suite: no such file or folder"),
        (["run", "--suite", ".", "--type", "load"], "--suite is the run's browser part, and --type load runs none"),
    ],
    ids=["missing-suite", "suite-without-browser-part"],
)
def test_perfmon_run_suite_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = run(perfmon_cmd(*args), project(tmp_path))
    assert out.returncode == 2 and message in one_line_error(out)


def test_perf_without_pytest_playwright_is_one_line(tmp_path: Path) -> None:
    out = run(pytest_cmd("test_quick.py", "--perf", "-p", "no:playwright"), project(tmp_path))
    assert out.returncode == 2
    assert "--perf (instrument_playwright) measures a pytest-playwright suite, and pytest-playwright is not loaded" \
        in one_line_error(out)


def test_perf_beside_a_playwright_page_without_perf_is_named(tmp_path: Path) -> None:
    (tmp_path / "test_page.py").write_text("def test_page(page, perf):\n    page.goto('/login')\n")
    out = run(pytest_cmd("test_page.py"), tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "test_page.py::test_page[chromium] uses `perf` beside pytest-playwright's `page`: run it with --perf" \
        in one_line_error(out)


def test_perf_on_a_context_the_suite_made_itself_is_named(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef context(browser):\n"
                                          "    made = browser.new_context()\n    yield made\n    made.close()\n")
    (tmp_path / "test_page.py").write_text("def test_page(context, perf):\n    pass\n")
    out = run(pytest_cmd("test_page.py", "--perf", "--perf-no-store"), tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "its `context` was not made by pytest-playwright's new_context" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


@pytest.mark.parametrize(("extra", "said"), [
    (["--perf-shard", "1/3", "--perf-run-id", "r1"], "scenario 'quick' has 2 user(s), fewer than the 3 shards"),
    ([], "unknown scenario 'quik'"),
], ids=["more-shards-than-users", "unknown-scenario"])
def test_a_config_error_met_by_perf_api_is_a_usage_error_and_stores_nothing(tmp_path: Path, extra: list[str],
                                                                           said: str) -> None:
    """#36: more shards than a scenario's users was an INTERNALERROR in the header (exit 3), then a
    43-line test failure (exit 1) that stored an empty part the other shards waited for."""
    proj = project(tmp_path)
    if not extra:
        (proj / "test_quick.py").write_text((proj / "test_quick.py").read_text().replace('"quick"', '"quik"'))
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", *extra), proj)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "INTERNALERROR" not in out.stdout + out.stderr and "Traceback" not in out.stdout + out.stderr
    assert f"ERROR: {said}" in out.stdout, out.stdout
    if db.exists():
        import sqlite3

        con = sqlite3.connect(db)
        assert con.execute("select count(*) from performance_test_runs").fetchone() == (0,)
        assert con.execute("select count(*) from performance_run_shards").fetchone() == (0,)


def test_perfmon_run_selecting_no_test_is_a_usage_error() -> None:
    """#36: `perfmon run -- -k typo` ended with pytest's 5, which is not in perfmon's exit table."""
    from tests._support.sessions import ROOT

    out = run(perfmon_cmd("run", "--type", "load", "--no-store", "--", "-k", "no_such_test"), ROOT)
    assert out.returncode == 2, out.stdout + out.stderr
    assert [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("ERROR")] == [
        "ERROR: no test was selected, so nothing was measured; check -k, -m and the test paths (perfmon run --type T "
        "runs the tests marked perf_T under the API suite)"]


BLOCKING_JOURNEY = """
import time

from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")
    time.sleep(1.5)  # the mistake: a blocking sleep in an async journey holds the whole event loop


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def test_a_journey_that_blocks_the_event_loop_is_not_judged(tmp_path: Path) -> None:
    """#36: `time.sleep` in an async journey turned 2-ms requests into seconds and the run PASSED with no
    warning. The generator's loop missing its pulse counts as a saturated client: unmeasured, named."""
    proj = project(tmp_path, extra_toml="")
    (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 2\nduration = "5s"\ngraceful_stop = "2s"\n')
    (proj / "test_quick.py").write_text(BLOCKING_JOURNEY)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store"), proj)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "the load generator's event loop was blocked" in out.stdout and "time.sleep" in out.stdout, out.stdout


LONG_BLOCKING_JOURNEY = BLOCKING_JOURNEY.replace("time.sleep(1.5)", "time.sleep(120)")


def test_a_journey_blocking_the_loop_past_the_graceful_stop_is_cut(tmp_path: Path) -> None:
    """#36: a blocked loop cannot cancel its users, so `time.sleep(12)` in a 3-s scenario ran 25 s. Past
    its duration plus graceful stop the journey is cut (counted as interrupted) and the run ends; before,
    two users sleeping 120 s each held this run for four minutes (the subprocess timeout fails it)."""
    proj = project(tmp_path, extra_toml="")
    (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 2\nduration = "2s"\ngraceful_stop = "1s"\n')
    (proj / "test_quick.py").write_text(LONG_BLOCKING_JOURNEY)
    out = subprocess.run(pytest_cmd("test_quick.py", "--perf-no-store", "--perf-report-dir", "reports"), cwd=proj,
                         env=env(), capture_output=True, text=True, timeout=90)
    assert out.returncode == 3, out.stdout + out.stderr
    summary = json.loads(next((proj / "reports").glob("*/summary.json")).read_text())
    assert summary["metrics"]["iterations_interrupted{scenario:quick}"]["values"]["count"] == 2, summary["metrics"]
    assert "still busy after the 1s graceful stop were cancelled" in out.stdout, out.stdout
