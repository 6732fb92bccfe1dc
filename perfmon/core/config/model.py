"""The resolved configuration as typed, frozen objects: scenarios, profiles, shards, the monitor's
gates, the regression gate's settings, accounts and suites. Their field defaults are perfmon's
built-in defaults, declared here and nowhere else (the file, the environment and options only
override them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError
from ..suggest import did_you_mean
from ..thresholds import Threshold, parse_thresholds

__all__ = [
    "BUILTIN_BROWSER_THRESHOLDS",
    "BUILTIN_SCENARIO_THRESHOLDS",
    "DEFAULT_FLOORS",
    "ENVIRONMENTS",
    "EXECUTORS",
    "JUDGED_METRICS",
    "REGRESSION_MODES",
    "Accounts",
    "Config",
    "GateSettings",
    "MinEffect",
    "MonitorGates",
    "Profile",
    "Scenario",
    "Shard",
    "Stage",
    "Suites",
]

EXECUTORS = ("constant-vus", "ramping-vus", "constant-arrival-rate", "ramping-arrival-rate", "per-vu-iterations")
REGRESSION_MODES = ("fail", "warn", "off")
ENVIRONMENTS = ("development", "staging", "production", "ci", "local")

# The spec's browser gates, applied when a run has browser journeys and the config sets no threshold of its
# own on that metric. They are built-in defaults: one whose metric the suite never records is shown as
# "no data" and does not fail the run (a threshold the user wrote does).
BUILTIN_BROWSER_THRESHOLDS: Mapping[str, list[str]] = {
    "browser_vital_lcp": ["p(75)<=2500"],
    "browser_vital_inp": ["p(75)<=200"],
    "browser_vital_cls": ["p(75)<=0.1"],
    "browser_step_duration": ["p(95)<2000"],
}
# Every API scenario's default, as k6 users write `checks: rate>0.99`: a journey that raises on more
# than one iteration in a hundred fails the run (a script error is not a passing run with 0% errors).
# A threshold the user writes on iteration_failed replaces it.
BUILTIN_SCENARIO_THRESHOLDS: Mapping[str, list[str]] = {"iteration_failed": ["rate<0.01"]}


# Absolute floors of the minimum effect, per unit: below these a change is noise to a person.
DEFAULT_FLOORS: Mapping[str, float] = {"ms": 1.0, "share": 0.002, "/s": 0.5, "MB": 5.0, "": 0.005}
# The metrics the regression gate judges (analysis/series.py), the keys [regression_gate.min_effect] takes.
JUDGED_METRICS = ("http_req_duration", "http_req_failed", "http_reqs", "browser_vital_lcp", "browser_vital_inp",
                  "browser_vital_cls", "browser_vital_fcp", "browser_vital_ttfb", "browser_step_duration",
                  "process_rss_mb", "sustainable_rate")


@dataclass(frozen=True)
class MinEffect:
    """One metric's own minimum effect: ``change`` relative, ``floor`` in the metric's unit (None: the default)."""

    change: float | None = None
    floor: float | None = None


@dataclass(frozen=True)
class GateSettings:
    """How runs are judged against their history (``[tool.perfmon.regression_gate]``)."""

    baseline_runs: int = 10  # the last N comparable runs
    min_runs: int = 3  # fewer: "not enough history", no verdict
    fdr: float = 0.02  # Benjamini–Hochberg false discovery rate across a run's series
    min_change: float = 0.03  # relative minimum effect
    min_effect_of: Mapping[str, MinEffect] = field(default_factory=dict)  # per metric, over the defaults
    power: float = 0.8  # for the sensitivity each series reports

    def min_effect(self, baseline: float, unit: str, metric: str = "") -> float:
        """The smallest change that matters: ``min_change`` of the baseline, never below the unit's floor
        (or the metric's own change and floor when the config gives them)."""
        own = self.min_effect_of.get(metric, MinEffect())
        floor = own.floor if own.floor is not None else DEFAULT_FLOORS.get(unit, 0.0)
        change = own.change if own.change is not None else self.min_change
        return max(change * abs(baseline), floor)


@dataclass(frozen=True)
class Stage:
    duration_s: float
    target: int


@dataclass(frozen=True)
class Profile:
    name: str
    max_duration_s: float = 0.0  # 0: keep the scenario's duration
    users_factor: float = 1.0
    browser_iterations: int = 1
    think_time_s: float | None = None

    def describe(self) -> str:
        """``profile smoke: every scenario squeezed into 12 s, users x0.1, 1 journey iteration per user``."""
        squeeze = (f"every scenario squeezed into {self.max_duration_s:g} s" if self.max_duration_s
                   else "every scenario at its own duration")
        return (f"profile {self.name}: {squeeze}, users x{self.users_factor:g}, {self.browser_iterations} journey "
                f"iteration(s) per virtual user")


@dataclass(frozen=True)
class Shard:
    """This runner's slice of a run spread over ``count`` independent runners (``--perf-shard i/N``):
    a CI matrix job or a Kubernetes Indexed Job, each storing its part under one run id."""

    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def share(self, n: int) -> int:
        """This shard's part of ``n`` whole things (users, iterations): the parts add up to ``n``."""
        return n // self.count + (1 if self.index - 1 < n % self.count else 0)

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, _, count = text.strip().partition("/")
        try:
            found = cls(int(index), int(count))
        except ValueError:
            found = cls(0, 0)
        if not 1 <= found.index <= found.count:
            raise ConfigError(f"shard {text!r} is not I/N with 1 <= I <= N; the first of three runners is 1/3")
        return found


@dataclass(frozen=True)
class Scenario:
    """A workload in k6's terms plus its thresholds."""

    name: str
    executor: str
    vus: int = 1
    duration_s: float = 0.0
    stages: tuple[Stage, ...] = ()
    rate: float = 0.0  # iterations per second, for arrival-rate executors
    max_vus: int = 0
    iterations: int = 1
    think_time_s: float = 1.0
    thresholds: tuple[Threshold, ...] = ()
    min_duration_s: float = 0.0  # shorter than this the scenario measures nothing (e.g. a spike's recovery)
    processes: int = 0  # load generator processes; 0 ("auto"): as many as its rate or users need, up to one per core
    graceful_stop_s: float | None = None  # k6's gracefulStop; None: the engine's default (30 s)
    transport: str = "lean"  # "lean" (plain HTTP through perfmon's own client) or "aiohttp" (all through aiohttp)
    max_body_mb: float = 10.0  # a response body past this (MiB, declared, received or inflated) fails its request

    @property
    def total_duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages) if self.stages else self.duration_s

    @property
    def peak_vus(self) -> int:
        return max([s.target for s in self.stages], default=self.vus) if self.stages else self.vus

    def judged_by(self) -> list[Threshold]:
        """The thresholds that judge this scenario: its own, then each built-in default on a metric it
        sets no threshold on, narrowed to the scenario's own series."""
        covered = {t.metric.split("{", 1)[0] for t in self.thresholds}
        builtin = [replace(t, metric=f"{t.metric}{{scenario:{self.name}}}", builtin=True)
                   for t in parse_thresholds(BUILTIN_SCENARIO_THRESHOLDS) if t.metric not in covered]
        return [*self.thresholds, *builtin]

    def scaled(self, profile: Profile) -> Scenario:
        """The scenario squeezed into the profile: durations cut proportionally to
        ``max_duration``, users multiplied by ``users_factor`` (never below 1)."""
        total = self.total_duration_s
        cap = max(profile.max_duration_s, self.min_duration_s) if profile.max_duration_s else 0.0
        k = cap / total if cap and total > cap else 1.0

        def users(n: int) -> int:
            return max(1, round(n * profile.users_factor)) if n else 0

        return replace(
            self,
            vus=users(self.vus),
            duration_s=self.duration_s * k,
            stages=tuple(Stage(s.duration_s * k, users(s.target)) for s in self.stages),
            rate=self.rate * profile.users_factor,
            max_vus=users(self.max_vus),
            iterations=profile.browser_iterations if self.executor == "per-vu-iterations" else self.iterations,
            think_time_s=profile.think_time_s if profile.think_time_s is not None else self.think_time_s,
        )

    def overridden(self, users: int | None, duration_s: float | None) -> Scenario:
        """The scenario at ``users`` at its peak and lasting ``duration_s`` (``perfmon run --users N
        --duration 30s``, as k6's --vus and --duration): a ramp keeps its shape, scaled to both; an
        arrival-rate scenario keeps its rate and gets ``users`` as its ceiling. None leaves a dimension."""
        found = self
        if users is not None and self.rate:
            found = replace(found, max_vus=users, vus=min(found.vus, users) or users)
        elif users is not None and self.stages:
            k = users / max(self.peak_vus, 1)
            found = replace(found, stages=tuple(Stage(s.duration_s, max(1, round(s.target * k)) if s.target else 0)
                                                for s in found.stages))
        elif users is not None:
            found = replace(found, vus=users)
        total = found.total_duration_s
        if duration_s is not None and found.stages and total:
            found = replace(found, stages=tuple(Stage(s.duration_s * duration_s / total, s.target)
                                                for s in found.stages))
        elif duration_s is not None and found.executor != "per-vu-iterations":
            found = replace(found, duration_s=duration_s)
        return found

    def sliced(self, shard: Shard) -> Scenario:
        """This shard's part of the scenario: its share of the users, of a ramp's targets and of the
        arrival rate (the parts add up to the whole); durations stay, so the shards run side by side."""
        if self.peak_vus and self.peak_vus < shard.count and self.rate == 0:
            raise ConfigError(f"scenario {self.name!r} has {self.peak_vus} user(s), fewer than the {shard.count} "
                              "shards: give it at least one user per shard, or run fewer shards")

        def users(n: int) -> int:
            return max(1, shard.share(n)) if n else 0

        return replace(
            self, vus=users(self.vus), stages=tuple(Stage(s.duration_s, shard.share(s.target)) for s in self.stages),
            rate=self.rate / shard.count, max_vus=users(self.max_vus),
        )


@dataclass(frozen=True)
class MonitorGates:
    """The monitor's pass/fail gates (the spec's validate_performance_thresholds)."""

    max_avg_response_time_ms: float = 1500.0
    max_p95_response_time_ms: float = 3000.0
    max_error_rate: float = 0.01
    min_throughput_rps: float = 50.0


@dataclass(frozen=True)
class Accounts:
    """The target's seeded accounts: virtual user ``n`` (1-based) logs in as ``email.format(n=n)``,
    wrapping round after ``count``, so concurrent sessions never share one account."""

    email: str = "vu{n:04d}@example.com"
    password: str = "testpassword"
    count: int = 500
    # The variable the password is read from (a CI secret), instead of `password` in a committed file.
    password_env: str = ""
    where: str = field(default="", compare=False, repr=False)  # file:line of password_env, for its error

    def check(self) -> None:
        """Raise ConfigError when the password's variable is named but not set (before a run needs it)."""
        if self.password_env and not self.password:
            raise ConfigError(f"{self.where or 'accounts'}: accounts.password_env names {self.password_env}, which "
                              "is not set; export it (a CI secret) and run again")

    def for_user(self, n: int) -> tuple[str, str]:
        """Email and password of virtual user ``n`` (1-based)."""
        self.check()
        return self.email.format(n=(n - 1) % self.count + 1), self.password


@dataclass(frozen=True)
class Suites:
    """Where the product's suites live, and the scripts a hybrid run's background load runs."""

    browser: str = "tests/browser_perf"
    api: str = "tests/api_perf"
    load_script: str = "tests/api_perf/journeys.py:supplier_journey"
    load_on_start: str = "tests/api_perf/journeys.py:log_in"


@dataclass(frozen=True)
class Config:
    """The resolved configuration. Its field defaults are perfmon's built-in defaults, declared
    here and nowhere else (the config file, env and options only override them)."""

    environment: str = "development"
    store: str = "sqlite:///.perfmon/results.db"
    base_url: str | None = None
    target_command: str = "{python} -m demo_app --port {port}"
    profile: Profile = field(default_factory=lambda: Profile("release"))
    scenarios: Mapping[str, Scenario] = field(default_factory=dict)
    monitor: MonitorGates = field(default_factory=MonitorGates)
    root: Path = field(default_factory=Path.cwd)
    source: str | None = None
    # Browser numbers are flagged unreliable when the client CPU was saturated longer than this share.
    unreliable_saturation: float = 0.2
    # Fewer than this share of a browser metric's samples measured on an unsaturated client: unmeasured.
    min_clean_share: float = 0.8
    accounts: Accounts = field(default_factory=Accounts)
    suites: Suites = field(default_factory=Suites)
    report_dir: str = "perf-reports"
    # What a regression against the run's history does: fail the run, only warn, or nothing (no check).
    regressions: str = "fail"
    regression_gate: GateSettings = field(default_factory=GateSettings)
    # The target's PostgreSQL, sampled read-only during the run (target_db.py), and how often.
    target_db: str | None = None
    target_db_interval_s: float = 1.0
    shard: Shard | None = None  # this runner's slice of a sharded run (--perf-shard); None: the whole run
    # Measure pytest-playwright's own page/context fixtures as journeys (as --perf does).
    instrument_playwright: bool = False
    # `perfmon run --users N --duration D` (--perf-users, --perf-duration): every scenario at N users
    # at its peak, lasting D, after the profile has scaled it.
    override_users: int | None = None
    override_duration_s: float | None = None

    def browser_thresholds(self) -> list[Threshold]:
        """The thresholds that judge browser journeys: the browser scenario's own, then each
        built-in default whose metric the config leaves unset."""
        own = list(self.scenarios["browser"].thresholds) if "browser" in self.scenarios else []
        covered = {t.metric for t in own}
        builtin = [replace(t, builtin=True) for t in parse_thresholds(BUILTIN_BROWSER_THRESHOLDS)
                   if t.metric not in covered]
        return own + builtin

    def scenario_lengths(self) -> str:
        """``load 12 s, stress 12 s, …``: how long each API scenario runs under this profile and the
        command line's overrides (which of them a run starts, only its tests know)."""
        whole = replace(self, shard=None)  # a shard runs every scenario for as long as the whole run does
        return ", ".join(f"{name} {whole.scenario(name).total_duration_s:g} s" for name in sorted(self.scenarios)
                         if self.scenarios[name].executor != "per-vu-iterations")

    def scenario(self, name: str) -> Scenario:
        """The named scenario, scaled by the active profile (and sliced to this shard of a sharded run)."""
        try:
            found = self.scenarios[name].scaled(self.profile).overridden(self.override_users, self.override_duration_s)
        except KeyError:
            known = ", ".join(sorted(self.scenarios)) or "none"
            raise ConfigError(
                f"unknown scenario {name!r}{did_you_mean(name, self.scenarios)}; known: {known}. Add "
                f"[tool.perfmon.scenarios.{name}] to the config"
            ) from None
        return found.sliced(self.shard) if self.shard is not None else found
