"""``perfmon browser-server``: serve Chromium to journeys on other hosts (``--perf-browser-ws``)."""

from __future__ import annotations

import argparse
import sys

from ..core.env import read
from ._common import Subcommands, port

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    bsrv = sub.add_parser("browser-server", help="serve Chromium to journeys on other hosts (--perf-browser-ws); "
                                                 "prints the endpoint, runs until Ctrl-C")
    bsrv.add_argument("--host", default="127.0.0.1", help="the address to listen on, one the runners reach "
                                                          "(default: 127.0.0.1)")
    bsrv.add_argument("--port", type=port, default=0, help="the port (default: any free one)")
    bsrv.add_argument("--ws-path", default=read("PERFMON_BROWSER_WS_PATH"), metavar="/PATH",
                      help="the endpoint's path, its only secret: give one when several servers sit behind one "
                           "address (a Kubernetes Service); default: PERFMON_BROWSER_WS_PATH, else a random token")
    bsrv.set_defaults(handler=_browser_server)


def _browser_server(args: argparse.Namespace) -> int:
    from ..browser import serve_browser

    def ready(endpoint: str) -> None:
        print(endpoint, flush=True)
        print(f"perfmon: browser server ready; run the journeys with --perf-browser-ws {endpoint} "
              "(Ctrl-C stops it)", file=sys.stderr, flush=True)

    return serve_browser(args.host, args.port, ws_path=args.ws_path, ready=ready)

