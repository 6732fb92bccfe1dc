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
    merge,
    regressions,
    report,
    run,
    show,
)

__all__ = ["main"]

# In the order `perfmon --help` lists them.
COMMANDS = (run, history, show, report, compare, regressions, baseline, gate, flush, capacity, calibrate, merge,
            browser_server, demo)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="perfmon", description="Performance testing for WedSync.", allow_abbrev=False)
    p.add_argument("--version", action="version", version=f"perfmon {__version__} (pytest-perfmon)")
    p.add_argument("--config", type=Path, default=None, help="perfmon.toml or pyproject.toml (default: nearest)")
    p.add_argument("--store", default=None, help="result store URL (default: PERFMON_STORE or the config)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
