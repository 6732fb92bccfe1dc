"""perfmon: performance testing for WedSync.

Real Chromium journeys and API load, measured into mergeable histograms, checked against
k6-style thresholds, stored with their history and gated in CI.
"""

from __future__ import annotations

from ._version import __version__
from .core.config import Config, Profile, Scenario, load_config
from .core.errors import (
    BrowserError,
    ConfigError,
    PerfmonError,
    ScriptError,
    StoreError,
    TargetError,
    ThresholdError,
)
from .core.exit_codes import ExitCode
from .core.metrics import Counter, Gauge, Metrics, Rate, Trend
from .core.results import PerformanceMetrics, PerformanceTestResults, Run
from .core.thresholds import Threshold, ThresholdOutcome, evaluate, parse_thresholds
from .monitor import GateViolation, PerformanceMonitor
from .store import open_store

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
