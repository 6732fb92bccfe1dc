"""perfmon: performance testing for WedSync.

Real Chromium journeys and API load, measured into mergeable histograms, checked against
k6-style thresholds, stored with their history and gated in CI.
"""

from __future__ import annotations

from ._version import __version__
from .config import Config, Profile, Scenario, load_config
from .errors import (
    BrowserError,
    ConfigError,
    PerfmonError,
    ScriptError,
    StoreError,
    TargetError,
    ThresholdError,
)
from .exit_codes import ExitCode
from .metrics import Counter, Gauge, Metrics, Rate, Trend
from .monitor import GateViolation, PerformanceMonitor
from .results import PerformanceMetrics, PerformanceTestResults, Run
from .store import open_store
from .thresholds import Threshold, ThresholdOutcome, evaluate, parse_thresholds

__all__ = [
    "BrowserError",
    "Config",
    "ConfigError",
    "Counter",
    "ExitCode",
    "GateViolation",
    "Gauge",
    "Metrics",
    "PerfmonError",
    "PerformanceMetrics",
    "PerformanceMonitor",
    "PerformanceTestResults",
    "Profile",
    "Rate",
    "Run",
    "Scenario",
    "ScriptError",
    "StoreError",
    "TargetError",
    "Threshold",
    "ThresholdError",
    "ThresholdOutcome",
    "Trend",
    "__version__",
    "evaluate",
    "load_config",
    "open_store",
    "parse_thresholds",
]
