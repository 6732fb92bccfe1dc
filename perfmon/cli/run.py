"""``perfmon run``: the browser and API suites as one judged, stored run, through pytest in a
process group of its own (Ctrl-C reaches pytest once, as one SIGINT)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ..core.config import Config, with_overrides
from ..core.env import environ
from ..core.errors import ConfigError
from ..core.exit_codes import ExitCode
from ..core.results import FAILED_PARTS, UNMEASURED_PARTS
from ._common import TYPES, Subcommands, config, count, positive

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    run = sub.add_parser("run", help="run the browser and API suites as one judged, stored run")
    run.add_argument("--profile", default=None, help="smoke, ci or release")
    run.add_argument("--type", choices=TYPES, default="all",
                     help="which suites: all (browser journeys, load, stress), browser, load, stress, spike, endurance")
    run.add_argument("--browsers", type=count, default=None, metavar="N", help="shared Chromium servers")
    run.add_argument("--workers", default="auto", metavar="N",
                     help="pytest-xdist workers (default: with browser journeys, as many as this machine holds: its "
                          "`perfmon calibrate` level, else one per two cores; without, one per core)")
    run.add_argument("--env", default=None, help="environment recorded with the run")
    run.add_argument("--shard", default=None, metavar="I/N", help="run shard I of N of a run spread over N runners "
                     "(a CI matrix, a Kubernetes Indexed Job); needs --run-id")
    run.add_argument("--run-id", default=None, metavar="ID", help="the id all shards of the run share (e.g. the CI "
                     "run's id)")
    run.add_argument("--suite", type=Path, default=None, metavar="PATH",
                     help="a pytest-playwright suite as the run's browser part, measured unchanged (pytest --perf)")
    run.add_argument("--base-url", default=None, metavar="URL", help="the app to test (default: BASE_URL, the "
                     "config's base_url, else the bundled app)")
    run.add_argument("--users", type=positive, default=None, metavar="N",
                     help="every API scenario at N users at its peak, and N virtual users for the journeys")
    run.add_argument("--duration", default=None, metavar="DURATION", help="every API scenario lasting DURATION "
                     "(30s, 5m), after the profile")
    run.add_argument("--store", default=argparse.SUPPRESS, metavar="URL",
                     help="result store URL (default: PERFMON_STORE or the config's store)")
    run.add_argument("--no-store", action="store_true", help="judge and report the run, store nothing")
    run.add_argument("--retry-unmeasured", type=count, default=0, metavar="N",
                     help="run the unmeasured part of an unmeasured run (its browser part, its API part) again, up "
                          "to N times; every attempt is stored (default: 0, no retry)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest as they are")
    run.set_defaults(handler=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    cfg = config(args)
    cfg = with_overrides(cfg, args.users, args.duration)  # checked before the suites are looked for
    if args.suite is not None and args.type not in ("all", "browser"):
        raise ConfigError(f"--suite is the run's browser part, and --type {args.type} runs none: drop one of them")
    if args.suite is not None and not args.suite.exists():
        raise ConfigError(f"--suite {args.suite}: no such file or folder; give the pytest-playwright suite's path")
    if args.retry_unmeasured and (args.shard or args.run_id):
        raise ConfigError("--retry-unmeasured runs the unmeasured part again as a run of its own, which a shard of "
                          "a shared run (--shard, --run-id) cannot be: drop one of them")
    browser, api = args.suite is not None or args.type in ("all", "browser"), args.type != "browser"
    extra = [a for a in args.pytest_args if a != "--"]
    workers, plan = _plan(args, cfg, browser=browser, api=api, hybrid=any(a.startswith("--perf-load") for a in extra))
    argv = _argv(args, cfg, workers, browser=browser, api=api)  # a missing suite is said before the plan
    print(f"perfmon: plan: {plan}", file=sys.stderr, flush=True)
    done = _attempt(argv + _overrides(args, say=True) + extra, args, cfg)
    failed_before: set[str] = set()
    for attempt in range(2, args.retry_unmeasured + 2):
        again = done.unmeasured
        if done.code != ExitCode.UNMEASURED or not again:
            break
        failed_before |= done.failed - again  # verdicts kept from the parts that were measured
        part = "the browser and API parts were" if len(again) > 1 else f"the {next(iter(again))} part was"
        print(f"perfmon: attempt {attempt} of {args.retry_unmeasured + 1}: {part} unmeasured; running only that "
              "again (every attempt is stored as a run of its own)", file=sys.stderr, flush=True)
        done = _attempt(_argv(args, cfg, workers, browser=browser and "browser" in again, api=api and "api" in again)
                        + _overrides(args, say=False) + extra, args, cfg)
    if done.code == ExitCode.PASSED and failed_before:
        print(f"perfmon: the {' and '.join(sorted(failed_before))} part failed its thresholds in the first attempt; "
              "the run fails", file=sys.stderr, flush=True)
        return int(ExitCode.FAILED)
    return done.code


def _argv(args: argparse.Namespace, cfg: Config, workers: str, *, browser: bool, api: bool) -> list[str]:
    """The pytest command of the run's browser part, its API part, or both."""
    paths: list[str] = []
    select: list[str] = []
    if browser and args.suite is not None:
        paths.append(str(args.suite.resolve()))
    elif browser:
        paths.append(_suite(cfg, "browser", cfg.suites.browser))
    if api:
        paths.append(_suite(cfg, "api", cfg.suites.api))
        # Selected by marker, never by -k on names (`-k load` matched the module test_api_load.py). The
        # main job runs load and stress; spike and soak runs are long and asked for by name.
        select = ["-m", "not perf_spike and not perf_endurance" if args.type == "all" else f"perf_{args.type}"]
    argv = [sys.executable, "-m", "pytest", *paths, *select, "-p", "no:cacheprovider", "-o", "addopts=",
            "-n", workers]
    for flag, value in (("--perf-profile", args.profile), ("--perf-env", args.env), ("--perf-browsers", args.browsers),
                        ("--perf-config", args.config), ("--perf-store", args.store), ("--perf-shard", args.shard),
                        ("--perf-run-id", args.run_id)):
        if value:
            argv += [flag, str(value)]
    if browser and args.suite is not None:
        argv += ["--perf"]
    return argv


class Attempt(NamedTuple):
    """One pytest run of `perfmon run`: its code in perfmon's table and, when unmeasured, the parts that
    were not measured and those that failed anyway (the exit file's second line)."""

    code: int
    unmeasured: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()


def _attempt(argv: list[str], args: argparse.Namespace, cfg: Config) -> Attempt:
    """Run pytest once and read the code the plugin decided; when it decided none, pytest's own code
    in perfmon's table."""
    with tempfile.TemporaryDirectory(prefix="perfmon-run-") as tmp:
        decided = Path(tmp) / "exit"
        code = _run_pytest(argv, cwd=cfg.root, env={**environ(), "PERFMON_EXIT_FILE": str(decided)})
        said = decided.read_text().splitlines() if decided.is_file() else []
    if not said or not said[0].strip():
        return Attempt(_pytest_code(code, args, cfg))
    parts = json.loads(said[1]) if len(said) > 1 and said[1].strip() else {}
    parts = parts if isinstance(parts, dict) else {}
    return Attempt(int(said[0]), frozenset(parts.get(UNMEASURED_PARTS) or ()), frozenset(parts.get(FAILED_PARTS) or ()))


def _pytest_code(code: int, args: argparse.Namespace, cfg: Config) -> int:
    """perfmon's code for a pytest the plugin decided nothing for."""
    if code == _NO_TESTS and args.type not in ("all", "browser"):
        raise ConfigError(f"no test under {cfg.suites.api} is marked perf_{args.type}; mark its tests "
                          f"@pytest.mark.perf_{args.type}")
    # The plugin never ran: pytest stopped on its own command line (after --), or nothing was collected.
    return _PYTEST_BEFORE_PLUGIN.get(code, ExitCode.UNMEASURED)


# Concurrent browser journeys per core before a journey's numbers drift more than 10 % from one alone,
# where no `perfmon calibrate` has measured this machine: 0.5 on the 2-core class (docs/scaling.md).
JOURNEYS_PER_CORE = 0.5


def _plan(args: argparse.Namespace, cfg: Config, *, browser: bool, api: bool, hybrid: bool) -> tuple[str, str]:
    """The xdist workers of the run, and its plan, to say in one line before it starts."""
    from ..store.calibration import machine_level

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    level = machine_level(args.store or cfg.store, root=cfg.root) if browser else None
    holds, why = (max(1, level[0]), f"this machine's calibrated level (`perfmon calibrate`, {level[1]})") \
        if level else (max(1, int(cores * JOURNEYS_PER_CORE)), f"{JOURNEYS_PER_CORE:g} per core on {cores} cores; "
                                                                  "`perfmon calibrate` measures this machine")
    workers = str(holds) if browser and args.workers == "auto" else str(args.workers)
    parts = []
    if browser:
        parts.append(f"browser journeys on {workers} worker(s)" + (f" ({why})" if args.workers == "auto" else ""))
    if api:
        kind = "API" if args.type == "all" else args.type
        where = "one worker per core" if workers == "auto" else f"{workers} worker(s)"
        parts.append(f"the {kind} scenarios alongside them (a hybrid run, --perf-load: no turns)" if hybrid and browser
                     else f"then the {kind} scenarios" if browser else f"the {kind} scenarios on {where}")
    said = ", ".join(parts)
    if browser and workers.isdigit() and int(workers) > holds:
        said += f"; -n {workers} exceeds the {holds} concurrent journey(s) this machine holds ({why})"
    return workers, said


def _suite(cfg: Config, key: str, path: str) -> str:
    """A suite's folder, which must exist: outside a project, say so instead of pytest's "no tests ran"."""
    if (cfg.root / path).exists():
        return path
    if cfg.source is None:
        raise ConfigError(f"no perfmon config (perfmon.toml, or pyproject.toml with [tool.perfmon]) in {cfg.root} "
                          f"or above, and no {path} here: run `perfmon init` in your repository, or pass --config")
    raise ConfigError(f"{cfg.source}: suites.{key} = {path!r}, and {cfg.root / path} does not exist; write the "
                      f"suite's folder there (relative to {cfg.root})")


def _overrides(args: argparse.Namespace, *, say: bool) -> list[str]:
    """The pytest options of ``--base-url``, ``--users``, ``--duration`` and ``--no-store``, said in one
    line first (the profile and its scenarios' lengths follow in pytest's header)."""
    said = [f"target {args.base_url}"] if args.base_url else []
    given = [f"{flag} {value}" for flag, value in (("--users", args.users), ("--duration", args.duration))
             if value is not None]
    said += [f"{' '.join(given)} override every scenario"] if given else []
    said += ["nothing will be stored (--no-store)"] if args.no_store else []
    if said and say:
        print("perfmon: " + "; ".join(said), file=sys.stderr, flush=True)
    found = ["--base-url", args.base_url] if args.base_url else []
    found += ["--perf-users", str(args.users), "--perf-vus", str(args.users)] if args.users else []
    found += ["--perf-duration", args.duration] if args.duration else []
    return found + (["--perf-no-store"] if args.no_store else [])


_NO_TESTS = 5  # pytest's exit code when nothing was collected


# pytest's code -> perfmon's table, for a pytest that stopped before the plugin decided one.
# pytest: 0 ok, 1 tests failed, 2 interrupted, 3 internal error, 4 usage error, 5 no tests collected.
_PYTEST_BEFORE_PLUGIN = {0: ExitCode.PASSED, 1: ExitCode.FAILED, 2: ExitCode.UNMEASURED, 3: ExitCode.UNMEASURED,
                         4: ExitCode.USAGE, _NO_TESTS: ExitCode.USAGE}


def _run_pytest(argv: list[str], *, cwd: Path, env: Mapping[str, str]) -> int:
    """Run pytest in its own process group and wait for it, whatever signal arrives.

    Ctrl-C (SIGINT) and a cancelled CI job (SIGTERM) reach only this process, which hands pytest one
    SIGINT and keeps waiting: pytest stops the tests and stores, spools and reports the partial run as
    ``interrupted``. (``subprocess.call`` killed pytest 0.25 s after a Ctrl-C, and nothing was stored.)"""
    proc = subprocess.Popen(argv, cwd=cwd, start_new_session=True, env=env)

    def forward(signum: int, frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
