"""Peak memory of `pytest -n N tests/browser_perf` split by process kind, for two source trees side by side.

    .venv/bin/python bench/memory_by_role.py --workers 50 --reps 2 OLD_TREE NEW_TREE

Each tree is a checkout of perfmon (``git worktree add /tmp/old <commit>``); its pytest run imports
perfmon from that tree (PYTHONPATH) against one bundled app started here (not counted). Runs
alternate old, new, old, new... so drift of the machine hits both alike. At the moment the tree's
total PSS peaks it records PSS per kind (Python workers, Node.js browser servers, Chromium) and
the mean USS of one Python worker: the figure that moves when perfmon's own footprint does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from perfmon.system.target import start_local_target

ROOT = Path(__file__).resolve().parents[1]


def kind(p: psutil.Process) -> str:
    try:
        name, cmd = p.name(), " ".join(p.cmdline()[:3])
    except psutil.Error:
        return "gone"
    if "chrom" in name or "chrom" in cmd:
        return "chromium"
    if "node" in name:
        return "node"
    return "python" if "python" in name or "pytest" in cmd else name


def measure(tree: str, workers: int, base_url: str, extra: list[str]) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="perfmon-bench-mem-"))
    # BENCH_PYTHONPATH adds probe plugins (for example one that calls gc.collect() after each test).
    path = [tree, *filter(None, os.environ.get("BENCH_PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "BASE_URL": base_url, "PYTHONPATH": os.pathsep.join(path),
           "PERFMON_STORE": f"sqlite:///{out}/r.db"}
    servers = str(max(1, -(-workers // 16)))
    argv = [sys.executable, "-m", "pytest", "tests/browser_perf", "-p", "no:cacheprovider", "-o", "addopts=",
            "--perf-profile", "smoke", "-q", "-n", str(workers), "--perf-browsers", servers, *extra]
    with (out / "pytest.log").open("w") as log:
        proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    root = psutil.Process(proc.pid)
    seen = {proc.pid: root}
    best: dict[str, float] = {"total": 0.0}
    while proc.poll() is None:
        try:
            for child in root.children(recursive=True):
                seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
        by: dict[str, float] = {}
        worker_uss: list[float] = []
        for pid, p in list(seen.items()):
            try:
                info = p.memory_full_info()
            except psutil.Error:
                continue
            k = kind(p)
            by[k] = by.get(k, 0.0) + info.pss / 2**20
            if k == "python" and pid != proc.pid:
                worker_uss.append(info.uss / 2**20)
        total = sum(by.values())
        if total > best["total"]:
            best = {"total": total, **by, "worker_uss": sum(worker_uss) / max(1, len(worker_uss))}
        time.sleep(0.5)
    return {"rc": float(proc.returncode), **best}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs=2, metavar="TREE", help="the old and the new checkout")
    ap.add_argument("--workers", type=int, default=50)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--pytest-arg", action="append", default=[], help="passed on to both pytest runs")
    args = ap.parse_args()
    target = start_local_target("{python} -m demo_app --port {port}", cwd=ROOT)
    try:
        for rep in range(args.reps):
            for label, tree in zip(("old", "new"), args.trees, strict=True):
                found = measure(tree, args.workers, target["base_url"], args.pytest_arg)
                print(rep + 1, label, json.dumps({k: round(v, 1) for k, v in found.items()}), flush=True)
    finally:
        psutil.Process(target["pid"]).kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
