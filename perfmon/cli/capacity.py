"""``perfmon capacity``: the sustainable rate per release from the store (exit 1 when the newest run
of a scenario holds less than its history, as the regression gate judged it), and ``perfmon
capacity search``, the adaptive search (0 found, 3 not measurable here). Kept out of cli.py for
its size; each returns the command's exit code."""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..core.config import Config
from ..core.durations import parse_duration
from ..core.exit_codes import ExitCode
from ..core.numbers import number
from ..core.thresholds import Threshold, parse_thresholds
from ._common import Subcommands, config, positive

if TYPE_CHECKING:
    from ..core.results import Run
    from ..store import Store

__all__ = ["capacity_history", "capacity_search", "register"]

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
    from ..load.capacity import CapacitySearch, find_capacity
    from ..loadgen.engine import EngineOptions
    from ..loadgen.scripts import load_callable
    from ..system.target import check_reachable

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
        if (est := found.interval) is not None:
            low, mid, high = (number(v, digits=4) for v in (est[1], est[0], est[2]))
            print(f"perfmon capacity: the SLO breaks at {mid}/s, 95 % interval [{low}, {high}] "
                  f"(the steps' margins near the boundary)")
        if users is not None:
            at = next(s for s in found.steps if s.held and s.rate == found.sustainable_rate)
            print(f"perfmon capacity: about {users:.0f} concurrent users at the SLO (iteration "
                  f"{at.iteration_s or 0:.3f}s + think {think:g}s, {at.requests_per_iteration or 0:.1f} requests each)")
        print(f"perfmon capacity: {found.why} (SLO {', '.join(str(t) for t in slo)}; {len(found.steps)} steps in "
              f"{time.monotonic() - began:.0f}s)")
    return ExitCode.PASSED if found.limited_by in ("server", "max_rate") else ExitCode.UNMEASURED


_READ = 5  # runs read per line asked for: runs without a capacity figure are passed over


@dataclass(frozen=True)
class CapacityRow:
    """One scenario of one stored run, and the regression gate's verdict on its sustainable rate."""

    run_id: str
    started_at: float
    git_sha: str | None
    test_type: str
    profile: str
    scenario: str
    sustainable_rate: float | None
    breaking_rate: float | None
    users: float | None
    limited_by: str | None
    drop: dict[str, Any] | None  # the gate's finding (change, baseline, q_value) when it fell


def _drops(run: Run) -> dict[str, dict[str, Any]]:
    """Scenario -> the gate's regression finding on its sustainable rate, from the run's stored comparison."""
    from ..analysis.history.series import CAPACITY

    found = run.comparison.regressions if run.comparison is not None else []
    return {dict(f.tags).get("scenario", ""): {"change": f.change, "baseline": f.baseline, "q_value": f.q_value}
            for f in found if f.metric == CAPACITY}


def _rows(store: Store, environment: str, limit: int) -> tuple[list[CapacityRow], list[str]]:
    from ..analysis.capacity import capacity_by_scenario
    from ..pipeline.compare import readable_runs

    rows: list[CapacityRow] = []
    skipped: list[str] = []
    for run in readable_runs(store, store.history(environment=environment, limit=limit * _READ), skipped):
        drops = _drops(run)
        rows += [CapacityRow(run.run_id, run.started_at, run.git_sha, run.test_type, run.profile, scenario,
                             found.get("sustainable_rate"), found.get("breaking_rate"), found.get("users"),
                             found.get("limited_by"), drops.get(scenario))
                 for scenario, found in capacity_by_scenario(run).items()]
        if len({r.run_id for r in rows}) >= limit:
            break
    return rows, skipped


def capacity_history(args: argparse.Namespace, cfg: Config) -> int:
    """The sustainable rate of every stored run that measured one, newest first; 1 when the newest
    run of a scenario holds less than its history (the regression gate's finding, stored with it)."""
    from ..store import open_store

    environment = args.env or cfg.environment
    store = open_store(cfg.store, root=cfg.root, create=False)
    try:
        rows, skipped = _rows(store, environment, args.limit)
    finally:
        store.close()
    newest: dict[str, CapacityRow] = {}
    for r in rows:
        newest.setdefault(r.scenario, r)
    dropped = sorted(s for s, r in newest.items() if r.drop is not None)
    if args.json:
        print(json.dumps({"environment": environment, "runs": [asdict(r) for r in rows], "dropped": dropped,
                          "skipped": skipped}, indent=2))
        return ExitCode.FAILED if dropped else ExitCode.PASSED
    if not rows:
        print(f"perfmon capacity: no stored run in {environment} measured a sustainable rate (a stress ramp or "
              "PerfApi.find_capacity stores one)")
    else:
        print(f"{'when (UTC)':19}  {'commit':8}  {'scenario':12} {'holds/s':>9} {'broke/s':>9} {'users':>7}  change")
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.started_at))
        change = "-" if r.drop is None else f"DROP {100 * float(r.drop['change'] or 0):+.0f} %"
        print(f"{when:19}  {(r.git_sha or '-')[:8]:8}  {r.scenario:12} {number(r.sustainable_rate, digits=4):>9} "
              f"{number(r.breaking_rate, digits=4):>9} {number(r.users, digits=1):>7}  {change}")
    for line in skipped:
        print(f"perfmon capacity: {line}")
    for scenario in dropped:
        r = newest[scenario]
        d = r.drop or {}
        print(f"perfmon capacity: DROP: {scenario} holds {number(r.sustainable_rate, digits=4)}/s, "
              f"{-100 * float(d['change'] or 0):.0f} % below its baseline {number(d['baseline'], digits=4)}/s "
              f"(confidence {1 - float(d['q_value'] or 0):.3f})")
    return ExitCode.FAILED if dropped else ExitCode.PASSED


def register(sub: Subcommands) -> None:
    capacity = sub.add_parser("capacity", help="capacity planning: the sustainable arrival rate at the SLO")
    capacity.add_argument("--env", default=None, help="the environment whose runs to show (default: the config's)")
    capacity.add_argument("--limit", type=positive, default=20, help="at most this many runs")
    capacity.add_argument("--json", action="store_true", help="the history as JSON")
    actions = capacity.add_subparsers(dest="capacity_action", metavar="ACTION")
    search = actions.add_parser("search", help="search the highest rate at which the SLO holds (exit 0: found)")
    search.add_argument("--base-url", required=True, help="the target, e.g. http://127.0.0.1:8000")
    search.add_argument("--script", default=None, help="FILE.py:FUNC, the journey (default: suites.load_script)")
    search.add_argument("--on-start", default=None, help="FILE.py:FUNC once per user (default: suites.load_on_start; "
                                                         "'none': nothing)")
    search.add_argument("--slo", action="append", default=None, metavar="[METRIC:]EXPR",
                        help="a k6 threshold the rate must hold, e.g. 'p(95)<500' (on http_req_duration) or "
                             "'http_req_failed:rate<0.01'; repeat it (default: both of those)")
    search.add_argument("--start-rate", type=float, default=10.0)
    search.add_argument("--max-rate", type=float, default=5000.0)
    search.add_argument("--width", type=float, default=0.1, help="stop when the bracket is this narrow (relative)")
    search.add_argument("--trials", type=positive, default=2, help="times a rate near the boundary must hold")
    search.add_argument("--step-duration", default="5s", help="how long each rate is held")
    search.add_argument("--max-time", default="10m", help="stop the search after this long")
    search.add_argument("--think-time", default=None, help="a user's pause between iterations, for the capacity "
                                                           "in users (default: the load scenario's think_time)")
    search.add_argument("--json", action="store_true", help="print the result as JSON")
    capacity.set_defaults(handler=_capacity)


def _capacity(args: argparse.Namespace) -> int:
    cfg = config(args)
    return capacity_search(args, cfg) if args.capacity_action == "search" else capacity_history(args, cfg)
