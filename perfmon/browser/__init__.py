"""Real-Chromium measurement: launching, the in-page Web Vitals collector, per-iteration sessions."""

from __future__ import annotations

from .iteration import VITAL_NAMES, BrowserPerf, vitals_script
from .launch import (
    CHROMIUM_ARGS,
    chromium_executable,
    connect_browser,
    launch_browser,
    launch_options,
    start_browser_server,
)
from .remote import check_endpoint, endpoint_label, parse_endpoints, serve_browser

__all__ = [
    "CHROMIUM_ARGS",
    "VITAL_NAMES",
    "BrowserPerf",
    "check_endpoint",
    "chromium_executable",
    "connect_browser",
    "endpoint_label",
    "launch_browser",
    "launch_options",
    "parse_endpoints",
    "serve_browser",
    "start_browser_server",
    "vitals_script",
]
