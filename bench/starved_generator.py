"""Whether the capacity search names a starved load generator as the limit, not the server, on this
machine: a journey that burns 100 ms of the generator's CPU per iteration against the bundled app
(which answers /healthz in about a millisecond), searched ``--runs`` times. The right answer every
time is "generator" (the server never broke); "server" is the detector missing a saturated client.

It was a test until a quiet fresh-clone CI run once answered "even 20/s broke the SLO": on a busy
2-core machine the starved process gets under the 90 % of a core the sampler counts as saturated,
while its latency already breaks the SLO. Detection quality belongs here, with its rate, until the
sampler measures CPU contention directly (run-queue wait).

    .venv/bin/python bench/starved_generator.py [--runs 5]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perfmon import parse_thresholds
from perfmon.load import EngineOptions
from perfmon.load.capacity import CapacitySearch, find_capacity
from perfmon.system.target import start_local_target


async def burn(client, user):  # type: ignore[no-untyped-def]
    end = time.process_time() + 0.1  # 100 ms of the generator's CPU per iteration: 10/s per core at most
    while time.process_time() < end:
        pass
    await client.get("/healthz")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    slo = parse_thresholds({"http_req_duration": ["p(95)<250"], "http_req_failed": ["rate<0.01"]})
    app = start_local_target("{python} -m demo_app --port {port}", cwd=Path(__file__).resolve().parents[1])
    named: collections.Counter[str] = collections.Counter()
    try:
        for i in range(args.runs):
            found = find_capacity(burn, base_url=app["base_url"], thresholds=slo, options=EngineOptions(progress=False),
                                  settings=CapacitySearch(start_rate=20, step_duration_s=3, max_time_s=90))
            named[found.limited_by] += 1
            print(f"run {i + 1}: limited by {found.limited_by}: {found.why}", flush=True)
    finally:
        psutil.Process(app["pid"]).kill()
    print(f"named the generator {named['generator']} of {args.runs} times ({dict(named)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
