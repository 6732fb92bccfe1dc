"""The target's PostgreSQL under load: connections, waits, locks and queries, sampled over the run.

HTTP numbers say the platform got slow; this says whether the database did it. Given a connection
string (any PostgreSQL, Supabase's included; read-only use), a daemon thread reads every
``interval_s``:

- ``pg_stat_activity``: client connections by state (``db_connections{state}``), the active ones'
  wait events by type (``db_waiting{wait_type}``), and all of the server's client connections
  against ``max_connections`` (``db_connections_used``, ``db_connections_max``); per client
  application, whether every connection it holds is in use (``db_connections_saturated{application}``,
  a Rate: a pool that has run dry holds all its connections busy, mostly ``idle in transaction``);
- ``pg_locks``: how many backends wait for a lock (``db_lock_waits``) and how long each has waited
  so far (``db_lock_wait_ms``), with who blocks whom (``pg_blocking_pids``);
- ``pg_stat_database``: commits, rollbacks, deadlocks, temp bytes as Counters, and the buffer cache
  hit ratio of each interval (``db_cache_hit_ratio``);
- ``pg_stat_statements``, summed, once per 5-s window (cheap where reading it per query each tick
  would not be, with thousands of statements): the time and the calls of all statements
  (``db_statements_ms``, ``db_statements``, Counters), so the report draws database time beside latency.

Levels are Trends, so they window, merge and take thresholds like every other metric
(``db_lock_wait_ms: p(95)<100``, ``db_connections_used: max<80``). ``pg_stat_statements`` is read at
the start and at the end: the top queries by total time over the run are its deltas. Query text is
always PostgreSQL's normalized text (``$1`` for every constant); ``pg_stat_activity.query``, which
carries parameter values, is never read. Hand-written because no library samples these views over
a time span (``supabase inspect db`` reads them once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import PerfmonError, one_line
from ..core.metrics import WINDOW_S, Metrics
from ..core.redaction import redact

__all__ = ["BlockingChain", "QueryDelta", "TargetDbError", "TargetDbSampler", "TargetDbSummary"]

MARK = "/* perfmon target-db sampler */"  # on every query of ours, so our own never count as the target's

_BUSY = ("active", "idle in transaction", "idle in transaction (aborted)", "fastpath function call")
_STATEMENTS_HOWTO = ("pg_stat_statements is not enabled in {db}: run `create extension pg_stat_statements` "
                     "with it in shared_preload_libraries (on Supabase: Database > Extensions, schema "
                     "extensions); the run goes on without the query table")


class TargetDbError(PerfmonError):
    """The target database cannot be sampled (unreachable, refused, or not PostgreSQL)."""


@dataclass(frozen=True)
class QueryDelta:
    """One normalized query over the run: what ``pg_stat_statements`` added between start and end."""

    query: str
    calls: int
    total_ms: float
    rows: int

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass
class BlockingChain:
    """A query that waited for a lock held by another: how often it was seen, and its longest wait."""

    waiting: str
    blocking: str
    seen: int = 0
    longest_ms: float = 0.0


@dataclass
class TargetDbSummary:
    """What the sampler found besides its metrics: stored in the run's metadata as ``target_db``."""

    database: str
    statements: str | None = None  # why the query table is missing, when it is
    queries: list[QueryDelta] = field(default_factory=list)
    blocking: list[BlockingChain] = field(default_factory=list)
    lost: str | None = None  # the connection went away mid-run: sampling stopped there
    # Connection time in use (sampled: busy connections x interval) against the time all statements
    # executed over the run (pg_stat_statements): low means connections were held, not working.
    busy_ms: float = 0.0
    exec_ms: float | None = None
    connections: dict[str, int] = field(default_factory=dict)  # most connections each application held

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "statements": self.statements, "lost": self.lost,
                "busy_ms": round(self.busy_ms, 1), "exec_ms": None if self.exec_ms is None else round(self.exec_ms, 1),
                "connections": self.connections,
                "queries": [{"query": q.query, "calls": q.calls, "total_ms": round(q.total_ms, 3),
                             "mean_ms": round(q.mean_ms, 3), "rows": q.rows} for q in self.queries],
                "blocking": [{"waiting": b.waiting, "blocking": b.blocking, "seen": b.seen,
                              "longest_ms": round(b.longest_ms, 1)} for b in self.blocking]}


class TargetDbSampler:
    """``start()`` connects and takes the first snapshot (raising :class:`TargetDbError` in one line);
    ``stop()`` ends the thread and returns the :class:`TargetDbSummary`."""

    def __init__(self, url: str, metrics: Metrics, *, interval_s: float = 1.0, top: int = 10,
                 tags: Mapping[str, str] | None = None) -> None:
        self.url, self.metrics, self.interval_s, self.top = url, metrics, interval_s, top
        self.tags = dict(tags or {})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._con: Any = None
        self._statements: str | None = None  # the schema-qualified view, when it can be read
        self._before: dict[int, tuple[str, int, float, int]] = {}
        self._last_db: tuple[float, ...] | None = None
        # (waiting, blocking) queryid -> [samples seen, longest wait ms]; named once, at the end
        self._chains: dict[tuple[int | None, int | None], list[float]] = {}
        self._max_connections = 0
        self._last_tick: float | None = None
        self._last_totals: tuple[float, float] | None = None  # all statements' (calls, ms) at the last read
        self._totals_at = 0.0
        self._own: set[int] = set()  # our own statements' query ids, left out of the totals
        self.summary = TargetDbSummary(database="?")

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        try:
            import psycopg
        except ImportError:
            raise TargetDbError("sampling the target database needs psycopg; install it with: "
                                "pip install 'pytest-perfmon[postgres]'") from None
        try:
            self._con = psycopg.connect(self.url, autocommit=True, connect_timeout=10, prepare_threshold=None,
                                        application_name="perfmon target-db sampler")
            self._con.execute("set statement_timeout = '2s'")
            db, max_connections = self._one(f"{MARK} select current_database(), "
                                            "current_setting('max_connections')::int")
        except psycopg.Error as exc:
            raise TargetDbError(f"cannot sample the target database {redact(self.url)} "
                                f"({one_line(exc)}); the run goes on without "
                                "database metrics") from None
        self.summary.database = str(db)
        self._max_connections = int(max_connections)
        self._statements, self.summary.statements = self._find_statements(str(db))
        if self._statements:
            self._before = self._read_statements()
        self._tick()
        if self._statements:  # every statement of ours has run once now: learn their ids
            self._own = {int(q) for (q,) in self._all(
                f"{MARK} select queryid from {self._statements} where queryid is not null and query like %s",
                (f"%{MARK}%",))}
            self._last_totals = None
            self._statement_totals(time.time())
        self._thread = threading.Thread(target=self._run, name="perfmon-target-db", daemon=True)
        self._thread.start()

    def stop(self) -> TargetDbSummary:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        statements = self._before
        if self._con is not None and self.summary.lost is None:
            try:
                self._totals_at = 0.0  # the last, partial window's statements too
                self._tick()
                if self._statements:
                    statements = self._read_statements()
                    deltas = self._deltas(statements)
                    self.summary.exec_ms = sum(q.total_ms for q in deltas)
                    self.summary.queries = deltas[: self.top]
            except Exception as exc:  # noqa: BLE001 - whatever the driver raises: keep what was sampled
                self.summary.lost = one_line(exc)
        if self._con is not None:
            self._con.close()
        chains = [BlockingChain(self._text(w, statements), self._text(b, statements), int(seen), longest)
                  for (w, b), (seen, longest) in self._chains.items()]
        self.summary.blocking = sorted(chains, key=lambda c: (-c.seen, -c.longest_ms))[: self.top]
        return self.summary

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._tick()
            except Exception as exc:  # noqa: BLE001 - a lost connection ends sampling, not the run
                self.summary.lost = one_line(exc)
                return

    # --- reading ------------------------------------------------------------------------------
    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        row = self._con.execute(sql, args).fetchone()
        if row is None:
            raise TargetDbError(f"the target database answered nothing to: {sql}")
        return tuple(row)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._con.execute(sql, args).fetchall()]

    def _find_statements(self, db: str) -> tuple[str | None, str | None]:
        found = self._all(f"{MARK} select n.nspname from pg_extension e join pg_namespace n "
                          "on n.oid = e.extnamespace where e.extname = 'pg_stat_statements'")
        if not found:
            return None, _STATEMENTS_HOWTO.format(db=db)
        view = f'"{found[0][0]}".pg_stat_statements'
        try:
            self._all(f"{MARK} select 1 from {view} limit 1")
        except Exception:  # noqa: BLE001 - not preloaded: the view exists but cannot be read
            return None, _STATEMENTS_HOWTO.format(db=db)
        return view, None

    def _read_statements(self) -> dict[int, tuple[str, int, float, int]]:
        rows = self._all(f"{MARK} select queryid, query, calls, total_exec_time, rows from {self._statements} "
                         "where dbid = (select oid from pg_database where datname = current_database()) "
                         "and queryid is not null")
        return {int(q): (str(text), int(calls), float(total), int(n)) for q, text, calls, total, n in rows
                if MARK not in str(text)}

    def _deltas(self, after: dict[int, tuple[str, int, float, int]]) -> list[QueryDelta]:
        out = []
        for qid, (text, calls, total, rows) in after.items():
            _, calls0, total0, rows0 = self._before.get(qid, (text, 0, 0.0, 0))
            if calls > calls0:
                out.append(QueryDelta(text, calls - calls0, total - total0, rows - rows0))
        return sorted(out, key=lambda q: -q.total_ms)

    def _tick(self) -> None:
        now, m, tags = time.time(), self.metrics, self.tags
        states: dict[str, int] = {"active": 0, "idle": 0, "idle in transaction": 0}
        waits: dict[str, int] = {}
        apps: dict[str, list[int]] = {}  # application -> [connections, busy]
        for app, state, wait_type, n in self._all(
                f"{MARK} select application_name, coalesce(state, 'unknown'), wait_event_type, count(*) "
                "from pg_stat_activity where datname = current_database() and backend_type = 'client backend' "
                "and pid <> pg_backend_pid() group by 1, 2, 3"):
            states[state] = states.get(state, 0) + int(n)
            if state == "active" and wait_type:
                waits[wait_type] = waits.get(wait_type, 0) + int(n)
            held = apps.setdefault(str(app) or "(unnamed)", [0, 0])
            held[0] += int(n)
            held[1] += int(n) if state in _BUSY else 0
        busy = sum(b for _, b in apps.values())
        if self._last_tick is not None:
            self.summary.busy_ms += busy * (now - self._last_tick) * 1000
        self._last_tick = now
        for app, (n, b) in apps.items():
            m.rate("db_connections_saturated", {**tags, "application": app}).record(b == n, now)
            self.summary.connections[app] = max(n, self.summary.connections.get(app, 0))
        for state, n in states.items():
            m.trend("db_connections", {**tags, "state": state}, resolution=1).record(n, now)
        for wait_type in {"Lock", "LWLock", "IO", "Client", "IPC", *waits}:
            m.trend("db_waiting", {**tags, "wait_type": wait_type}, resolution=1).record(waits.get(wait_type, 0), now)
        (used,) = self._one(f"{MARK} select count(*) from pg_stat_activity where backend_type = 'client backend'")
        m.trend("db_connections_used", tags, resolution=1).record(int(used), now)
        m.gauge("db_connections_max", tags).record(self._max_connections, now)
        self._locks(now)
        self._database(now)
        if self._statements and now - self._totals_at >= WINDOW_S:
            self._statement_totals(now)

    def _statement_totals(self, now: float) -> None:
        # The function form without text: the view reads every query's text from disk.
        calls, ms = (float(v or 0) for v in self._one(
            f"{MARK} select sum(calls), sum(total_exec_time) from {self._statements}(false) "
            "where dbid = (select oid from pg_database where datname = current_database()) "
            "and queryid <> all(%s)", (list(self._own),)))
        if self._last_totals is not None:
            self.metrics.counter("db_statements", self.tags).add(max(0.0, calls - self._last_totals[0]), now)
            self.metrics.counter("db_statements_ms", self.tags).add(max(0.0, ms - self._last_totals[1]), now)
        self._last_totals, self._totals_at = (calls, ms), now

    def _locks(self, now: float) -> None:
        # One query a tick, however many wait: each waiter with the queries of the backends blocking it.
        waiting = self._all(
            f"{MARK} select extract(epoch from now() - l.waitstart) * 1000, a.query_id, "
            "array(select b.query_id from pg_stat_activity b where b.pid = any(pg_blocking_pids(l.pid))) "
            "from pg_locks l join pg_stat_activity a on a.pid = l.pid "
            "where not l.granted and l.waitstart is not null and a.datname = current_database()")
        self.metrics.trend("db_lock_waits", self.tags, resolution=1).record(len(waiting), now)
        for waited_ms, query_id, blockers in waiting:
            waited = max(0.0, float(waited_ms))
            self.metrics.trend("db_lock_wait_ms", self.tags).record(waited, now)
            for blocker in blockers or ():
                chain = self._chains.setdefault((query_id, blocker), [0, 0.0])
                chain[0] += 1
                chain[1] = max(chain[1], waited)

    def _text(self, query_id: int | None, statements: dict[int, tuple[str, int, float, int]]) -> str:
        """A query's normalized text (never the one with its parameters)."""
        if query_id is None or not self._statements:
            return "(query text needs pg_stat_statements)"
        found = statements.get(int(query_id))
        return found[0] if found else f"(query {query_id})"

    def _database(self, now: float) -> None:
        row = self._one(f"{MARK} select xact_commit, xact_rollback, deadlocks, temp_bytes, blks_read, blks_hit "
                        "from pg_stat_database where datname = current_database()")
        current = tuple(float(v or 0) for v in row)
        if self._last_db is not None:
            d = [b - a for a, b in zip(self._last_db, current, strict=True)]
            for name, value in zip(("db_commits", "db_rollbacks", "db_deadlocks", "db_temp_bytes"), d, strict=False):
                self.metrics.counter(name, self.tags).add(max(0.0, value), now)  # zero too: "no deadlocks" is data
            if (reads := d[4] + d[5]) > 0:
                self.metrics.trend("db_cache_hit_ratio", self.tags, resolution=0.0001).record(d[5] / reads, now)
        self._last_db = current
