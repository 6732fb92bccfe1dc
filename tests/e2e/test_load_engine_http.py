


"""The load engine against the real bundled app over loopback: short, bounded runs."""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from perfmon import Counter, Rate, Trend, parse_thresholds
from perfmon.core.config import Stage
from perfmon.core.findings import GeneratorCost
from perfmon.load import Client, EngineOptions, VirtualUser, run_load_test, run_scenario
from perfmon.load.perf_api import scoped
from perfmon.system.target import free_port
from tests._support.apps import DemoApp
from tests._support.journeys import journey, log_in, scenario

QUIET = EngineOptions(progress=False)


TWO_PROCESSES = EngineOptions(progress=False, processes=2)








def test_closed_model_records_k6_metrics(clean_demo: DemoApp) -> None:
    res = run_scenario(journey, scenario(), base_url=clean_demo.url, on_start=log_in, options=QUIET)
    run = res.run
    assert run is not None and run.status == "passed"
    m = run.metrics
    reqs = m.select("http_reqs")
    assert isinstance(reqs, Counter) and reqs.count > 20
    names = {tags["name"] for _, tags, _ in m.series("http_req_duration")}
    assert names == {"/api/auth/login", "/api/dashboard", "/api/forms/submit"}
    checks = m.select("checks")
    assert isinstance(checks, Rate) and checks.rate == 1.0
    assert res.metrics.error_rate == 0.0 and res.metrics.p95_response_time is not None
    [ran] = run.scenarios
    assert (ran.vus_created, ran.executor, ran.stop_reason) == (4, "constant-vus", None)


def test_every_run_records_the_generators_cpu_per_1000_requests(clean_demo: DemoApp) -> None:
    res = run_scenario(journey, scenario(duration_s=1.0), base_url=clean_demo.url, on_start=log_in, options=QUIET)
    assert res.run is not None
    requests = res.run.metrics.select("http_reqs")
    assert isinstance(requests, Counter) and requests.count > 0
    cost = res.run.finding(GeneratorCost)
    assert cost is not None
    assert cost.requests == requests.count and 0 < cost.cpu_s < 60  # its own thread's CPU, not the wall
    assert cost.cpu_s_per_1000_requests == pytest.approx(1000 * cost.cpu_s / requests.count, rel=0.01)


def test_added_latency_shows_in_percentiles(clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_LATENCY_MS="250")
    res = run_scenario(journey, scenario(duration_s=2.0), base_url=clean_demo.url, on_start=log_in, options=QUIET)
    trend = res.run.metrics.select("http_req_duration{name:/api/dashboard}") if res.run else None
    assert isinstance(trend, Trend)
    assert trend.percentile(50) >= 250


def test_connection_refused_is_counted_not_fatal() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    res = run_scenario(journey, scenario(duration_s=1.0), base_url=url, on_start=log_in, options=QUIET)
    run = res.run
    assert run is not None and res.metrics.error_rate == 1.0
    errors = {tags["error"] for _, tags, _ in run.metrics.series("http_req_errors")}
    assert errors == {"ClientConnectorError"}
    script = {tags["error"] for _, tags, _ in run.metrics.series("script_errors")}
    assert script == {"ClientConnectorError"}
    # Never crashed, and never judged on a target that never answered: no verdict (exit 3).
    assert run.status == "unmeasured" and run.metadata["unmeasured"][0].startswith("the target never answered")


def test_a_script_that_raises_is_classified(clean_demo: DemoApp) -> None:
    async def broken(client: Client, user: VirtualUser) -> None:
        r = await client.get("/login")
        r.json()  # HTML, not JSON

    res = run_scenario(broken, scenario(duration_s=1.0), base_url=clean_demo.url, options=QUIET)
    assert res.run is not None
    kinds = {tags["error"] for _, tags, _ in res.run.metrics.series("script_errors")}
    assert kinds == {"JSONDecodeError"}
    failed = res.run.metrics.select("iteration_failed")
    assert isinstance(failed, Rate) and failed.rate == 1.0


def test_abort_on_fail_stops_the_run_early(clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_ERROR_RATE="1")
    start = time.monotonic()
    res = run_load_test(journey, users=3, duration="20s", base_url=clean_demo.url,
                        thresholds={"http_req_failed": [{"threshold": "rate<0.01", "abortOnFail": True}]},
                        options=QUIET)
    assert time.monotonic() - start < 10
    assert res.run is not None and res.run.status == "failed"
    assert "abortOnFail" in " ".join(res.run.stop_reasons)
    assert not res.passed and res.failed_thresholds


def test_open_model_keeps_its_rate_and_counts_drops(clean_demo: DemoApp) -> None:
    sc = scenario(executor="constant-arrival-rate", rate=40.0, duration_s=3.0, max_vus=20)
    res = run_scenario(journey, sc, base_url=clean_demo.url, options=QUIET)
    it = res.run.metrics.select("iterations") if res.run else None
    assert isinstance(it, Counter) and it.count == pytest.approx(120, rel=0.1)
    # One user cannot start 40 iterations a second of 100 ms each: the rest are dropped, not delayed.
    clean_demo.set_faults(DEMO_LATENCY_MS="100")
    slow = run_scenario(journey, scenario(executor="constant-arrival-rate", rate=40.0, duration_s=2.0, max_vus=1),
                        base_url=clean_demo.url, options=QUIET)
    dropped = slow.run.metrics.select("dropped_iterations") if slow.run else None
    assert isinstance(dropped, Counter) and dropped.count > 40


def test_ramping_vus_follows_stages(clean_demo: DemoApp) -> None:
    sc = scenario(executor="ramping-vus", stages=(Stage(1.0, 6), Stage(1.0, 6), Stage(0.5, 0)))
    res = run_scenario(journey, sc, base_url=clean_demo.url, on_start=log_in, options=QUIET)
    assert res.run is not None
    assert res.run.scenarios[0].vus_created == 6
    vus = res.run.metrics.select("vus")
    assert vus is not None and vus.stat("max") == 6


def test_a_scenario_split_over_two_processes_adds_up(clean_demo: DemoApp) -> None:
    from perfmon.loadgen.processes import split_scenario

    sc = scenario(executor="constant-arrival-rate", rate=60.0, duration_s=3.0, max_vus=21)
    assert [p.rate for p in split_scenario(sc, 2)] == [30.0, 30.0]
    assert [p.max_vus for p in split_scenario(sc, 2)] == [11, 10]
    res = run_scenario(journey, sc, base_url=clean_demo.url, on_start=log_in, options=TWO_PROCESSES)
    assert res.run is not None and res.run.scenarios[0].processes == 2
    it = res.run.metrics.select("iterations")
    assert isinstance(it, Counter) and it.count == pytest.approx(180, rel=0.1)
    logins = res.run.metrics.select("http_reqs{name:/api/auth/login}")
    assert isinstance(logins, Counter) and logins.count == res.run.scenarios[0].vus_created
    assert res.metrics.error_rate == 0.0  # every user logged in with its own account
    assert [str(o.threshold) for o in res.thresholds] == ["iteration_failed{scenario:t}: rate<0.01"]  # the default
    assert all(o.passed for o in res.thresholds)


def test_a_busy_scenario_spreads_over_the_cores_by_default(clean_demo: DemoApp) -> None:
    import os

    sc = scenario(vus=50, think_time_s=0.0, duration_s=3.0)  # processes: "auto", the default
    assert sc.processes == 0
    res = run_scenario(journey, sc, base_url=clean_demo.url, on_start=log_in, options=QUIET)
    assert res.run is not None and res.run.scenarios[0].processes == min(os.cpu_count() or 1, 7)
    logins = res.run.metrics.select("http_reqs{name:/api/auth/login}")
    assert isinstance(logins, Counter) and logins.count == 50  # every user once, whichever process ran it
    assert res.metrics.error_rate == 0.0


def test_a_lambda_journey_cannot_be_spread(clean_demo: DemoApp) -> None:
    from perfmon import ScriptError

    async def local(client: Client, user: VirtualUser) -> None:
        await client.get("/healthz")

    with pytest.raises(ScriptError, match="module-level functions"):
        run_scenario(local, scenario(duration_s=1.0), base_url=clean_demo.url, options=TWO_PROCESSES)


def test_tls_error_and_a_target_dying_mid_run_are_classified(demo_factory: Callable[..., DemoApp]) -> None:
    import os
    import signal
    import threading

    app = demo_factory()
    # TLS spoken to a plain-HTTP port: the handshake fails, the run goes on and counts it.
    tls = run_scenario(journey, scenario(duration_s=1.0), base_url=app.url.replace("http://", "https://"),
                       options=QUIET)
    assert tls.run is not None and tls.metrics.error_rate == 1.0
    kinds = {tags["error"] for _, tags, _ in tls.run.metrics.series("http_req_errors")}
    assert kinds and all("SSL" in k or "Connect" in k or "OSError" in k for k in kinds), kinds
    # The target is killed one second into a three-second run: refused connections are counted.
    threading.Timer(1.0, lambda: os.killpg(app.pid, signal.SIGKILL)).start()
    res = run_scenario(journey, scenario(duration_s=3.0), base_url=app.url, on_start=log_in, options=QUIET)
    assert res.run is not None
    statuses = {tags["status"] for _, tags, _ in res.run.metrics.series("http_req_duration")}
    assert {"200", "0"} <= statuses  # answered before, refused after
    assert 0 < (res.metrics.error_rate or 0) < 1


def test_a_scenario_threshold_on_process_metrics_gets_the_scenario_s_own_samples(clean_demo: DemoApp) -> None:
    """[scenarios.X.thresholds] process_rss_mb = [...] is scoped to {scenario:X}: the scenario's sampler
    tags its samples, so the threshold is judged instead of failing for lack of samples."""
    sc = scenario(duration_s=3.0, thresholds=parse_thresholds({"process_rss_mb{role:runner}": ["max<100000"]}))
    res = run_scenario(journey, scoped(sc), base_url=clean_demo.url, on_start=log_in, options=QUIET)
    assert res.run is not None
    [outcome] = [o for o in res.run.thresholds if not o.threshold.builtin]
    assert str(outcome.threshold) == "process_rss_mb{role:runner,scenario:t}: max<100000"
    assert outcome.observed is not None and outcome.passed


def test_a_windowed_threshold_fails_a_run_whose_end_is_all_errors(demo_factory: Callable[..., DemoApp]) -> None:
    """DEMO_ERROR_RATE switched to 1 for the last ~10 s of a 25-s run: the whole-run error rate stays
    under 50 %, the worst 10-s span is all errors."""
    import threading

    app = demo_factory()

    def break_it_late() -> None:
        deadline = time.monotonic() + 60
        while app.stats()["count"] < 600 and time.monotonic() < deadline:  # about 15 s of the run
            time.sleep(0.2)
        app.set_faults(DEMO_ERROR_RATE="1")

    sc = scenario(executor="constant-arrival-rate", rate=20.0, duration_s=25.0, max_vus=20,
                  thresholds=parse_thresholds({"http_req_failed": ["rate<0.5", "rate<0.5 over 10s"]}))
    switch = threading.Thread(target=break_it_late, daemon=True)
    switch.start()
    res = run_scenario(journey, sc, base_url=app.url, on_start=log_in, options=QUIET)
    switch.join()
    assert res.run is not None
    whole, windowed = [o for o in res.run.thresholds if not o.threshold.builtin]
    assert whole.passed and whole.observed is not None and 0.2 < whole.observed < 0.5
    assert not windowed.passed and windowed.observed is not None and windowed.observed > 0.9
    # FAILED; or, on a machine so busy the client saturated (CI once, beside other work), honestly UNMEASURED
    # with the thresholds still saying what they saw: never PASSED.
    assert res.run.status in ("failed", "unmeasured"), res.run.metadata.get("unmeasured")
