"""perfmon in a project of its own (no conftest, no pyproject from this repository): the README's
journey as written, one item per virtual user and iteration, and a broken suite refused with exit 2
and nothing stored. Real pytest processes, the real bundled app, real Chromium."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests._support.sessions import said

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
