"""Real-Chromium measurement: launching, the in-page Web Vitals collector, per-iteration sessions."""

from __future__ import annotations

from .launch import (
    CHROMIUM_ARGS,
    chromium_executable,
    connect_browser,
    launch_browser,
    launch_options,
    start_browser_server,
)
from .session import VITAL_NAMES, BrowserPerf, vitals_script

__all__ = [
    "CHROMIUM_ARGS",
    "VITAL_NAMES",
    "BrowserPerf",
    "chromium_executable",
    "connect_browser",
    "launch_browser",
    "launch_options",
    "start_browser_server",
    "vitals_script",
]
