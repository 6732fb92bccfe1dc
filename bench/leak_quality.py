"""Leak detection quality: perfmon's leak check against simpler rules, on the same real soak runs.

    .venv/bin/python bench/leak_quality.py [--trials 20] [--seconds 60] [--leak-kb 50]

Each trial is a real user's run: pytest with perfmon's plugin, one API soak scenario (4 VUs against
the bundled app's login page) for ``--seconds``, stored in SQLite. Half the trials run the app with
``DEMO_LEAK_KB_PER_REQ=--leak-kb`` (it keeps that much per request), half with 0 (A/A). Then, on the
target's stored memory series:

- perfmon: analysis/leaks.py (per-window floor, Hamed–Rao Mann–Kendall, Theil–Sen slope bound);
- plain Mann–Kendall (pymannkendall's original test, p < 0.01) on the per-window averages;
- "grew by 10 %": the last window's average over the first's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfmon.analysis.derive.leaks import detect_leak  # noqa: E402
from perfmon.core.metrics import Metrics, Trend  # noqa: E402
from perfmon.store import open_store  # noqa: E402

SOAK = """
from perfmon.load import Client, VirtualUser


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/login")


def test_soak(perf_api):
    perf_api.run(hit, scenario="soak")
"""


def soak(seconds: float, leak_kb: str) -> Metrics:
    """One stored soak run; its metrics as read back from the store."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "perfmon.toml").write_text(
            f'[scenarios.soak]\nvus = 4\nduration = "{seconds:g}s"\nthink_time = "0.02s"\n')
        (folder / "test_soak.py").write_text(SOAK)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFMON_", "DEMO_"))}
        env["DEMO_LEAK_KB_PER_REQ"] = leak_kb
        db = folder / "r.db"
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
                        "test_soak.py", "--perf-store", f"sqlite:///{db}", "--perf-regressions", "warn"],
                       cwd=folder, env=env, capture_output=True, text=True, timeout=seconds + 300, check=False)
        store = open_store(f"sqlite:///{db}", create=False)
        try:
            [summary] = store.history(limit=1)
            return store.load_run(summary.run_id).metrics
        finally:
            store.close()


def rules(metrics: Metrics) -> dict[str, bool]:
    import pymannkendall

    found = detect_leak(metrics, "target")
    rss = metrics.select_tags("process_rss_mb", {"role": "target"})
    averages = [s.avg for _, s in rss.window_stats() if s.avg is not None] if isinstance(rss, Trend) else []
    plain = pymannkendall.original_test(averages) if len(averages) >= 3 else None
    return {
        "perfmon (floor, Hamed-Rao, Theil-Sen)": bool(found and found.leaking),
        "plain Mann-Kendall p<0.01": bool(plain and plain.trend == "increasing" and plain.p < 0.01),
        "grew by 10 %": bool(len(averages) >= 2 and averages[-1] > 1.1 * averages[0]),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20, help="runs with the leak, and as many without")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--leak-kb", default="50")
    args = ap.parse_args()
    started = time.perf_counter()
    flagged: dict[str, dict[str, int]] = {}
    for trial in range(2 * args.trials):
        leak = args.leak_kb if trial % 2 == 0 else "0"  # interleaved: the machine's drift hits both alike
        for rule, hit in rules(soak(args.seconds, leak)).items():
            flagged.setdefault(rule, {"leak": 0, "none": 0})["leak" if leak != "0" else "none"] += hit
    took = time.perf_counter() - started
    print(f"{2 * args.trials} soak runs of {args.seconds:g}s in {took:.0f}s, DEMO_LEAK_KB_PER_REQ={args.leak_kb} "
          f"in half of them")
    print(f"{'rule':40} {'leaking runs flagged':>21} {'A/A runs flagged':>17}")
    for rule, counts in flagged.items():
        print(f"{rule:40} {counts['leak']:>12} of {args.trials:<6} {counts['none']:>8} of {args.trials:<6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
