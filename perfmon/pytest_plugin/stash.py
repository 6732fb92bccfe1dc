"""What the plugin's hooks and fixtures share: the typed ``config.stash`` keys, this process's
context, and the one way a user error leaves perfmon under pytest (see the plugin's docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from ..core.config import Config
from ..core.errors import PerfmonError
from ..core.records import Record
from .context import (
    ProcessContext,
)
from .controller import Controller, SessionOutcome

if TYPE_CHECKING:
    pass

__all__ = ["BROWSER", "CONTROLLER", "LIVE_FD", "OUTCOME", "PROCESS", "RECORD", "REPORTS", "SIGTERM", "SUITES_PLUGIN",
           "SUITE_HOST",
           "SUITE_PERFS", "USAGE_CODE", "process_of", "session_config", "user_error"]

PROCESS = pytest.StashKey[ProcessContext]()
CONTROLLER = pytest.StashKey[Controller]()
OUTCOME = pytest.StashKey[SessionOutcome]()
RECORD = pytest.StashKey[Record]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
SUITE_HOST = pytest.StashKey[str]()  # a --perf suite's browser host label
SUITE_PERFS = pytest.StashKey[list[Any]]()  # a --perf suite test's measured contexts, in order
SIGTERM = pytest.StashKey[Any]()
LIVE_FD = pytest.StashKey[int]()  # the controller's copy of the terminal's stderr, for the status line
BROWSER = pytest.StashKey[tuple[Any, str]]()  # this process's browser and the host label it runs on
PHASES = pytest.StashKey[Any]()  # a local xdist worker's turn-taking of journeys and scenarios (phases.py)
SUITES_PLUGIN = "perfmon-playwright-suites"  # playwright_suites, registered under --perf
USAGE_CODE = pytest.StashKey[int]()


def session_config(config: pytest.Config) -> Config:
    """The perfmon config of this pytest session (for hooks such as ``pytest_generate_tests``)."""
    return config.stash[PROCESS].config


# --- fixtures -----------------------------------------------------------------------------------
def process_of(config: pytest.Config) -> ProcessContext:
    return config.stash[PROCESS]


def user_error(exc: PerfmonError, met: pytest.Config | pytest.FixtureRequest | pytest.Item) -> NoReturn:
    """The one way a user error leaves perfmon under pytest (see the module docstring): ``met`` is the
    session's config before the tests, or the fixture request (or item) of the test that met it."""
    if isinstance(met, pytest.Config):
        met.stash[USAGE_CODE] = exc.exit_code  # pytest.UsageError is final: its code rides here
        raise pytest.UsageError(str(exc))
    met.config.stash[PROCESS].files.note_user_error(exc)
    met.session.shouldstop = f"perfmon: {exc}"  # xdist hands a worker's shouldstop to the controller
    pytest.fail(f"perfmon: {exc}", pytrace=False)
