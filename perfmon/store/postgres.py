"""The PostgreSQL store (psycopg 3): any Postgres, including Supabase's direct and pooler URLs.

A run is written in one transaction, so readers never see a run without its details. The
schema is supabase/migrations/, applied by the Supabase CLI or ``psql``; this store does not
create tables. Passwords never leave this module: messages name the store by host and
database only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..core.errors import StoreError
from ..core.redaction import redact
from .sql import SQLStore

__all__ = ["PostgresStore"]


class PostgresStore(SQLStore):
    placeholder = "%s"

    def __init__(self, url: str, *, connect_timeout_s: float = 10.0) -> None:
        self.url = redact(url)
        parts = urlsplit(url)
        try:
            port = parts.port or 5432
        except ValueError:
            raise StoreError(f"store URL {url}: the port is not a number; write postgresql://user@host:5432/db"
                             ) from None
        self.where = f"postgresql://{parts.hostname or 'localhost'}:{port}{parts.path or '/'}"
        try:
            import psycopg
        except ImportError:
            raise StoreError("the postgresql:// store needs psycopg; install it with: "
                             "pip install 'pytest-perfmon[postgres]'"
                             ) from None
        self._psycopg = psycopg
        self._dsn = url
        self._password = parts.password
        self._timeout = int(connect_timeout_s)
        self._con = self._connect()

    def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            # prepare_threshold=None: Supabase's transaction pooler (pgbouncer) rejects prepared statements.
            return psycopg.connect(self._dsn, autocommit=True, connect_timeout=self._timeout, prepare_threshold=None)
        except psycopg.Error as exc:
            reason = " ".join(str(exc).replace(self._password or "\0", "***").split())
            raise StoreError(f"cannot connect to {self.where} ({reason}); check the URL and that the database "
                             "is up") from None

    def _lock_run(self, run_id: str) -> None:
        # A transaction-scoped advisory lock: released at commit or rollback, and fine behind
        # Supabase's transaction pooler. Writers of other runs never wait on it.
        self._con.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (run_id,))

    def _transient(self, exc: BaseException) -> bool:
        # Lost connections, serialization failures and deadlocks are OperationalErrors; integrity and
        # permission errors are not, and are never retried.
        return isinstance(exc, self._psycopg.OperationalError)

    def _rejected(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.IntegrityError | self._psycopg.DataError)

    def _reconnect(self) -> None:
        try:
            self._con.close()
        finally:
            self._con = self._connect()

    def _cell(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return value

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (self._psycopg.Error,)
