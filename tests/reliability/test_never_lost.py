"""A measured run is never lost: it is spooled before anything that can fail, removed only once the
store confirmed it, and everything after measuring that breaks is one line, not a lost run."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from tests._support.sessions import perfmon_cmd, project, pytest_cmd, run, runs_in


def spooled(proj: Path) -> list[Path]:
    return sorted((proj / ".perfmon" / "spool").glob("*.json"))


def test_a_store_url_with_a_bad_port_is_refused_before_anything_is_measured(tmp_path: Path) -> None:
    """A typo in the URL is the user's to fix (exit 2 at the start), not a store that is down (that one
    spools, below): nothing is measured for a run that could never be stored."""
    proj = project(tmp_path)
    out = run(pytest_cmd("test_quick.py", "--perf-store", "postgresql://u:pw@127.0.0.1:abc/db"), proj)
    assert out.returncode == 2 and "Traceback" not in out.stdout + out.stderr
    assert "store URL 'postgresql://u:***@127.0.0.1:abc/db': the port is not a number" in out.stdout + out.stderr
    assert "pw@" not in out.stdout + out.stderr and "passed" not in out.stdout
    assert spooled(proj) == []


def test_a_stored_run_leaves_no_spool_file(tmp_path: Path) -> None:
    proj = project(tmp_path)
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj)
    assert out.returncode == 0, out.stdout + out.stderr
    assert spooled(proj) == [] and len(runs_in(db)) == 1


def test_store_down_while_perfmon_dir_is_a_file_keeps_the_run_in_the_fallback_spool(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj / ".perfmon").write_text("not a folder")
    fallback = (Path(tempfile.gettempdir()) / f"perfmon-spool-{os.getuid()}" /
                hashlib.sha1(str(proj.resolve()).encode()).hexdigest()[:12])
    try:
        out = run(pytest_cmd("test_quick.py"), proj)  # the default store lives under .perfmon too
        assert out.returncode == 4 and "Traceback" not in out.stdout + out.stderr
        assert f"the run was kept in {fallback}/" in out.stdout
        [kept] = list(fallback.glob("*.json"))
        db = tmp_path / "good.db"
        flushed = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush", "--all"), proj)
        assert flushed.returncode == 0 and kept.stem in flushed.stdout
        assert [r[0] for r in runs_in(db)] == [kept.stem]
        assert list(fallback.glob("*.json")) == []
    finally:
        shutil.rmtree(fallback, ignore_errors=True)


CUSTOM_METRIC_TEST = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")
    user.metrics.trend("cart_ms", user.tags).record(5.0)


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def test_a_custom_threshold_that_cannot_fit_its_metric_fails_but_the_run_is_kept(tmp_path: Path) -> None:
    proj = project(tmp_path, extra_toml='cart_ms = ["rate<1"]\n')
    (proj / "test_quick.py").write_text(CUSTOM_METRIC_TEST)
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "cannot be evaluated: a Trend has no aggregation 'rate'" in out.stdout
    [(run_id, _, status)] = runs_in(db)
    assert status == "failed"
    shown = run(perfmon_cmd("--store", f"sqlite:///{db}", "show", run_id[:8]), proj)
    assert "cannot be evaluated: a Trend has no aggregation 'rate'" in shown.stdout


COMMA_TEST = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")
    await client.get("/api/items/1,2,3{x}")


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def test_a_tag_value_with_commas_and_braces_never_breaks_the_report(tmp_path: Path) -> None:
    proj = project(tmp_path)
    (proj / "test_quick.py").write_text(COMMA_TEST)
    (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 1\nduration = "1s"\nthink_time = "0.1s"\n')
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-report-dir", "rep"), proj)
    assert "report:" in out.stdout and "ERROR" not in out.stdout, out.stdout + out.stderr
    [(run_id, _, _)] = runs_in(db)
    again = run(perfmon_cmd("--store", f"sqlite:///{db}", "report", run_id[:8], "--out", "rep2"), proj)
    assert again.returncode == 0, again.stderr
    html = next((proj / "rep2").glob("*/index.html")).read_text()
    assert "/api/items/1,2,3{x}" in html


HUNG_TEST = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/never", timeout=600)


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def test_requests_in_flight_at_the_graceful_stop_are_recorded_as_interrupted(tmp_path: Path) -> None:
    import socket

    hung = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    try:
        proj = project(tmp_path)
        (proj / "test_quick.py").write_text(HUNG_TEST)
        (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 3\nduration = "1s"\ngraceful_stop = "1s"\n')
        db = tmp_path / "r.db"
        out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj,
                  BASE_URL=f"http://127.0.0.1:{hung.getsockname()[1]}")
    finally:
        hung.close()
    assert "3 user(s) still busy after the 1s graceful stop were cancelled" in out.stdout, out.stdout + out.stderr
    [(run_id, _, _)] = runs_in(db)
    con = sqlite3.connect(db)
    tags = [json.loads(t) for (t,) in con.execute(
        "select tags from performance_metric_series where run_id = ? and name in ('http_reqs', 'http_req_errors')",
        (run_id,))]
    assert {t.get("status") for t in tags} == {"0", None}  # every request recorded failed, none answered
    assert any(t.get("error") == "interrupted" for t in tags)


def test_the_bundled_app_leaves_nothing_in_the_temp_directory(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    (tmp_path / "proj").mkdir()
    proj = project(tmp_path / "proj")
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj, TMPDIR=str(scratch))
    assert out.returncode == 0, out.stdout + out.stderr
    left = sorted(p.name for p in scratch.iterdir() if p.name.startswith(("wedsync-demo-", "perfmon-")))
    assert left == []


BACKGROUND_ONLY = """
import time

from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")


def test_plain():
    time.sleep(2)
"""


def test_a_hybrid_run_of_background_load_only_is_stored_as_load(tmp_path: Path) -> None:
    (tmp_path / "perfmon.toml").write_text('[scenarios.tiny]\nvus = 1\nduration = "10s"\nthink_time = "0.1s"\n')
    (tmp_path / "test_plain.py").write_text(BACKGROUND_ONLY)
    db = tmp_path / "r.db"
    out = run(pytest_cmd("test_plain.py", "--perf-store", f"sqlite:///{db}", "--perf-load", "tiny",
                         "--perf-load-script", "test_plain.py:hit", "--perf-load-on-start", "none"), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    [(_, test_type, status)] = runs_in(db)
    assert (test_type, status) == ("load", "passed")
    assert spooled(tmp_path) == []


def test_a_bug_while_concluding_keeps_the_raw_measurements(tmp_path: Path) -> None:
    """Fault injection: the scratch project's conftest breaks the pipeline, as a perfmon bug would."""
    proj = project(tmp_path)
    (proj / "conftest.py").write_text(
        "import perfmon.pipeline\n\n\ndef broken(*args, **kwargs):\n    raise RuntimeError('planted bug')\n\n\n"
        "perfmon.pipeline.conclude = broken\n")
    out = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{tmp_path / 'r.db'}"), proj)
    # The test itself failed too (perf_api concludes its scenario): 1 wins over 4, the measurements are kept.
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert "(RuntimeError: planted bug); its measurements are kept in" in out.stdout
    [kept] = (proj / ".perfmon" / "unconcluded").iterdir()
    lines = [line for f in kept.glob("*.jsonl") for line in f.read_text().splitlines()]
    assert len(lines) == 1 and '"kind": "load"' in lines[0]
