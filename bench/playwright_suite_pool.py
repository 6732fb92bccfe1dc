"""A pytest-playwright suite under `pytest --perf -n N` against perfmon's own journeys at the same N.

    .venv/bin/python bench/playwright_suite_pool.py [--workers 16]

Against one bundled app started here (its CPU is not counted), one after the other:
  1. perfmon's journeys: `pytest -n N tests/browser_perf --perf-profile smoke` (4 x N journeys),
  2. a plain pytest-playwright suite (examples/pytest-playwright's conftest, its four tests each
     parametrized N times: 4 x N tests) under `pytest --perf -n N`: shared browser servers reached
     without a Playwright driver per worker (the default),
  3. the same suite with PERFMON_PLAYWRIGHT_DRIVER=1: pytest-playwright's own launch, a browser and
     a Node.js driver per worker (what the suite costs measured without perfmon's browsers).
Prints journeys, CPU seconds per journey, peak PSS of the tree and its ratio to layout 1.
The issue's target: the suite under --perf costs what perf journeys cost (same memory figures).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import run_measured
from browser_pool import journeys

from perfmon.system.services import stop_shared_services
from perfmon.system.target import start_local_target

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "pytest-playwright"


def suite(where: Path, users: int) -> Path:
    """The example's conftest and its four tests, each once per virtual user."""
    where.mkdir()
    shutil.copy(EXAMPLE / "conftest.py", where / "conftest.py")
    shutil.copy(EXAMPLE / "pytest.ini", where / "pytest.ini")
    tests = (EXAMPLE / "test_supplier.py").read_text()
    tests = tests.replace("def test_", f"@pytest.mark.parametrize('vu', range({users}))\ndef test_")
    tests = tests.replace("(page: Page)", "(page: Page, vu: int)")
    (where / "test_supplier.py").write_text(tests)
    return where


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=16)
    args = ap.parse_args()
    n = args.workers
    tmp = Path(tempfile.mkdtemp(prefix="perfmon-bench-"))
    target = start_local_target("{python} -m demo_app --port {port}", cwd=ROOT)
    (tmp / "services").mkdir()
    (tmp / "services" / "target.json").write_text(json.dumps(target))
    url = target["base_url"]
    plain = suite(tmp / "suite", n)
    quiet = ["-p", "no:cacheprovider", "-q"]
    layouts: list[tuple[str, list[str], str, dict[str, str]]] = [
        (f"perf journeys, -n {n}", [sys.executable, "-m", "pytest", "tests/browser_perf", *quiet, "-o", "addopts=",
                                    "--perf-profile", "smoke", "-n", str(n)], str(ROOT), {"BASE_URL": url}),
        (f"suite --perf, -n {n}", [sys.executable, "-m", "pytest", *quiet, "--perf", "--base-url", url,
                                   "-n", str(n)], str(plain), {}),
        (f"suite --perf, -n {n}, driver each", [sys.executable, "-m", "pytest", *quiet, "--perf", "--base-url", url,
                                                "-n", str(n)], str(plain), {"PERFMON_PLAYWRIGHT_DRIVER": "1"}),
    ]
    rows = []
    try:
        for name, argv, cwd, extra_env in layouts:
            db = tmp / f"{len(rows)}.db"
            usage = run_measured([*argv, "--perf-store", f"sqlite:///{db}"], cwd=cwd, env=extra_env)
            found, failed = journeys(db) if db.exists() else (0, 0)
            rows.append((name, usage, found, failed))
    finally:
        stop_shared_services(tmp / "services")
    base_pss = rows[0][1].peak_pss_mb
    print(f"{'layout':36} {'journeys':>8} {'failed':>6} {'exit':>4} {'wall s':>7} {'CPU/journey':>11} "
          f"{'peak PSS MiB':>12} {'x perf':>6} {'procs':>5}")
    for name, u, found, failed in rows:
        print(f"{name:36} {found:8d} {failed:6d} {u.returncode:4d} {u.wall_s:7.1f} {u.cpu_s / max(1, found):11.2f} "
              f"{u.peak_pss_mb:12.0f} {u.peak_pss_mb / base_pss:6.2f} {u.peak_processes:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
