"""One perfmon engine run for bench/http_engine.py: N users hammering URL for D seconds."""

from __future__ import annotations

import sys

from perfmon.config import Scenario
from perfmon.load import Client, EngineOptions, VirtualUser, run_scenario
from perfmon.metrics import Counter


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/")


def main() -> None:
    url, users, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    processes = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    sc = Scenario(name="bench", executor="constant-vus", vus=users, duration_s=seconds, think_time_s=0.0)
    res = run_scenario(hit, sc, base_url=url, options=EngineOptions(progress=False, processes=processes))
    reqs = res.run.metrics.select("http_reqs") if res.run else None
    print(int(reqs.count) if isinstance(reqs, Counter) else 0)


if __name__ == "__main__":
    main()
