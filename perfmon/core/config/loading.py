"""Reading the configuration: ``[tool.perfmon]`` in pyproject.toml (or a perfmon.toml), then the
environment (``core/env.py``), then explicit arguments.

Precedence, lowest first: built-in defaults (``model.py``; the spec's scenarios and the smoke, ci
and release profiles in ``builtin.toml``) < file < ``PERFMON_*``/``BASE_URL`` environment < explicit
arguments (pytest options or ``perfmon`` flags). The file overrides ``builtin.toml`` key by key
(:func:`merged`). Profiles scale the scenarios' durations and users so one definition serves a pull
request, the nightly run and the release run.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..durations import parse_duration
from ..env import VARIABLES, read_named
from ..env import read as read_env
from ..errors import ConfigError
from ..metrics.catalog import misspelt
from ..metrics.registry import parse_selector
from ..redaction import redact
from ..suggest import did_you_mean
from ..thresholds import Threshold, parse_thresholds
from .model import (
    ENVIRONMENTS,
    EXECUTORS,
    JUDGED_METRICS,
    REGRESSION_MODES,
    Accounts,
    Config,
    GateSettings,
    MinEffect,
    MonitorGates,
    Profile,
    Scenario,
    Stage,
    Suites,
)
from .reader import Reader

__all__ = [
    "DEFAULT_PROFILE",
    "builtin_tables",
    "builtin_text",
    "check_base_url",
    "find_config_file",
    "load_config",
    "merged",
    "with_overrides",
]

DEFAULT_PROFILE = "smoke"  # the cheapest: forgetting --profile never starts a 25-minute run


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


def builtin_text() -> str:
    """``builtin.toml``'s tables as written (its opening comment left out): what ``perfmon init`` shows."""
    text = resources.files(__package__).joinpath("builtin.toml").read_text(encoding="utf-8")
    return text[text.index("\n[") + 1:]


@functools.cache
def builtin_tables() -> Mapping[str, Any]:
    """``builtin.toml``: the spec's scenarios and the three profiles, as plain tables."""
    return tomllib.loads(builtin_text())


def merged(builtin: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """The file's tables over the built-in ones, key by key: a profile's keys one by one, a scenario's
    thresholds metric by metric. A scenario's workload is taken whole from the file when the file sets
    any of it (``vus = 10`` and ``duration = "30s"`` mean ten users for 30 s, not the built-in ramp with
    a stray ``vus``); its other keys (think time, transport...) one by one."""
    out = dict(own)
    for section in ("scenarios", "profiles"):
        mine = own.get(section, {})
        if not isinstance(mine, Mapping):
            continue  # reported as "expected a table" where it is read
        tables = {name: dict(table) for name, table in builtin.get(section, {}).items()}
        for name, table in mine.items():
            base = tables.get(name, {})
            if not isinstance(table, Mapping):
                tables[name] = table
                continue
            if section == "scenarios" and set(table).intersection(_WORKLOAD):
                base = {k: v for k, v in base.items() if k not in _WORKLOAD}
            both = {**base, **table}
            if isinstance(base.get("thresholds"), Mapping) and isinstance(table.get("thresholds"), Mapping):
                both["thresholds"] = {**base["thresholds"], **table["thresholds"]}
            tables[name] = both
        out[section] = tables
    return out


_WORKLOAD = ("executor", "vus", "users", "duration", "stages", "rate", "max_vus", "maxVUs", "iterations",
             "min_duration")
_SCENARIO_KEYS = (*_WORKLOAD, "think_time", "processes", "graceful_stop", "gracefulStop", "transport", "max_body_mb",
                  "thresholds")
_PROFILE_KEYS = ("max_duration", "users_factor", "browser_iterations", "think_time")


def known_keys(read: Reader, table: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
    """Refuse a key ``table`` does not have, with its line and the closest known key."""
    for key in raw:
        if key not in known:
            hint = did_you_mean(key, known) or f"; known: {', '.join(known)}"
            # A perfmon.toml has no [tool.perfmon] header: its top level is the file itself.
            where = f"in [{table}]" if table else "in [tool.perfmon]" if read.source.endswith("pyproject.toml") \
                else "at the top level"
            raise ConfigError(f"{read.where(table, key)}: unknown key {key!r} {where}{hint}")


def _scenario(name: str, value: Any, read: Reader) -> Scenario:
    raw = read.table("scenarios", name, value)
    table = f"scenarios.{name}"
    known_keys(read, table, raw, _SCENARIO_KEYS)
    # As k6 infers its executor from the shortcuts: stages ramp, a rate arrives, users hold.
    inferred = ("ramping-" if raw.get("stages") else "constant-") + ("arrival-rate" if raw.get("rate") else "vus")
    executor = read.text_value(table, "executor", raw.get("executor", inferred))
    if executor not in EXECUTORS:
        raise read.fail(table, "executor", executor, f"one of {', '.join(EXECUTORS)}")
    example = "{duration = '1m', target = 10}"
    given = read.tables(table, "stages", raw.get("stages", []), example)
    for stage in given:  # a misspelt `targt` would otherwise ramp to 0 users
        known_keys(read, f"{table}.stages", stage, ("duration", "target"))
    stages = tuple(
        Stage(read.duration(table, "duration", s.get("duration")), read.integer(table, "target", s.get("target", 0)))
        for s in given
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
    found = Scenario(
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
        max_body_mb=read.number(table, "max_body_mb", raw.get("max_body_mb", Scenario.max_body_mb), minimum=0,
                                above=True),
        thresholds=tuple(_checked(parse_thresholds(thresholds, source=read.source, text=read.text), read, table)),
    )
    if executor.startswith("constant") and not found.duration_s:  # last: a wrong value is named first
        raise ConfigError(f"{read.where(table)}: [{table}] runs {executor} and has no duration; add e.g. "
                          "duration = \"1m\"")
    return found


def _checked(thresholds: list[Threshold], read: Reader, table: str) -> list[Threshold]:
    """Refuse a threshold whose metric is one letter off a built-in one: told now, not as "no samples"
    after the whole run (a custom metric far from every built-in name is the suite's own)."""
    for t in thresholds:
        name = parse_selector(t.metric)[0]
        if (meant := misspelt(name)) is not None:
            raise ConfigError(f"{read.where(f'{table}.thresholds', t.metric)}: threshold metric {name!r} is not one "
                              f"perfmon records; did you mean {meant!r}?")
    return thresholds


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
    known_keys(read, table, raw, _PROFILE_KEYS)
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
    known_keys(read, name, raw, known)
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
    """A small table such as ``[tool.perfmon.suites]``: known keys only, each of its default's type."""
    defaults = cls()
    raw = read.table("", name, raw)
    known_keys(read, name, raw, tuple(f.name for f in fields(defaults) if f.repr))
    for key, value in raw.items():
        want = type(getattr(defaults, key))
        if not isinstance(value, want) or isinstance(value, bool):
            raise read.fail(name, key, value, f"a {want.__name__}")
    return replace(defaults, **raw)


def _accounts(raw: Any, read: Reader, env: Mapping[str, str] | None) -> Accounts:
    """``[tool.perfmon.accounts]``, its password read from ``password_env`` when it names one."""
    name = "accounts"
    found = _section(Accounts, raw, read, name)
    if found.password_env:
        if "password" in raw:
            raise read.fail(name, "password_env", found.password_env, "either password or password_env, not both")
        # Read now; a variable that is not set fails the run that needs it (Accounts.check), not
        # `perfmon history` on a laptop without the CI secret.
        found = replace(found, password=read_named(found.password_env, env) or "",
                        where=read.where(name, "password_env"))
    if found.count < 1:
        raise read.fail(name, "count", found.count, "a whole number of at least 1")
    try:
        found.email.format(n=1)
    except (KeyError, IndexError, ValueError):
        raise read.fail(name, "email", found.email, "the user number written as {n}, e.g. 'vu{n:04d}@example.com'"
                        ) from None
    return found


def with_overrides(cfg: Config, users: int | None, duration: str | None, *,
                   flags: tuple[str, str] = ("--users", "--duration")) -> Config:
    """``cfg`` with every scenario at ``users`` at its peak and lasting ``duration`` (the command line's
    overrides, named by ``flags`` in an error), applied after the profile by ``Config.scenario``."""
    if users is not None and users < 1:
        raise ConfigError(f"{flags[0]} {users}: give 1 or more users")
    seconds = parse_duration(duration, what=flags[1]) if duration is not None else None
    if seconds is not None and seconds <= 0:
        raise ConfigError(f"{flags[1]} {duration}: give a duration above 0, e.g. 30s")
    return replace(cfg, override_users=users, override_duration_s=seconds)


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
    """Read the config file, apply the environment (``PERFMON_PROFILE``, ``PERFMON_ENV``,
    ``PERFMON_STORE``, ``BASE_URL``, ``PERFMON_TARGET_DB``) and then explicit arguments."""
    defaults = Config()
    path = path or find_config_file()
    data, read = _file(path)

    def setting(key: str, given: str | None, default: str | None = None) -> str | None:
        """An explicit argument, else the key's variable, else the file, else ``default``."""
        variable = next((v.name for v in VARIABLES if v.key == key), None)
        from_env = read_env(variable, env) if variable else None
        return given or from_env or (read.text_value("", key, data[key]) if key in data else None) or default

    profiles = {n: _profile(n, raw, read) for n, raw in read.table("", "profiles", data.get("profiles", {})).items()}
    chosen = setting("profile", profile, DEFAULT_PROFILE) or DEFAULT_PROFILE
    if chosen not in profiles:
        raise ConfigError(f"unknown profile {chosen!r}{did_you_mean(chosen, profiles)}; choose one of "
                          f"{', '.join(sorted(profiles))} or add [tool.perfmon.profiles.{chosen}]")
    environment = setting("environment", environment, defaults.environment) or defaults.environment
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {environment!r}{did_you_mean(environment, ENVIRONMENTS)}; choose one "
                          f"of {', '.join(ENVIRONMENTS)} (the results tables accept these five; a preview "
                          "deployment is usually staging)")
    found_scenarios = read.table("", "scenarios", data.get("scenarios", {}))
    return Config(
        **_run_settings(data, read, defaults),
        target_db=_target_db(setting("target_db", target_db)),
        regression_gate=_regression_gate(data.get("regression_gate", {}), read),
        environment=environment,
        store=setting("store", store, defaults.store) or defaults.store,
        base_url=check_base_url(setting("base_url", base_url)),
        target_command=setting("target_command", None, defaults.target_command) or defaults.target_command,
        accounts=_accounts(data.get("accounts", {}), read, env),
        suites=_section(Suites, data.get("suites", {}), read, "suites"),
        report_dir=setting("report_dir", None, defaults.report_dir) or defaults.report_dir,
        profile=profiles[chosen],
        scenarios={n: _scenario(n, raw, read) for n, raw in found_scenarios.items()},
        monitor=_monitor(data, read, defaults),
        root=path.parent if path is not None else Path.cwd(),
        source=str(path) if path is not None else None,
    )


def _file(path: Path | None) -> tuple[dict[str, Any], Reader]:
    """The file's perfmon table over the built-in one (the built-in one alone without a file), and a
    reader that says where a value came from."""
    if path is None:
        return merged(builtin_tables(), {}), Reader("defaults")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass an existing pyproject.toml or perfmon.toml")
    data, text = _table(path)
    read = Reader(str(path), text)
    unknown = sorted(set(data) - set(_KNOWN_KEYS))
    if unknown:
        known_keys(read, "", {unknown[0]: None}, _KNOWN_KEYS)
    return merged(builtin_tables(), data), read


def _monitor(data: Mapping[str, Any], read: Reader, defaults: Config) -> MonitorGates:
    gates_raw = read.table("", "monitor", data.get("monitor", {}))
    known_keys(read, "monitor", gates_raw, tuple(vars(defaults.monitor)))
    return MonitorGates(**{k: read.number("monitor", k, v) for k, v in gates_raw.items()})


def check_base_url(url: str | None) -> str | None:
    """The target's address as every request is joined to it: refused when a request could not go
    where the user meant (a query or fragment would swallow every path; a space is a typo)."""
    if url is None:
        return None
    how = "write it as http://host:port or https://host (BASE_URL, base_url or --base-url)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"base URL {redact(url)!r} is not a valid URL ({exc}); {how}") from None
    if url != url.strip():
        raise ConfigError(f"base URL {redact(url)!r} has spaces around it; {how}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base URL {redact(url)!r} is not an http(s) address; {how}")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(f"base URL {redact(url)!r} has a query or fragment, which every request path would be "
                          f"joined after; {how}, with a path at most")
    return url


def _target_db(url: str | None) -> str | None:
    if url and urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"target_db {redact(url)!r} is not a PostgreSQL URL; write "
                          "postgresql://user:password@host:5432/dbname (Supabase: the project's connection string)")
    return url or None


def _run_settings(data: Mapping[str, Any], read: Reader, defaults: Config) -> dict[str, Any]:
    """The file's scalar settings of how a run is judged and measured."""
    regressions = read.text_value("", "regressions", data["regressions"]) if "regressions" in data else None
    regressions = regressions or defaults.regressions
    if regressions not in REGRESSION_MODES:
        raise read.fail("", "regressions", regressions, f"one of {', '.join(REGRESSION_MODES)}")
    instrument = data.get("instrument_playwright", False)
    if not isinstance(instrument, bool):
        raise read.fail("", "instrument_playwright", instrument, "true or false")
    return {
        "regressions": regressions,
        "instrument_playwright": instrument,
        "unreliable_saturation": read.number("", "unreliable_saturation", data.get(
            "unreliable_saturation", defaults.unreliable_saturation), maximum=1),
        "min_clean_share": read.number("", "min_clean_share", data.get("min_clean_share", defaults.min_clean_share),
                                       maximum=1),
        "target_db_interval_s": read.number("", "target_db_interval", data.get(
            "target_db_interval", defaults.target_db_interval_s), minimum=0.1),
    }
