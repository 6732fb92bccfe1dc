"""One perfmon engine run for bench/http_engine.py; prints a JSON line of what it measured.

    _perfmon_client.py URL USERS SECONDS [--processes N] [--transport lean|aiohttp] [--path P]
                       [--token T] [--rate R]

USERS loop without pause (closed model), or with ``--rate`` an open model at R requests a second
with up to USERS users. ``--token`` is sent as ``Authorization: Bearer``.
"""

from __future__ import annotations

import argparse
import json
import os

from perfmon.core.config import Scenario
from perfmon.core.metrics import Counter, Trend
from perfmon.load import Client, EngineOptions, VirtualUser, run_scenario


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get(os.environ.get("BENCH_PATH", "/"))


async def sign(client: Client, user: VirtualUser) -> None:
    if token := os.environ.get("BENCH_TOKEN"):
        client.headers["Authorization"] = f"Bearer {token}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("users", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--transport", default="lean")
    ap.add_argument("--path", default="/")
    ap.add_argument("--token", default="")
    ap.add_argument("--rate", type=float, default=0.0)
    args = ap.parse_args()
    # Module-level journeys read these, so that processes > 1 can send them to its children.
    os.environ["BENCH_PATH"], os.environ["BENCH_TOKEN"] = args.path, args.token

    if args.rate:
        sc = Scenario(name="bench", executor="constant-arrival-rate", rate=args.rate, max_vus=args.users,
                      duration_s=args.seconds, think_time_s=0.0, transport=args.transport)
    else:
        sc = Scenario(name="bench", executor="constant-vus", vus=args.users, duration_s=args.seconds,
                      think_time_s=0.0, transport=args.transport)
    res = run_scenario(hit, sc, base_url=args.url, on_start=sign,
                       options=EngineOptions(progress=False, processes=args.processes))
    metrics = res.run.metrics if res.run else None
    reqs = metrics.select("http_reqs") if metrics else None
    ok = metrics.select("http_reqs{status:200}") if metrics else None
    client = metrics.select("http_req_duration") if metrics else None
    server = metrics.select("http_req_server_duration") if metrics else None
    out = {"requests": int(reqs.count) if isinstance(reqs, Counter) else 0,
           "ok": int(ok.count) if isinstance(ok, Counter) else 0}
    for name, trend in (("client", client), ("server", server)):
        if isinstance(trend, Trend) and trend.count:
            out[name] = {"p50": trend.percentile(50), "p95": trend.percentile(95)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
