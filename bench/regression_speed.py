"""How long judging one run against 50 history runs takes, with 100 series per run (issue #13's
speed target: under 2 s): the analysis on histograms in memory, and the same with the history read
from a SQLite store first (what a run's end does: pipeline/compare.py's read_history). It also
times storing one such run, which the end of every run does.

    .venv/bin/python bench/regression_speed.py [--runs 50] [--series 100]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perfmon import Run
from perfmon.analysis.history import compare_with_history
from perfmon.pipeline.compare import read_history
from perfmon.store import open_store


def make_run(i: int, series: int, rng: random.Random) -> Run:
    run = Run(test_type="load", environment="ci", profile="smoke", base_url="http://127.0.0.1:1")
    run.started_at = 1_700_000_000.0 + 600 * i
    run.finished_at = run.started_at + 60
    run.status = "passed"
    endpoints = series // 2  # p50 and p95 of each endpoint are two series
    for e in range(endpoints):
        trend = run.metrics.trend("http_req_duration", {"name": f"/api/endpoint/{e}"})
        for k in range(300):
            trend.record(max(1.0, rng.gauss(50 + e, 8)), run.started_at + k * 0.2)
    # The generator's CPU and requests: the gate's pace adjustment (analysis/pace.py) runs as in a real run.
    run.metrics.counter("http_reqs").add(300 * endpoints, run.started_at + 1)
    cpu_s = 0.001 * 300 * endpoints * rng.uniform(0.9, 1.1)
    run.metrics.counter("generator_cpu_seconds").add(cpu_s, run.started_at + 1)
    return run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--series", type=int, default=100)
    args = ap.parse_args()
    rng = random.Random(1)
    history = [make_run(i, args.series, rng) for i in range(args.runs)][::-1]  # newest first
    candidate = make_run(args.runs, args.series, rng)
    started = time.perf_counter()
    found = compare_with_history(candidate, history)
    took = time.perf_counter() - started
    print(f"{len(found.findings)} series judged against {len(found.against)} baseline runs, change points over "
          f"{args.runs + 1} runs: {took:.2f} s in memory (target < 2 s); pace adjusted: {found.pace is not None}")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/history.db")
        started = time.perf_counter()
        for past in history:
            store.write_run(past)
        print(f"storing one such run in SQLite (its per-window statistics included): "
              f"{(time.perf_counter() - started) / len(history):.2f} s")
        started = time.perf_counter()
        read, problems = read_history(store, candidate, 10)
        found = compare_with_history(candidate, read)
        took = time.perf_counter() - started
        store.close()
    print(f"the same with the {len(read)} history runs read from SQLite first: {took:.2f} s "
          f"({len(found.findings)} series, {len(problems)} unreadable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
