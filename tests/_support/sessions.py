"""Running perfmon as a user does, for the end-to-end and reliability suites: real pytest and
``perfmon`` processes in a scratch project, a clean environment, a real store file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["AS_WRITTEN", "ROOT", "SCENARIO_TOML", "TEST_FILE", "env", "perf_project", "perfmon_cmd", "project",
           "pytest_cmd", "run", "runs_in", "said"]

ROOT = Path(__file__).resolve().parents[2]  # the checkout

SCENARIO_TOML = """
[scenarios.quick]
executor = "constant-vus"
vus = 2
duration = "2s"
think_time = "0.02s"  # a pause, so two users never saturate the generator (that run is unmeasured: exit 3)
[scenarios.quick.thresholds]
http_req_duration = ["p(95)<{limit}"]
"""

TEST_FILE = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PERFMON_", "DEMO_")) and k != "BASE_URL"}
    e.update(extra)
    return e


def run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=600)


def project(tmp_path: Path, limit: str = "2000", extra_toml: str = "") -> Path:
    (tmp_path / "perfmon.toml").write_text(SCENARIO_TOML.replace("{limit}", limit) + extra_toml)
    (tmp_path / "test_quick.py").write_text(TEST_FILE)
    return tmp_path


# The scratch projects here were written to run their scenarios as written: the release profile (no
# squeezing, no scaling of users) with one journey iteration, not the default smoke profile (which
# tests/e2e/test_own_project.py and tests/unit/test_config.py test). A test's own --perf-profile wins.
AS_WRITTEN = ("--perf-profile", "release", "--perf-iterations", "1")


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", *AS_WRITTEN, *args]


def runs_in(db: Path) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(db)
    return con.execute("select id, test_type, status from performance_test_runs").fetchall()



def perfmon_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "perfmon", *args]


def perf_project(pytester: pytest.Pytester, limit: str = "2000", extra_toml: str = "") -> Path:
    """``project`` for pytester: the quick scenario and its test in pytester's scratch folder."""
    return project(pytester.path, limit, extra_toml)


def said(result: pytest.RunResult) -> str:
    """What a pytester run printed, both streams, for an assertion's message."""
    return result.stdout.str() + "\n" + result.stderr.str()
