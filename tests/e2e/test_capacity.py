"""Honest latency and capacity against the bundled app's knobs (issue: API load engine)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from perfmon import Trend, open_store, parse_thresholds
from perfmon.core.config import Scenario, Stage, load_config
from perfmon.core.findings import RampBreak
from perfmon.core.numbers import number
from perfmon.load import (
    BreakingPoint,
    Capacity,
    Client,
    EngineOptions,
    VirtualUser,
    find_breaking_point,
    run_scenario,
)
from perfmon.load.capacity import CapacitySearch, find_capacity, littles_law
from perfmon.pipeline import summary_lines
from tests._support.apps import DemoApp
from tests._support.sessions import perfmon_cmd, run

QUIET = EngineOptions(progress=False)


async def page(client: Client, user: VirtualUser) -> None:
    await client.get("/login")


def test_find_breaking_point_is_the_one_capacity_search_under_its_old_name(
        demo_factory: Callable[..., DemoApp]) -> None:
    app = demo_factory(DEMO_CAPACITY="16", DEMO_SERVICE_MS="5")  # 3,200 requests per second: far above 80
    bp = find_breaking_point(page, base_url=app.url, start_rate=40, step_rate=40, max_rate=80, step_duration_s=2,
                             refine=2, thresholds=parse_thresholds({"http_req_duration": ["p(95)<250"],
                                                                    "http_req_failed": ["rate<0.01"]}))
    assert isinstance(bp, Capacity) and BreakingPoint is Capacity
    assert (bp.limited_by, bp.sustainable_rate, bp.breaking_rate) == ("max_rate", 80, None), bp.why
    assert [s.rate for s in bp.steps] == [40, 80]  # doubling from start_rate: step_rate means nothing here
    steps = {tags["step_rate"] for _, tags, _ in bp.metrics.series("http_req_duration")}
    assert steps == {"40", "80"}


def test_stalls_are_not_hidden_by_coordinated_omission(demo_factory: Callable[..., DemoApp]) -> None:
    app = demo_factory(DEMO_STALL_EVERY_S="5", DEMO_STALL_MS="1000")
    sc = Scenario(name="stall", executor="constant-arrival-rate", rate=100, duration_s=12, max_vus=300,
                  think_time_s=0)
    res = run_scenario(page, sc, base_url=app.url, options=QUIET)
    latency = res.run.metrics.select("http_req_duration") if res.run else None
    assert isinstance(latency, Trend)
    assert latency.percentile(99) >= 800  # a one-second freeze shows as latency close to one second
    assert latency.percentile(50) < 100  # ... without smearing into the typical request


def test_client_latency_covers_the_server_time(clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_LATENCY_MS="60")
    sc = Scenario(name="truth", executor="constant-arrival-rate", rate=40, duration_s=4, max_vus=50, think_time_s=0)
    res = run_scenario(page, sc, base_url=clean_demo.url, options=QUIET)
    assert res.run is not None
    client = res.run.metrics.select("http_req_duration")
    server = res.run.metrics.select("http_req_server_duration")
    assert isinstance(client, Trend) and isinstance(server, Trend)
    for p in (50, 95):
        c, s = client.percentile(p), server.percentile(p)
        assert c is not None and s is not None
        assert c >= s >= 60  # the client cannot see less than the server spent, nor the server less than its delay
    # How closely they agree (within a few per cent here) is a timing figure: bench/http_engine.py prints it.


SLO = parse_thresholds({"http_req_duration": ["p(95)<250"], "http_req_failed": ["rate<0.01"]})


@pytest.mark.parametrize(("capacity", "service_ms", "truth"), [("4", "20", 200.0), ("2", "25", 80.0)])
def test_the_adaptive_search_brackets_the_capacity_twice_held(demo_factory: Callable[..., DemoApp],
                                                                   capacity: str, service_ms: str,
                                                                   truth: float) -> None:
    app = demo_factory(DEMO_CAPACITY=capacity, DEMO_SERVICE_MS=service_ms)  # capacity / service time
    found = find_capacity(page, base_url=app.url, thresholds=SLO, options=QUIET,
                          settings=CapacitySearch(start_rate=20, step_duration_s=3, width=0.1, trials=2,
                                                  max_time_s=120))
    assert found.limited_by == "server", found.why
    assert found.sustainable_rate is not None and found.breaking_rate is not None
    # How close the answer comes to the truth is bench/capacity_search.py's figure (within 10 % there). Here,
    # what noise cannot flip: above its capacity the queue grows (a step at 1.25x it queues a quarter of
    # its rate every second: p95 past 250 ms within the step), and a busy machine only makes steps break
    # earlier, never hold above the truth; half the truth leaves a busy 2-core runner room.
    assert 0.5 * truth <= found.sustainable_rate <= 1.25 * truth, found.why
    assert (found.breaking_rate - found.sustainable_rate) / found.sustainable_rate <= 0.1
    assert sum(s.rate == found.sustainable_rate and s.held for s in found.steps) >= 2  # held twice
    assert found.why.startswith(f"sustainable {found.sustainable_rate:g}/s (held 2 times)")
    held = [s for s in found.steps if s.held]
    # Little's law holds for an honest generator in steady state: well below the capacity. A step near
    # it can hold its SLO while its queue is still growing (CI saw 6.7 users against 9.1 at 82.7/s of
    # 80; a fresh clone 4.7 against 6.6 at 160/s of 200, its p99 156 ms).
    steady = [s for s in held if s.rate <= 0.7 * truth]
    assert steady and all(s.suspect is None for s in steady), [s.suspect for s in steady]
    [at, *_] = [s for s in held if s.rate == found.sustainable_rate]
    assert at.requests_per_iteration == 1.0 and at.iteration_s is not None
    est = found.interval
    assert est is not None, found.why
    assert est[1] <= est[0] <= est[2] and found.sustainable_rate * 0.8 <= est[0] <= found.breaking_rate * 1.2, est
    assert found.why.endswith(f"95 % interval [{number(est[1], digits=4)}, {number(est[2], digits=4)}]")
    # The margin (log of the binding SLO piece over its limit) rises with the rate and changes sign
    # where the steps stop holding.
    margins = sorted((s.rate, s.margin) for s in found.steps if s.margin is not None)
    assert margins[0][1] < 0 < margins[-1][1]
    assert all((s.margin is not None and s.margin < 0) for s in held if s.rate <= 0.5 * truth)
    users = found.users(think_time_s=5.0)
    assert users is not None and users == pytest.approx(found.sustainable_rate * (5.0 + at.iteration_s), rel=0.05)


PAGE_SCRIPT = """
async def page(client, user):
    await client.get("/login")
"""


def test_perfmon_capacity_search_prints_the_sustainable_rate(tmp_path: Path,
                                                             demo_factory: Callable[..., DemoApp]) -> None:
    app = demo_factory(DEMO_CAPACITY="2", DEMO_SERVICE_MS="25")  # 80 requests per second
    (tmp_path / "journey.py").write_text(PAGE_SCRIPT)
    (tmp_path / "perfmon.toml").write_text("")
    out = run(perfmon_cmd("capacity", "search", "--base-url", app.url, "--script", "journey.py:page",
                          "--slo", "p(95)<250", "--slo", "http_req_failed:rate<0.01", "--start-rate", "20",
                          "--step-duration", "2s", "--json"), tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    found = json.loads(out.stdout)
    # Below the 80/s the app can serve: above it the queue grows and the SLO breaks (bench/capacity_search.py
    # measures how close the answer comes).
    assert found["limited_by"] == "server" and 40 <= found["sustainable_rate"] <= 100, found["why"]
    assert found["slo"] == ["http_req_duration: p(95)<250", "http_req_failed: rate<0.01"]
    # Users at that rate: through the (built-in) load scenario's think time, as the default profile sets it.
    think = load_config(tmp_path / "perfmon.toml").scenario("load").think_time_s
    assert found["think_time_s"] == think == 0.2 and found["users"] is not None
    est = found["interval"]  # where the SLO breaks, read off the steps' margins, with its 95 % interval
    assert est["low"] <= est["estimate"] <= est["high"]
    assert found["sustainable_rate"] * 0.8 <= est["estimate"] <= found["breaking_rate"] * 1.2


@pytest.mark.parametrize(("args", "code", "says"), [
    (("--base-url", "http://127.0.0.1:9"), 3, "BASE_URL http://127.0.0.1:9 is unreachable"),
    (("--base-url", "http://127.0.0.1:9", "--slo", "p95<1"), 2, "--slo"),
    (("--base-url", "http://127.0.0.1:9", "--script", "journey.py:nope"), 2, "has no function 'nope'"),
    (("--base-url", "http://127.0.0.1:9", "--start-rate", "0"), 2, "needs 0 < start_rate <= max_rate"),
])
def test_perfmon_capacity_search_bad_input_is_one_line(tmp_path: Path, args: tuple[str, ...], code: int,
                                                       says: str) -> None:
    (tmp_path / "journey.py").write_text(PAGE_SCRIPT)
    (tmp_path / "perfmon.toml").write_text("")
    out = run(perfmon_cmd("capacity", "search", "--script", "journey.py:page", *args), tmp_path)
    assert out.returncode == code and says in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_a_search_stopped_by_its_time_bound_says_so_and_exits_3(tmp_path: Path, clean_demo: DemoApp) -> None:
    (tmp_path / "journey.py").write_text(PAGE_SCRIPT)
    (tmp_path / "perfmon.toml").write_text("")
    out = run(perfmon_cmd("capacity", "search", "--base-url", clean_demo.url, "--script", "journey.py:page",
                          "--start-rate", "20", "--step-duration", "1s", "--max-time", "2s"), tmp_path)
    assert out.returncode == 3, out.stdout[-2000:]
    assert "perfmon capacity: stopped after max_time = 2s" in out.stdout


@pytest.mark.parametrize(("users", "rate", "seconds", "flagged"), [
    (20.0, 100.0, 0.2, False),  # 100/s x 0.2 s = 20 users: the numbers agree
    (8.0, 100.0, 0.2, True),  # 12 users missing: the generator is not doing what it reports
    (0.0, 40.0, 0.023, False),  # under 1.5 users apart: whole-user sampling, not a fault
])
def test_little_s_law_flags_numbers_that_disagree(users: float, rate: float, seconds: float, flagged: bool) -> None:
    said = littles_law(users, rate, seconds)
    assert (said is not None) == flagged and (said is None or said.startswith("Little's law: 8.0 users in flight"))


def test_a_stress_ramp_reports_where_and_why_it_broke(demo_factory: Callable[..., DemoApp], tmp_path: Path) -> None:
    """200 requests/s at most (4 in service, 20 ms each): with no think time the p95 passes 100 ms near
    20 users, and the run says at which rate and how many users, and that latency broke it."""
    app = demo_factory(DEMO_CAPACITY="4", DEMO_SERVICE_MS="20")
    # 30 s to 40 users: the first whole window (about 10 users) holds, so a best held window exists.
    ramp = Scenario(name="stress", executor="ramping-vus", stages=(Stage(30, 40),), think_time_s=0.0,
                    thresholds=tuple(parse_thresholds({"http_req_duration": ["p(95)<100"]})))
    res = run_scenario(page, ramp, base_url=app.url, test_type="stress", options=QUIET)
    assert res.run is not None
    found = res.run.finding(RampBreak, "stress")
    assert found is not None and found.why is None, found
    # Within the ramp (40 users at most) and at most a little past the app's 200/s: it cannot serve more,
    # and a busy machine only makes the break come earlier.
    assert 0 < (found.users or 0) <= 40 and 0 < (found.rate or 0) <= 250, found
    assert found.broken_by[0].startswith("latency p(95)") and "against p(95)<100" in found.broken_by[0]
    assert any(line.startswith("  breaking point (stress): ") for line in summary_lines(res.run))
    # Stored: the break, the best window that held before it, each window up to it, and the USL fit.
    assert 0 < (found.sustainable_rate or 0) and (found.sustainable_users or 0) < found.users
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    store.write_run(res.run)
    store.close()
    con = sqlite3.connect(tmp_path / "r.db")
    [(held, broke, users, limited, why)] = con.execute(
        "select sustainable_rate, breaking_rate, users, limited_by, broken_by from performance_breaking_points "
        "where scenario = 'stress'").fetchall()
    assert (held, broke, users, limited) == pytest.approx((found.sustainable_rate, found.rate,
                                                           found.sustainable_users, "server"))
    assert why.startswith("latency p(95)")
    steps = con.execute("select held, concurrency, achieved_rate, p95 from performance_capacity_steps "
                        "where scenario = 'stress' order by step").fetchall()
    assert [bool(r[0]) for r in steps] == [True] * (len(steps) - 1) + [False] and all(r[1] and r[2] for r in steps)
    assert steps[-1][3] >= 100  # the window that broke p(95)<100
    [(points, refused)] = con.execute("select points, refused from performance_scalability_fits").fetchall()
    assert points >= 4 or refused
