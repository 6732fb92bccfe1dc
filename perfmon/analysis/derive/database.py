"""Where the target's database made the platform slow: locks, the connection pool, or the queries.

Reads what the target-DB sampler found (``run.metadata["target_db"]`` and its ``db_*`` metrics) and,
when the app reports it, its wait for a pooled connection in ``Server-Timing`` (any metric whose
name holds ``pool``, e.g. ``db-pool;dur=12.3``, recorded as ``http_req_server_timing{metric}``).
The rules, in order, each a plain share so the report can say why:

1. **locks**: some backend waited for a lock in at least ``LOCK_SAMPLES`` of the samples;
2. requests spent at least ``POOL_SHARE`` of their server time waiting for a connection (or, with
   no such timing, every connection of the app was in use in ``SATURATED`` of the samples). Then
   what held the connections decides: if they executed statements most of the time they were held
   (``EXEC_SHARE``; held = served minus waited, from the app's timing), slow **queries** kept them;
   otherwise the app held them while doing other work and the **pool** is too small for the load;
3. **queries**: the connections' held time was mostly statements, one query most of that time.

Hand-written: the rules combine one sampler's views with the app's own timing, which no library
reads together. The thresholds come from the bundled app's PostgreSQL mode (bench/README.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ...core.findings import DbBottleneck
from ...core.metrics import Metrics, Rate, Trend
from ...core.numbers import number
from ...core.results import Run

__all__ = ["compare_queries", "db_bottleneck"]

LOCK_SAMPLES = 0.10
POOL_SHARE = 0.5
SATURATED = 0.8
EXEC_SHARE = 0.5


def db_bottleneck(found: dict[str, Any], metrics: Metrics) -> DbBottleneck:
    """The bottleneck (``"locks"``, ``"pool"``, ``"queries"`` or None), why, and the shares it read."""
    queries = found.get("queries") or []
    waited_ms, served_ms = _server_time(metrics)
    # The time connections were held: exact from the app's timing when it reports its pool wait,
    # else sampled from PostgreSQL's view (which misses the moments before a request's first statement).
    held_ms = served_ms - waited_ms if waited_ms else float(found.get("busy_ms") or 0.0)
    exec_ms = found.get("exec_ms")
    exec_share = exec_ms / held_ms if exec_ms is not None and held_ms > 0 else None
    shares: dict[str, Any] = {"exec_share": _round(exec_share), "lock_samples": _round(_lock_samples(metrics)),
                              "pool_wait_share": _round(waited_ms / served_ms if waited_ms and served_ms else None),
                              "saturated": _round(_saturated(metrics, _app(found)))}
    lock, pool, saturated = shares["lock_samples"], shares["pool_wait_share"], shares["saturated"]
    top = queries[0] if queries else None
    top_share = top["total_ms"] / exec_ms if top and exec_ms else None

    if lock is not None and lock >= LOCK_SAMPLES and found.get("blocking"):
        chain = found["blocking"][0]
        why = (f"a backend waited for a lock in {lock:.0%} of samples: `{chain['waiting']}` waited for "
               f"`{chain['blocking']}` (longest wait {chain['longest_ms']:.0f} ms)")
        return DbBottleneck("locks", why, shares)
    waiting = (f"requests spent {pool:.0%} of their server time waiting for a database connection"
               if pool is not None and pool >= POOL_SHARE else
               f"every connection of {_app(found)} was in use in {saturated:.0%} of samples"
               if pool is None and saturated is not None and saturated >= SATURATED else None)
    if waiting is not None:
        if exec_share is not None and exec_share >= EXEC_SHARE and top is not None:
            return DbBottleneck("queries", f"{waiting}, held by slow queries: {_top(top, top_share)}", shares)
        held = ("" if exec_share is None else
                f" while executing statements only {exec_share:.0%} of the time it held them")
        return DbBottleneck("pool", f"{waiting}; the app held its {_connections(found)}{held}: the pool, not the "
                                    "queries, is the bottleneck", shares)
    if exec_share is not None and exec_share >= EXEC_SHARE and top and top_share is not None and top_share >= 0.5:
        return DbBottleneck("queries", f"connections were busy executing statements: {_top(top, top_share)}", shares)
    return DbBottleneck(None, "the database kept up: no lasting lock waits, no wait for connections, and "
                              "statements took a minority of the connections' busy time", shares)


def _top(query: dict[str, Any], share: float | None) -> str:
    part = f"{share:.0%} of statement time, " if share is not None else ""
    return f"`{query['query']}` took {part}{number(query['mean_ms'], digits=3)} ms mean over {query['calls']} calls"


def _app(found: dict[str, Any]) -> str:
    held = found.get("connections") or {}
    return max(held, key=lambda app: int(held[app])) if held else "the app"


def _connections(found: dict[str, Any]) -> str:
    held = found.get("connections") or {}
    return f"{max(held.values())} connection(s)" if held else "connections"


def _lock_samples(metrics: Metrics) -> float | None:
    waits = metrics.select_tags("db_lock_waits", {})
    if not isinstance(waits, Trend) or not waits.count:
        return None
    return sum(n for value, n in waits.distribution() if value > 0) / waits.count


def _server_time(metrics: Metrics) -> tuple[float, float]:
    """The app's own account over all requests (ms): waiting for a connection, and serving in all."""
    timings = metrics.series("http_req_server_timing")
    waited = sum(_total(t) for _, tags, t in timings if "pool" in tags.get("metric", ""))
    served = sum(_total(t) for _, _, t in metrics.series("http_req_server_duration"))
    return waited, served


def _saturated(metrics: Metrics, app: str) -> float | None:
    """The share of samples in which every connection of ``app`` (the one holding the most) was busy."""
    found = metrics.select_tags("db_connections_saturated", {"application": app})
    return found.rate if isinstance(found, Rate) else None


def _total(metric: object) -> float:
    return metric.sum if isinstance(metric, Trend) else 0.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def compare_queries(run: Run, baseline: Sequence[Run]) -> None:
    """Give each of ``run``'s top queries the median of its mean time over the ``baseline`` runs that
    had it among theirs (the same normalized text), and the change against it."""
    found = run.metadata.get("target_db")
    if not isinstance(found, dict) or not found.get("queries"):
        return
    past: dict[str, list[float]] = {}
    for other in baseline:
        for q in (other.metadata.get("target_db") or {}).get("queries") or ():
            past.setdefault(str(q["query"]), []).append(float(q["mean_ms"]))
    for q in found["queries"]:
        means = past.get(q["query"], [])
        median = statistics.median(means) if means else None
        q["baseline_runs"] = len(means)
        q["baseline_mean_ms"] = None if median is None else round(median, 3)
        q["change"] = round(q["mean_ms"] / median - 1, 3) if median else None
