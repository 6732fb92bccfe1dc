"""``perfmon report``: a stored run's reports rendered again (HTML, summary.json, JUnit, Markdown)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import Subcommands, config, reading_store

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    rep = sub.add_parser("report", help="re-render a stored run's reports (HTML, summary.json, JUnit, Markdown)")
    rep.add_argument("run_id", help="a run id or a unique prefix of one")
    rep.add_argument("--out", type=Path, default=None, help="reports folder (default: the config's report_dir)")
    rep.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from ..report import write_reports

    cfg = config(args)
    with reading_store(cfg) as store:
        run = store.load_run(args.run_id)
        history = store.history(test_type=run.test_type, environment=run.environment, limit=20)
    paths = write_reports(run, args.out or cfg.root / cfg.report_dir, history=history)
    print(f"report: {paths.html}")
    print(f"summary.json: {paths.summary}  junit: {paths.junit}  markdown: {paths.markdown}")
    return 0

