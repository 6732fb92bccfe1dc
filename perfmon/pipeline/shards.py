"""Sharded runs: N runners, one run.

One runner cannot drive every browser or every request a test needs, so a CI matrix or a Kubernetes
Indexed Job runs N of them, each a slice (``--perf-shard i/N``: its share of the users or of the
arrival rate), under one run id (``--perf-run-id``).

A shard never judges. It assembles its own records (exact histogram merges) and stores them, with
its browser samples and the facts of how its session went, as its *part* of the run
(``performance_run_shards``, keyed by run id and shard: a retried shard replaces its own part, so
nothing is counted twice). The run is concluded once, through the same pipeline as any run, from
every part: by the last shard to store its part (it reads the parts in the transaction that wrote
its own), or by ``perfmon merge`` at a deadline, which marks the run ``partial`` and names the shards
that never reported. Each shard's browser samples are quarantined by the saturated seconds of the
machine that measured them; users add up over shards; percentiles come from the merged histograms.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.config import Config, Shard
from ..core.errors import ConfigError, PerfmonError, one_line
from ..core.exit_codes import ExitCode
from ..core.metrics import Metrics
from ..core.records import Record, merge_slowest, slowest_first
from ..core.results import Run
from ..core.samples import TimedSamples
from ..core.thresholds import Threshold
from ..store import ShardRow, open_store
from ..store.spool import Spool
from . import Concluded, Line, Outputs, RunFacts, judge_and_deliver
from .assemble import assemble
from .quarantine import QUARANTINE, quarantine

__all__ = ["ShardPart", "ShardStored", "make_part", "merge_parts", "store_part"]

@dataclass
class ShardPart:
    """What one shard measured, not yet judged: its records assembled into a run (its sampler's metrics
    merged in), the thresholds they carry, its browser samples with their intervals, how it ran."""

    run: Run
    thresholds: list[Threshold]
    timed: TimedSamples
    facts: RunFacts
    measured: bool = True  # False: the shard ran no test that measured (it still reports, with its sampler's)

    def to_dict(self) -> dict[str, Any]:
        f = self.facts
        return {"run": self.run.to_dict(), "measured": self.measured,
                "thresholds": [t.to_dict() for t in self.thresholds],
                "timed": self.timed.to_dict(),
                "facts": {"lost_iterations": f.lost_iterations, "client_saturation": f.client_saturation,
                          "client_busy": [list(span) for span in f.client_busy], "interrupted": f.interrupted,
                          "tests_failed": f.tests_failed}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ShardPart:
        f = d["facts"]
        facts = RunFacts(lost_iterations=int(f["lost_iterations"]), client_saturation=f.get("client_saturation"),
                         client_busy=tuple((float(a), float(b)) for a, b in f.get("client_busy") or []),
                         interrupted=bool(f["interrupted"]), tests_failed=bool(f["tests_failed"]))
        return cls(Run.from_dict(d["run"]), [Threshold.from_dict(t) for t in d["thresholds"]],
                   TimedSamples.from_dict(d["timed"]), facts, bool(d.get("measured", True)))


def make_part(records: Iterable[Record], config: Config, *, run_id: str, started_at: float, finished_at: float,
              base_url: str | None, facts: RunFacts, session_metrics: Metrics | None,
              metadata: Mapping[str, Any]) -> ShardPart:
    """This shard's part; a shard that measured nothing still reports (an empty part), or the run
    would wait for it until the deadline."""
    assembled = assemble(records, config, run_id=run_id, started_at=started_at, base_url=base_url,
                         finished_at=finished_at)
    if assembled is None:
        run = Run(test_type="mixed", environment=config.environment, profile=config.profile.name, base_url=base_url,
                  run_id=run_id, started_at=started_at, finished_at=finished_at)
        thresholds, timed, interrupted = [], TimedSamples(), False
    else:
        run, thresholds, timed, interrupted = (assembled.run, assembled.thresholds, assembled.timed,
                                               assembled.interrupted)
    if session_metrics is not None:
        run.metrics.merge(session_metrics)
    run.metadata.update(metadata)
    run.redact_fields()  # the part is written to the store as it is
    return ShardPart(run, thresholds, timed, replace(facts, interrupted=facts.interrupted or interrupted),
                     measured=assembled is not None)


@dataclass
class ShardStored:
    """Where a shard's part went, and the run when this shard was the last of them to report."""

    run_id: str
    shard: Shard
    where: str
    spooled: bool = False
    missing: list[str] = field(default_factory=list)  # shards not yet in the store ("1/3")
    problem: str | None = None
    concluded: Concluded | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.concluded is not None:
            return self.concluded.exit_code
        return ExitCode.SPOOLED if self.spooled else ExitCode.PASSED

    def lines(self) -> list[Line]:
        if self.concluded is not None:
            return [(f"shard {self.shard} of run {self.run_id} stored last: the run is judged on all "
                     f"{self.shard.count} shards", "plain"), *self.concluded.lines()]
        if self.spooled:
            return [(f"shard {self.shard} of run {self.run_id} could not be stored ({self.problem}); it is kept in "
                     f"{self.where}: `perfmon flush` sends it, then `perfmon merge {self.run_id}` judges the run",
                     "fail")]
        waiting = ", ".join(self.missing)
        return [(f"shard {self.shard} of run {self.run_id} stored in {self.where}; waiting for shard(s) {waiting}: "
                 f"the last to finish judges the run, or `perfmon merge {self.run_id} --wait DURATION` at a deadline",
                 "plain")]


def store_part(part: ShardPart, config: Config, shard: Shard, outputs: Outputs) -> ShardStored:
    """Store this shard's part; when it completes the set, conclude the run from every part."""
    run_id = part.run.run_id
    row = ShardRow(run_id, shard.index, shard.count, socket.gethostname(), part.to_dict())
    try:
        store = open_store(config.store, root=config.root)
        try:
            _check_claim(store.read_shards(run_id), row, part)
            rows = store.write_shard(row)
        finally:
            store.close()
    except ConfigError:
        Spool(config).keep_shard(row, rejected=True)  # what it measured is kept, never stored over another's
        raise
    except PerfmonError as exc:
        path = Spool(config).keep_shard(row)
        return ShardStored(run_id, shard, str(path), spooled=True, problem=one_line(exc))
    missing = _missing(rows, shard.count)
    if missing:
        return ShardStored(run_id, shard, config.store, missing=missing)
    return ShardStored(run_id, shard, config.store, concluded=merge_parts(rows, config, outputs=outputs))


def _check_claim(stored: list[ShardRow], row: ShardRow, part: ShardPart) -> None:
    """A retried shard replaces its own part; two runners claiming one index at once, or a shard count
    that disagrees with the parts already stored, is a mistake said in one line."""
    for other in stored:
        if other.shards != row.shards:
            raise ConfigError(f"run {row.run_id} was sharded into {other.shards} (shard {other.shard} says so), "
                              f"but this shard says {row.shard}/{row.shards}; give every shard the same N")
        if other.shard != row.shard:
            continue
        theirs = other.part["run"]
        began, ended = float(theirs["started_at"]), float(theirs.get("finished_at") or theirs["started_at"])
        if began < (part.run.finished_at or time.time()) and part.run.started_at < ended:
            raise ConfigError(f"shard {row.shard}/{row.shards} of run {row.run_id} was stored by {other.host}, which "
                              "ran at the same time as this one: two runners claim the same index; give each its "
                              "own --perf-shard (this part is kept in the spool's rejected/ folder)")


def _missing(rows: list[ShardRow], count: int) -> list[str]:
    present = {r.shard for r in rows}
    return [f"{i}/{count}" for i in range(1, count + 1) if i not in present]


def merge_parts(rows: list[ShardRow], config: Config, *, outputs: Outputs,
                expected: int | None = None) -> Concluded:
    """The run made of every stored part, judged once; shards missing from ``rows`` (of ``expected``,
    else of the count the parts say) make it ``partial``, and are named."""
    count = expected or max(r.shards for r in rows)
    parts = [ShardPart.from_dict(r.part) for r in sorted(rows, key=lambda r: r.shard)]
    first = parts[0].run
    run = Run(test_type=first.test_type, environment=first.environment, profile=first.profile,
              base_url=first.base_url, run_id=first.run_id, started_at=min(p.run.started_at for p in parts),
              finished_at=max(p.run.finished_at or p.run.started_at for p in parts))
    run.git_sha, run.branch = first.git_sha, first.branch
    thresholds: dict[tuple[str, str], Threshold] = {}
    for part in parts:
        run.metrics.merge(part.run.metrics)
        run.scenarios.extend(part.run.scenarios)
        for t in part.thresholds:
            thresholds.setdefault((t.metric, t.expression), t)
        # Each machine's samples are judged by its own saturated seconds.
        quarantine(run, part.timed, part.facts.client_busy, min_clean=config.min_clean_share)
    kinds = {p.run.test_type for p in parts if p.measured}
    run.test_type = kinds.pop() if len(kinds) == 1 else "mixed"
    run.concurrent_users = sum(p.run.concurrent_users for p in parts)  # each shard ran its own users
    run.metadata.update(_merged_metadata(parts))
    missing = _missing(rows, count)
    run.metadata["shards"] = {
        "count": count, "missing": missing,
        "reported": [{"shard": r.shard, "host": r.host, "users": p.run.concurrent_users, "stored_at": r.stored_at}
                     for r, p in zip(sorted(rows, key=lambda r: r.shard), parts, strict=True)],
        **({"commits": sorted({str(p.run.git_sha) for p in parts})} if len({p.run.git_sha for p in parts}) > 1
           else {})}
    saturation = [p.facts.client_saturation for p in parts if p.facts.client_saturation is not None]
    facts = RunFacts(lost_iterations=sum(p.facts.lost_iterations for p in parts),
                     client_saturation=max(saturation) if saturation else None,
                     interrupted=any(p.facts.interrupted for p in parts),
                     tests_failed=any(p.facts.tests_failed for p in parts), missing_shards=tuple(missing))
    return judge_and_deliver(run, list(thresholds.values()), config, facts=facts, outputs=outputs)


def _merged_metadata(parts: list[ShardPart]) -> dict[str, Any]:
    """The first shard's session facts, with what every shard found put together."""
    merged = {k: v for k, v in parts[0].run.metadata.items() if k != QUARANTINE}
    slowest: dict[str, list[dict[str, Any]]] = {}
    interactions: list[dict[str, Any]] = []
    artifacts: list[str] = []
    breaking: dict[str, Any] = {}
    users: dict[str, int] = {}
    sampler_cpu = 0.0
    for part in parts:
        meta = part.run.metadata
        merge_slowest(slowest, meta.get("slowest_resources") or {})
        interactions = slowest_first([*interactions, *(meta.get("slowest_interactions") or [])])
        artifacts += list(meta.get("artifacts") or [])
        breaking.update(meta.get("breaking_points") or {})
        for kind, n in (meta.get("users_by_kind") or {}).items():
            users[kind] = users.get(kind, 0) + int(n)
        sampler_cpu += float(meta.get("sampler_cpu_s") or 0.0)
    for key, value in (("slowest_resources", slowest), ("slowest_interactions", interactions),
                       ("artifacts", artifacts), ("breaking_points", breaking), ("users_by_kind", users)):
        if value:
            merged[key] = value
    if sampler_cpu:
        merged["sampler_cpu_s"] = round(sampler_cpu, 3)
    return merged
