"""The demo app's database: SQLite in WAL mode, one connection per thread, seeded users.

Handlers run in the threadpool; WAL lets readers proceed during writes and ``busy_timeout``
makes concurrent writers wait instead of failing.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
from pathlib import Path

import bcrypt

__all__ = ["TEST_PASSWORD", "TEST_USER", "VU_USERS", "Database"]

TEST_USER = "testuser@example.com"
TEST_PASSWORD = "testpassword"
VU_USERS = 500
# bcrypt at its minimum cost: real hashing, but a login under load measures the app, not 250 ms
# of key stretching per request.
_ROUNDS = 4

_SCHEMA = """
create table if not exists users (id integer primary key, email text unique not null, password_hash blob not null,
  business_name text not null);
create table if not exists couples (id integer primary key, supplier_id integer not null references users(id),
  names text not null, wedding_date text not null, venue text not null, status text not null, budget real not null);
create index if not exists couples_supplier on couples(supplier_id);
create table if not exists forms (id integer primary key, title text not null);
create table if not exists form_submissions (id integer primary key, form_id integer not null references forms(id),
  user_id integer not null references users(id), payload text not null, created_at text not null);
create index if not exists form_submissions_user on form_submissions(user_id, created_at);
"""
_FIRST = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Isla", "Leo", "Ruby", "Omar", "Priya", "Sam"]
_VENUES = ["Rosewood Manor", "Harbour Hall", "The Old Mill", "Lakeside Barn", "St. Anne's", "Cliff House"]
_STATUS = ["enquiry", "booked", "deposit paid", "planning", "complete"]


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def conn(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            con.execute("pragma journal_mode=wal")
            con.execute("pragma synchronous=normal")
            con.execute("pragma busy_timeout=10000")
            self._local.con = con
        return con

    def seed(self) -> None:
        con = self.conn()
        con.executescript(_SCHEMA)
        if con.execute("select count(*) from users").fetchone()[0]:
            return
        rng = random.Random(42)
        users = [(TEST_USER, TEST_PASSWORD, "Test Photography")]
        users += [(f"vu{i:04d}@example.com", TEST_PASSWORD, f"Supplier {i:04d}") for i in range(1, VU_USERS + 1)]
        salt = bcrypt.gensalt(_ROUNDS)
        hashed = bcrypt.hashpw(TEST_PASSWORD.encode(), salt)  # one hash: every seeded user shares the password
        with con:
            con.executemany(
                "insert into users(email, password_hash, business_name) values (?, ?, ?)",
                [(e, hashed, b) for e, _, b in users],
            )
            today = dt.date(2027, 1, 1)
            rows = []
            for uid in range(1, len(users) + 1):
                for _ in range(12):
                    a, b = rng.sample(_FIRST, 2)
                    rows.append((uid, f"{a} & {b}", (today + dt.timedelta(days=rng.randint(0, 364))).isoformat(),
                                 rng.choice(_VENUES), rng.choice(_STATUS), rng.randint(8, 60) * 500.0))
            con.executemany(
                "insert into couples(supplier_id, names, wedding_date, venue, status, budget) values (?,?,?,?,?,?)",
                rows,
            )
            con.executemany("insert into forms(id, title) values (?, ?)",
                            [(i, f"Client intake form {i}") for i in range(1, 21)])

    def check_login(self, email: str, password: str) -> int | None:
        row = self.conn().execute("select id, password_hash from users where email = ?", (email,)).fetchone()
        if row is None or not bcrypt.checkpw(password.encode(), row[1]):
            return None
        return int(row[0])

    def user(self, uid: int) -> tuple[str, str] | None:
        row = self.conn().execute("select email, business_name from users where id = ?", (uid,)).fetchone()
        return None if row is None else (row[0], row[1])

    def couples(self, uid: int) -> list[dict[str, object]]:
        cur = self.conn().execute(
            "select id, names, wedding_date, venue, status, budget from couples where supplier_id = ? "
            "order by wedding_date", (uid,))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def recent_submissions(self, uid: int) -> list[dict[str, object]]:
        cur = self.conn().execute("select form_id, created_at from form_submissions where user_id = ? "
                                  "order by created_at desc limit 5", (uid,))
        return [{"form_id": f, "created_at": c} for f, c in cur]

    def form_title(self, form_id: int) -> str | None:
        row = self.conn().execute("select title from forms where id = ?", (form_id,)).fetchone()
        return None if row is None else str(row[0])

    def submit(self, form_id: int, uid: int, payload: str) -> int:
        con = self.conn()
        with con:
            cur = con.execute(
                "insert into form_submissions(form_id, user_id, payload, created_at) values (?, ?, ?, ?)",
                (form_id, uid, payload, dt.datetime.now(dt.UTC).isoformat()),
            )
        return int(cur.lastrowid or 0)
