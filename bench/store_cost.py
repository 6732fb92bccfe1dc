"""What a run costs the store: rows per table, bytes per series and per histogram window, and the
size of a shard's part, for the runs docs/scaling.md multiplies out.

    .venv/bin/python bench/store_cost.py [--profile ci] [--workers 2]

Runs the product's browser suite and its load scenarios (``perfmon run --type browser`` and
``--type load``) against the bundled app into a scratch SQLite store, each also as shard 1/1 of a
sharded run (so its part is stored too), then reads the store: rows per table per run, the bytes of
every series' encoded windowed histograms (``performance_metric_series.data``) over its windows, and
the part's bytes. Nothing is judged; the figures are for planning.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("performance_test_runs", "performance_metric_series", "performance_metric_windows",
          "performance_threshold_results", "performance_resource_samples", "performance_web_vitals",
          "performance_regressions", "performance_run_shards")


def run(kind: str, store: str, profile: str, workers: int, shard: bool) -> int:
    argv = [sys.executable, "-m", "perfmon", "--store", store, "run", "--type", kind, "--profile", profile,
            "--workers", str(workers)]
    if shard:
        argv += ["--shard", "1/1", "--run-id", f"store-cost-{kind}-{os.getpid()}"]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False).returncode


def measure(db: Path) -> dict[str, object]:
    con = sqlite3.connect(db)
    [(run_id, test_type, seconds)] = con.execute(
        "select id, test_type, duration_seconds from performance_test_runs order by started_at desc limit 1")
    rows = {t: con.execute(f"select count(*) from {t} where {'id' if t == 'performance_test_runs' else 'run_id'} = ?",
                           (run_id,)).fetchone()[0] for t in TABLES}
    series_bytes = windows = hist_bytes = 0
    for (data,) in con.execute("select data from performance_metric_series where run_id = ?", (run_id,)):
        series_bytes += len(data.encode())
        found = json.loads(data)
        if found.get("kind") == "trend":  # one encoded HdrHistogram per 5-s window
            windows += len(found["windows"])
            hist_bytes += sum(len(v) for v in found["windows"].values())
    part = con.execute("select coalesce(sum(length(part)), 0) from performance_run_shards where run_id = ?",
                       (run_id,)).fetchone()[0]
    con.close()
    return {"run": test_type, "seconds": seconds, "rows": rows, "series_bytes": series_bytes, "windows": windows,
            "bytes_per_window": round(hist_bytes / max(windows, 1)), "part_bytes": part,
            "file_bytes": db.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    print(f"{'run':8} {'s':>5} {'rows (all tables)':>18} {'series':>7} {'hist windows':>12} {'B/window':>9} "
          f"{'series KB':>10} {'part KB':>8}  rows by table")
    for kind in ("browser", "load"):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "r.db"
            code = run(kind, f"sqlite:///{db}", args.profile, args.workers, shard=True)
            found = measure(db)
            rows: dict[str, int] = found["rows"]  # type: ignore[assignment]
            print(f"{kind:8} {found['seconds']:>5} {sum(rows.values()):>18} {rows['performance_metric_series']:>7} "
                  f"{found['windows']:>12} {found['bytes_per_window']:>9} {int(found['series_bytes']) / 1024:>10.0f} "  # type: ignore[call-overload]
                  f"{int(found['part_bytes']) / 1024:>8.0f}  {rows} (exit {code})")  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
