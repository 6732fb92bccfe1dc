"""The configuration: typed objects with perfmon's built-in defaults (``model``), read from the
config file, the environment and explicit arguments (``loading``), with every environment variable
perfmon reads declared once (``env``). The only place the environment is read."""

from __future__ import annotations

from ..durations import parse_duration
from ..env import VARIABLES, Variable
from .loading import check_base_url, find_config_file, load_config, with_overrides
from .model import (
    BUILTIN_BROWSER_THRESHOLDS,
    BUILTIN_SCENARIO_THRESHOLDS,
    DEFAULT_FLOORS,
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
    Shard,
    Stage,
    Suites,
)

__all__ = [
    "BUILTIN_BROWSER_THRESHOLDS",
    "BUILTIN_SCENARIO_THRESHOLDS",
    "DEFAULT_FLOORS",
    "ENVIRONMENTS",
    "EXECUTORS",
    "JUDGED_METRICS",
    "REGRESSION_MODES",
    "VARIABLES",
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
    "Variable",
    "check_base_url",
    "find_config_file",
    "load_config",
    "parse_duration",
    "with_overrides",
]
