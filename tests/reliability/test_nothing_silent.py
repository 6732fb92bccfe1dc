"""Nothing fails silently (#37): a journey that raises fails its run, and every output says which
exception, where and how often (the terminal's Errors block, summary.json, summary.md, junit.xml and
the HTML report); k6-style checks are printed with their pass rate."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema

from tests._support.sessions import project, pytest_cmd, run

RAISING = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    r = await client.get("/healthz")
    user.check(r, {"status is 200": lambda r: r.status_code == 200, "says hello": lambda r: "hello" in r.text})
    return r.json()["no_such_key"]


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""

ON_START_FAILS = """
from perfmon.load import Client, VirtualUser


async def log_in(client: Client, user: VirtualUser) -> None:
    r = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "wrong"})
    r.raise_for_status()


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick", on_start=log_in)
"""


def reports(proj: Path) -> Path:
    return next((proj / "rep").iterdir())


def test_a_journey_that_always_raises_fails_the_run_and_every_output_names_the_error(tmp_path: Path) -> None:
    """Before: `verdict=PASSED … errors 0%`, exit 0, junit tests="0"; summary.json alone knew."""
    proj = project(tmp_path)
    (proj / "test_quick.py").write_text(RAISING)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store", "--perf-report-dir", "rep"), proj)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    errors_at = next(i for i, line in enumerate(lines) if line.startswith("  Errors: "))
    [error] = [line for line in lines if line.startswith("    ERROR  ")]
    assert "KeyError: 'no_such_key'" in error and "at test_quick.py:8" in error and "(quick, first at" in error
    assert errors_at < min(i for i, line in enumerate(lines) if line.startswith("  FAIL  ")), out.stdout
    assert any(line.startswith("  FAIL  iteration_failed{scenario:quick}: rate<0.01") for line in lines), out.stdout
    assert "  ✓ status is 200  100%" in out.stdout and "  ✗ says hello  0% — ✓ 0 / ✗ " in out.stdout, out.stdout

    folder = reports(proj)
    summary = json.loads((folder / "summary.json").read_text())
    jsonschema.validate(summary, json.loads(resources.files("perfmon.report").joinpath("summary.schema.json")
                                            .read_text()))
    [found] = summary["errors"]
    iterations = summary["metrics"]["iterations{scenario:quick}"]["values"]["count"]
    assert (found["kind"], found["where"], found["source"]) == ("KeyError", "test_quick.py:8", "quick")
    assert found["count"] == iterations > 0
    junit = ET.parse(folder / "junit.xml").getroot()
    failing = [c for c in junit.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failing if c.find("failure").get("type") == "KeyError"] == [
        ("perfmon.errors.quick", "test_quick.py:8")]
    assert "- 💥 **error** `KeyError: 'no_such_key'` at `test_quick.py:8`" in (folder / "summary.md").read_text()
    html = (folder / "index.html").read_text()
    assert 'id="errors"' in html and "no_such_key" in html


def test_on_start_failing_for_every_user_is_one_error_and_fails_the_run(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj / "test_quick.py").write_text(ON_START_FAILS)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store"), proj)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    [error] = [line for line in out.stdout.splitlines() if line.startswith("    ERROR  ")]
    assert "HTTPStatusError: HTTP 401 for http://" in error and "at test_quick.py:7" in error, error


def test_a_threshold_written_on_iteration_failed_replaces_the_default(tmp_path: Path) -> None:
    """The default is k6's habit, not a law: a suite that expects some failed iterations says how many."""
    proj = project(tmp_path, extra_toml='iteration_failed = ["rate<=1"]\n')
    (proj / "test_quick.py").write_text(RAISING)
    out = run(pytest_cmd("test_quick.py", "--perf-no-store"), proj)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "  PASS  iteration_failed{scenario:quick}: rate<=1" in out.stdout and "rate<0.01" not in out.stdout
    assert "KeyError: 'no_such_key'" in out.stdout  # still shown: passing is the user's call, silence is not
