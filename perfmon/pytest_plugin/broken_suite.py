"""A suite that is broken is a usage error, not a measurement: a module that cannot be collected or
a test asking for a fixture nobody defines (the README's ``vu`` before the plugin had it), or whose
own fixtures fail at setup, never ran
a journey, so the session exits 2 with one line naming the test, and nothing is stored (a "FAILED,
errors 100 %" run in the history, with a PASS on CLS from journeys that never ran, misleads the gate).

Any process may meet it (an xdist worker sets up its own tests; the controller sees every collection
error xdist forwards); each notes it in the session's shared folder and the controller reports it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ..core.exit_codes import ExitCode
from ..core.failures import failure_message, where_raised
from ..core.suggest import did_you_mean
from .context import UserError
from .stash import PROCESS

__all__ = ["BrokenSuite", "missing_fixture", "setup_error"]


def missing_fixture(item: pytest.Item, error: BaseException) -> UserError:
    """The line for a test whose setup asked for an unknown fixture, with the closest known name."""
    name = str(getattr(error, "argname", None) or "?")
    try:  # pytest lists the fixtures the test could have asked for in its own message
        said = str(error.formatrepr().errorstring)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - only the hint is lost
        said = ""
    found = re.search(r"available fixtures: (.*)", said)
    known = [n.strip() for n in found.group(1).split(",")] if found else []
    return UserError(f"{item.nodeid}: fixture {name!r} not found{did_you_mean(name, known)}; fix the test (it never "
                     "ran), nothing was stored", ExitCode.USAGE, in_suite=True)


def setup_error(item: pytest.Item, error: BaseException) -> UserError | None:
    """The line for a perfmon test whose own fixtures failed at setup (a database it could not seed): the
    test never ran, so the session is no run; None for a test that does not measure."""
    if not any(name == "perf" or name.startswith("perf_") for name in getattr(item, "fixturenames", ())):
        return None
    where = where_raised(error, item.config.rootpath)
    return UserError(f"{item.nodeid}: setup failed, {type(error).__name__}: {failure_message(error)}"
                     + (f" (at {where})" if where else "") + "; fix the test (it never ran), nothing was stored",
                     ExitCode.USAGE, in_suite=True)


class BrokenSuite:
    """The collection side, as a plugin object: ``pytest_collectreport`` is given no config."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed or PROCESS not in self.config.stash:
            return
        said: Any = report.longrepr
        last = [line.strip() for line in str(said).strip().splitlines() if line.strip()][-1:] or ["?"]
        self.config.stash[PROCESS].files.note_user_error(UserError(
            f"{report.nodeid or 'collection'} cannot be collected ({last[0]}); fix it and run again, nothing was "
            "stored", ExitCode.USAGE, in_suite=True))
