"""How long a browser run under pytest-xdist takes to stop after Ctrl-C (issue #37: within 10 s,
journeys kept). Starts `pytest -n N` on journeys that visit /login for ten seconds each, sends SIGINT
to the whole process group after WARMUP seconds, as a terminal's Ctrl-C does, and prints the time to
exit, what was stored and what was lost on the way (a worker cut off, a browser connection gone).

    .venv/bin/python bench/interrupt_stop.py --workers 4 32 50 --warmup 60
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JOURNEYS = """
import time

import pytest


@pytest.mark.parametrize("n", range(50))
def test_page(perf, n):
    for _ in range(10):
        perf.page.goto("/login")
        time.sleep(0.8)
"""


def one(workers: int, warmup: float) -> tuple[float, int, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_pages.py").write_text(JOURNEYS)
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
                                 "test_pages.py", "-n", str(workers), "--perf-store", f"sqlite:///{folder}/r.db"],
                                cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        time.sleep(warmup)
        began = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=300)
        took = time.monotonic() - began
        lost = "; ".join(line.strip() for line in out.splitlines()
                         if any(word in line for word in ("lost", "had not finished", "went away")))
        rows = sqlite3.connect(folder / "r.db").execute("select status from performance_test_runs").fetchall()
        return took, proc.returncode, ",".join(r[0] for r in rows), lost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 32, 50])
    parser.add_argument("--warmup", type=float, default=60.0)
    args = parser.parse_args()
    for n in args.workers:
        took, code, stored, lost = one(n, args.warmup)
        print(f"-n {n:<3d} stopped {took:5.1f} s after SIGINT  exit {code}  stored: {stored or 'nothing'}"
              f"  {lost or 'nothing lost'}")


if __name__ == "__main__":
    main()
