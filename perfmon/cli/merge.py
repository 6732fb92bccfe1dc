"""``perfmon merge``: judge a sharded run from the shards in the store; shards missing at the
deadline make it partial (exit 3)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.errors import TargetError
from ..core.exit_codes import ExitCode
from ..core.redaction import redact
from ..core.results import shared_run_id
from ..store import open_store
from ._common import Subcommands, config, positive

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    merge = sub.add_parser("merge", help="judge a sharded run from the shards in the store; missing shards at the "
                                         "deadline make it partial (exit 3)")
    merge.add_argument("run_id", metavar="RUN_ID", help="the id the shards were given (--run-id)")
    merge.add_argument("--shards", type=positive, default=None, metavar="N",
                       help="how many shards the run has (default: what the stored shards say)")
    merge.add_argument("--wait", default="0s", metavar="DURATION",
                       help="wait this long for missing shards before judging without them (default: 0s)")
    merge.add_argument("--report-dir", type=Path, default=None, help="where the reports go (default: the config's)")
    merge.set_defaults(handler=_cmd_merge)


def _cmd_merge(args: argparse.Namespace) -> int:
    """Judge a sharded run from its stored parts, waiting up to ``--wait`` for the missing ones."""
    cfg = config(args)
    from ..core.durations import parse_duration
    from ..pipeline import Outputs
    from ..pipeline.shards import merge_parts

    wait_s = parse_duration(args.wait, what="--wait")
    run_id = shared_run_id(args.run_id)
    deadline = time.monotonic() + wait_s
    store = open_store(cfg.store, root=cfg.root, create=False)
    try:
        while True:
            rows = store.read_shards(run_id)
            expected = args.shards or max((r.shards for r in rows), default=0)
            if (rows and len({r.shard for r in rows}) >= expected) or time.monotonic() >= deadline:
                break
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
    finally:
        store.close()
    if not rows:
        raise TargetError(f"no shard of run {args.run_id} ({run_id}) is in {redact(cfg.store)}; check the run id "
                          "and the store the shards used")
    concluded = merge_parts(rows, cfg, expected=expected,
                            outputs=Outputs(store=True, report_dir=args.report_dir or cfg.root / cfg.report_dir))
    for line, _ in concluded.lines():
        print(line)
    missing = concluded.run.metadata.get("shards", {}).get("missing") or []
    if missing:
        print(f"perfmon: run {run_id} is partial: shard(s) {', '.join(missing)} never reported", file=sys.stderr)
        return ExitCode.UNMEASURED
    return concluded.exit_code
