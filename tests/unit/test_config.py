from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfmon import ConfigError, load_config
from perfmon.core.config import parse_duration

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "perfmon.toml"
    p.write_text(body)
    return p


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1m30s", 90), ("250ms", 0.25),
                                                ("2h", 7200), (12, 12)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 minutes", "m5", "-3s", True])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(bad)


def test_the_built_in_defaults_reproduce_the_spec_in_a_project_that_sets_nothing(tmp_path: Path,
                                                                                  clean_env: None) -> None:
    cfg = load_config(write(tmp_path, ""), profile="release")
    load = cfg.scenario("load")
    assert load.peak_vus == 100 and load.total_duration_s == 600
    assert [str(t) for t in load.thresholds] == ["http_req_duration: p(95)<2000", "http_req_failed: rate<0.01"]
    stress = cfg.scenario("stress")
    assert stress.peak_vus == 500 and stress.total_duration_s == 900
    assert [str(t) for t in stress.thresholds] == ["http_req_duration: p(95)<5000", "http_req_failed: rate<0.05"]
    g = cfg.monitor
    assert (g.max_avg_response_time_ms, g.max_p95_response_time_ms, g.max_error_rate, g.min_throughput_rps) == (
        1500, 3000, 0.01, 50)


def test_smoke_is_the_default_profile_and_squeezes_scenarios_into_seconds(tmp_path: Path, clean_env: None) -> None:
    cfg = load_config(write(tmp_path, ""))
    assert cfg.profile.name == "smoke"  # forgetting --profile never starts the 25-minute release run
    # what each run's first line says: the spike keeps its 60-s minimum, the journeys are not timed
    assert cfg.scenario_lengths() == "endurance 30 s, load 12 s, spike 60 s, stress 12 s"
    load = cfg.scenario("load")
    assert load.total_duration_s == pytest.approx(12)
    assert load.peak_vus == 10
    # The stages keep their shape: ramp to 20%, hold, ramp down to zero.
    assert [s.target for s in load.stages] == [2, 10, 10, 0]


def test_env_overrides_file_and_arguments_override_env(tmp_path: Path, clean_env: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'store = "sqlite:///from-file.db"\n[profiles.fast]\nmax_duration = "1s"\n')
    monkeypatch.setenv("PERFMON_STORE", "sqlite:///from-env.db")
    monkeypatch.setenv("PERFMON_PROFILE", "fast")
    cfg = load_config(path)
    assert cfg.store == "sqlite:///from-env.db" and cfg.profile.name == "fast"
    assert load_config(path, store="sqlite:///arg.db").store == "sqlite:///arg.db"


def test_unknown_profile_names_the_choices(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigError, match=r"unknown profile 'nightly'; choose one of ci, release, smoke or add"):
        load_config(write(tmp_path, ""), profile="nightly")


def test_bad_threshold_in_file_points_at_its_line(tmp_path: Path, clean_env: None) -> None:
    path = write(tmp_path, '[scenarios.load]\nvus = 1\nduration = "1s"\n[scenarios.load.thresholds]\n'
                 'http_req_duration = ["p95<2000"]\n')
    with pytest.raises(ConfigError, match=r"perfmon.toml:5: threshold 'p95<2000' for http_req_duration: expected"):
        load_config(path)


def test_bad_toml_and_executor(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[scenarios.load\n"))
    with pytest.raises(ConfigError, match=r"toml:2: scenarios.x.executor = 'fast-vus': expected one of constant-"):
        load_config(write(tmp_path, '[scenarios.x]\nexecutor = "fast-vus"\n'))
    with pytest.raises(ConfigError, match=r"scenarios.x.stages = \[\]: expected at least one stage for ramping-vus"):
        load_config(write(tmp_path, '[scenarios.x]\nexecutor = "ramping-vus"\n'))


def test_unknown_scenario(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigError, match=r"unknown scenario 'soak'"):
        load_config(write(tmp_path, "")).scenario("soak")


def test_unreliable_saturation_share(tmp_path: Path, clean_env: None) -> None:
    assert load_config(write(tmp_path, "unreliable_saturation = 0.5\n")).unreliable_saturation == 0.5
    with pytest.raises(ConfigError, match=r"toml:1: unreliable_saturation = 2: expected a finite number .* at most 1"):
        load_config(write(tmp_path, "unreliable_saturation = 2\n"))


def test_a_client_saturated_past_the_configured_share_leaves_the_run_unmeasured() -> None:
    from perfmon import Run
    from perfmon.pipeline import RunFacts
    from perfmon.pipeline.judge import judge

    run = Run(test_type="load", environment="ci", profile="smoke", base_url=None)
    run.metrics.trend("http_req_duration").record(5)
    run.metrics.counter("http_reqs").add(1)
    judge(run, [], RunFacts(client_saturation=0.3), unreliable_saturation=0.5)
    assert run.status == "passed" and "unmeasured" not in run.metadata
    judge(run, [], RunFacts(client_saturation=0.6), unreliable_saturation=0.5)
    assert run.status == "unmeasured"
    [why] = run.metadata["unmeasured"]
    assert why.startswith("the client CPU was saturated 60% of the run (more than unreliable_saturation = 0.5)")
    # A browser run's samples are quarantined one by one instead (pipeline/quarantine.py): the share alone
    # does not void it.
    run = Run(test_type="browser", environment="ci", profile="smoke", base_url=None)
    run.metrics.trend("browser_step_duration").record(5)
    judge(run, [], RunFacts(client_saturation=0.6), unreliable_saturation=0.5)
    assert run.status == "passed"


def test_seeded_accounts_and_suite_paths_are_config_keys(tmp_path: Path) -> None:
    from perfmon.core.config import Accounts, Suites

    default = load_config(write(tmp_path, ""))
    assert default.accounts == Accounts() and default.accounts.for_user(1) == ("vu0001@example.com", "testpassword")
    assert default.accounts.for_user(501) == ("vu0001@example.com", "testpassword")  # wraps after `count`
    assert default.suites == Suites()
    cfg = load_config(write(tmp_path, '[accounts]\nemail = "load{n}@wedsync.test"\npassword = "pw"\ncount = 20\n'
                                      '[suites]\nbrowser = "perf/ui"\napi = "perf/api"\n'))
    assert cfg.accounts.for_user(21) == ("load1@wedsync.test", "pw")
    assert (cfg.suites.browser, cfg.suites.api) == ("perf/ui", "perf/api")
    for bad, message in (('[accounts]\nemail = "vu{x}@example.com"\n', "toml:2: accounts.email = 'vu{x}@example.com': "
                                                                     "expected the user number written as {n}"),
                         ("[accounts]\ncount = 0\n", "toml:2: accounts.count = 0: expected a whole number"),
                         ('[suites]\nbrowsr = "x"\n', "toml:2: unknown key 'browsr' in [suites]; did you mean "
                                                         "'browser'?"),
                         ("[suites]\nbrowser = 3\n", "toml:2: suites.browser = 3: expected a str")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(write(tmp_path, bad))


def test_the_spec_browser_gates_are_builtin_defaults_the_config_can_replace(tmp_path: Path) -> None:
    builtin = load_config(write(tmp_path, "")).browser_thresholds()
    assert {(t.metric, t.expression, t.builtin) for t in builtin} == {
        ("browser_vital_lcp", "p(75)<=2500", True), ("browser_vital_inp", "p(75)<=200", True),
        ("browser_vital_cls", "p(75)<=0.1", True), ("browser_step_duration", "p(95)<2000", True)}
    own = load_config(write(tmp_path, '[scenarios.browser.thresholds]\nbrowser_vital_lcp = ["p(75)<=4000"]\n'))
    lcp = [t for t in own.browser_thresholds() if t.metric == "browser_vital_lcp"]
    assert [(t.expression, t.builtin) for t in lcp] == [("p(75)<=4000", False)]


def test_the_regression_gate_is_configured_per_metric(tmp_path: Path, clean_env: None) -> None:
    path = write(tmp_path, """
[regression_gate]
baseline_runs = 6
fdr = 0.05
min_change = 0.04
[regression_gate.min_effect]
http_req_duration = { change = 0.08, floor = 3.0 }
browser_vital_cls = { floor = 0.02 }
""")
    gate = load_config(path).regression_gate
    assert (gate.baseline_runs, gate.min_runs, gate.fdr, gate.min_change) == (6, 3, 0.05, 0.04)
    assert gate.min_effect(100.0, "ms", "http_req_duration") == pytest.approx(8.0)  # its own 8 %
    assert gate.min_effect(10.0, "ms", "http_req_duration") == 3.0  # its own floor
    assert gate.min_effect(100.0, "ms", "browser_step_duration") == pytest.approx(4.0)  # the run-wide 4 %
    assert gate.min_effect(0.05, "", "browser_vital_cls") == 0.02


@pytest.mark.parametrize(("body", "says"), [
    ("[regression_gate]\nfdr = 0\n", "fdr = 0: expected a finite number above 0"),
    ("[regression_gate]\nbaseline_runs = 2\n", "baseline_runs = 2: expected a whole number of at least 3"),
    ("[regression_gate]\nthreshold = 1\n", "toml:2: unknown key 'threshold' in [regression_gate]; known: "
                                           "baseline_runs"),
    ("[regression_gate.min_effect]\nhttp_req_durations = { change = 0.1 }\n", "expected a judged metric"),
    ("[regression_gate.min_effect]\nhttp_req_duration = { change = 5 }\n", "at most 1"),
    ("[regression_gate.min_effect]\nhttp_req_duration = { step = 5 }\n", "change = 0.05, floor = 2.0"),
])
def test_a_bad_regression_gate_is_one_line_naming_the_key(tmp_path: Path, clean_env: None, body: str,
                                                          says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)) as caught:
        load_config(write(tmp_path, body))
    assert "\n" not in str(caught.value) and "perfmon.toml:" in str(caught.value)


def test_every_metric_the_gate_judges_can_be_configured() -> None:
    from perfmon.analysis.history.series import observe
    from perfmon.core.config import JUDGED_METRICS
    from perfmon.core.results import Run

    run = Run(test_type="hybrid", environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
    run.finished_at = run.started_at + 10
    m = run.metrics
    for i in range(30):
        m.trend("http_req_duration", {"name": "/a"}).record(10 + i)
        m.rate("http_req_failed").record(False)
        m.counter("http_reqs").add(1)
        for vital in ("lcp", "inp", "cls", "fcp", "ttfb"):
            m.trend(f"browser_vital_{vital}", {"page": "/"}).record(1)
        m.trend("browser_step_duration", {"journey": "j", "step": "s"}).record(5)
        m.trend("process_rss_mb", {"role": "target"}).record(100)
    run.metadata["breaking_points"] = {"stress": {"sustainable_rate": 100.0, "steps": []}}  # a capacity search's
    assert {o.metric for o in observe(run)} == set(JUDGED_METRICS)


def test_the_spec_scenarios_and_profiles_are_there_without_any_config_file(tmp_path: Path, clean_env: None,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert {"load", "stress", "spike", "endurance", "browser"} <= set(cfg.scenarios)
    endurance = load_config(profile="release").scenario("endurance")
    assert (endurance.vus, endurance.total_duration_s) == (100, 3600)
    assert "memory_growth_mb_per_min{role:target}: value<10" in [str(t) for t in endurance.thresholds]
    assert [str(t) for t in cfg.scenario("spike").thresholds] == ["http_req_failed: rate<0.05",
                                                                  "spike_recovery_time: max<60000"]
    assert load_config(profile="ci").profile.max_duration_s == 180


def test_a_project_overrides_the_built_in_scenarios_key_by_key(tmp_path: Path, clean_env: None) -> None:
    cfg = load_config(write(tmp_path, '[scenarios.load.thresholds]\nhttp_req_duration = ["p(95)<800"]\n'
                                      '[scenarios.stress]\nthink_time = "2s"\n'
                                      '[scenarios.spike.thresholds]\nspike_recovery_time = []\n'
                                      '[profiles.smoke]\nusers_factor = 0.2\n'), profile="release")
    load = cfg.scenario("load")
    assert [str(t) for t in load.thresholds] == ["http_req_duration: p(95)<800", "http_req_failed: rate<0.01"]
    assert load.peak_vus == 100  # its workload untouched
    stress = cfg.scenario("stress")
    assert stress.think_time_s == 2 and stress.peak_vus == 500 and len(stress.thresholds) == 2
    assert [str(t) for t in cfg.scenario("spike").thresholds] == ["http_req_failed: rate<0.05"]
    smoke = load_config(write(tmp_path, '[profiles.smoke]\nusers_factor = 0.2\n')).profile
    assert (smoke.users_factor, smoke.max_duration_s, smoke.browser_iterations) == (0.2, 12, 1)


def test_a_workload_in_the_file_replaces_the_built_in_ramp_whole(tmp_path: Path, clean_env: None) -> None:
    cfg = load_config(write(tmp_path, '[scenarios.load]\nvus = 10\nduration = "30s"\n'), profile="release")
    load = cfg.scenario("load")
    assert (load.executor, load.vus, load.total_duration_s, load.stages) == ("constant-vus", 10, 30, ())
    assert [str(t) for t in load.thresholds] == ["http_req_duration: p(95)<2000", "http_req_failed: rate<0.01"]


@pytest.mark.parametrize(("body", "says"), [
    ('[scenarios.load.threshold]\nhttp_req_duration = ["p(95)<1"]\n',
     "toml:1: unknown key 'threshold' in [scenarios.load]; did you mean 'thresholds'?"),
    ("[scenarios.load]\nthresold = 1\n",
     "toml:2: unknown key 'thresold' in [scenarios.load]; did you mean 'thresholds'?"),
    ('[profiles.smoke]\nmax_duraton = "1s"\n',
     "toml:2: unknown key 'max_duraton' in [profiles.smoke]; did you mean 'max_duration'?"),
    ("[profiles.ci]\nuser_factor = 0.1\n",
     "toml:2: unknown key 'user_factor' in [profiles.ci]; did you mean 'users_factor'?"),
    ("[scenarios.checkout]\nvus = 5\n", "toml:1: [scenarios.checkout] runs constant-vus and has no duration; add e.g. "
                                         'duration = "1m"'),
    ('[scenarios.feed]\nexecutor = "constant-arrival-rate"\nrate = 5\n', "[scenarios.feed] runs constant-arrival-rate "
                                                                          "and has no duration"),
    ('profil = "smoke"\n', "toml:1: unknown key 'profil' at the top level; did you mean 'profile'?"),
    ('[scenarios.load]\nstages = [{ duration = "1m", targt = 10 }]\n',
     "toml:2: unknown key 'targt' in [scenarios.load.stages]; did you mean 'target'?"),
])
def test_a_misspelt_key_or_a_missing_duration_is_refused_before_anything_runs(tmp_path: Path, clean_env: None,
                                                                              body: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_config(write(tmp_path, body))


def test_an_unknown_profile_suggests_the_closest(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown profile 'smok'; did you mean 'smoke'?")):
        load_config(write(tmp_path, ""), profile="smok")


def test_the_accounts_password_comes_from_the_variable_the_config_names(tmp_path: Path, clean_env: None,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[accounts]\nemail = "load{n}@shop.test"\npassword_env = "PERF_PASSWORD"\n')
    unset = load_config(path)  # read commands (perfmon history) need no password
    with pytest.raises(ConfigError, match=re.escape("toml:3: accounts.password_env names PERF_PASSWORD, which is "
                                                    "not set; export it")):
        unset.accounts.check()  # a run does, before anything runs
    with pytest.raises(ConfigError, match="PERF_PASSWORD, which is not set"):
        unset.accounts.for_user(1)
    monkeypatch.setenv("PERF_PASSWORD", "s3cret-from-ci")
    assert load_config(path).accounts.for_user(2) == ("load2@shop.test", "s3cret-from-ci")
    both = write(tmp_path, '[accounts]\npassword = "x"\npassword_env = "PERF_PASSWORD"\n')
    with pytest.raises(ConfigError, match="either password or password_env, not both"):
        load_config(both)


def test_users_and_duration_from_the_command_line_override_every_scenario_after_the_profile(
        tmp_path: Path, clean_env: None) -> None:
    from dataclasses import replace

    cfg = replace(load_config(write(tmp_path, '[scenarios.feed]\nexecutor = "constant-arrival-rate"\nrate = 50\n'
                                              'duration = "1m"\nmax_vus = 40\n')),
                  override_users=20, override_duration_s=30.0)
    load = cfg.scenario("load")  # a ramp keeps its shape: 20 % of the peak, the peak, down to zero
    assert [s.target for s in load.stages] == [4, 20, 20, 0] and load.total_duration_s == pytest.approx(30)
    endurance = cfg.scenario("endurance")
    assert (endurance.vus, endurance.total_duration_s) == (20, 30)
    feed = cfg.scenario("feed")  # an arrival rate keeps its rate; the users are its ceiling
    assert (feed.rate, feed.max_vus, feed.duration_s) == (5.0, 20, 30)


def test_the_environments_are_named_with_the_closest_one(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown environment 'stagin'; did you mean 'staging'?")):
        load_config(write(tmp_path, ""), environment="stagin")
    with pytest.raises(ConfigError, match=re.escape("choose one of development, staging, production, ci, local (the "
                                                    "results tables accept these five")):
        load_config(write(tmp_path, ""), environment="preview")


def test_an_unknown_scenario_suggests_the_closest(tmp_path: Path, clean_env: None) -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown scenario 'stres'; did you mean 'stress'?")):
        load_config(write(tmp_path, "")).scenario("stres")


def test_a_scenarios_max_body_mb_is_read_and_checked(tmp_path: Path) -> None:
    (tmp_path / "perfmon.toml").write_text('[scenarios.big]\nvus = 1\nduration = "1s"\nmax_body_mb = 64\n'
                                           '[scenarios.none]\nvus = 1\nduration = "1s"\nmax_body_mb = 0\n')
    with pytest.raises(ConfigError, match=r"perfmon.toml:8: scenarios.none.max_body_mb = 0: expected a finite"):
        load_config(tmp_path / "perfmon.toml")
    (tmp_path / "perfmon.toml").write_text('[scenarios.big]\nvus = 1\nduration = "1s"\nmax_body_mb = 64\n')
    cfg = load_config(tmp_path / "perfmon.toml")
    assert cfg.scenario("big").max_body_mb == 64 and cfg.scenario("load").max_body_mb == 10


def test_an_unknown_top_level_key_is_placed_where_the_file_has_it(tmp_path: Path, clean_env: None) -> None:
    """A perfmon.toml has no [tool.perfmon] header, so the error does not name one; pyproject.toml does."""
    (tmp_path / "pyproject.toml").write_text('[tool.perfmon]\nprofil = "smoke"\n')
    with pytest.raises(ConfigError, match=re.escape("pyproject.toml:2: unknown key 'profil' in [tool.perfmon]")):
        load_config(tmp_path / "pyproject.toml")
    with pytest.raises(ConfigError, match=re.escape("perfmon.toml:1: unknown key 'profil' at the top level")):
        load_config(write(tmp_path, 'profil = "smoke"\n'))
