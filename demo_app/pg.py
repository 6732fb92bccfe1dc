"""The demo app on PostgreSQL (``DEMO_DATABASE_URL``): a real schema, hundreds of thousands of rows,
and a connection pool, so the database knobs show what a slow platform looks like from inside.

Each request that reaches a handler holds one pooled connection from start to end, inside one
transaction (as Django's ``ATOMIC_REQUESTS`` or a per-request SQLAlchemy session do), so a small
pool makes requests queue for a connection while PostgreSQL sees its few connections busy, mostly
``idle in transaction``. Waiting for a connection and committing run on threads of their own: a
request that holds a connection never waits for a thread behind requests that wait for it. The knobs:

- ``DEMO_DB_POOL``: the pool's size (``ConnectionPool.resize`` at runtime);
- ``DEMO_DB_MISSING_INDEX=1``: the dashboard's recent-submissions query loses its index and reads
  the whole submissions table;
- ``DEMO_DB_LOCK_MS``: a form submission bumps its supplier's counter, then works this long before
  its transaction commits, so concurrent submits to one supplier queue on that row's lock.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import bcrypt
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from .db import TEST_PASSWORD, TEST_USER, VU_USERS
from .faults import Faults

__all__ = ["SUBMISSIONS", "DatabaseUnavailable", "PgDatabase"]

SUBMISSIONS = 300_000  # enough that reading them all costs several times an index lookup
_INDEX = "submissions_supplier_created"  # made or dropped by PgDatabase.apply (DEMO_DB_MISSING_INDEX)
_APP_NAME = "wedsync-demo"
_held: contextvars.ContextVar[psycopg.Connection[Any] | None] = contextvars.ContextVar("demo_db_conn", default=None)

_SCHEMA = """
create table if not exists suppliers (id serial primary key, email text unique not null, password_hash bytea not null,
  business_name text not null, enquiries integer not null default 0);
create table if not exists couples (id serial primary key, supplier_id integer not null references suppliers(id),
  names text not null, wedding_date date not null, venue text not null, status text not null, budget numeric not null);
create index if not exists couples_supplier on couples (supplier_id);
create table if not exists forms (id integer primary key, supplier_id integer not null references suppliers(id),
  title text not null);
create table if not exists submissions (id bigserial primary key, form_id integer not null references forms(id),
  supplier_id integer not null references suppliers(id), payload jsonb not null,
  created_at timestamptz not null default now());
"""
_SEED = f"""
insert into suppliers (email, password_hash, business_name)
  select %(test_user)s, %(hash)s, 'Test Photography'
  union all select format('vu%%s@example.com', lpad(g::text, 4, '0')), %(hash)s,
                   format('Supplier %%s', lpad(g::text, 4, '0'))
  from generate_series(1, {VU_USERS}) g;
insert into couples (supplier_id, names, wedding_date, venue, status, budget)
  select s, (array['Ava','Liam','Mia','Noah','Zoe','Ethan'])[1 + (s * 7 + c) %% 6] || ' & ' ||
            (array['Isla','Leo','Ruby','Omar','Priya','Sam'])[1 + (s * 5 + c) %% 6],
         date '2027-01-01' + ((s * 31 + c * 97) %% 365),
         (array['Rosewood Manor','Harbour Hall','The Old Mill','Lakeside Barn','Cliff House'])[1 + (s + c) %% 5],
         (array['enquiry','booked','deposit paid','planning','complete'])[1 + (s * 3 + c) %% 5],
         500 * (8 + (s * 13 + c) %% 52)
  from generate_series(1, {VU_USERS + 1}) s, generate_series(1, 12) c;
insert into forms (id, supplier_id, title)
  select i, i, format('Client intake form %%s', i) from generate_series(1, 20) i;
insert into submissions (form_id, supplier_id, payload, created_at)
  select 1 + g %% 20, 1 + g %% {VU_USERS + 1}, jsonb_build_object('names', 'Seeded couple', 'guests', g %% 200),
         now() - (g %% 400) * interval '1 day' - (g %% 86400) * interval '1 second'
  from generate_series(1, {SUBMISSIONS}) g;
"""


class DatabaseUnavailable(RuntimeError):
    """``DEMO_DATABASE_URL`` cannot be used; the message never carries its password."""


def _hidden(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


class PgDatabase:
    """The same reads and writes as :class:`demo_app.db.Database`, on PostgreSQL with a pool."""

    def __init__(self, url: str, faults: Faults) -> None:
        self.url, self.faults = url, faults
        self._pool = ConnectionPool(url, min_size=faults.db_pool, max_size=faults.db_pool, open=False,
                                    kwargs={"application_name": _APP_NAME}, timeout=60)
        # Waiting for a connection, and ending a transaction, block a thread: these are their own, so
        # a request that holds a lock never waits for a thread behind requests waiting for that lock.
        self._threads = ThreadPoolExecutor(max_workers=256, thread_name_prefix="demo-db")

    def open(self) -> None:
        try:
            self._seed()
        except (psycopg.Error, PoolTimeout) as exc:
            self.close()
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise DatabaseUnavailable(f"cannot use DEMO_DATABASE_URL={_hidden(self.url)} ({why})") from None

    def _seed(self) -> None:
        psycopg.connect(self.url, connect_timeout=10).close()  # fails at once; the pool would retry for 30 s
        self._pool.open(wait=True, timeout=30)
        with self._pool.connection() as con:
            con.execute(_SCHEMA)
            if con.execute("select count(*) from suppliers").fetchone() == (0,):
                hashed = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(4))
                for statement in filter(str.strip, _SEED.split(";\n")):  # parameters: one statement at a time
                    con.execute(statement, {"test_user": TEST_USER, "hash": hashed})
                con.execute("analyze")
        self.apply(self.faults)

    def close(self) -> None:
        self._pool.close()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def apply(self, faults: Faults) -> None:
        """Make the pool and the index what the knobs say (at start, and after ``POST /admin/faults``)."""
        if self._pool.max_size != faults.db_pool:
            self._pool.resize(faults.db_pool, faults.db_pool)
        with self._pool.connection() as con:
            if faults.db_missing_index:
                con.execute(f"drop index if exists {_INDEX}")
            else:
                con.execute(f"create index if not exists {_INDEX} on submissions (supplier_id, created_at desc)")

    @asynccontextmanager
    async def request(self) -> AsyncIterator[float]:
        """Hold one connection for a request, in one transaction; yields how long the wait took (ms)."""
        start, loop = time.perf_counter(), asyncio.get_running_loop()
        try:
            con = await loop.run_in_executor(self._threads, self._pool.getconn)
        except PoolTimeout:
            raise TimeoutError("no database connection free within 60 s") from None
        token = _held.set(con)
        try:
            yield (time.perf_counter() - start) * 1000
            await loop.run_in_executor(self._threads, con.commit)
        except BaseException:
            await loop.run_in_executor(self._threads, con.rollback)
            raise
        finally:
            _held.reset(token)
            self._pool.putconn(con)

    @contextmanager
    def _con(self) -> Iterator[psycopg.Connection[Any]]:
        held = _held.get()
        if held is not None:
            yield held
        else:
            with self._pool.connection() as con:
                yield con

    def _row(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._con() as con:
            return con.execute(sql, args).fetchone()

    def check_login(self, email: str, password: str) -> int | None:
        row = self._row("select id, password_hash from suppliers where email = %s", (email,))
        if row is None or not bcrypt.checkpw(password.encode(), bytes(row[1])):
            return None
        return int(row[0])

    def user(self, uid: int) -> tuple[str, str] | None:
        row = self._row("select email, business_name from suppliers where id = %s", (uid,))
        return None if row is None else (row[0], row[1])

    def couples(self, uid: int) -> list[dict[str, object]]:
        with self._con() as con:
            cur = con.execute("select id, names, wedding_date::text, venue, status, budget::float from couples "
                              "where supplier_id = %s order by wedding_date", (uid,))
            cols = ["id", "names", "wedding_date", "venue", "status", "budget"]
            return [dict(zip(cols, r, strict=True)) for r in cur]

    def recent_submissions(self, uid: int) -> list[dict[str, object]]:
        """The dashboard's newest enquiries: the query ``DEMO_DB_MISSING_INDEX`` takes the index from."""
        with self._con() as con:
            cur = con.execute("select form_id, created_at::text from submissions where supplier_id = %s "
                              "order by created_at desc limit 5", (uid,))
            return [{"form_id": f, "created_at": c} for f, c in cur]

    def form_title(self, form_id: int) -> str | None:
        row = self._row("select title from forms where id = %s", (form_id,))
        return None if row is None else str(row[0])

    def submit(self, form_id: int, uid: int, payload: str) -> int:
        del uid  # a submission belongs to the form's supplier, whoever sent it
        with self._con() as con:
            row = con.execute("update suppliers set enquiries = enquiries + 1 "
                              "where id = (select supplier_id from forms where id = %s) returning id",
                              (form_id,)).fetchone()
            if self.faults.db_lock_ms > 0:  # slow work inside the transaction: the row stays locked
                time.sleep(self.faults.db_lock_ms / 1000)
            found = con.execute("insert into submissions (form_id, supplier_id, payload) values (%s, %s, %s) "
                                "returning id", (form_id, row[0] if row else 1, payload)).fetchone()
            return int(found[0]) if found else 0
