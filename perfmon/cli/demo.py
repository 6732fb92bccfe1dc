"""``perfmon demo``: serve the bundled WedSync reference app (a separate package perfmon never imports)."""

from __future__ import annotations

import argparse
import subprocess
import sys

from ._common import Subcommands

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    demo = sub.add_parser("demo", help="serve the bundled WedSync reference app")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--host", default="127.0.0.1")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    # Started as a process: perfmon never imports the bundled app.
    return subprocess.call([sys.executable, "-m", "demo_app", "--host", args.host, "--port", str(args.port)])

