"""Regression detection end to end on the real app: a few tiny baseline runs, then one run where one
endpoint got slower (DEMO_ENDPOINT_LATENCY_MS) and one where nothing changed. The power and
false-alarm study stays in bench/."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema

from tests._support.apps import DemoApp
from tests._support.sessions import perfmon_cmd, pytest_cmd, run, runs_in

JOURNEY = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/login")
    await client.get("/healthz")


def test_quick(perf_api):
    perf_api.run(hit, scenario="quick")
"""


def test_a_slower_endpoint_fails_the_run_and_nothing_else_is_blamed(tmp_path: Path, clean_demo: DemoApp) -> None:
    # An open model (a fixed arrival rate): a slower endpoint must not also lower the throughput. Runs of
    # 3 s on a shared machine move by more than the gate's default 3 % minimum effect: an unchanged
    # run's /login at +5-6 % against four tight baseline runs was flagged, in both tries (a fresh clone,
    # 2026-11-28; this test failed 2 of 14 times that night). The default's false alarms are bench/'s to
    # measure (24-s runs); here the slower endpoint is +870 %.
    (tmp_path / "perfmon.toml").write_text('[scenarios.quick]\nexecutor = "constant-arrival-rate"\nrate = 40\n'
                                           'vus = 10\nmax_vus = 40\nduration = "3s"\n'
                                           '[regression_gate.min_effect]\n'
                                           'http_req_duration = { change = 0.15, floor = 3.0 }\n')
    (tmp_path / "test_quick.py").write_text(JOURNEY)
    db = tmp_path / "r.db"
    session = pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}", "--perf-report-dir", "rep")
    clean_demo.set_faults(DEMO_LATENCY_MS="20")
    first = run(session, tmp_path, BASE_URL=clean_demo.url)
    assert first.returncode == 0 and "not enough history: 0 comparable run(s)" in first.stdout, first.stdout
    for _ in range(3):
        assert run(session, tmp_path, BASE_URL=clean_demo.url).returncode == 0
    clean_demo.set_faults(DEMO_ENDPOINT_LATENCY_MS="/login=200")  # ten times slower, /login only: beyond CI noise
    slower = run(session, tmp_path, BASE_URL=clean_demo.url)
    assert slower.returncode == 1, slower.stdout + slower.stderr
    blamed = [line for line in slower.stdout.splitlines() if "REGRESSION" in line]
    assert blamed and all("{name:/login}" in line for line in blamed), blamed
    assert "compared with 4 comparable run(s)" in slower.stdout
    assert sorted(status for _, _, status in runs_in(db)).count("failed") == 1
    [bad_id] = [run_id for run_id, _, status in runs_in(db) if status == "failed"]
    rows = sqlite3.connect(db).execute(
        "select metric, kind, tags, confidence, first_bad_run, change_ratio from performance_regressions").fetchall()
    assert rows and all(kind == "gate" and json.loads(tags) == {"name": "/login"} and first == bad_id
                        and confidence > 0.9 and change > 0.1 for _, kind, tags, confidence, first, change in rows)
    reports = tmp_path / "rep" / bad_id
    summary = json.loads((reports / "summary.json").read_text())
    schema = json.loads(resources.files("perfmon.report").joinpath("summary.schema.json").read_text())
    jsonschema.validate(summary, schema)
    assert [f["key"] for f in summary["regressions"]["findings"] if f["kind"] == "regression"] == [r[0] for r in rows]
    junit = ET.parse(reports / "junit.xml").getroot()
    assert [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None
            and c.find("failure").get("type") == "regression"] == [r[0] for r in rows]
    assert "Regression check against history" in (reports / "index.html").read_text()
    said = run(perfmon_cmd("--store", f"sqlite:///{db}", "regressions", bad_id[:8], "--json"), tmp_path)
    assert said.returncode == 1 and json.loads(said.stdout)["regressed"] is True
    clean_demo.set_faults(DEMO_ENDPOINT_LATENCY_MS="")
    # An unchanged run passes. Its baseline is four quiet 3-s runs, so a hiccup of a shared CI machine
    # during it reads as a regression (seen once in CI: every endpoint slower, /healthz twice as slow),
    # as it would for any gate; the false-alarm rate is bench/'s to measure. So a flagged unchanged run
    # gets one more try, which must pass: a gate that alarms on unchanged runs still fails here.
    tries = [run(session, tmp_path, BASE_URL=clean_demo.url)]
    if tries[0].returncode == 1:
        tries.append(run(session, tmp_path, BASE_URL=clean_demo.url))
    same = tries[-1]
    assert same.returncode == 0 and "REGRESSION" not in same.stdout, [t.stdout for t in tries]
    clean_demo.set_faults(DEMO_ENDPOINT_LATENCY_MS="/login=200")
    warned = run([*session, "--perf-regressions", "warn"], tmp_path, BASE_URL=clean_demo.url)
    assert warned.returncode == 0 and "REGRESSION" in warned.stdout, warned.stdout
    shown = run(perfmon_cmd("--store", f"sqlite:///{db}", "history"), tmp_path)
    assert shown.stdout.count("FAILED") == len(tries)  # the slower run, and a flagged unchanged one
    newest = run(perfmon_cmd("--store", f"sqlite:///{db}", "regressions"), tmp_path)  # the warned run
    assert newest.returncode == 1 and "REGRESSION" in newest.stdout
    first = run(perfmon_cmd("--store", f"sqlite:///{db}", "regressions", runs_in(db)[0][0][:8]), tmp_path)
    assert first.returncode == 3 and "not enough history" in first.stdout  # no verdict: its own exit code
