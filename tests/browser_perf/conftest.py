"""Spread the journeys over virtual users so ``pytest -n N`` keeps every worker busy.

Each journey is parametrized with ``vu`` = 1..N (N = the number of xdist workers, 1 without
xdist) times the profile's ``browser_iterations``; ``perf_user`` turns the ``vu`` into its own
seeded account.
"""

from __future__ import annotations

import os

import pytest

from perfmon.pytest_plugin import session_config


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vu" not in metafunc.fixturenames:
        return
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    iterations = session_config(metafunc.config).profile.browser_iterations
    params = [(vu, it) for it in range(1, iterations + 1) for vu in range(1, workers + 1)]
    metafunc.parametrize("vu", [vu for vu, _ in params], ids=[f"vu{vu:03d}-it{it}" for vu, it in params])
