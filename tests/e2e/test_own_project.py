"""perfmon in a project of its own (no conftest, no pyproject from this repository): the README's
journey as written, one item per virtual user and iteration, and a broken suite refused with exit 2
and nothing stored. Real pytest processes, the real bundled app, real Chromium."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests._support.apps import DemoApp
from tests._support.sessions import SCENARIO_TOML, TEST_FILE, env, perfmon_cmd, pytest_cmd, run, said

JOURNEY = '''
def test_dashboard(perf, perf_user, vu):
    perf.page.goto("/login")
    perf.page.fill("#email", perf_user[0])
    perf.page.fill("#password", perf_user[1])
    with perf.step("log in"):
        perf.page.click("#login-button")
        perf.page.wait_for_selector("#dashboard-title")
    assert vu >= 1
    assert perf.vitals()["TTFB"] is not None
'''


def _runs(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        return con.execute("select test_type, status from performance_test_runs").fetchall()


@pytest.mark.browser
def test_the_readme_journey_runs_once_per_virtual_user_without_any_conftest(pytester: pytest.Pytester,
                                                                            clean_env: None) -> None:
    pytester.makepyfile(test_journeys=JOURNEY)
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("-n", "2", "--perf-store", f"sqlite:///{db}", timeout=600)
    assert out.ret == 0, said(out)
    out.assert_outcomes(passed=2)  # two workers = two virtual users, one smoke iteration each
    assert "profile smoke" in said(out)  # the built-in default profile, with no config file at all
    assert _runs(db) == [("browser", "passed")]


def test_vus_and_iterations_make_the_items(pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makepyfile(test_journeys=JOURNEY)
    out = pytester.runpytest_subprocess("--collect-only", "-q", "--perf-vus", "3", "--perf-profile", "ci")
    ids = [line.split("[", 1)[1].rstrip("]") for line in out.stdout.lines if "::test_dashboard[" in line]
    assert ids == [f"vu{vu:03d}-it{it}" for it in (1, 2) for vu in (1, 2, 3)], said(out)


def test_a_journey_asking_for_an_unknown_fixture_is_a_usage_error_and_nothing_is_stored(
        pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makepyfile(test_journeys=JOURNEY.replace("perf_user, vu)", "perf_user, vuu)"))
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("--perf-store", f"sqlite:///{db}", timeout=600)
    assert out.ret == 2, said(out)
    assert "fixture 'vuu' not found; did you mean 'vu'?" in said(out)
    assert _runs(db) == []


def test_a_module_that_cannot_be_collected_is_a_usage_error_and_nothing_is_stored(
        pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makepyfile(test_journeys=JOURNEY, test_broken="def test_x(:\n    pass\n")
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("--perf-store", f"sqlite:///{db}", timeout=600)
    assert out.ret == 2, said(out)
    assert "test_broken.py cannot be collected" in said(out) and "nothing was stored" in said(out)
    assert _runs(db) == []


def test_perfmon_demo_says_where_it_is_and_how_to_log_in_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(perfmon_cmd("demo", "--port", "0"), cwd=tmp_path, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+) \(log in as (\S+) / (\S+);", line)
        assert url is not None, line
        login = httpx.post(f"{url[1]}/api/auth/login", json={"email": url[2], "password": url[3]}, timeout=10)
        assert login.status_code == 200  # the login it printed works
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        with pytest.raises(httpx.ConnectError):  # its child stopped with it
            httpx.get(f"{url[1]}/healthz", timeout=5)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(("args", "says"), [
    (["run", "--profil", "smoke"], "perfmon: error: unrecognized arguments: --profil; did you mean '--profile'?"),
    (["rn"], "invalid choice: 'rn'"),
    (["run", "--duration", "soon"], "--duration"),
    (["run", "--profile", "smok"], "unknown profile 'smok'; did you mean 'smoke'?"),
])
def test_a_misspelt_command_line_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    out = run(perfmon_cmd(*args), tmp_path)
    assert out.returncode == 2, out.stderr
    assert says in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / ".perfmon").exists()  # nothing written where it was refused


def test_run_overrides_users_duration_base_url_and_store(tmp_path: Path, demo: DemoApp, clean_env: None) -> None:
    (tmp_path / "perfmon.toml").write_text('[suites]\napi = "api"\n')
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "test_api.py").write_text(TEST_FILE.replace('scenario="quick"', 'scenario="load"')
                                                  .replace("def test_quick", "@pytest.mark.perf_load\ndef test_quick")
                                                  .replace("from perfmon", "import pytest\nfrom perfmon"))
    out = run(perfmon_cmd("run", "--type", "load", "--base-url", demo.url, "--users", "2", "--duration", "2s",
                          "--no-store", "--workers", "0"), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (f"perfmon: target {demo.url}; --users 2 --duration 2s override every scenario; nothing will be stored "
            "(--no-store)") in out.stderr
    # pytest's header: the profile, and every API scenario at the length the overrides gave it.
    assert ("perfmon: profile smoke: every scenario squeezed into 12 s, users x0.1, 1 journey iteration(s) per "
            "virtual user; API scenarios at this profile: endurance 2 s, load 2 s, spike 2 s, stress 2 s; config: "
            f"{tmp_path / 'perfmon.toml'}") in out.stdout
    assert "users 2 " in out.stdout  # the ramp's peak, from --users
    assert not (tmp_path / ".perfmon" / "results.db").exists()


def test_init_writes_a_starting_point_that_lints_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n.perfmon/\n")
    (tmp_path / "tests" / "api_perf").mkdir(parents=True)
    (tmp_path / "tests" / "api_perf" / "test_api.py").write_text("# the team's own\n")
    out = run(perfmon_cmd("init", "--base-url", "https://staging.shop.test"), tmp_path)
    assert out.returncode == 0, out.stderr
    assert "kept tests/api_perf/test_api.py (it exists; nothing overwritten)" in out.stdout
    assert (tmp_path / "tests" / "api_perf" / "test_api.py").read_text() == "# the team's own\n"
    assert (tmp_path / ".gitignore").read_text().splitlines() == [
        "node_modules/", ".perfmon/", "", "# perfmon: its results store, reports and failed journeys' evidence",
        "perf-reports/", "test-results/"]
    config = (tmp_path / "perfmon.toml").read_text()
    assert 'base_url = "https://staging.shop.test"' in config and 'password_env = "PERF_PASSWORD"' in config
    flow = tmp_path / ".github" / "workflows" / "performance.yml"
    linted = run(["actionlint", str(flow)], tmp_path)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    again = run(perfmon_cmd("init"), tmp_path)
    assert again.returncode == 0 and "wrote" not in again.stdout  # a second run changes nothing
    assert (tmp_path / "perfmon.toml").read_text() == config


def test_a_run_without_the_password_variable_stops_before_measuring(tmp_path: Path, clean_env: None) -> None:
    assert run(perfmon_cmd("init"), tmp_path).returncode == 0
    out = run(perfmon_cmd("run", "--type", "load"), tmp_path)
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr
    assert "accounts.password_env names PERF_PASSWORD, which is not set; export it" in out.stdout + out.stderr
    assert not (tmp_path / ".perfmon" / "results.db").exists()
    history = run(perfmon_cmd("history"), tmp_path)  # a read command needs no password: it says the store is empty
    assert "PERF_PASSWORD" not in history.stderr and "run `perfmon run` to create it" in history.stderr


def test_pytest_from_another_folder_reads_the_projects_config_and_writes_nothing_there(tmp_path: Path,
                                                                                          clean_env: None) -> None:
    project, elsewhere = tmp_path / "shop", tmp_path / "elsewhere"
    (project / "tests" / "api_perf").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "perfmon.toml").write_text('[profiles.fast]\nmax_duration = "1s"\n' + SCENARIO_TOML.replace(
        "{limit}", "2000"))
    (project / "tests" / "api_perf" / "test_quick.py").write_text(TEST_FILE)
    out = run(pytest_cmd(str(project / "tests" / "api_perf"), "--perf-profile", "fast",
                         "--perf-store", f"sqlite:///{tmp_path / 'r.db'}"), elsewhere)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert f"config: {project / 'perfmon.toml'}" in out.stdout  # found from the test path, not the cwd
    assert list(elsewhere.iterdir()) == []  # nothing written in the stray folder


def test_perfmon_run_outside_a_project_says_so(tmp_path: Path, clean_env: None) -> None:
    out = run(perfmon_cmd("run"), tmp_path)
    assert out.returncode == 2, out.stderr
    assert f"no perfmon config (perfmon.toml, or pyproject.toml with [tool.perfmon]) in {tmp_path}" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_store_url_is_refused_before_measuring(pytester: pytest.Pytester, clean_env: None) -> None:
    pytester.makepyfile(test_quick=TEST_FILE)
    (pytester.path / "perfmon.toml").write_text(SCENARIO_TOML.replace("{limit}", "2000"))
    out = pytester.runpytest_subprocess("--perf-store", "mysql://perf@db/x", timeout=300)
    assert out.ret == 2, said(out)
    assert "unsupported store URL 'mysql://perf@db/x'" in said(out)
    assert "passed" not in out.stdout.str()  # no test ran: nothing was measured, nothing spooled
    assert not (pytester.path / ".perfmon").exists()


def test_a_journey_that_parametrizes_vu_itself_keeps_exactly_its_own_users(pytester: pytest.Pytester,
                                                                          clean_env: None) -> None:
    pytester.makepyfile(test_own='''
import pytest

@pytest.mark.parametrize("vu", range(1, 4))
def test_journey(perf, vu):
    pass
''')
    out = pytester.runpytest_subprocess("--collect-only", "-q", "--perf-vus", "5")
    ids = [line.split("[", 1)[1].rstrip("]") for line in out.stdout.lines if "::test_journey[" in line]
    assert ids == ["1", "2", "3"], said(out)
