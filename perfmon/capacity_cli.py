"""``perfmon capacity search``: the adaptive capacity search from the command line, kept out of
cli.py for its size. It returns the command's exit code to cli.py: 0 found, 3 not measurable here."""

from __future__ import annotations

import argparse
import json
import re
import time

from .config import Config
from .durations import parse_duration
from .exit_codes import ExitCode
from .thresholds import Threshold, parse_thresholds

__all__ = ["capacity_search"]

_DEFAULT_SLO = ("http_req_duration:p(95)<500", "http_req_failed:rate<0.01")


_METRIC = re.compile(r"^(?P<metric>[A-Za-z_]\w*(?:\{[^}]*\})?):(?P<expr>.+)$")  # a tag may hold ':'


def _slo(given: list[str] | None) -> list[Threshold]:
    """``[METRIC:]EXPR`` items as thresholds; a bare expression is on http_req_duration."""
    spec: dict[str, list[str]] = {}
    for item in given or _DEFAULT_SLO:
        found = _METRIC.match(item.strip())
        metric, expr = (found["metric"], found["expr"]) if found else ("http_req_duration", item)
        spec.setdefault(metric, []).append(expr)
    return parse_thresholds(spec, source="--slo")


def capacity_search(args: argparse.Namespace, cfg: Config) -> int:
    from .load.capacity_search import CapacitySearch, find_capacity
    from .load.engine import EngineOptions
    from .load.scripts import load_callable
    from .target import check_reachable

    settings = CapacitySearch(start_rate=args.start_rate, max_rate=args.max_rate, width=args.width,
                              trials=args.trials, step_duration_s=parse_duration(args.step_duration,
                                                                                 what="--step-duration"),
                              max_time_s=parse_duration(args.max_time, what="--max-time"),
                              saturation_share=cfg.unreliable_saturation)
    slo = _slo(args.slo)
    journey = load_callable(args.script or cfg.suites.load_script, root=cfg.root)
    on_start_ref = args.on_start if args.on_start is not None else (None if args.script else cfg.suites.load_on_start)
    on_start = None if on_start_ref in (None, "", "none") else load_callable(on_start_ref, root=cfg.root)
    check_reachable(args.base_url)
    think = (parse_duration(args.think_time, what="--think-time") if args.think_time is not None else
             cfg.scenario("load").think_time_s if "load" in cfg.scenarios else 0.0)
    began = time.monotonic()
    found = find_capacity(journey, base_url=args.base_url, thresholds=slo, settings=settings, on_start=on_start,
                          options=EngineOptions(progress=False))
    users = found.users(think)
    if args.json:
        print(json.dumps({**found.to_dict(), "slo": [str(t) for t in slo], "think_time_s": think, "users": users},
                         indent=2))
    else:
        print(f"{'rate/s':>9} {'procs':>5} {'done/s':>8} {'p95 ms':>8} {'errors':>7} {'client':>6}  result")
        for s in found.steps:
            p95 = "-" if s.p95 is None else f"{s.p95:.1f}"
            errors = "-" if s.error_rate is None else f"{100 * s.error_rate:.1f}%"
            client = "-" if s.client_saturation is None else f"{100 * s.client_saturation:.0f}%"
            verdict = "held" if s.held else "GENERATOR" if s.generator_bound else "broke: " + "; ".join(s.broken_by)
            print(f"{s.rate:9.4g} {s.processes:5d} {s.throughput:8.1f} {p95:>8} {errors:>7} {client:>6}  {verdict}"
                  + (f"  (suspect: {s.suspect})" if s.suspect else ""))
        if users is not None:
            at = next(s for s in found.steps if s.held and s.rate == found.sustainable_rate)
            print(f"perfmon capacity: about {users:.0f} concurrent users at the SLO (iteration "
                  f"{at.iteration_s or 0:.3f}s + think {think:g}s, {at.requests_per_iteration or 0:.1f} requests each)")
        print(f"perfmon capacity: {found.why} (SLO {', '.join(str(t) for t in slo)}; {len(found.steps)} steps in "
              f"{time.monotonic() - began:.0f}s)")
    return ExitCode.PASSED if found.limited_by in ("server", "max_rate") else ExitCode.UNMEASURED
