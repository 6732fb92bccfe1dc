"""Nothing measured is lost: a run the store refuses is kept in a spool file and sent later.

The spool is ``.perfmon/spool/<run-id>.json`` under the config's root, one ``Run.to_json`` per
file, written atomically (temp file, fsync, rename). Runs are keyed by their own ids, so
sending one twice changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import StoreError
from ..results import Run
from . import open_store

__all__ = ["StoredRun", "flush_spool", "spool_dir", "spool_run", "store_or_spool"]


@dataclass(frozen=True)
class StoredRun:
    """Where a run went: the store (``where`` is its URL) or, when the store failed, a spool file."""

    where: str
    spooled: bool
    problem: str | None = None


def spool_dir(config: Config) -> Path:
    return config.root / ".perfmon" / "spool"


def spool_run(run: Run, directory: Path) -> Path:
    """Write the run atomically (temp file, fsync, rename) so it can be replayed later."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(run.to_json())
        f.flush()
        os.fsync(f.fileno())
    final = directory / f"{run.run_id}.json"
    os.replace(tmp, final)
    return final


def store_or_spool(run: Run, config: Config) -> StoredRun:
    """Store the run; when the store fails, spool it so nothing measured is lost."""
    try:
        store = open_store(config.store, root=config.root)
        try:
            store.write_run(run)
        finally:
            store.close()
        return StoredRun(config.store, spooled=False)
    except StoreError as exc:
        path = spool_run(run, spool_dir(config))
        return StoredRun(str(path), spooled=True, problem=str(exc))


def flush_spool(config: Config) -> list[str]:
    """Send every spooled run to the store and delete each file once its run is stored.
    Returns the run ids sent."""
    directory = spool_dir(config)
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not files:
        return []
    sent = []
    store = open_store(config.store, root=config.root)
    try:
        for f in files:
            run = Run.from_json(f.read_text(encoding="utf-8"))
            store.write_run(run)
            f.unlink()
            sent.append(run.run_id)
    finally:
        store.close()
    return sent
