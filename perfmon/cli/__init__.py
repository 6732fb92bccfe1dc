"""The ``perfmon`` command. Errors are one line and an exit code, decided here and only here."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..core.config import Config, GateSettings, load_config
from ..core.errors import ConfigError, PerfmonError, StoreError, TargetError
from ..core.exit_codes import ExitCode
from ..core.redaction import redact
from ..core.results import Run, shared_run_id
from ..core.thresholds import ThresholdOutcome
from ..store import RunSummary, Store, open_store

__all__ = ["main"]

# `perfmon run` follows perfmon's table (perfmon.core.exit_codes); the read commands use the same codes:
NO_VERDICT = ExitCode.UNMEASURED  # no verdict: too little comparable history, or no (recent) run of the commit
STORE_UNREADABLE = ExitCode.SPOOLED  # `perfmon gate`: the store could not be read

TYPES = ("all", "browser", "load", "stress", "spike", "endurance")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="perfmon", description="Performance testing for WedSync.")
    p.add_argument("--config", type=Path, default=None, help="perfmon.toml or pyproject.toml (default: nearest)")
    p.add_argument("--store", default=None, help="result store URL (default: PERFMON_STORE or the config)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run the browser and API suites as one judged, stored run")
    run.add_argument("--profile", default=None, help="smoke, ci or release")
    run.add_argument("--type", choices=TYPES, default="all",
                     help="which suites: all (browser journeys, load, stress), browser, load, stress, spike, endurance")
    run.add_argument("--browsers", type=int, default=None, metavar="N", help="shared Chromium servers")
    run.add_argument("--workers", default="auto", metavar="N", help="pytest-xdist workers (default: auto)")
    run.add_argument("--env", default=None, help="environment recorded with the run")
    run.add_argument("--shard", default=None, metavar="I/N", help="run shard I of N of a run spread over N runners "
                     "(a CI matrix, a Kubernetes Indexed Job); needs --run-id")
    run.add_argument("--run-id", default=None, metavar="ID", help="the id all shards of the run share (e.g. the CI "
                     "run's id)")
    run.add_argument("--suite", type=Path, default=None, metavar="PATH",
                     help="a pytest-playwright suite as the run's browser part, measured unchanged (pytest --perf)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest as they are")

    hist = sub.add_parser("history", help="recent runs with verdicts and key metrics")
    hist.add_argument("--type", default=None, help="only runs of this test type")
    hist.add_argument("--env", default=None, help="only runs in this environment")
    hist.add_argument("--limit", type=int, default=20)

    show = sub.add_parser("show", help="one stored run: thresholds and summary")
    show.add_argument("run_id", help="a run id or a unique prefix of one")

    rep = sub.add_parser("report", help="re-render a stored run's reports (HTML, summary.json, JUnit, Markdown)")
    rep.add_argument("run_id", help="a run id or a unique prefix of one")
    rep.add_argument("--out", type=Path, default=None, help="reports folder (default: the config's report_dir)")

    cmp_ = sub.add_parser("compare", help="two stored runs side by side, key metrics and thresholds")
    cmp_.add_argument("base", help="the baseline run id (or prefix)")
    cmp_.add_argument("candidate", help="the run to compare with it")
    cmp_.add_argument("--across", action="store_true",
                      help="compare runs of different test types, environments, profiles or targets on purpose")

    regs = sub.add_parser("regressions", help="a run's comparison with its history; exit 1 when it regressed, "
                                              f"{NO_VERDICT} when it had too little history for a verdict")
    regs.add_argument("run_id", nargs="?", default=None, help="a run id or a unique prefix (default: the newest run)")
    regs.add_argument("--json", action="store_true", help="the findings as JSON")

    base = sub.add_parser("baseline", help="what runs are compared against; accept an intended change")
    base_sub = base.add_subparsers(dest="action", metavar="ACTION")
    base_sub.required = True
    accept = base_sub.add_parser("accept", help="later comparable runs compare from this run on")
    accept.add_argument("run_id", help="a run id or a unique prefix of one")
    show_base = base_sub.add_parser("show", help="the runs a run is compared against")
    show_base.add_argument("run_id", nargs="?", default=None, help="a run id or prefix (default: the newest run)")

    gate = sub.add_parser("gate", help="may this commit be deployed? exit 0 only when a recent, complete, passing "
                                       "run of it has no open regression")
    gate.add_argument("--sha", default=None, help="the commit (or its first characters; default: $GITHUB_SHA or "
                                                  "$CI_COMMIT_SHA)")
    gate.add_argument("--env", default=None, help="the environment its run was in (default: the config's)")
    gate.add_argument("--profile", dest="run_profile", default=None, help="only runs of this profile (e.g. ci)")
    gate.add_argument("--type", default=None, help="only runs of this test type (e.g. hybrid)")
    gate.add_argument("--max-age", default=None, help="refuse a run older than this (e.g. 24h)")
    gate.add_argument("--allow-missing", action="store_true",
                      help="deliberately let the deploy through when there is no run to look at, or the store "
                           "cannot be read (said loudly)")
    gate.add_argument("--alert", action="store_true",
                      help="post a refusal to $PERFMON_ALERT_WEBHOOK, once per run (the default on a protected "
                           "branch or tag: $GITHUB_REF_PROTECTED or $CI_COMMIT_REF_PROTECTED is true)")

    sub.add_parser("flush", help="send runs kept in .perfmon/spool to the store")

    capacity = sub.add_parser("capacity", help="capacity planning: the sustainable arrival rate at the SLO")
    capacity.add_argument("--env", default=None, help="the environment whose runs to show (default: the config's)")
    capacity.add_argument("--limit", type=int, default=20, help="at most this many runs")
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
    search.add_argument("--trials", type=int, default=2, help="times a rate near the boundary must hold")
    search.add_argument("--step-duration", default="5s", help="how long each rate is held")
    search.add_argument("--max-time", default="10m", help="stop the search after this long")
    search.add_argument("--think-time", default=None, help="a user's pause between iterations, for the capacity "
                                                           "in users (default: the load scenario's think_time)")
    search.add_argument("--json", action="store_true", help="print the result as JSON")

    cal = sub.add_parser("calibrate", help="how many concurrent browser journeys this machine holds before its own "
                                           "numbers drift (stored; the plugin warns when -n exceeds it)")
    cal.add_argument("--levels", default="1,2,4,8,16,32", help="worker counts to try, rising (default: 1,2,4,8,16,32)"
                                                               "; the gap where it stops holding is then bisected")
    cal.add_argument("--margin", type=float, default=0.10,
                     help="how far steps and vitals may drift from one journey alone (default: 0.10)")
    cal.add_argument("--iterations", type=_positive, default=2, help="iterations of each journey per worker")
    cal.add_argument("--for", dest="workers", type=_positive, default=50, metavar="N",
                     help="say how many such machines -n N needs (default: 50)")
    cal.add_argument("--json", action="store_true", help="print the result as JSON")
    cal.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest as they are")

    merge = sub.add_parser("merge", help="judge a sharded run from the shards in the store; missing shards at the "
                                         "deadline make it partial (exit 3)")
    merge.add_argument("run_id", metavar="RUN_ID", help="the id the shards were given (--run-id)")
    merge.add_argument("--shards", type=_positive, default=None, metavar="N",
                       help="how many shards the run has (default: what the stored shards say)")
    merge.add_argument("--wait", default="0s", metavar="DURATION",
                       help="wait this long for missing shards before judging without them (default: 0s)")
    merge.add_argument("--report-dir", type=Path, default=None, help="where the reports go (default: the config's)")

    bsrv = sub.add_parser("browser-server", help="serve Chromium to journeys on other hosts (--perf-browser-ws); "
                                                 "prints the endpoint, runs until Ctrl-C")
    bsrv.add_argument("--host", default="127.0.0.1", help="the address to listen on, one the runners reach "
                                                          "(default: 127.0.0.1)")
    bsrv.add_argument("--port", type=_port, default=0, help="the port (default: any free one)")
    bsrv.add_argument("--ws-path", default=os.environ.get("PERFMON_BROWSER_WS_PATH"), metavar="/PATH",
                      help="the endpoint's path, its only secret: give one when several servers sit behind one "
                           "address (a Kubernetes Service); default: PERFMON_BROWSER_WS_PATH, else a random token")

    demo = sub.add_parser("demo", help="serve the bundled WedSync reference app")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--host", default="127.0.0.1")
    return p


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0-65535 (0: any free port)")
    return n


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return n


def _fmt(v: float | None, spec: str = ".1f") -> str:
    return "-" if v is None else format(v, spec)


def _history_table(rows: list[RunSummary]) -> None:
    header = ("run", "when (UTC)", "type", "env", "profile", "verdict", "users", "avg ms", "p95 ms", "errors",
              "rps", "commit")
    body = [
        (r.run_id[:8], r.created_at[:19].replace("T", " "), r.test_type, r.environment, r.profile, r.status.upper(),
         str(r.concurrent_users), _fmt(r.avg_response_time_ms), _fmt(r.p95_response_time_ms),
         "-" if r.error_rate is None else f"{r.error_rate:.2%}", _fmt(r.throughput_rps), (r.git_sha or "-")[:8])
        for r in rows
    ]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header, title="perfmon history")
        for row in body:
            style = "red" if row[5] != "PASSED" else "green"
            table.add_row(*row, style=style)
        Console().print(table)
        return
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in body:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


# The summary's figures under performance_test_runs' column names (WS-180), as people query them.
_SPEC_COLUMN = {"avg_response_time": "avg_response_time_ms", "p95_response_time": "p95_response_time_ms",
                "error_rate": "error_rate", "throughput": "throughput_rps"}


def _compare(base: Run, cand: Run, *, across: bool) -> None:
    """Key metrics and every threshold of two runs, with the change from base to candidate."""
    from ..analysis.history import difference

    if not across and (why := difference(cand, base)) is not None:
        raise ConfigError(f"run {base.run_id[:8]} is not comparable with {cand.run_id[:8]}: its {why}; compare "
                          f"runs of one test type, environment, profile and target, or pass --across")
    a, b = base.summary_metrics().to_dict(), cand.summary_metrics().to_dict()
    rows = [("metric", f"base {base.run_id[:8]}", f"candidate {cand.run_id[:8]}", "change")]
    for key in a:
        va, vb = a[key], b[key]
        change = "-" if va is None or vb is None or va == 0 else f"{100 * (vb - va) / va:+.1f}%"
        rows.append((_SPEC_COLUMN[key], _fmt(va, ".4g"), _fmt(vb, ".4g"), change))
    seen_a = {(o.threshold.metric, o.threshold.expression): o for o in base.thresholds}
    seen_b = {(o.threshold.metric, o.threshold.expression): o for o in cand.thresholds}
    for pair in sorted(set(seen_a) | set(seen_b)):
        oa, ob = seen_a.get(pair), seen_b.get(pair)

        def cell(o: ThresholdOutcome | None) -> str:
            return "-" if o is None else f"{_fmt(o.observed, '.4g')} {'pass' if o.passed else 'FAIL'}"

        rows.append((f"{pair[0]}: {pair[1]}", cell(oa), cell(ob), ""))
    rows.append(("verdict", base.status.upper(), cand.status.upper(), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    from ..analysis.gate import compare_two
    from ..analysis.series import observe

    changed = [f for f in compare_two(observe(base), observe(cand)) if f.kind != "same"]
    print(f"series beyond sampling noise (run-to-run noise is unknown from two runs; `perfmon regressions` "
          f"judges against history): {len(changed) or 'none'}")
    for f in sorted(changed, key=lambda f: f.q_value):
        change = "-" if f.change is None else f"{100 * f.change:+.1f}%"
        print(f"  {'REGRESSION' if f.kind == 'regression' else 'improved'}  {f.key}  {f.baseline:.4g} -> "
              f"{f.observed:.4g}  {change}  confidence {f.confidence:.3f}")


def _newest(store: Store) -> str:
    newest = store.history(limit=1)
    if not newest:
        raise StoreError(f"{store.url} holds no run yet; run `perfmon run` first")
    return newest[0].run_id


def _baseline(store: Store, action: str, run_id: str | None, settings: GateSettings) -> None:
    """``accept``: mark an intended change; ``show``: the runs a run is (or would be) compared against."""
    from ..analysis.history import accepted, baseline_runs, target_of
    from ..pipeline.compare import read_history

    if action == "accept":
        assert run_id is not None
        run = store.accept_baseline(run_id)
        print(f"run {run.run_id} is now the baseline of {run.test_type}/{run.environment}/{run.profile} against "
              f"{target_of(run)}: later comparable runs compare with it and the runs after it")
        return
    run = store.load_run(run_id or _newest(store))
    past, unreadable = read_history(store, run, settings.baseline_runs)
    for line in unreadable:
        print(f"perfmon: {line}", file=sys.stderr)
    found = baseline_runs(run, past, settings)
    print(f"run {run.run_id} ({run.test_type}, {run.environment}, profile {run.profile}, target {target_of(run)}) "
          f"is compared with {len(found)} run(s):")
    for r in found:
        mark = "  (accepted baseline)" if accepted(r) else ""
        print(f"  {r.run_id[:8]}  {time.strftime('%Y-%m-%d %H:%M', time.gmtime(r.started_at))}  "
              f"{r.status.upper()}  {(r.git_sha or '-')[:8]}{mark}")
    if len(found) < settings.min_runs:
        print(f"  not enough history: {settings.min_runs} comparable runs are needed for a verdict")


def _regressions(store: Store, run_id: str | None, *, as_json: bool) -> int:
    """Print a stored run's comparison with its history; 1 when it has an open regression or leak,
    NO_VERDICT when it could not be judged (too little comparable history), 0 otherwise."""
    from ..pipeline.compare import open_regressions
    from ..pipeline.summary import history_lines

    run = store.load_run(run_id or _newest(store))
    found = run.metadata.get("regressions")
    regressed = bool(open_regressions(run))
    if as_json:
        print(json.dumps({"run_id": run.run_id, "regressed": regressed, **(found or {})}, indent=2))
    else:
        print(f"perfmon run {run.run_id}  {run.test_type}  {run.environment}  verdict={run.status.upper()}")
        print("\n".join(history_lines(run)) or "  history: this run was not compared with its history")
    if regressed:
        return 1
    judged = isinstance(found, dict) and bool(found.get("findings"))
    return 0 if judged else NO_VERDICT


def _cmd_run(args: argparse.Namespace, cfg: Config) -> int:
    paths: list[str] = []
    select: list[str] = []
    if args.suite is not None:
        if args.type not in ("all", "browser"):
            raise ConfigError(f"--suite is the run's browser part, and --type {args.type} runs none: drop one of them")
        if not args.suite.exists():
            raise ConfigError(f"--suite {args.suite}: no such file or folder; give the pytest-playwright suite's path")
        paths.append(str(args.suite.resolve()))
    elif args.type in ("all", "browser"):
        paths.append(cfg.suites.browser)
    if args.type != "browser":
        paths.append(cfg.suites.api)
        # Selected by marker, never by -k on names (`-k load` matched the module test_api_load.py). The
        # main job runs load and stress; spike and soak runs are long and asked for by name.
        select = ["-m", "not perf_spike and not perf_endurance" if args.type == "all" else f"perf_{args.type}"]
    argv = [sys.executable, "-m", "pytest", *paths, *select, "-p", "no:cacheprovider", "-o", "addopts=",
            "-n", str(args.workers)]
    if args.profile:
        argv += ["--perf-profile", args.profile]
    if args.env:
        argv += ["--perf-env", args.env]
    if args.browsers is not None:
        argv += ["--perf-browsers", str(args.browsers)]
    if args.config:
        argv += ["--perf-config", str(args.config)]
    if args.store:
        argv += ["--perf-store", args.store]
    if args.shard:
        argv += ["--perf-shard", args.shard]
    if args.run_id:
        argv += ["--perf-run-id", args.run_id]
    if args.suite is not None:
        argv += ["--perf"]
    extra = [a for a in args.pytest_args if a != "--"]
    with tempfile.TemporaryDirectory(prefix="perfmon-run-") as tmp:
        decided = Path(tmp) / "exit"
        code = _run_pytest([*argv, *extra], cwd=cfg.root, env={**os.environ, "PERFMON_EXIT_FILE": str(decided)})
        said = decided.read_text().strip() if decided.is_file() else ""
    if said:
        return int(said)  # the plugin's code, in perfmon's table
    if code == _NO_TESTS and args.type not in ("all", "browser"):
        raise ConfigError(f"no test under {cfg.suites.api} is marked perf_{args.type}; mark its tests "
                          f"@pytest.mark.perf_{args.type}")
    # The plugin never ran: pytest stopped on its own command line (after --), or nothing was collected.
    return _PYTEST_BEFORE_PLUGIN.get(code, ExitCode.UNMEASURED)


_NO_TESTS = 5  # pytest's exit code when nothing was collected
# pytest's code -> perfmon's table, for a pytest that stopped before the plugin decided one.
_PYTEST_BEFORE_PLUGIN = {0: ExitCode.PASSED, 1: ExitCode.FAILED, 2: ExitCode.UNMEASURED, 4: ExitCode.USAGE,
                         _NO_TESTS: ExitCode.USAGE}


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


def _cmd_merge(args: argparse.Namespace, cfg: Config) -> int:
    """Judge a sharded run from its stored parts, waiting up to ``--wait`` for the missing ones."""
    from ..core.durations import parse_duration
    from ..pipeline import Outputs
    from ..pipeline.shards import merge_parts

    wait_s = parse_duration(args.wait, what="--wait")
    run_id = shared_run_id(args.run_id)
    deadline = time.monotonic() + wait_s
    store = open_store(cfg.store, root=cfg.root, create=False)
    try:
        while True:
            rows = store.read_shards(run_id)
            expected = args.shards or max((r.shards for r in rows), default=0)
            if (rows and len({r.shard for r in rows}) >= expected) or time.monotonic() >= deadline:
                break
            time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
    finally:
        store.close()
    if not rows:
        raise TargetError(f"no shard of run {args.run_id} ({run_id}) is in {redact(cfg.store)}; check the run id "
                          "and the store the shards used")
    concluded = merge_parts(rows, cfg, expected=expected,
                            outputs=Outputs(store=True, report_dir=args.report_dir or cfg.root / cfg.report_dir))
    for line, _ in concluded.lines():
        print(line)
    missing = concluded.run.metadata.get("shards", {}).get("missing") or []
    if missing:
        print(f"perfmon: run {run_id} is partial: shard(s) {', '.join(missing)} never reported", file=sys.stderr)
        return ExitCode.UNMEASURED
    return concluded.exit_code


def _cmd_flush(cfg: Config) -> int:
    from ..store.spool import flush_spool

    done = flush_spool(cfg)
    if not done.sent and not done.rejected:
        print("nothing to flush: the spool is empty")
    for run_id in done.sent:
        print(f"flushed run {run_id} to {redact(cfg.store)}")
    for path, why in done.rejected:
        print(f"perfmon: set aside {path} (the store can never take it: {why})", file=sys.stderr)
    return 1 if done.rejected else 0


# `perfmon gate`: the verdict's reason -> exit code (README: "Exit codes").
_GATE_EXIT = {"passed": 0, "failed": 1, "regressed": 1, "unmeasured": NO_VERDICT, "stale": NO_VERDICT,
              "missing": NO_VERDICT}


def _cmd_gate(args: argparse.Namespace, cfg: Config) -> int:
    """The deployment check: fail closed, say why in one line, bypass only when asked."""
    import re

    from ..core.durations import parse_duration
    from ..pipeline.deploy_check import check_deploy

    sha = args.sha or os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
    if not sha:
        raise ConfigError("perfmon gate needs the commit: pass --sha (or set $GITHUB_SHA or $CI_COMMIT_SHA)")
    if not re.fullmatch(r"[0-9a-fA-F]{4,40}", sha):
        raise ConfigError(f"--sha {sha!r} is not a commit SHA; pass the full SHA or its first 4 or more hex digits")
    max_age = parse_duration(args.max_age, what="--max-age") if args.max_age else None
    environment = args.env or cfg.environment
    bypass = "; pass --allow-missing to deploy without it deliberately"
    store: Store | None = None
    try:
        store = open_store(cfg.store, root=cfg.root, create=False)
        verdict = check_deploy(store, sha.lower(), environment=environment, profile=args.run_profile,
                               test_type=args.type, max_age_s=max_age)
    except StoreError as exc:
        if store is not None:
            store.close()
        if args.allow_missing:
            print(f"perfmon gate: ALLOWED WITHOUT LOOKING (--allow-missing): the store could not be read ({exc})",
                  file=sys.stderr)
            return 0
        line = f"the store could not be read ({exc})"
        print(f"perfmon gate: REFUSED: {line}{bypass}", file=sys.stderr)
        _gate_alert(args, None, line, sha=sha, environment=environment, run_id=None)
        return STORE_UNREADABLE
    try:
        if verdict.reason == "missing" and args.allow_missing:
            print(f"perfmon gate: ALLOWED WITHOUT A RUN (--allow-missing): {verdict.line}", file=sys.stderr)
            return 0
        if verdict.allowed:
            print(f"perfmon gate: ALLOWED: {verdict.line}")
        else:
            print(f"perfmon gate: REFUSED: {verdict.line}{bypass if verdict.reason == 'missing' else ''}",
                  file=sys.stderr)
            _gate_alert(args, store, verdict.line, sha=sha, environment=environment, run_id=verdict.run_id)
        return _GATE_EXIT[verdict.reason]
    finally:
        store.close()


def _gate_alert(args: argparse.Namespace, store: Store | None, line: str, *, sha: str, environment: str | None,
                run_id: str | None) -> None:
    """A refused deploy on a protected branch or tag (or with --alert) goes to the webhook, once per run.
    The alert never changes the gate's exit code: a webhook that is down is one more line."""
    from ..pipeline.deploy_check import alert_refusal

    protected = "true" in (os.environ.get("GITHUB_REF_PROTECTED"), os.environ.get("CI_COMMIT_REF_PROTECTED"))
    webhook = os.environ.get("PERFMON_ALERT_WEBHOOK")
    if not (args.alert or protected) or not webhook:
        return
    server, repo, run = (os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    where = f"{server}/{repo}/actions/runs/{run}" if server and repo and run else os.environ.get("CI_JOB_URL")
    try:
        said = alert_refusal(store, webhook, line, sha=sha, environment=environment, run_id=run_id, where=where)
    except StoreError as exc:
        said = f"alert not sent: the store could not mark it ({exc})"
    print(f"perfmon gate: {redact(said)}", file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "browser-server":
        from ..browser import serve_browser

        def ready(endpoint: str) -> None:
            print(endpoint, flush=True)
            print(f"perfmon: browser server ready; run the journeys with --perf-browser-ws {endpoint} "
                  "(Ctrl-C stops it)", file=sys.stderr, flush=True)

        return serve_browser(args.host, args.port, ws_path=args.ws_path, ready=ready)
    if args.command == "demo":
        # Started as a process: perfmon never imports the bundled app.
        return subprocess.call([sys.executable, "-m", "demo_app", "--host", args.host, "--port", str(args.port)])
    cfg = load_config(args.config, store=args.store, profile=getattr(args, "profile", None),
                      environment=getattr(args, "env", None) if args.command == "run" else None)
    if args.command == "run":
        return _cmd_run(args, cfg)
    if args.command == "flush":
        return _cmd_flush(cfg)
    if args.command == "gate":
        return _cmd_gate(args, cfg)
    if args.command == "merge":
        return _cmd_merge(args, cfg)
    if args.command == "calibrate":
        from .calibrate import calibrate_command

        if not 0 < args.margin < 10:
            raise ConfigError(f"--margin {args.margin:g}: give the drift allowed as a fraction, e.g. 0.1 for 10 %")
        args.pytest_args = [a for a in args.pytest_args if a != "--"]
        return calibrate_command(args, cfg)
    if args.command == "capacity":
        from .capacity import capacity_history, capacity_search

        return capacity_search(args, cfg) if args.capacity_action == "search" else capacity_history(args, cfg)
    store = open_store(cfg.store, root=cfg.root, create=False)
    try:
        if args.command == "history":
            if args.limit < 1:
                raise ConfigError("--limit must be 1 or more")
            _history_table(store.history(test_type=args.type, environment=args.env, limit=args.limit))
        elif args.command == "show":
            from ..pipeline import summary_lines

            print("\n".join(summary_lines(store.load_run(args.run_id))))
        elif args.command == "report":
            from ..report import write_reports

            run = store.load_run(args.run_id)
            history = store.history(test_type=run.test_type, environment=run.environment, limit=20)
            paths = write_reports(run, args.out or cfg.root / cfg.report_dir, history=history)
            print(f"report: {paths.html}")
            print(f"summary.json: {paths.summary}  junit: {paths.junit}  markdown: {paths.markdown}")
        elif args.command == "compare":
            _compare(store.load_run(args.base), store.load_run(args.candidate), across=args.across)
        elif args.command == "regressions":
            return _regressions(store, args.run_id, as_json=args.json)
        elif args.command == "baseline":
            _baseline(store, args.action, args.run_id, cfg.regression_gate)
    finally:
        store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except PerfmonError as exc:
        print(f"perfmon: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfmon: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `perfmon history | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
