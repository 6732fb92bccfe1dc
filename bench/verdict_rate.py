"""How often the README's main command gives a verdict on this machine (issue #38's first target:
20 of 20 on an idle 2-core machine, from a fresh clone).

Clones this repository's committed HEAD into a temporary folder (a fresh clone: its own .venv, its own
store), then runs `./scripts/run-performance-tests.sh --profile smoke` RUNS times, each into a store
of its own (so no run is judged against the ones before it), and prints each run's exit code, the
plan line and the clean share, then how many gave a verdict (exit 0 or 1).

    .venv/bin/python bench/verdict_rate.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PERFMON_", "DEMO_", "VIRTUAL_ENV")) and k != "BASE_URL"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    codes = []
    with tempfile.TemporaryDirectory(prefix="perfmon-verdicts-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        for i in range(1, args.runs + 1):
            began = time.monotonic()
            out = subprocess.run(["./scripts/run-performance-tests.sh", "--profile", "smoke"], cwd=clone, text=True,
                                 capture_output=True, timeout=1200,
                                 env={**env, "PERFMON_STORE": f"sqlite:///{tmp}/run-{i}.db"})
            said = out.stdout + out.stderr
            plan = next((line for line in said.splitlines() if line.startswith("perfmon: plan:")), "(no plan line)")
            clean = re.search(r"browser samples clean (\d+) of (\d+)", said)
            verdict = re.search(r"verdict=(\w+)", said)
            codes.append(out.returncode)
            print(f"run {i:2d}: exit {out.returncode} {verdict.group(1) if verdict else '?':10s} "
                  f"clean {clean.group(1) + '/' + clean.group(2) if clean else '-':9s} "
                  f"{time.monotonic() - began:5.0f} s  {plan if i == 1 else ''}", flush=True)
            if out.returncode not in (0, 1):
                print("   " + "\n   ".join(said.strip().splitlines()[-6:]), flush=True)
    given = sum(code in (0, 1) for code in codes)
    print(f"verdicts: {given} of {len(codes)} (exit 0: {codes.count(0)}, 1: {codes.count(1)}, 3: {codes.count(3)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
