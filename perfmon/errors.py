"""One exception tree for perfmon.

Every error a user can cause says what is wrong and how to fix it, in one line, so the CLI and
the pytest plugin can print ``str(exc)`` and exit non-zero without a traceback::

    PerfmonError
    ├── ConfigError          bad pyproject/perfmon.toml, unknown profile or scenario, bad duration
    │   └── ThresholdError   a threshold expression that does not parse
    ├── TargetError          BASE_URL unreachable, bundled app failed to start
    ├── BrowserError         Chromium missing or failed to launch
    ├── StoreError           store URL malformed, path unwritable, database down
    └── ScriptError          a user journey/script that cannot be loaded
"""

from __future__ import annotations

__all__ = [
    "BrowserError",
    "ConfigError",
    "PerfmonError",
    "ScriptError",
    "StoreError",
    "TargetError",
    "ThresholdError",
]


class PerfmonError(Exception):
    """Base of every error perfmon raises on purpose; its message is one line with the fix."""

    exit_code = 2


class ConfigError(PerfmonError):
    """The configuration (file, env or command line) is invalid."""


class ThresholdError(ConfigError):
    """A threshold expression could not be parsed."""


class TargetError(PerfmonError):
    """The system under test cannot be reached or started."""


class BrowserError(PerfmonError):
    """Chromium cannot be found or launched."""


class StoreError(PerfmonError):
    """The result store cannot be opened or written."""


class ScriptError(PerfmonError):
    """A user script or journey is broken."""
