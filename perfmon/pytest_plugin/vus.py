"""Virtual users for browser journeys: every test that measures a journey (it asks for ``perf``,
``perf_vu``, ``vu`` or ``perf_user``) runs once per virtual user and iteration, so ``pytest -n 50``
keeps fifty browsers busy instead of running each journey once in total.

N virtual users = ``--perf-vus N``, else the xdist workers (1 without xdist); each runs the
profile's ``browser_iterations`` (or ``--perf-iterations``). Items are ``test[vu001-it1]`` ...: the
parameter is ``_perf_slot`` (indirect), so ``perf_vu`` keeps adding a shard's offset, and a
project's own fixture named ``vu`` still wins over the plugin's alias. A test that parametrizes
``vu`` itself (``@pytest.mark.parametrize("vu", range(1, 5))``) keeps exactly its own users, and a
pytest-playwright suite's test (``page`` or ``context`` beside ``perf``) runs once, as its team wrote it.
"""

from __future__ import annotations

import pytest

from .instrument import playwright_context_used
from .stash import process_of

__all__ = ["SLOT", "parametrize_journeys", "virtual_users"]

SLOT = "_perf_slot"  # the fixture every journey fixture depends on; parametrized here


def _own_users(metafunc: pytest.Metafunc) -> bool:
    """The test parametrizes ``vu`` or ``perf_vu`` itself: its users are its own, none are added."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if {"vu", "perf_vu"} & set(names):
            return True
    return False


def virtual_users(config: pytest.Config) -> int:
    """How many virtual users run the journeys in this process's share of the run."""
    given: int | None = config.getoption("perf_vus", None)
    return given or process_of(config).workers


def parametrize_journeys(metafunc: pytest.Metafunc) -> None:
    """``vu`` x ``iteration`` for a journey test; nothing for any other test."""
    # A pytest-playwright suite's test (it asks for `page` or `context`) runs as its team wrote it,
    # measured unchanged under --perf: never multiplied.
    if SLOT not in metafunc.fixturenames or _own_users(metafunc) or playwright_context_used(metafunc.fixturenames):
        return
    config = metafunc.config
    iterations = process_of(config).config.profile.browser_iterations
    slots = [(vu, it) for it in range(1, iterations + 1) for vu in range(1, virtual_users(config) + 1)]
    metafunc.parametrize(SLOT, [vu for vu, _ in slots], ids=[f"vu{vu:03d}-it{it}" for vu, it in slots],
                         indirect=True)
