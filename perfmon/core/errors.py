"""One exception tree for perfmon.

Every error a user can cause says what is wrong and how to fix it, in one line, so the CLI and
the pytest plugin can print ``str(exc)`` and exit with its ``exit_code`` (``perfmon.core.exit_codes``:
2 for bad input, 3 for a target that is down) without a traceback::

    PerfmonError
    ├── ConfigError          bad pyproject/perfmon.toml, unknown profile or scenario, bad duration
    │   └── ThresholdError   a threshold expression that does not parse
    ├── TargetError          BASE_URL unreachable, bundled app failed to start (exit 3: not measured)
    ├── BrowserError         Chromium missing or failed to launch
    ├── StoreError           store URL malformed, path unwritable, database down
    │   ├── RunRejectedError the store refuses this run for good (a constraint); it is set aside
    │   └── DamagedRunError  a stored run's row cannot be read back (edited by hand, garbage in a column)
    ├── OutputError          a report, spool or output folder cannot be written
    └── ScriptError          a user journey/script that cannot be loaded
"""

from __future__ import annotations

__all__ = [
    "BrowserError",
    "ConfigError",
    "DamagedRunError",
    "OutputError",
    "PerfmonError",
    "RunRejectedError",
    "ScriptError",
    "StoreError",
    "TargetError",
    "ThresholdError",
    "one_line",
]


def one_line(exc: BaseException, *, kind: bool = True) -> str:
    """An exception as one redacted line: a PerfmonError's own message (it names the fix), anything
    else (a bug) with its type, so the line says what broke. ``kind=False`` leaves the type out, for a
    driver's message that says it already (a store's "connection refused")."""
    if isinstance(exc, PerfmonError):
        return str(exc)
    from .redaction import redact

    text = redact(" ".join(str(exc).split()))  # drivers' messages span lines
    if not kind:
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class PerfmonError(Exception):
    """Base of every error perfmon raises on purpose; its message is one line with the fix, and never
    carries a secret (a store URL, a DSN or a key quoted in it is redacted here, once for every caller)."""

    exit_code = 2

    def __str__(self) -> str:
        from .redaction import redact

        return redact(super().__str__())


class ConfigError(PerfmonError):
    """The configuration (file, env or command line) is invalid."""


class ThresholdError(ConfigError):
    """A threshold expression could not be parsed."""


class TargetError(PerfmonError):
    """The system under test cannot be reached or started: nothing could be measured. (A BASE_URL or
    target_command that is malformed is a :class:`ConfigError`.)"""

    exit_code = 3


class BrowserError(PerfmonError):
    """Chromium cannot be found or launched."""


class StoreError(PerfmonError):
    """The result store cannot be opened or written."""


class RunRejectedError(StoreError):
    """The store answered and refused the run (a constraint violation): sending it again cannot help."""


class DamagedRunError(StoreError):
    """A stored run's row cannot be read back: the deploy gate refuses (never bypassed), analyses skip it."""


class OutputError(PerfmonError):
    """A report, spool or other output folder cannot be written."""


class ScriptError(PerfmonError):
    """A user script or journey is broken."""
