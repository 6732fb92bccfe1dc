"""A new team's first run, outside this repository: build the wheel, install it into a fresh venv in a
project of its own, `perfmon init`, start `perfmon demo` as if it were the team's app, and
`perfmon run --profile smoke --base-url …` must pass with Web Vitals and API latency stored and the
report written. Nothing from this checkout is on the path but the wheel."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._support.sessions import ROOT, env

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600, cwd=out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [found] = out.glob("pytest_perfmon-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed as the README says (its bundled app needs no extra): its bin folder."""
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", f"{wheel}[postgres,supabase]"],
                          capture_output=True, text=True, timeout=1200, env=env(PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return bin_dir


@pytest.fixture
def users_app(installed: Path, tmp_path: Path) -> Iterator[str]:
    """`perfmon demo` from the installed package, standing in for the team's own app."""
    proc = subprocess.Popen([str(installed / "perfmon"), "demo", "--port", "0"], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        assert found is not None, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield found[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_new_project_installs_inits_and_passes_its_first_smoke_run(installed: Path, users_app: str,
                                                                     tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    path = f"{installed}{os.pathsep}{os.environ.get('PATH', '')}"
    said = subprocess.run([str(installed / "perfmon"), "init"], cwd=project, env=env(PATH=path),
                          capture_output=True, text=True, timeout=120)
    assert said.returncode == 0, said.stderr
    assert (project / "perfmon.toml").is_file() and (project / "tests/browser_perf/test_journeys.py").is_file()
    schema = subprocess.run([str(installed / "perfmon"), "migrations"], cwd=project, env=env(PATH=path),
                            capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stderr
    shipped = sorted((ROOT / "supabase" / "migrations").glob("*.sql"))  # the wheel carries this repository's
    assert [(p.name, p.read_text()) for p in sorted((project / "supabase" / "migrations").glob("*.sql"))] == [
        (p.name, p.read_text()) for p in shipped]
    out = subprocess.run([str(installed / "perfmon"), "run", "--profile", "smoke", "--base-url", users_app,
                          "--workers", "2"], cwd=project, env=env(PATH=path, PERF_PASSWORD="testpassword"),
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "verdict=PASSED" in out.stdout
    with sqlite3.connect(project / ".perfmon" / "results.db") as con:
        [(status,)] = con.execute("select status from performance_test_runs").fetchall()
        vitals = {row[0] for row in con.execute("select distinct metric from performance_web_vitals")}
        # A vital measured while two workers, a browser and the app saturated both cores is kept apart
        # (browser_vital_*_quarantined, not in the web vitals table): measured all the same.
        vitals |= {row[0].removeprefix("browser_vital_").removesuffix("_quarantined").upper() for row in con.execute(
            "select distinct name from performance_metric_series where name like 'browser_vital_%_quarantined'")}
        latency = con.execute("select count(*) from performance_metric_series where name = 'http_req_duration'"
                              ).fetchone()[0]
    assert status == "passed" and {"LCP", "TTFB"} <= vitals and latency > 0
    report = project / "perf-reports" / "latest" / "index.html"
    assert "Regression check against history" in report.read_text()  # the report, with its history section
