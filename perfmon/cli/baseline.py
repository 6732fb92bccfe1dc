"""``perfmon baseline accept|show``: what runs are compared against, and accepting an intended change."""

from __future__ import annotations

import argparse
import sys
import time

from ..core.config import GateSettings
from ..store import Store
from ._common import (
    Subcommands,
    config,
    newest,
    reading_store,
)

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    base = sub.add_parser("baseline", help="what runs are compared against; accept an intended change")
    base_sub = base.add_subparsers(dest="action", metavar="ACTION")
    base_sub.required = True
    accept = base_sub.add_parser("accept", help="later comparable runs compare from this run on")
    accept.add_argument("run_id", help="a run id or a unique prefix of one")
    show_base = base_sub.add_parser("show", help="the runs a run is compared against")
    show_base.add_argument("run_id", nargs="?", default=None, help="a run id or prefix (default: the newest run)")
    base.set_defaults(handler=_cmd_baseline)


def _cmd_baseline(args: argparse.Namespace) -> int:
    cfg = config(args)
    with reading_store(cfg) as store:
        _baseline(store, args.action, args.run_id, cfg.regression_gate)
    return 0


def _baseline(store: Store, action: str, run_id: str | None, settings: GateSettings) -> None:
    """``accept``: mark an intended change; ``show``: the runs a run is (or would be) compared against."""
    from ..analysis.history import accepted, baseline_runs, target_of
    from ..pipeline.compare import read_history

    if action == "accept":
        assert run_id is not None
        run = store.accept_baseline(run_id)
        print(f"run {run.run_id} is now the baseline of {run.test_type}/{run.environment}/{run.profile} against "
              f"{target_of(run)}: later comparable runs compare with it and the runs after it")
        return
    run = store.load_run(run_id or newest(store))
    past, unreadable = read_history(store, run, settings.baseline_runs)
    for line in unreadable:
        print(f"perfmon: {line}", file=sys.stderr)
    found = baseline_runs(run, past, settings)
    print(f"run {run.run_id} ({run.test_type}, {run.environment}, profile {run.profile}, target {target_of(run)}) "
          f"is compared with {len(found)} run(s):")
    for r in found:
        mark = "  (accepted baseline)" if accepted(r) else ""
        print(f"  {r.run_id[:8]}  {time.strftime('%Y-%m-%d %H:%M', time.gmtime(r.started_at))}  "
              f"{r.status.upper()}  {(r.git_sha or '-')[:8]}{mark}")
    if len(found) < settings.min_runs:
        print(f"  not enough history: {settings.min_runs} comparable runs are needed for a verdict")
