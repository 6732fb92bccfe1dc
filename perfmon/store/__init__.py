"""Result stores, chosen by URL scheme (pytest-benchmark's habit).

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` is the embedded default;
``postgresql://`` and Supabase join through the same :class:`Store` protocol. Drivers are
imported only when their scheme is used.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..core.env import read
from ..core.errors import ConfigError
from ..core.redaction import redact
from .base import RunSummary, ShardRow, Store, run_rows

__all__ = ["RunSummary", "ShardRow", "Store", "open_store", "run_rows", "store_kind"]


def store_kind(url: str) -> str:
    """``sqlite``, ``postgresql`` or ``supabase``: what ``url`` names, checked without connecting. A URL
    that is malformed, of another scheme or missing what it needs is a ConfigError (exit 2): told before
    anything is measured, never treated like a store that is down (that one spools)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        raw = url[len("sqlite://") :]
        if not raw.startswith("/") or raw == "/":
            raise ConfigError(f"store URL {url!r} has no path; write sqlite:///.perfmon/results.db")
        return "sqlite"
    if url == "supabase" or scheme == "supabase" or scheme.startswith("supabase+"):
        _supabase_settings(url)
        return "supabase"
    if scheme in ("postgresql", "postgres"):
        try:
            urlsplit(url).port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            raise ConfigError(f"store URL {redact(url)!r}: the port is not a number; write "
                              "postgresql://user:password@host:5432/db") from None
        return "postgresql"
    raise ConfigError(f"unsupported store URL {redact(url)!r}; use sqlite:///path.db, postgresql://user@host/db or "
                      "supabase (with SUPABASE_URL)")


def open_store(url: str, *, root: Path | None = None, create: bool = True) -> Store:
    """Open the store named by ``url``; relative SQLite paths are taken from ``root``. With ``create=False``
    (read-only commands) a SQLite file that does not exist is an error, not a new empty store."""
    kind = store_kind(url)
    if kind == "sqlite":
        path = Path(url[len("sqlite:///") :])  # sqlite:///rel/x.db -> rel/x.db; sqlite:////abs/x.db -> /abs/x.db
        if not path.is_absolute():
            path = (root or Path.cwd()) / path
        from .sqlite import SQLiteStore

        return SQLiteStore(path, url, create=create)
    if kind == "supabase":
        from .supabase import SupabaseStore

        return SupabaseStore(*_supabase_settings(url))
    from .postgres import PostgresStore

    return PostgresStore(url)


def _supabase_settings(url: str) -> tuple[str, str]:
    """``supabase`` (project from SUPABASE_URL) or ``supabase+https://<ref>.supabase.co``, and the key,
    from SUPABASE_SERVICE_ROLE_KEY or SUPABASE_SECRET_KEY, never from the URL."""
    api = url.split("+", 1)[1] if "+" in url else (read("SUPABASE_URL") or "")
    if not api.startswith(("https://", "http://")):
        raise ConfigError("the supabase store needs SUPABASE_URL (https://<project>.supabase.co) or a store URL "
                          "supabase+https://<project>.supabase.co")
    key = read("SUPABASE_SERVICE_ROLE_KEY") or read("SUPABASE_SECRET_KEY")
    if not key:
        raise ConfigError("the supabase store needs SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_SECRET_KEY) in the "
                          "environment; results are written with the service role")
    return api, key
