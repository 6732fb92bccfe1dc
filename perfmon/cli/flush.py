"""``perfmon flush``: send the runs kept in ``.perfmon/spool`` to the store."""

from __future__ import annotations

import sys

from ..core.config import Config
from ..core.redaction import redact
from ._common import Subcommands, config

__all__ = ["flush", "register"]


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("flush", help="send runs kept in .perfmon/spool to the store they were meant for")
    cmd.add_argument("--all", action="store_true", dest="any_store",
                     help="also send runs spooled for another store to this one (its URL changed)")
    cmd.set_defaults(handler=lambda args: flush(config(args), any_store=args.any_store))


def flush(cfg: Config, *, any_store: bool = False) -> int:
    """Send the spooled runs; 1 when one was set aside (the store can never take it)."""
    from ..store.spool import flush_spool

    done = flush_spool(cfg, any_store=any_store)
    if not done.sent and not done.rejected and not done.elsewhere and not done.left:
        print("nothing to flush: the spool is empty")
    for run_id in done.sent:
        print(f"flushed run {run_id} to {redact(cfg.store)}")
    for path, why in done.rejected:
        print(f"perfmon: set aside {path} (the store can never take it: {why})", file=sys.stderr)
    for path, why in done.left:
        print(f"perfmon: left {path} in the spool ({why})", file=sys.stderr)
    for store, count in sorted(done.elsewhere.items()):
        print(f"{count} spooled run(s) wait for another store, {store}: flush them with "
              "`perfmon --store <that URL> flush`, or here with `perfmon flush --all`")
    return 1 if done.rejected or done.left else 0
