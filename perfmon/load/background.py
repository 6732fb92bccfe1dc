"""A hybrid run's background load: an API scenario driven from the controller, on a thread of its
own, while the browser journeys measure the user experience under it.

It ends when the journeys do (``finish``), or earlier when its schedule is over or an
``abortOnFail`` threshold stops it; either way it hands the pipeline one record with its metrics,
its thresholds and how it stopped, and the pipeline derives and judges it with everything else.
"""

from __future__ import annotations

import threading

from ..core.config import Config
from ..core.metrics import Metrics
from ..core.records import Record
from ..core.results import test_type_of
from ..loadgen.engine import Engine, EngineOptions, Journey, run_in_background
from ..loadgen.measure import scenario_record
from ..loadgen.scripts import load_callable
from .perf_api import scoped

__all__ = ["BackgroundLoad"]


class BackgroundLoad:
    def __init__(self, engine: Engine, thread: threading.Thread) -> None:
        self.engine = engine
        self.thread = thread

    @classmethod
    def start(cls, config: Config, scenario: str, *, script: str, on_start: str | None, base_url: str,
              target_pid: int | None, beacon: str | None = None) -> BackgroundLoad:
        """Load the scripts (a bad reference is one :class:`~perfmon.ScriptError`) and start the scenario."""
        sc = scoped(config.scenario(scenario))
        journey: Journey = load_callable(script, root=config.root)
        first: Journey | None = None if on_start in (None, "", "none") else load_callable(on_start, root=config.root)
        # No live progress: it would interleave with pytest's own output on the controller.
        options = EngineOptions(progress=False, target_pid=target_pid, accounts=config.accounts, beacon=beacon)
        engine = Engine(journey, sc, base_url=base_url, on_start=first, metrics=Metrics(),
                        test_type=test_type_of(scenario), options=options)
        return cls(engine, run_in_background(engine))

    def finish(self) -> Record:
        """Stop the scenario (if it is still running) and return what it measured."""
        self.engine.stop_threadsafe()
        self.thread.join(timeout=self.engine.graceful_stop_s + 10)
        ran = self.engine.outcome or self.engine.facts()  # still busy after the grace period: what is known
        return scenario_record(f"background-load:{ran.name}", self.engine.scenario, self.engine.metrics, ran)
