"""``perfmon history``: recent runs with their verdicts and key metrics, a table."""

from __future__ import annotations

import argparse
import sys

from ..store import RunSummary
from ._common import Subcommands, config, fmt, positive, reading_store

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    hist = sub.add_parser("history", help="recent runs with verdicts and key metrics")
    hist.add_argument("--type", default=None, help="only runs of this test type")
    hist.add_argument("--env", default=None, help="only runs in this environment")
    hist.add_argument("--limit", type=positive, default=20)
    hist.set_defaults(handler=_history)


def _history(args: argparse.Namespace) -> int:
    with reading_store(config(args)) as store:
        _history_table(store.history(test_type=args.type, environment=args.env, limit=args.limit))
    return 0


def _history_table(rows: list[RunSummary]) -> None:
    header = ("run", "when (UTC)", "type", "env", "profile", "verdict", "users", "avg ms", "p95 ms", "errors",
              "rps", "commit")
    body = [
        (r.run_id[:8], r.created_at[:19].replace("T", " "), r.test_type, r.environment, r.profile, r.status.upper(),
         str(r.concurrent_users), fmt(r.avg_response_time_ms), fmt(r.p95_response_time_ms),
         "-" if r.error_rate is None else f"{r.error_rate:.2%}", fmt(r.throughput_rps), (r.git_sha or "-")[:8])
        for r in rows
    ]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header, title="perfmon history")
        for row in body:
            style = "red" if row[5] != "PASSED" else "green"
            table.add_row(*row, style=style)
        Console().print(table)
        return
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in body:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
