"""``perfmon flush``: send the runs kept in ``.perfmon/spool`` to the store."""

from __future__ import annotations

import sys

from ..core.config import Config
from ..core.redaction import redact
from ._common import Subcommands, config

__all__ = ["flush", "register"]


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("flush", help="send runs kept in .perfmon/spool to the store")
    cmd.set_defaults(handler=lambda args: flush(config(args)))


def flush(cfg: Config) -> int:
    """Send the spooled runs; 1 when one was set aside (the store can never take it)."""
    from ..store.spool import flush_spool

    done = flush_spool(cfg)
    if not done.sent and not done.rejected:
        print("nothing to flush: the spool is empty")
    for run_id in done.sent:
        print(f"flushed run {run_id} to {redact(cfg.store)}")
    for path, why in done.rejected:
        print(f"perfmon: set aside {path} (the store can never take it: {why})", file=sys.stderr)
    return 1 if done.rejected else 0
