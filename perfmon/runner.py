"""From measurements to a stored, judged run: merge, evaluate, store (or spool), summarise.

The pytest plugin and the ``perfmon`` CLI both end a run here, so a run judged in pytest and
one judged from the command line are the same thing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import StoreError
from .measurements import Record
from .metrics import Metrics
from .results import Run, git_info
from .store import open_store
from .thresholds import Threshold, ThresholdOutcome, evaluate

__all__ = [
    "StoredRun",
    "assemble_run",
    "browser_thresholds",
    "flush_spool",
    "judge",
    "spool_dir",
    "spool_run",
    "store_run",
    "summary_lines",
]


def browser_thresholds(config: Config) -> list[Threshold]:
    """The browser scenario's thresholds: they judge the run, and flag single iterations."""
    sc = config.scenarios.get("browser")
    return list(sc.thresholds) if sc else []


def assemble_run(records: Iterable[Record], config: Config, *, run_id: str, started_at: float,
                 base_url: str | None) -> tuple[Run, list[Threshold]] | None:
    """Merge per-test records into one run and the thresholds that judge it; ``None`` when
    nothing was measured."""
    metrics = Metrics()
    kinds: set[str] = set()
    thresholds: dict[tuple[str, str], Threshold] = {}
    users: dict[str, int] = {}
    stop_reasons: list[str] = []
    slowest: dict[str, list[dict[str, object]]] = {}
    artifacts: list[str] = []
    breaking: dict[str, dict[str, object]] = {}
    n = 0
    for rec in records:
        n += 1
        metrics.merge(rec.metrics)
        kinds.add(rec.kind)
        for t in rec.thresholds:
            thresholds.setdefault((t.metric, t.expression), t)
        if "vus" in rec.extra:
            users[rec.kind] = max(users.get(rec.kind, 0), int(rec.extra["vus"]))
        if rec.extra.get("stop_reason"):
            stop_reasons.append(str(rec.extra["stop_reason"]))
        for page, items in (rec.extra.get("slowest") or {}).items():
            both = slowest.get(page, []) + list(items)
            slowest[page] = sorted(both, key=lambda r: -float(str(r.get("duration") or 0)))[:5]
        artifacts.extend(rec.extra.get("artifacts") or [])
        if rec.extra.get("breaking_point"):
            found = dict(rec.extra["breaking_point"])
            breaking[str(found.pop("scenario"))] = found
    if n == 0:
        return None
    if "browser" in kinds:
        for t in browser_thresholds(config):
            thresholds.setdefault((t.metric, t.expression), t)
    test_type = kinds.pop() if len(kinds) == 1 else "mixed"
    git = git_info(str(config.root))
    run = Run(test_type=test_type, environment=config.environment, profile=config.profile.name,
              base_url=base_url, run_id=run_id, started_at=started_at, metrics=metrics,
              git_sha=git["git_sha"], branch=git["branch"])
    if stop_reasons:
        run.metadata["stop_reasons"] = stop_reasons
    if slowest:
        run.metadata["slowest_resources"] = slowest
    if artifacts:
        run.metadata["artifacts"] = artifacts
    if breaking:
        run.metadata["breaking_points"] = breaking
    run.concurrent_users = sum(users.values())
    return run, list(thresholds.values())


def judge(
    run: Run,
    thresholds: list[Threshold],
    *,
    lost_iterations: int = 0,
    saturation: float | None = None,
    interrupted: bool = False,
    tests_failed: bool = False,
    unreliable_saturation: float = 0.2,
) -> list[ThresholdOutcome]:
    """Evaluate the run's thresholds and set its status; flag browser numbers as unreliable when
    the client was saturated for more than ``unreliable_saturation`` of the run."""
    run.lost_iterations = lost_iterations
    run.client_saturation = saturation
    if saturation is not None and saturation > unreliable_saturation:
        run.metadata["browser_metrics_unreliable"] = True
    run.thresholds = evaluate(thresholds, run.metrics, duration_s=run.duration_seconds)
    if interrupted:
        run.status = "interrupted"
    elif run.failed_thresholds or tests_failed or run.metadata.get("stop_reasons"):
        run.status = "failed"
    elif lost_iterations:
        run.status = "partial"
    else:
        run.status = "passed"
    return run.thresholds


@dataclass(frozen=True)
class StoredRun:
    where: str
    spooled: bool
    problem: str | None = None


def spool_run(run: Run, spool_dir: Path) -> Path:
    """Write the run atomically (temp file, fsync, rename) so it can be replayed later."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=spool_dir, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(run.to_json())
        f.flush()
        os.fsync(f.fileno())
    final = spool_dir / f"{run.run_id}.json"
    os.replace(tmp, final)
    return final


def store_run(run: Run, config: Config) -> StoredRun:
    """Store the run; when the store fails, spool it so nothing measured is lost."""
    try:
        store = open_store(config.store, root=config.root)
        try:
            store.write_run(run)
        finally:
            store.close()
        return StoredRun(config.store, spooled=False)
    except StoreError as exc:
        path = spool_run(run, spool_dir(config))
        return StoredRun(str(path), spooled=True, problem=str(exc))


def spool_dir(config: Config) -> Path:
    return config.root / ".perfmon" / "spool"


def flush_spool(config: Config) -> list[str]:
    """Send every spooled run to the store (idempotent: runs are keyed by their own ids) and
    delete each file once its run is stored. Returns the run ids sent."""
    files = sorted(spool_dir(config).glob("*.json")) if spool_dir(config).is_dir() else []
    if not files:
        return []
    sent = []
    store = open_store(config.store, root=config.root)
    try:
        for f in files:
            run = Run.from_json(f.read_text(encoding="utf-8"))
            store.write_run(run)
            f.unlink()
            sent.append(run.run_id)
    finally:
        store.close()
    return sent


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:.4g}{unit}"


def summary_lines(run: Run) -> list[str]:
    s = run.summary_metrics()
    errors = None if s.error_rate is None else s.error_rate * 100
    lines = [
        f"perfmon run {run.run_id}  {run.test_type}  {run.environment}  profile={run.profile}  "
        f"verdict={run.status.upper()}",
        f"  duration {run.duration_seconds:.1f}s  users {run.concurrent_users}  avg {_fmt(s.avg_response_time, 'ms')}  "
        f"p95 {_fmt(s.p95_response_time, 'ms')}  errors {_fmt(errors, '%')}"
        f"  throughput {_fmt(s.throughput, '/s')}",
    ]
    if run.client_saturation is not None:
        lines.append(f"  client CPU saturated {run.client_saturation:.0%} of the run"
                     + ("  -> browser metrics UNRELIABLE (the client, not the server, was the bottleneck)"
                        if run.metadata.get("browser_metrics_unreliable") else ""))
    if run.lost_iterations:
        lines.append(f"  {run.lost_iterations} iteration(s) lost to crashed workers")
    for reason in run.metadata.get("stop_reasons", []) or []:
        lines.append(f"  stopped early: {reason}")
    for o in run.thresholds:
        mark = "PASS" if o.passed else "FAIL"
        lines.append(f"  {mark}  {o.threshold.metric}: {o.threshold.expression}  observed {_fmt(o.observed)}")
    return lines
