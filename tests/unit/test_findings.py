"""Typed findings: what every output reads. Each survives the store's JSON as the same object, keeps the
v1 shape of ``derived``, and its severity (not its words) decides how its line is drawn."""

from __future__ import annotations

import json

import pytest

from perfmon import Run
from perfmon.core.comparison import ChangePoint, HistoryComparison, Pace, SeriesChange
from perfmon.core.findings import (
    DbBottleneck,
    GeneratorCost,
    JourneyCost,
    Leak,
    Leaks,
    MemoryGrowth,
    OtherFinding,
    RampBreak,
    Scalability,
    SpikeRecovery,
    UslFit,
    derived_dict,
    findings_from,
)
from perfmon.pipeline.summary import styled_summary

FIT = UslFit(sigma=0.05, kappa=0.001, lam=10.0, sigma_ci=(0.01, 0.09), kappa_ci=(0.0, 0.002), lam_ci=(9.0, 11.0),
             r2=0.98, points=12, peak_concurrency=31.0, peak_throughput=160.0)
EVERY = [
    SpikeRecovery("spike", 12.0),
    SpikeRecovery("spike2", None, "p95 never came back", absent_is_failure="spike_recovery_time"),
    MemoryGrowth("soak", {"target": 1.5, "runner": None}),
    RampBreak("stress", rate=198.0, users=21.0, at_s=11.0, broken_by=("latency p(95) 131 ms",),
                  sustainable_rate=150.0, sustainable_users=15.0, steps=({"rate": None, "held": True},)),
    RampBreak("held", why="held the SLO up to 40 users", sustainable_rate=80.0, sustainable_users=40.0,
                  steps=({"held": True},)),
    Scalability("ramp", FIT),
    Scalability("flat", why="fewer than 4 user levels"),
    Leaks({"target": Leak("target", True, "rises 400 MB/h", 400.0, 380.0, 460.0, 0.001, 12)}),
    JourneyCost(4.0, 2, {"browser": {"cpu_s": 2.5, "peak_mb": 500.0, "mb_per_journey": 250.0}}),
    GeneratorCost(0.5, 2000.0, 0.25),
    DbBottleneck("locks", "a backend waited", {"exec_share": 0.4, "lock_samples": 0.3}),
]


@pytest.mark.parametrize("finding", EVERY, ids=lambda f: f.key)
def test_each_finding_comes_back_from_the_store_json_as_the_same_object(finding: object) -> None:
    stored = json.loads(json.dumps(derived_dict([finding])))  # type: ignore[list-item]
    assert findings_from(stored) == [finding]


def test_a_run_keeps_its_findings_through_to_dict_and_a_store_row() -> None:
    run = Run(test_type="load", environment="ci", profile="smoke", base_url=None, findings=list(EVERY))
    back = Run.from_json(run.to_json())
    assert back.findings == run.findings and "derived" not in back.metadata
    row_metadata = run.context()  # what the stores write in their metadata column
    assert set(row_metadata["derived"]) == {f.key for f in EVERY}
    assert back.finding(RampBreak, "held") == EVERY[4] and back.finding(GeneratorCost) == EVERY[9]


def test_the_v1_shape_of_derived_is_kept() -> None:
    shapes = derived_dict(EVERY)
    assert shapes["spike_recovery:spike"] == {"recovery_s": 12.0}
    assert shapes["generator_cost"] == {"cpu_s": 0.5, "requests": 2000.0, "cpu_s_per_1000_requests": 0.25}
    assert shapes["db_bottleneck"] == {"bottleneck": "locks", "why": "a backend waited", "exec_share": 0.4,
                                       "lock_samples": 0.3}
    assert shapes["scalability:flat"] == {"why": "fewer than 4 user levels"}
    assert shapes["leaks"]["target"]["slope_mb_per_h"] == 400.0 and shapes["scalability:ramp"]["r2"] == 0.98


def test_a_finding_this_perfmon_does_not_know_is_kept_as_it_was() -> None:
    stored = {"queueing:api": {"wait_ms": 3}, "leaks": "not a table"}
    found = findings_from(stored)
    assert found == [OtherFinding("queueing:api", {"wait_ms": 3}), OtherFinding("leaks", "not a table")]
    assert derived_dict(found) == stored


def test_severity_not_words_decides_how_a_line_is_drawn() -> None:
    run = Run(test_type="load", environment="ci", profile="smoke", base_url=None, status="passed",
              findings=[Leaks({"target": Leak("target", True, "rises 400 MB/h"),
                               "runner": Leak("runner", False, "no rising trend")}),
                        DbBottleneck(None, "statements took a minority: no FAIL here")])
    styled = dict(styled_summary(run))
    assert styled["  LEAK  process_rss_mb{role:target}: rises 400 MB/h"] == "fail"
    assert styled["  database: no bottleneck: statements took a minority: no FAIL here"] == "plain"
    assert not any("runner" in text for text in styled)  # a role that does not leak says nothing


COMPARED = HistoryComparison(
    ("r3", "r2", "r1"),
    (SeriesChange("p95 http_req_duration{name:/login}", "http_req_duration", "p95", (("name", "/login"),), "ms",
                  22.7, 24.1, 0.0617, 0.0004, 0.002, 0.05, 3, "regression"),
     SeriesChange("rate http_reqs", "http_reqs", "rate", (), "/s", 50.0, 50.2, 0.004, 0.6, 0.9, 0.04, 3, "same")),
    "compared across machines: some baseline runs ran on another CPU count or platform", "abc123",
    (ChangePoint("p95 http_req_duration{name:/login}", "ms", True, "r2", "aaa", "bbb", 20.0, 22.7, 0.135, 0.001,
                 True),),
    Pace(0.05, 12, {"name:/login": 0.12}), "warn")


def test_the_history_comparison_comes_back_from_a_store_row_as_the_same_object() -> None:
    run = Run(test_type="load", environment="ci", profile="smoke", base_url=None, comparison=COMPARED)
    stored = run.context()  # the stores' metadata column keeps it under its v1 key
    assert stored["regressions"]["findings"][0]["tags"] == {"name": "/login"}
    assert stored["regressions"]["pace"]["described"].startswith("adjusted for the machine's pace")
    back = Run.from_json(run.to_json())
    assert back.comparison == COMPARED and "regressions" not in back.metadata
    assert [f.key for f in back.comparison.regressions] == ["p95 http_req_duration{name:/login}"]
    assert not back.comparison.gating  # regressions = "warn" came back too


def test_a_malformed_stored_comparison_is_kept_as_it_was() -> None:
    row = Run(test_type="load", environment="ci", profile="smoke", base_url=None).to_dict()
    row["metadata"]["regressions"] = {"findings": [{"key": "no other field"}], "note": None}
    back = Run.from_dict(row)
    assert back.comparison is None and back.to_dict()["metadata"]["regressions"] == row["metadata"]["regressions"]


def test_a_regression_is_drawn_failing_and_a_step_or_improvement_is_not() -> None:
    styled = dict(COMPARED.describe())
    regressed = "  REGRESSION  p95 http_req_duration{name:/login}  22.7 -> 24.1 ms (+6.2%), confidence 0.998"
    assert styled[regressed] == "fail"
    assert styled[("  STEP (worse)  p95 http_req_duration{name:/login}  20 -> 22.7 (+13.5%) from run r2, "
                   "commits (aaa, bbb]")] == "plain"
    assert "  smallest detectable changes: rate http_reqs >= 4%" in styled
