"""The run model: what one performance run measured, and the spec's summary of it.

:class:`Run` carries identity (a client-generated UUID, so shards and retries of one run
merge and re-send idempotently), context (git, host, profile), the merged :class:`Metrics`,
how each load scenario ran (:class:`ScenarioRun`: facts, never a verdict) and the threshold
outcomes. ``to_dict``/``from_dict`` are its one serialiser (spool files, stores, the worker
log). :class:`PerformanceTestResults` is the spec's flat summary that
tests assert on (``results.metrics.p95_response_time < 2000``) and that fills the
``performance_test_runs`` row.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from .._version import __version__
from .comparison import HistoryComparison
from .config import Stage
from .failures import Failure, merged_failures
from .findings import Finding, Leaks, derived_dict, findings_from
from .metrics import Counter, Metrics, Rate, Trend
from .redaction import redact_tree, redactor
from .thresholds import ThresholdOutcome

__all__ = [
    "FAILED_PARTS",
    "RUN_STATUSES",
    "TEST_ERRORS",
    "TEST_TYPES",
    "UNMEASURED_PARTS",
    "PerformanceMetrics",
    "PerformanceTestResults",
    "Run",
    "RunStatus",
    "ScenarioRun",
    "new_run_id",
    "shared_run_id",
    "test_type_of",
]

F = TypeVar("F")

TEST_TYPES = ("load", "stress", "spike", "endurance", "browser", "mixed")
RunStatus = Literal["passed", "failed", "interrupted", "partial", "unmeasured"]
# Run.metadata keys of an unmeasured run: the parts ("api", "browser") that were not measured, and those
# whose measured numbers failed anyway (`perfmon run --retry-unmeasured` runs the first again).
UNMEASURED_PARTS = "unmeasured_parts"
FAILED_PARTS = "failed_parts"
RUN_STATUSES: tuple[RunStatus, ...] = ("passed", "failed", "interrupted", "partial", "unmeasured")

# Which metrics summarise a run, in order of preference: API requests, then browser steps.
_LATENCY = ("http_req_duration", "browser_step_duration")
_FAILED = ("http_req_failed", "browser_iteration_failed")
_THROUGHPUT = ("http_reqs", "browser_iterations")
NO_VERDICT = ("unmeasured", "interrupted")  # statuses whose numbers were not judged
UNJUDGED = "the run was {status}, so what moved is not called a regression or a leak"
TEST_ERRORS = "test_errors"  # metadata: the failed tests' exceptions (Failure dicts), as assembled
_HISTORY_KEY = "regressions"  # where the comparison is kept in the stored metadata (summary.json v1)


def test_type_of(scenario: str) -> str:
    """The test type a scenario's name implies: its own name for the spec's four, else ``load``."""
    return scenario if scenario in ("load", "stress", "spike", "endurance") else "load"


def new_run_id() -> str:
    return str(uuid.uuid4())


_SHARED_IDS = uuid.UUID("6f1c3c1e-8d0a-4b8e-9a53-2f0f5bde1800")  # perfmon's namespace: one name, one id


def shared_run_id(given: str) -> str:
    """The run id every shard of a run shares: ``given`` when it is a UUID, else one derived from it (a
    CI run's number, say), the same on every runner."""
    text = given.strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(_SHARED_IDS, text))


@dataclass(frozen=True)
class PerformanceMetrics:
    avg_response_time: float | None  # ms
    p95_response_time: float | None  # ms
    error_rate: float | None  # 0..1
    throughput: float | None  # requests (or iterations) per second

    def to_dict(self) -> dict[str, float | None]:
        return {
            "avg_response_time": self.avg_response_time,
            "p95_response_time": self.p95_response_time,
            "error_rate": self.error_rate,
            "throughput": self.throughput,
        }


@dataclass
class PerformanceTestResults:
    """The spec's result record (Python names for its TypeScript interface)."""

    test_type: str
    environment: str
    concurrent_users: int
    duration_seconds: float
    metrics: PerformanceMetrics
    passed: bool
    run_id: str = field(default_factory=new_run_id)
    thresholds: list[ThresholdOutcome] = field(default_factory=list)
    run: Run | None = field(default=None, repr=False)

    @property
    def failed_thresholds(self) -> list[ThresholdOutcome]:
        return [o for o in self.thresholds if not o.passed]


@dataclass(frozen=True)
class ScenarioRun:
    """How one load scenario ran, as its engine saw it: the facts analyses and the verdict read.

    ``stop_reason`` is set only when the scenario stopped before its schedule for a reason that
    matters to the verdict (an ``abortOnFail`` threshold, Ctrl-C); ``cut_short`` when it was
    simply ended early (a hybrid run's journeys finished first). ``cancelled_at_stop`` users were
    still busy when the graceful stop (``graceful_stop_s``) ran out: their in-flight requests are
    recorded as failed with ``error: interrupted`` and their elapsed time."""

    name: str
    test_type: str
    executor: str
    started_at: float
    finished_at: float
    stages: tuple[Stage, ...] = ()
    vus: int = 0
    vus_created: int = 0
    dropped_iterations: int = 0
    processes: int = 1
    stop_reason: str | None = None
    interrupted: bool = False
    cut_short: bool = False
    client_saturation: float | None = None
    graceful_stop_s: float = 0.0
    cancelled_at_stop: int = 0
    errors: tuple[Failure, ...] = ()  # the exceptions its journey raised (failed iterations), tallied

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["stages"] = [[s.duration_s, s.target] for s in self.stages]
        d["errors"] = [e.to_dict() for e in self.errors]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScenarioRun:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        known["stages"] = tuple(Stage(float(s[0]), int(s[1])) for s in d.get("stages") or ())
        known["errors"] = tuple(Failure.from_dict(e) for e in d.get("errors") or ())
        return cls(**known)


@dataclass
class Run:
    test_type: str
    environment: str
    profile: str
    base_url: str | None
    run_id: str = field(default_factory=new_run_id)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    status: RunStatus = "passed"
    concurrent_users: int = 0
    metrics: Metrics = field(default_factory=Metrics)
    thresholds: list[ThresholdOutcome] = field(default_factory=list)
    client_saturation: float | None = None  # share of the run the load generator's CPU was saturated
    lost_iterations: int = 0
    git_sha: str | None = None
    branch: str | None = None
    host: str = field(default_factory=socket.gethostname)
    tool_version: str = ""
    scenarios: list[ScenarioRun] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # what the analyses found (core/findings.py)
    comparison: HistoryComparison | None = None  # against its history (core/comparison.py); None: not compared

    def __post_init__(self) -> None:
        if not self.tool_version:
            self.tool_version = __version__

    @property
    def duration_seconds(self) -> float:
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.started_at)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed_thresholds(self) -> list[ThresholdOutcome]:
        return [o for o in self.thresholds if not o.passed]

    @property
    def stop_reasons(self) -> list[str]:
        """Why scenarios stopped early, when that matters to the verdict (abortOnFail, Ctrl-C)."""
        return [f"{s.name}: {s.stop_reason}" for s in self.scenarios if s.stop_reason]

    def summary_metrics(self) -> PerformanceMetrics:
        """The spec's four figures, from the run's metrics; a run recorded from the spec's
        ``PerformanceTestResults`` alone (no metrics of its own) keeps the figures it was given."""
        given = self.metadata.get("summary")
        if not len(self.metrics) and isinstance(given, dict):
            return PerformanceMetrics(**{k: given.get(k) for k in PerformanceMetrics.__dataclass_fields__})
        avg = p95 = err = thr = None
        for name in _LATENCY:
            trend = self.metrics.select(name)
            if isinstance(trend, Trend) and trend.count:
                avg, p95 = trend.avg, trend.percentile(95)
                break
        for name in _FAILED:
            rate = self.metrics.select(name)
            if isinstance(rate, Rate) and rate.total:
                err = rate.rate
                break
        for name in _THROUGHPUT:
            counter = self.metrics.select(name)
            if isinstance(counter, Counter) and self.duration_seconds > 0:
                thr = counter.count / self.duration_seconds
                break
        return PerformanceMetrics(avg, p95, err, thr)

    def results(self) -> PerformanceTestResults:
        return PerformanceTestResults(
            test_type=self.test_type,
            environment=self.environment,
            concurrent_users=self.concurrent_users,
            duration_seconds=self.duration_seconds,
            metrics=self.summary_metrics(),
            passed=self.passed,
            run_id=self.run_id,
            thresholds=list(self.thresholds),
            run=self,
        )

    def context(self) -> dict[str, Any]:
        """Where and how the run was measured: the stores' ``metadata`` column."""
        return {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            **self.stored_metadata(),
            "scenarios": [s.to_dict() for s in self.scenarios],
        }

    def stored_metadata(self) -> dict[str, Any]:
        """``metadata`` with the findings in it as ``derived`` and the comparison as ``regressions`` (the
        shape stores and summary.json keep)."""
        return {**self.metadata, **({"derived": derived_dict(self.findings)} if self.findings else {}),
                **({_HISTORY_KEY: self.comparison.to_dict()} if self.comparison is not None else {})}

    def redact_fields(self) -> None:
        """Mask every secret in the run's free text, field by field, before it is written anywhere: tag
        values (an endpoint path holding a token, a test named after a parameter), the base URL, the
        metadata's strings, why a scenario stopped. Ids, statuses, numbers and keys are never touched."""
        one = redactor()
        self.metrics = self.metrics.relabelled(one)
        self.base_url = one(self.base_url) if self.base_url else self.base_url
        self.metadata = redact_tree(self.metadata)
        self.scenarios = [replace(s, stop_reason=one(s.stop_reason) if s.stop_reason else s.stop_reason,
                                  errors=tuple(e.redacted(one) for e in s.errors)) for s in self.scenarios]

    def unjudge(self, why: str) -> None:
        """A run without a verdict calls nothing a regression or a leak: its comparison and leak findings
        keep what moved, marked with ``why`` (``perfmon regressions`` then has no verdict either)."""
        if self.comparison is not None:
            self.comparison = replace(self.comparison, unjudged=why)
        self.findings = [f.unjudged(why) if isinstance(f, Leaks) else f for f in self.findings]

    @property
    def errors(self) -> tuple[Failure, ...]:
        """Every exception the run's scripts raised: its failed tests' (by node id) first, then its
        scenarios' journeys', each most frequent first."""
        return self._test_errors() + merged_failures(e for s in self.scenarios for e in s.errors)

    @property
    def failed_tests(self) -> list[str]:
        """The node ids of the tests that failed, in the order of the Errors block."""
        return list(dict.fromkeys(e.source for e in self._test_errors()))

    def _test_errors(self) -> tuple[Failure, ...]:
        return merged_failures(Failure.from_dict(e) for e in self.metadata.get(TEST_ERRORS) or ()
                               if isinstance(e, dict))

    def finding(self, kind: type[F], scenario: str | None = None) -> F | None:
        """The run's finding of ``kind`` (of ``scenario``, for a per-scenario one), if there is one."""
        return next((f for f in self.findings_of(kind) if scenario is None or getattr(f, "scenario", None) == scenario),
                    None)

    def findings_of(self, kind: type[F]) -> list[F]:
        return [f for f in self.findings if isinstance(f, kind)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "test_type": self.test_type,
            "environment": self.environment,
            "profile": self.profile,
            "base_url": self.base_url,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "concurrent_users": self.concurrent_users,
            "client_saturation": self.client_saturation,
            "lost_iterations": self.lost_iterations,
            "git_sha": self.git_sha,
            "branch": self.branch,
            "host": self.host,
            "tool_version": self.tool_version,
            "scenarios": [s.to_dict() for s in self.scenarios],
            "metadata": self.stored_metadata(),
            "thresholds": [o.to_dict() for o in self.thresholds],
            "metrics": self.metrics.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Run:
        """The inverse of :meth:`to_dict`; also reads a store's row, whose ``metadata`` holds the scenarios."""
        # The machine it was measured on (python, platform, cpus) stays in metadata: context() gives it
        # precedence over this machine's, so a run flushed or re-read elsewhere keeps its origin.
        metadata = dict(d.get("metadata") or {})
        derived = metadata.pop("derived", None) if isinstance(metadata.get("derived"), Mapping) else None
        comparison = _comparison(metadata)
        scenarios = d.get("scenarios")
        if scenarios is None:
            scenarios = metadata.pop("scenarios", [])
        else:
            metadata.pop("scenarios", None)
        run = cls(
            test_type=d["test_type"],
            environment=d["environment"],
            profile=d["profile"],
            base_url=d.get("base_url"),
            run_id=str(d["run_id"]),
            started_at=float(d["started_at"]),
            finished_at=None if d.get("finished_at") is None else float(d["finished_at"]),
            status=d["status"],
            concurrent_users=int(d.get("concurrent_users") or 0),
            metrics=_metrics(d.get("metrics")),
            thresholds=[o if isinstance(o, ThresholdOutcome) else ThresholdOutcome.from_dict(o)
                        for o in d.get("thresholds") or []],
            client_saturation=d.get("client_saturation"),
            lost_iterations=int(d.get("lost_iterations") or 0),
            git_sha=d.get("git_sha"),
            branch=d.get("branch"),
            host=d.get("host") or "",
            tool_version=d.get("tool_version") or "",
            scenarios=[ScenarioRun.from_dict(s) for s in scenarios],
            metadata=metadata,
            findings=findings_from(derived) if derived is not None else [],
            comparison=comparison,
        )
        if run.status in NO_VERDICT:  # stored before such runs were unjudged: read as they are now written
            run.unjudge(UNJUDGED.format(status=run.status))
        return run

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Run:
        return cls.from_dict(json.loads(text))


def _comparison(metadata: dict[str, Any]) -> HistoryComparison | None:
    """The stored comparison, taken out of ``metadata``; a malformed one stays there as it was (never dropped)."""
    found = metadata.get(_HISTORY_KEY)
    if not isinstance(found, Mapping):
        return None
    try:
        comparison = HistoryComparison.from_dict(found)
    except (KeyError, TypeError, ValueError):
        return None
    del metadata[_HISTORY_KEY]
    return comparison


def _metrics(value: Any) -> Metrics:
    """A run's metrics: already built (a store read them) or serialised."""
    return value if isinstance(value, Metrics) else Metrics.from_dict(value or ())
