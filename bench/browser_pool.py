"""Browser journeys at `pytest -n 50`: CPU per journey against a sequential run, and peak memory.

    .venv/bin/python bench/browser_pool.py [--workers 50] [--browsers 4]

Runs, one after the other, against one bundled app started here (its CPU is not counted):
  1. sequential: the same 4 x N journeys in one process and one browser (the baseline),
  2. `pytest -n N tests/browser_perf --perf-profile smoke` with shared browser servers (the default,
     one per 16 workers), each worker connected straight to its server's websocket (browser/thin.py),
  3. the same through Playwright's own driver-backed connect() (a Node.js relay per worker;
     PERFMON_PLAYWRIGHT_DRIVER=1), the layout before the thin client,
  4. one browser per worker (`--perf-browsers 0`).
Prints CPU seconds per journey, the ratio to the sequential baseline, peak PSS of the tree.
Targets (issue: browser journeys): zero harness failures, peak <= 6 GiB, CPU/journey <= 2x sequential.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import run_measured

from perfmon.system.services import stop_shared_services
from perfmon.system.target import start_local_target

ROOT = Path(__file__).resolve().parents[1]


def journeys(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db)
    row = con.execute("select coalesce(sum(count), 0) from performance_metric_series where name = 'browser_iterations'"
                      ).fetchone()
    failed = con.execute("select coalesce(sum(count * rate), 0) from performance_metric_series "
                         "where name = 'browser_iteration_failed'").fetchone()
    return int(row[0]), round(failed[0])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--browsers", type=int, default=None)
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--cold-cache", action="store_true", help="empty .perfmon/pycache first, as in a fresh clone")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="perfmon-bench-"))
    target = start_local_target("{python} -m demo_app --port {port}", cwd=ROOT)
    (tmp / "services").mkdir()
    (tmp / "services" / "target.json").write_text(json.dumps(target))
    env = {"BASE_URL": target["base_url"]}
    base = [sys.executable, "-m", "pytest", "tests/browser_perf", "-p", "no:cacheprovider", "-o", "addopts=",
            "--perf-profile", "smoke", "-q"]
    # The baseline runs the same number of journeys, so start-up costs count alike on both sides.
    layouts: list[tuple[str, list[str], dict[str, str]]] = [
        ("sequential (1 process, 1 browser)", ["--perf-iterations", str(args.workers)], {})]
    servers = args.browsers or max(1, -(-args.workers // 16))
    shared = ["-n", str(args.workers), "--perf-browsers", str(servers)]
    layouts.append((f"-n {args.workers}, {servers} servers, no driver (default)", shared, {}))
    if not args.skip_naive:
        driver = {"PERFMON_PLAYWRIGHT_DRIVER": "1"}
        layouts.append((f"-n {args.workers}, {servers} servers, driver each", shared, driver))
        layouts.append((f"-n {args.workers}, one browser per worker", ["-n", str(args.workers), "--perf-browsers",
                                                                        "0"], {}))
    cache = ROOT / ".perfmon" / "pycache"  # perfmon/pytest_plugin/bytecode.py: filled by the first run under -n
    if args.cold_cache and cache.exists():
        shutil.rmtree(cache)
    print(f"worker bytecode cache: {'cold' if not cache.exists() else 'warm'}"
          f"{' (PYTHONDONTWRITEBYTECODE is set)' if os.environ.get('PYTHONDONTWRITEBYTECODE') else ''}")
    rows = []
    try:
        for name, extra, extra_env in layouts:
            db = tmp / f"{len(rows)}.db"
            usage = run_measured([*base, *extra, "--perf-store", f"sqlite:///{db}"], cwd=str(ROOT),
                                 env={**env, **extra_env})
            n, failed = journeys(db) if db.exists() else (0, 0)
            rows.append((name, usage, n, failed))
    finally:
        stop_shared_services(tmp / "services")
    seq_cpu = rows[0][1].cpu_s / max(1, rows[0][2])
    print(f"{'layout':40} {'journeys':>8} {'failed':>6} {'exit':>4} {'wall s':>7} {'CPU s':>7} {'CPU/journey':>11} "
          f"{'x seq':>6} {'peak PSS MiB':>12} {'procs':>5}")
    for name, u, n, failed in rows:
        per = u.cpu_s / max(1, n)
        print(f"{name:40} {n:8d} {failed:6d} {u.returncode:4d} {u.wall_s:7.1f} {u.cpu_s:7.1f} {per:11.2f} "
              f"{per / seq_cpu:6.2f} {u.peak_pss_mb:12.0f} {u.peak_processes:5d}")
    print("\nCPU seconds per journey by part of the layout:")
    for name, u, n, _ in rows:
        parts = sorted(u.by_kind.items(), key=lambda kv: -kv[1])
        print(f"  {name}: " + ", ".join(f"{k} {v / max(1, n):.3f}" for k, v in parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
