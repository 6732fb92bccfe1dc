"""Records -> one Run: the first step of the pipeline.

Every test (or scenario, or background load) hands in a :class:`~perfmon.core.records.Record`;
this merges their metrics (exactly: windows are epoch-aligned), keeps each threshold once, and
carries every fact across (how each scenario ran, slowest resources, failure artifacts, breaking
points). It decides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core.config import Config
from ..core.failures import Failure, merged_failures
from ..core.records import Record, merge_slowest, slowest_first
from ..core.redaction import redact, redactor
from ..core.results import TEST_ERRORS, Run
from ..core.samples import TimedSamples
from ..core.thresholds import Threshold
from ..core.vcs import git_info

__all__ = ["Assembled", "assemble"]



@dataclass
class Assembled:
    run: Run
    thresholds: list[Threshold]
    interrupted: bool  # a test or scenario was stopped by Ctrl-C
    timed: TimedSamples  # browser samples with their intervals, not yet in the run's metrics (quarantine.py)


def assemble(records: Iterable[Record], config: Config, *, run_id: str, started_at: float, base_url: str | None,
             finished_at: float | None = None) -> Assembled | None:
    """Merge records into one run and the thresholds that judge it; ``None`` when nothing was measured."""
    # The run keeps the target's address, never its credentials (http://user:secret@host).
    run = Run(test_type="mixed", environment=config.environment, profile=config.profile.name,
              base_url=redact(base_url) if base_url else None, run_id=run_id, started_at=started_at,
              finished_at=finished_at)
    kinds: set[str] = set()
    thresholds: dict[tuple[str, str], Threshold] = {}
    users: dict[str, int] = {}
    slowest: dict[str, list[dict[str, Any]]] = {}
    artifacts: list[str] = []
    interactions: list[dict[str, Any]] = []
    breaking: dict[str, dict[str, Any]] = {}
    interrupted = False
    timed = TimedSamples()
    failed_tests: list[Failure] = []
    for rec in records:
        if not rec.measured:
            continue
        assert rec.kind is not None
        run.metrics.merge(rec.metrics)
        timed.extend(rec.timed)
        kinds.add(rec.kind)
        for t in rec.thresholds:
            thresholds.setdefault((t.metric, t.expression), t)
        users[rec.kind] = max(users.get(rec.kind, 0), rec.vus)
        run.scenarios.extend(rec.scenarios)
        interrupted |= rec.interrupted or any(s.interrupted for s in rec.scenarios)
        merge_slowest(slowest, rec.slowest)
        interactions = slowest_first([*interactions, *rec.interactions])
        artifacts.extend(rec.artifacts)
        breaking.update(rec.breaking_points)
        failed_tests.extend(rec.errors)
    if not kinds:
        return None
    # Series are named after what the tests requested and were called: a token in a path or a secret
    # test parameter is masked here, before any analysis names a series or history keys on it.
    one = redactor()
    run.metrics, timed = run.metrics.relabelled(one), timed.relabelled(one)
    if "browser" in kinds:
        for t in config.browser_thresholds():
            thresholds.setdefault((t.metric, t.expression), t)
    run.test_type = kinds.pop() if len(kinds) == 1 else "mixed"
    git = git_info(str(config.root))
    run.git_sha, run.branch = git["git_sha"], git["branch"]
    run.concurrent_users = sum(users.values())
    if len(users) > 1:  # a hybrid run: how many of its users were journeys, how many API load
        run.metadata["users_by_kind"] = users
    for key, value in (("slowest_resources", slowest), ("slowest_interactions", interactions),
                       ("artifacts", artifacts), ("breaking_points", breaking),
                       (TEST_ERRORS, [f.to_dict() for f in merged_failures(failed_tests)])):
        if value:
            run.metadata[key] = value
    return Assembled(run, list(thresholds.values()), interrupted, timed)
