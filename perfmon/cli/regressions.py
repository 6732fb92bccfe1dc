"""``perfmon regressions``: a stored run's comparison with its history; exit 1 when it regressed,
3 when it could not be judged (too little history, or the run itself had no verdict)."""

from __future__ import annotations

import argparse
import json

from ..store import Store
from ._common import (
    NO_VERDICT,
    Subcommands,
    config,
    newest,
    reading_store,
)

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    regs = sub.add_parser("regressions", help="a run's comparison with its history; exit 1 when it regressed, "
                                              f"{NO_VERDICT} when it had too little history for a verdict")
    regs.add_argument("run_id", nargs="?", default=None, help="a run id or a unique prefix (default: the newest run)")
    regs.add_argument("--json", action="store_true", help="the findings as JSON")
    regs.set_defaults(handler=_cmd_regressions)


def _cmd_regressions(args: argparse.Namespace) -> int:
    with reading_store(config(args)) as store:
        return _regressions(store, args.run_id, as_json=args.json)


def _regressions(store: Store, run_id: str | None, *, as_json: bool) -> int:
    """Print a stored run's comparison with its history; 1 when it has an open regression or leak,
    NO_VERDICT when it could not be judged (too little comparable history), 0 otherwise."""
    from ..pipeline.compare import open_regressions
    from ..pipeline.summary import history_lines

    run = store.load_run(run_id or newest(store))  # a run without a verdict is read unjudged (Run.from_dict)
    found = run.comparison
    regressed = bool(open_regressions(run))
    judged = regressed or (found is not None and bool(found.findings) and not found.unjudged)
    if as_json:
        print(json.dumps({"run_id": run.run_id, "regressed": regressed, "judged": judged,
                          **(found.to_dict() if found else {})}, indent=2))
    else:
        print(f"perfmon run {run.run_id}  {run.test_type}  {run.environment}  verdict={run.status.upper()}")
        print("\n".join(history_lines(run)) or "  history: this run was not compared with its history")
    if regressed:
        return 1
    return 0 if judged else NO_VERDICT
