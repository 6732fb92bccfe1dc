"""Result stores, chosen by URL scheme (pytest-benchmark's habit).

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` is the embedded default;
``postgresql://`` and Supabase join through the same :class:`Store` protocol. Drivers are
imported only when their scheme is used.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..errors import StoreError
from .base import RunSummary, Store, run_rows

__all__ = ["RunSummary", "Store", "open_store", "run_rows"]


def open_store(url: str, *, root: Path | None = None) -> Store:
    """Open the store named by ``url``; relative SQLite paths are taken from ``root``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = url[len("sqlite://") :]
        if not raw.startswith("/") or raw == "/":
            raise StoreError(f"store URL {url!r} has no path; write sqlite:///.perfmon/results.db")
        path = Path(raw[1:])  # sqlite:///rel/x.db -> rel/x.db; sqlite:////abs/x.db -> /abs/x.db
        if not path.is_absolute():
            path = (root or Path.cwd()) / path
        from .sqlite import SQLiteStore

        return SQLiteStore(path, url)
    known = "sqlite:///path.db"
    raise StoreError(f"unsupported store URL {url!r}; use {known}")
