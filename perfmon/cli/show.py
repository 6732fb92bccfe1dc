"""``perfmon show``: one stored run, its thresholds and summary, as the run printed them."""

from __future__ import annotations

import argparse

from ._common import Subcommands, config, reading_store

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    show = sub.add_parser("show", help="one stored run: thresholds and summary")
    show.add_argument("run_id", help="a run id or a unique prefix of one")
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    from ..pipeline import summary_lines

    with reading_store(config(args)) as store:
        print("\n".join(summary_lines(store.load_run(args.run_id))))
    return 0

