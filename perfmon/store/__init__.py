"""Result stores, chosen by URL scheme (pytest-benchmark's habit).

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` is the embedded default;
``postgresql://`` and Supabase join through the same :class:`Store` protocol. Drivers are
imported only when their scheme is used.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..core.env import read
from ..core.errors import StoreError
from ..core.redaction import redact
from .base import RunSummary, ShardRow, Store, run_rows

__all__ = ["RunSummary", "ShardRow", "Store", "open_store", "run_rows"]


def open_store(url: str, *, root: Path | None = None, create: bool = True) -> Store:
    """Open the store named by ``url``; relative SQLite paths are taken from ``root``. With ``create=False``
    (read-only commands) a SQLite file that does not exist is an error, not a new empty store."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = url[len("sqlite://") :]
        if not raw.startswith("/") or raw == "/":
            raise StoreError(f"store URL {url!r} has no path; write sqlite:///.perfmon/results.db")
        path = Path(raw[1:])  # sqlite:///rel/x.db -> rel/x.db; sqlite:////abs/x.db -> /abs/x.db
        if not path.is_absolute():
            path = (root or Path.cwd()) / path
        from .sqlite import SQLiteStore

        return SQLiteStore(path, url, create=create)
    if parts.scheme == "supabase" or parts.scheme.startswith("supabase+"):
        return _supabase(url)
    if parts.scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return PostgresStore(url)
    raise StoreError(f"unsupported store URL {redact(url)!r}; use sqlite:///path.db or postgresql://user@host/db")


def _supabase(url: str) -> Store:
    """``supabase`` (project from SUPABASE_URL) or ``supabase+https://<ref>.supabase.co``; the key comes
    from SUPABASE_SERVICE_ROLE_KEY or SUPABASE_SECRET_KEY, never from the URL."""
    api = url.split("+", 1)[1] if "+" in url else (read("SUPABASE_URL") or "")
    if not api.startswith(("https://", "http://")):
        raise StoreError("the supabase store needs SUPABASE_URL (https://<project>.supabase.co) or a store URL "
                         "supabase+https://<project>.supabase.co")
    key = read("SUPABASE_SERVICE_ROLE_KEY") or read("SUPABASE_SECRET_KEY")
    if not key:
        raise StoreError("the supabase store needs SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEY) in the "
                         "environment; results are written with the service role")
    from .supabase import SupabaseStore

    return SupabaseStore(api, key)
