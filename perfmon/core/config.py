"""Configuration: ``[tool.perfmon]`` in pyproject.toml (or a perfmon.toml), then env, then CLI.

Precedence, lowest first: built-in defaults < file < ``PERFMON_*``/``BASE_URL`` env < explicit
arguments (pytest options or ``perfmon`` flags). Profiles (smoke, ci, release) scale the
scenarios' durations and users so one definition serves CI and the full release run.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .config_reader import Reader
from .durations import parse_duration
from .errors import ConfigError
from .redaction import redact
from .thresholds import Threshold, parse_thresholds

__all__ = [
    "BUILTIN_BROWSER_THRESHOLDS",
    "DEFAULT_FLOORS",
    "JUDGED_METRICS",
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
    "find_config_file",
    "load_config",
    "parse_duration",
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

    @property
    def total_duration_s(self) -> float:
        return sum(s.duration_s for s in self.stages) if self.stages else self.duration_s

    @property
    def peak_vus(self) -> int:
        return max([s.target for s in self.stages], default=self.vus) if self.stages else self.vus

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

    def for_user(self, n: int) -> tuple[str, str]:
        """Email and password of virtual user ``n`` (1-based)."""
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

    def browser_thresholds(self) -> list[Threshold]:
        """The thresholds that judge browser journeys: the browser scenario's own, then each
        built-in default whose metric the config leaves unset."""
        own = list(self.scenarios["browser"].thresholds) if "browser" in self.scenarios else []
        covered = {t.metric for t in own}
        builtin = [replace(t, builtin=True) for t in parse_thresholds(BUILTIN_BROWSER_THRESHOLDS)
                   if t.metric not in covered]
        return own + builtin

    def scenario(self, name: str) -> Scenario:
        """The named scenario, scaled by the active profile (and sliced to this shard of a sharded run)."""
        try:
            found = self.scenarios[name].scaled(self.profile)
        except KeyError:
            known = ", ".join(sorted(self.scenarios)) or "none"
            raise ConfigError(
                f"unknown scenario {name!r}; known: {known}. Add [tool.perfmon.scenarios.{name}] to the config"
            ) from None
        return found.sliced(self.shard) if self.shard is not None else found


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (saved as UTF-16?); save it as UTF-8 and run again") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions") from None


def find_config_file(start: Path | None = None) -> Path | None:
    """The nearest perfmon.toml, or pyproject.toml with a [tool.perfmon] table, at or above ``start``."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "perfmon.toml").is_file():
            return d / "perfmon.toml"
        pp = d / "pyproject.toml"
        if pp.is_file() and "[tool.perfmon" in _read_text(pp):
            return pp
    return None


def _table(path: Path) -> tuple[dict[str, Any], str]:
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax and run again") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        data = tool.get("perfmon", {}) if isinstance(tool, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: tool.perfmon must be a table, [tool.perfmon]")
    return data, text


_KNOWN_KEYS = ("environment", "store", "base_url", "target_command", "target_db", "target_db_interval", "profile",
               "scenarios", "profiles", "monitor",
               "unreliable_saturation", "min_clean_share", "accounts", "suites", "report_dir", "regressions",
               "regression_gate", "instrument_playwright")


def _scenario(name: str, value: Any, read: Reader) -> Scenario:
    raw = read.table("scenarios", name, value)
    table = f"scenarios.{name}"
    executor = read.text_value(table, "executor", raw.get("executor", "constant-vus"))
    if executor not in EXECUTORS:
        raise read.fail(table, "executor", executor, f"one of {', '.join(EXECUTORS)}")
    example = "{duration = '1m', target = 10}"
    stages = tuple(
        Stage(read.duration(table, "duration", s.get("duration")), read.integer(table, "target", s.get("target", 0)))
        for s in read.tables(table, "stages", raw.get("stages", []), example)
    )
    if executor.startswith("ramping") and not stages:
        raise read.fail(table, "stages", raw.get("stages", []), f"at least one stage for {executor}, e.g. [{example}]")
    users_key = "users" if "users" in raw and "vus" not in raw else "vus"
    arrival = executor.endswith("arrival-rate")
    rate = read.number(table, "rate", raw.get("rate", 0))
    if executor == "constant-arrival-rate" and rate <= 0:
        raise read.fail(table, "rate", raw.get("rate", 0), "iterations per second above 0 for constant-arrival-rate")
    max_key = "maxVUs" if "maxVUs" in raw and "max_vus" not in raw else "max_vus"
    stop_key = "gracefulStop" if "gracefulStop" in raw and "graceful_stop" not in raw else "graceful_stop"
    thresholds = read.table(table, "thresholds", raw.get("thresholds", {}))
    return Scenario(
        name=name,
        executor=executor,
        vus=read.integer(table, users_key, raw.get(users_key, 1), minimum=0 if arrival else 1),
        duration_s=read.duration(table, "duration", raw.get("duration", 0)),
        stages=stages,
        rate=rate,
        max_vus=read.integer(table, max_key, raw.get(max_key, 0)),
        iterations=read.integer(table, "iterations", raw.get("iterations", 1), minimum=1),
        think_time_s=read.duration(table, "think_time", raw.get("think_time", "1s")),
        min_duration_s=read.duration(table, "min_duration", raw.get("min_duration", 0)),
        processes=_processes(raw.get("processes", "auto"), read.where(table, "processes")),
        graceful_stop_s=None if stop_key not in raw else read.duration(table, stop_key, raw[stop_key]),
        transport=_transport(raw.get("transport", "lean"), read.where(table, "transport")),
        thresholds=tuple(parse_thresholds(thresholds, source=read.source, text=read.text)),
    )


def _transport(raw: Any, where: str) -> str:
    if raw in ("lean", "aiohttp"):
        return str(raw)
    raise ConfigError(f"{where}: transport = {raw!r}; write \"lean\" (the default) or \"aiohttp\" (for a server "
                      "the lean client does not speak to)")


def _processes(raw: Any, where: str) -> int:
    if raw == "auto":
        return 0  # resolved when the scenario runs (load/processes.py), from its rate or users
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
        return raw
    raise ConfigError(f"{where}: processes = {raw!r}; write a whole number of at least 1, or \"auto\" (the default: "
                      "as many as the scenario's rate or users need, up to one per core)")


def _profile(name: str, value: Any, read: Reader) -> Profile:
    raw = read.table("profiles", name, value)
    table = f"profiles.{name}"
    think = raw.get("think_time")
    return Profile(
        name=name,
        max_duration_s=read.duration(table, "max_duration", raw.get("max_duration", 0)),
        users_factor=read.number(table, "users_factor", raw.get("users_factor", 1.0), above=True, maximum=1000),
        browser_iterations=read.integer(table, "browser_iterations", raw.get("browser_iterations", 1), minimum=1),
        think_time_s=None if think is None else read.duration(table, "think_time", think),
    )


def _regression_gate(raw: Any, read: Reader) -> GateSettings:
    """``[tool.perfmon.regression_gate]``: the baseline size, the false discovery rate, the minimum effect."""
    name = "regression_gate"
    raw = read.table("", name, raw)
    known = ("baseline_runs", "min_runs", "fdr", "min_change", "min_effect")
    for key in raw:
        if key not in known:
            raise read.fail(name, key, raw[key], f"one of the keys {', '.join(known)}")
    found = GateSettings()
    min_runs = read.integer(name, "min_runs", raw.get("min_runs", found.min_runs), minimum=2)
    baseline = read.integer(name, "baseline_runs", raw.get("baseline_runs", found.baseline_runs), minimum=min_runs)
    fdr = read.number(name, "fdr", raw.get("fdr", found.fdr), above=True, maximum=0.5)
    change = read.number(name, "min_change", raw.get("min_change", found.min_change), maximum=1)
    own: dict[str, MinEffect] = {}
    table = f"{name}.min_effect"
    for metric, value in read.table(name, "min_effect", raw.get("min_effect", {})).items():
        if metric not in JUDGED_METRICS:
            raise read.fail(table, metric, value, f"a judged metric: {', '.join(JUDGED_METRICS)}")
        effect = read.table(table, metric, value)
        if not effect or set(effect) - {"change", "floor"}:
            raise read.fail(table, metric, dict(effect), '{ change = 0.05, floor = 2.0 } (either or both)')
        own[metric] = MinEffect(
            None if "change" not in effect else read.number(table, metric, effect["change"], maximum=1),
            None if "floor" not in effect else read.number(table, metric, effect["floor"]))
    return GateSettings(baseline_runs=baseline, min_runs=min_runs, fdr=fdr, min_change=change, min_effect_of=own)


_Section = TypeVar("_Section", Accounts, Suites)


def _section(cls: type[_Section], raw: Any, read: Reader, name: str) -> _Section:
    """A small table such as ``[tool.perfmon.accounts]``: known keys only, each of its default's type."""
    defaults = cls()
    raw = read.table("", name, raw)
    unknown = set(raw) - set(vars(defaults))
    if unknown:
        raise ConfigError(f"{read.where(name)}: [tool.perfmon.{name}] has unknown key(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(vars(defaults))}")
    for key, value in raw.items():
        want = type(getattr(defaults, key))
        if not isinstance(value, want) or isinstance(value, bool):
            raise read.fail(name, key, value, f"a {want.__name__}")
    found = replace(defaults, **raw)
    if isinstance(found, Accounts):
        if found.count < 1:
            raise read.fail(name, "count", found.count, "a whole number of at least 1")
        try:
            found.for_user(1)
        except (KeyError, IndexError, ValueError):
            raise read.fail(name, "email", found.email, "the user number written as {n}, e.g. 'vu{n:04d}@example.com'"
                            ) from None
    return found


def load_config(
    path: Path | None = None,
    *,
    profile: str | None = None,
    environment: str | None = None,
    store: str | None = None,
    base_url: str | None = None,
    env: Mapping[str, str] | None = None,
    target_db: str | None = None,
) -> Config:
    """Read the config file, apply env (``PERFMON_PROFILE``, ``PERFMON_ENV``, ``PERFMON_STORE``,
    ``BASE_URL``, ``PERFMON_TARGET_DB``) and then explicit arguments."""
    env = os.environ if env is None else env
    defaults = Config()
    path = path or find_config_file()
    data: dict[str, Any] = {}
    read = Reader("defaults")
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; pass an existing pyproject.toml or perfmon.toml")
        data, text = _table(path)
        read = Reader(str(path), text)
    unknown = sorted(set(data) - set(_KNOWN_KEYS))
    if unknown:
        raise ConfigError(f"{read.where('', unknown[0])}: unknown key {unknown[0]!r} in [tool.perfmon]; "
                          f"known: {', '.join(_KNOWN_KEYS)}")
    found_scenarios = read.table("", "scenarios", data.get("scenarios", {}))
    scenarios = {n: _scenario(n, raw, read) for n, raw in found_scenarios.items()}
    profiles = {n: _profile(n, raw, read) for n, raw in read.table("", "profiles", data.get("profiles", {})).items()}
    profiles.setdefault(defaults.profile.name, defaults.profile)

    def setting(key: str, default: str | None) -> str | None:
        return read.text_value("", key, data[key]) if key in data else default

    chosen = profile or env.get("PERFMON_PROFILE") or setting("profile", None) or defaults.profile.name
    if chosen not in profiles:
        raise ConfigError(
            f"unknown profile {chosen!r}; choose one of {', '.join(sorted(profiles))} "
            f"or add [tool.perfmon.profiles.{chosen}]"
        )
    environment = environment or env.get("PERFMON_ENV") or setting("environment", None) or defaults.environment
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {environment!r}; choose one of {', '.join(ENVIRONMENTS)}")
    gates_raw = read.table("", "monitor", data.get("monitor", {}))
    known_gates = set(vars(defaults.monitor))
    for key in gates_raw:
        if key not in known_gates:
            raise read.fail("monitor", key, gates_raw[key], f"one of the keys {', '.join(sorted(known_gates))}")
    gates = MonitorGates(**{k: read.number("monitor", k, v) for k, v in gates_raw.items()})
    unreliable = read.number("", "unreliable_saturation", data.get("unreliable_saturation",
                                                                   defaults.unreliable_saturation), maximum=1)
    min_clean = read.number("", "min_clean_share", data.get("min_clean_share", defaults.min_clean_share), maximum=1)
    target_db = target_db or env.get("PERFMON_TARGET_DB") or setting("target_db", None) or None
    if target_db and urlsplit(target_db).scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"target_db {redact(target_db)!r} is not a PostgreSQL URL; write "
                          "postgresql://user:password@host:5432/dbname (Supabase: the project's connection string)")
    db_interval = read.number("", "target_db_interval", data.get("target_db_interval", defaults.target_db_interval_s),
                              minimum=0.1)
    regressions = setting("regressions", defaults.regressions) or defaults.regressions
    if regressions not in REGRESSION_MODES:
        raise read.fail("", "regressions", regressions, f"one of {', '.join(REGRESSION_MODES)}")
    instrument = data.get("instrument_playwright", False)
    if not isinstance(instrument, bool):
        raise read.fail("", "instrument_playwright", instrument, "true or false")
    return Config(
        instrument_playwright=instrument,
        regressions=regressions,
        target_db=target_db,
        target_db_interval_s=db_interval,
        regression_gate=_regression_gate(data.get("regression_gate", {}), read),
        unreliable_saturation=unreliable,
        min_clean_share=min_clean,
        environment=environment,
        store=store or env.get("PERFMON_STORE") or setting("store", None) or defaults.store,
        base_url=base_url or env.get("BASE_URL") or setting("base_url", None) or None,
        target_command=setting("target_command", defaults.target_command) or defaults.target_command,
        accounts=_section(Accounts, data.get("accounts", {}), read, "accounts"),
        suites=_section(Suites, data.get("suites", {}), read, "suites"),
        report_dir=setting("report_dir", defaults.report_dir) or defaults.report_dir,
        profile=profiles[chosen],
        scenarios=scenarios,
        monitor=gates,
        root=path.parent if path is not None else Path.cwd(),
        source=read.source,
    )
