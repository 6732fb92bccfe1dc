"""Honest browser numbers on this machine (issue #16): what `perfmon calibrate` says (run twice: does
it repeat within one step?), and at each `-n` the share of browser samples measured on an
unsaturated client, the verdict, the cost per journey and what the sampler itself cost.

    .venv/bin/python bench/browser_honesty.py [--workers 8,16,50] [--calibrations 2]

Runs the browser suite (`--perf-profile smoke`) against one bundled app started here, each run into a
scratch store, and reads the stored runs back. The sampler's cost is its own thread's CPU time
(`sampler_cpu_s` in the run's metadata) against the CPU the runner and the browsers used.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfmon.cli.calibrate import newest_run  # noqa: E402
from perfmon.core.findings import JourneyCost  # noqa: E402
from perfmon.core.metrics import Counter  # noqa: E402
from perfmon.core.results import Run  # noqa: E402
from perfmon.system.target import start_local_target  # noqa: E402


def _calibrate(env: dict[str, str], db: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "perfmon", "--store", f"sqlite:///{db}", "calibrate", "--json",
                          "--levels", "1,2,4,8,16", "--iterations", "2", "--", "--perf-profile", "smoke"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if out.returncode not in (0, 3):
        raise SystemExit(f"calibrate failed ({out.returncode}): {out.stderr[-2000:]}")
    found: dict[str, object] = json.loads(out.stdout)
    return found


def _cpu(run: Run, role: str) -> float:
    found = run.metrics.select_tags("process_cpu_seconds", {"role": role})
    return found.count if isinstance(found, Counter) else 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", default="8,16,50")
    ap.add_argument("--calibrations", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="perfmon-honesty-"))
    target = start_local_target("{python} -m demo_app --port {port}", cwd=ROOT)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PERFMON_", "DEMO_"))},
           "BASE_URL": target["base_url"]}
    try:
        for i in range(args.calibrations):
            found = _calibrate(env, tmp / f"calibration{i}.db")
            tried = ", ".join(f"-n {lv['workers']} {'held' if lv['held'] else 'no'} "  # type: ignore[index]
                              f"({100 * (lv['drift'] or 0):+.0f}%, {100 * lv['quarantined']:.0f}% quarantined)"
                              for lv in found["levels"])  # type: ignore[attr-defined]
            print(f"calibration {i + 1}: up to {found['level']} concurrent journey(s) [{tried}]", flush=True)
        print(f"{'-n':>4} {'verdict':>11} {'clean samples':>18} {'journeys':>9} {'CPU-s/journey r+b':>18} "
              f"{'browser MB/journey':>19} {'sampler CPU':>12}")
        for workers in (int(w) for w in args.workers.split(",")):
            db = tmp / f"n{workers}.db"
            subprocess.run([sys.executable, "-m", "pytest", "tests/browser_perf", "-p", "no:cacheprovider", "-o",
                            "addopts=", "-q", "-n", str(workers), "--perf-profile", "smoke", "--perf-store",
                            f"sqlite:///{db}", "--perf-regressions", "off"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=3600, check=False)
            run = newest_run(db)
            counts = (run.metadata.get("quarantine") or {}).get("metrics") or {}
            clean = sum(c["clean"] for c in counts.values())
            total = sum(c["total"] for c in counts.values())
            cost = run.finding(JourneyCost)  # a typed finding since the findings refactor (was metadata)
            journeys = cost.journeys if cost is not None else 0.0
            used = _cpu(run, "runner") + _cpu(run, "browser")
            sampler = float(run.metadata.get("sampler_cpu_s") or 0)
            mb = (cost.roles.get("browser") or {}).get("mb_per_journey") if cost is not None else None
            print(f"{workers:>4} {run.status:>11} {clean:>7} of {total:<5} {100 * clean / max(total, 1):3.0f}% "
                  f"{journeys:>9.0f} {used / max(journeys, 1):>18.2f} {mb or 0:>19.0f} "
                  f"{100 * sampler / max(used, 1e-9):>11.2f}%", flush=True)
    finally:
        os.killpg(target["pid"], 9)
    return 0


if __name__ == "__main__":
    sys.exit(main())
