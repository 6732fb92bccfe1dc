"""The ``perfmon`` command: one module per command, each adding its parser and its handler
(``set_defaults(handler=...)``). Errors are one line and an exit code, decided here and only here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .._version import __version__
from ..core.errors import PerfmonError
from . import (
    baseline,
    browser_server,
    calibrate,
    capacity,
    compare,
    demo,
    flush,
    gate,
    history,
    init,
    merge,
    migrations,
    regressions,
    report,
    run,
    show,
)
from ._common import Parser

__all__ = ["main"]

# In the order `perfmon --help` lists them.
COMMANDS = (init, run, history, show, report, compare, regressions, baseline, gate, flush, capacity, calibrate, merge,
            migrations, browser_server, demo)


def parser() -> Parser:
    p = Parser(prog="perfmon", description="Performance testing for WedSync.")
    p.add_argument("--version", action="version", version=f"perfmon {__version__} (pytest-perfmon)")
    p.add_argument("--config", type=Path, default=None, help="perfmon.toml or pyproject.toml (default: nearest)")
    p.add_argument("--store", default=None, help="result store URL (default: PERFMON_STORE or the config)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    root = parser()
    args, extra = root.parse_known_args(argv)
    if extra:
        _chosen(root, args).unknown(extra)
    try:
        return int(args.handler(args))
    except PerfmonError as exc:
        print(f"perfmon: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfmon: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `perfmon history | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _chosen(p: Parser, args: argparse.Namespace) -> Parser:
    """The (sub)command parser the arguments selected: its options are the ones a typo was meant as."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction) and (name := getattr(args, action.dest, None)):
            found: Parser = action.choices[name]
            return _chosen(found, args)
    return p


if __name__ == "__main__":
    sys.exit(main())
