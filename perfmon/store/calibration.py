"""This machine's newest calibration (``perfmon calibrate``): how many concurrent browser journeys it
holds. Read without creating a store, and never at the cost of a run: a store that is missing or down
answers None."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import PerfmonError
from ..system.host import machine_class, machine_identity
from . import open_store

__all__ = ["machine_level"]


def machine_level(url: str, *, root: Path) -> tuple[int, str] | None:
    """(level, the date it was measured) of this machine class's newest calibration in the store at
    ``url``; None when there is none or the store cannot say."""
    try:
        store = open_store(url, root=root, create=False)
    except PerfmonError:
        return None  # no store yet: never calibrated
    try:
        found = store.latest_calibration(machine_class(machine_identity()))
    except PerfmonError:
        return None
    finally:
        store.close()
    if found is None:
        return None
    return int(found["level"]), str(found["created_at"])[:10]
