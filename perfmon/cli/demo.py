"""``perfmon demo``: serve the bundled WedSync reference app (a separate package perfmon never imports)
until Ctrl-C or SIGTERM, and say where it is and how to log in once it answers.

The app runs as a child process in a group of its own; a signal to ``perfmon demo`` stops it (a
service manager's or CI's SIGTERM used to leave the child serving on its port).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from types import FrameType

from ..core.errors import TargetError
from ._common import Subcommands, port

__all__ = ["register"]

_SEEDED = ("vu0001@example.com", "testpassword")  # demo_app/db.py seeds vu0001..vu0500 with this password


def register(sub: Subcommands) -> None:
    demo = sub.add_parser("demo", help="serve the bundled WedSync reference app (the default target)")
    demo.add_argument("--port", type=port, default=8000, help="0: any free port (default: 8000)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from ..system.target import free_port, wait_healthy

    chosen = args.port or free_port()
    url = f"http://{args.host}:{chosen}"
    # Started as a process: perfmon never imports the bundled app.
    child = subprocess.Popen([sys.executable, "-m", "demo_app", "--host", args.host, "--port", str(chosen)],
                             start_new_session=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if wait_healthy(child, f"{url}/healthz"):
            print(f"perfmon demo: the WedSync reference app is at {url} (log in as {_SEEDED[0]} / {_SEEDED[1]}; "
                  f"vu0001..vu0500 are seeded); Ctrl-C stops it", flush=True)
        elif child.poll() is None:
            raise TargetError(f"the reference app did not answer {url}/healthz in time; is {url} free?")
        return child.wait()  # it exited: demo_app said why
    except KeyboardInterrupt:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        print("perfmon demo: stopped", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child.poll() is None:
            child.kill()
