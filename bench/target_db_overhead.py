"""What sampling the target's database costs it: the same load with and without ``--perf-target-db``.

    .venv/bin/python bench/target_db_overhead.py --pg postgresql://postgres@127.0.0.1:PORT [--pairs 3]
                                                  [--seconds 20] [--interval 1]

Each pair is two real runs, in alternating order, of the bundled app in PostgreSQL mode (one
database, seeded once, pg_stat_statements preloaded) under 20 API users on its dashboard: one
sampled every ``--interval`` seconds, one not. Printed per pair: throughput and p95 of each, and
the sampler's own statements (``/* perfmon target-db sampler */``) from pg_stat_statements:
calls, execution time, and that time as a share of the run (one backend's busy time). The ratio
sampled / unsampled is the overhead the issue asks to show; the sampler's own time is its cost in
the database, which the throughput ratio can hide in noise.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfmon.system.target_db import MARK  # noqa: E402

SCRIPT = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    if user.token is None:
        r = await client.post("/api/auth/login", json={"email": user.email, "password": user.password})
        user.token = r.json()["token"]
        client.headers["Authorization"] = f"Bearer {user.token}"
    await client.get("/api/dashboard")


def test_db(perf_api):
    perf_api.run(hit, scenario="db")
"""


def own_statements(url: str) -> tuple[int, float]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        row = con.execute("select coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0) from pg_stat_statements "
                          "where query like %s", (f"%{MARK}%",)).fetchone()
    return (int(row[0]), float(row[1])) if row else (0, 0.0)


def one_run(url: str, seconds: float, interval: float | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "perfmon.toml").write_text(f'target_db_interval = {interval or 1}\n[scenarios.db]\nvus = 20\n'
                                             f'duration = "{seconds:g}s"\nthink_time = "0.01s"\n')
        (folder / "test_db.py").write_text(SCRIPT)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFMON_", "DEMO_"))}
        env.update(DEMO_DATABASE_URL=url, DEMO_DB_POOL="20")
        db = folder / "r.db"
        sampled = ["--perf-target-db", url] if interval else []
        before = own_statements(url)
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
                        "test_db.py", "--perf-store", f"sqlite:///{db}", "--perf-regressions", "off", *sampled],
                       cwd=folder, env=env, capture_output=True, text=True, timeout=seconds + 300, check=False)
        after = own_statements(url)
        [(p95, rps, duration)] = sqlite3.connect(db).execute(
            "select p95_response_time_ms, throughput_rps, duration_seconds from performance_test_runs").fetchall()
    calls, ms = after[0] - before[0], after[1] - before[1]
    return {"p95_ms": p95, "rps": rps, "own_calls": calls, "own_ms": ms, "own_share": ms / (duration * 1000)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", required=True, help="a PostgreSQL server URL without a database name")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    import psycopg

    name = f"perfmon_overhead_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f"create database {name}")
    url = f"{args.pg}/{name}"
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("create extension pg_stat_statements")
    try:
        one_run(url, 5, None)  # seeds the database, outside the pairs
        rows = []
        for i in range(args.pairs):
            order = [args.interval, None] if i % 2 == 0 else [None, args.interval]
            found = {("sampled" if iv else "unsampled"): one_run(url, args.seconds, iv) for iv in order}
            rows.append(found)
            s, u = found["sampled"], found["unsampled"]
            print(f"pair {i + 1}: throughput {s['rps']:.1f}/s sampled vs {u['rps']:.1f}/s "
                  f"(ratio {s['rps'] / u['rps']:.3f}); p95 {s['p95_ms']:.1f} vs {u['p95_ms']:.1f} ms "
                  f"(ratio {s['p95_ms'] / u['p95_ms']:.3f}); sampler: {s['own_calls']} statements, "
                  f"{s['own_ms']:.0f} ms = {s['own_share']:.3%} of one backend over the run", flush=True)
        ratio = statistics.median(r["sampled"]["rps"] / r["unsampled"]["rps"] for r in rows)
        share = statistics.median(r["sampled"]["own_share"] for r in rows)
        print(json.dumps({"interval_s": args.interval, "pairs": args.pairs, "median_throughput_ratio": round(ratio, 3),
                          "median_sampler_db_share": round(share, 5)}))
    finally:
        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
            admin.execute(f"drop database {name} with (force)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
