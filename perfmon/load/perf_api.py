"""API load inside a test: what the ``perf_api`` fixture hands out.

``perf_api.run(journey, scenario="load")`` measures the scenario and adds its metrics, thresholds
(tagged with the scenario, so each judges its own series inside the session's one run) and facts
to the test's :class:`~perfmon.core.records.Record`; the session's pipeline judges them once, on
the controller. The test itself gets the scenario's own results, concluded by the same pipeline
without storing, so it can assert on them (``results.metrics.p95_response_time < 2000``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from ..core.config import Config, Scenario
from ..core.records import Record
from ..core.results import PerformanceTestResults, test_type_of
from ..loadgen.engine import EngineOptions, Journey
from ..loadgen.measure import measure_scenario, scenario_record
from ..pipeline import conclude
from .capacity import Capacity, CapacitySearch, find_capacity, old_search

__all__ = ["PerfApi", "scoped"]


def scoped(scenario: Scenario) -> Scenario:
    """``scenario`` with every threshold narrowed to its own series (``{scenario:NAME}``)."""

    def tag(selector: str) -> str:
        return selector[:-1] + f",scenario:{scenario.name}}}" if "{" in selector else \
            f"{selector}{{scenario:{scenario.name}}}"

    return replace(scenario, thresholds=tuple(replace(t, metric=tag(t.metric)) for t in scenario.thresholds))


class PerfApi:
    """Runs API scenarios for one test and records them into that test's record."""

    def __init__(self, record: Record, config: Config, *, run_id: str, base_url: str, target_pid: int | None,
                 beacons: Path | None = None) -> None:
        """``beacons``: the session's folder for live counts (its controller prints them); None: the
        engine prints its own progress."""
        self._record = record
        self.config = config
        self.run_id = run_id
        self.base_url = base_url
        self.target_pid = target_pid
        self.beacons = beacons

    def _options(self, options: EngineOptions | None, scenario: str = "") -> EngineOptions:
        if options is not None:
            return options
        beacon = str(self.beacons / f"{scenario}-{uuid.uuid4().hex[:8]}.json") if self.beacons else None
        return EngineOptions(target_pid=self.target_pid, accounts=self.config.accounts, beacon=beacon,
                             progress=beacon is None)

    def run(self, journey: Journey, *, scenario: str = "load", on_start: Journey | None = None,
            test_type: str | None = None, options: EngineOptions | None = None) -> PerformanceTestResults:
        sc = scoped(self.config.scenario(scenario))
        kind = test_type or test_type_of(scenario)
        metrics, ran = measure_scenario(journey, sc, base_url=self.base_url, on_start=on_start, test_type=kind,
                                        options=self._options(options, scenario))
        rec = self._record
        rec.kind = kind
        rec.metrics.merge(metrics)
        rec.thresholds.extend(sc.judged_by())
        rec.vus = max(rec.vus, ran.vus)
        rec.scenarios.append(ran)
        if ran.interrupted:
            # The engine took Ctrl-C to stop gracefully; now stop the session too. What was measured is
            # in the record, and the session's run is stored, marked interrupted.
            rec.interrupted = True
            raise KeyboardInterrupt
        done = conclude([scenario_record(self._record.nodeid, sc, metrics, ran)], self.config, run_id=self.run_id,
                        started_at=ran.started_at, finished_at=ran.finished_at, base_url=self.base_url)
        assert done is not None
        return done.run.results()

    def find_breaking_point(self, journey: Journey, *, scenario: str = "stress", start_rate: float = 10.0,
                            step_rate: float | None = None, max_rate: float = 1000.0, step_duration_s: float = 10.0,
                            refine: int | None = None, max_vus: int = 500,
                            on_start: Journey | None = None) -> Capacity:
        """The old name of :meth:`find_capacity` (``perfmon.load.find_breaking_point``): the adaptive
        search from ``start_rate`` to ``max_rate``; ``step_rate`` and ``refine`` are ignored."""
        del step_rate, refine
        return self.find_capacity(journey, scenario=scenario, on_start=on_start,
                                  settings=old_search(start_rate, max_rate, step_duration_s, max_vus))

    def find_capacity(self, journey: Journey, *, scenario: str = "stress", settings: CapacitySearch | None = None,
                      on_start: Journey | None = None) -> Capacity:
        """The adaptive capacity search (``perfmon.load.find_capacity``) against the scenario's
        thresholds as the SLO; the search, its steps, its USL fit and the users it serves (at the
        scenario's think time) join the session's run, stored in the capacity tables."""
        sc = self.config.scenario(scenario)
        found = find_capacity(journey, base_url=self.base_url, thresholds=sc.thresholds,
                              settings=settings or CapacitySearch(), on_start=on_start, options=self._options(None))
        rec = self._record
        rec.metrics.merge(found.metrics)
        rec.kind = "stress"
        rec.breaking_points[scenario] = {**found.to_dict(), "users": found.users(sc.think_time_s),
                                         "think_time_s": sc.think_time_s}
        return found
