"""The adaptive capacity search against the linear one (issue #15), side by side on the same bundled
app whose capacity is known (DEMO_CAPACITY / DEMO_SERVICE_MS): wall time, steps, and how far each
answer is from the truth, at the same step length and SLO. The linear search is given the step
size that reaches the same accuracy (10 % of the truth) after its bisection, which presumes the
answer (``--linear-step`` sets what a user would pick instead, e.g. the old default of 10/s). The
linear search is the bench's own baseline (bench/_linear_search.py): the library has one search.

    .venv/bin/python bench/capacity_search.py [--capacity 8 --service-ms 20] [--step 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _linear_search import linear_search

from perfmon import parse_thresholds
from perfmon.load import EngineOptions
from perfmon.load.capacity import CapacitySearch, find_capacity
from perfmon.system.target import start_local_target


async def page(client, user):  # type: ignore[no-untyped-def]
    await client.get("/login")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--capacity", default="8")
    ap.add_argument("--service-ms", default="20")
    ap.add_argument("--step", type=float, default=3.0, help="seconds each rate is held")
    ap.add_argument("--start", type=float, default=20.0)
    ap.add_argument("--linear-step", type=float, default=None,
                    help="the linear search's step (default 10 %% of the truth: an oracle a user does not have)")
    args = ap.parse_args()
    truth = float(args.capacity) / (float(args.service_ms) / 1000)
    slo = parse_thresholds({"http_req_duration": ["p(95)<250"], "http_req_failed": ["rate<0.01"]})
    quiet = EngineOptions(progress=False)
    app = start_local_target("{python} -m demo_app --port {port}", cwd=Path(__file__).resolve().parents[1],
                             env={"DEMO_CAPACITY": args.capacity, "DEMO_SERVICE_MS": args.service_ms})
    try:
        began = time.monotonic()
        adaptive = find_capacity(page, base_url=app["base_url"], thresholds=slo, options=quiet,
                                 settings=CapacitySearch(start_rate=args.start, step_duration_s=args.step, width=0.1))
        adaptive_s = time.monotonic() - began
        began = time.monotonic()
        # Linear steps of 10 % of the truth from the same start, then the bisection it already does.
        linear = linear_search(page, base_url=app["base_url"], thresholds=slo, start_rate=args.start,
                                     step_rate=args.linear_step or max(1.0, round(truth * 0.1)), max_rate=truth * 4,
                                     step_duration_s=args.step, refine=1, options=quiet)
        linear_s = time.monotonic() - began
    finally:
        psutil.Process(app["pid"]).kill()
    print(f"truth {truth:g}/s (DEMO_CAPACITY={args.capacity}, DEMO_SERVICE_MS={args.service_ms}), "
          f"steps of {args.step:g}s, SLO p(95)<250 and errors < 1 %")
    print(f"{'search':10} {'answer/s':>9} {'error':>7} {'steps':>6} {'wall s':>7}")
    for name, answer, steps, wall in (("adaptive", adaptive.sustainable_rate, len(adaptive.steps), adaptive_s),
                                      ("linear", linear.sustainable_rate, len(linear.steps), linear_s)):
        error = "-" if answer is None else f"{100 * (answer / truth - 1):+.0f}%"
        print(f"{name:10} {answer or 0:9.4g} {error:>7} {steps:6d} {wall:7.1f}")
    print(f"adaptive / linear wall time: {adaptive_s / linear_s:.2f}  ({adaptive.why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
