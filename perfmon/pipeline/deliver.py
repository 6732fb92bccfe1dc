"""After the verdict: store the run (or spool it), write its reports, alert when it did not pass.

Each step is guarded so a later one never costs an earlier one: a store that is down spools the
run, a report folder that cannot be written is reported in one line, and a webhook that does not
answer is noted; the run itself is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import PerfmonError
from ..monitor import PerformanceMonitor
from ..results import Run
from ..store import RunSummary, open_store
from ..store.spool import StoredRun, flush_spool, store_or_spool

__all__ = ["Delivery", "Outputs", "deliver"]


@dataclass(frozen=True, kw_only=True)
class Outputs:
    """Which outputs a run gets. ``run_scenario`` outside pytest asks for none by default (its caller
    has the results; ``PerformanceMonitor.record_test_results`` stores them); a session asks for all."""

    store: bool = True
    report_dir: Path | None = None  # None: no reports
    alert: bool = True


NO_OUTPUTS = Outputs(store=False, alert=False)


@dataclass
class Delivery:
    stored: StoredRun | None = None
    flushed: list[str] = field(default_factory=list)  # runs spooled earlier, sent now
    report: Path | None = None
    problems: list[str] = field(default_factory=list)  # one line each (a report that could not be written)
    alerted: bool | None = None  # None: no alert was due or no webhook is set


def deliver(run: Run, config: Config, outputs: Outputs) -> Delivery:
    done = Delivery()
    if outputs.store:
        done.stored = store_or_spool(run, config)
        if not done.stored.spooled:
            try:  # runs spooled earlier go in now the store answers again; a failure leaves them spooled
                done.flushed = flush_spool(config)
            except PerfmonError:
                pass
    if outputs.report_dir is not None:
        _write_reports(run, config, outputs.report_dir, done)
    if outputs.alert and run.status != "passed":
        done.alerted = _alert(run, config, done.report)
    return done


def _history(run: Run, config: Config, stored: StoredRun | None) -> list[RunSummary]:
    if stored is None or stored.spooled:
        return []
    try:
        store = open_store(config.store, root=config.root)
        try:
            return store.history(test_type=run.test_type, environment=run.environment, limit=20)
        finally:
            store.close()
    except PerfmonError:
        return []


def _write_reports(run: Run, config: Config, root: Path, done: Delivery) -> None:
    from ..report import write_reports

    try:
        done.report = write_reports(run, root, history=_history(run, config, done.stored)).html
    except OSError as exc:
        done.problems.append(f"could not write the report under {root}: {exc}; pass --perf-report-dir to a "
                             "writable folder")


def _alert(run: Run, config: Config, report: Path | None) -> bool | None:
    monitor = PerformanceMonitor(gates=config.monitor)
    if not monitor.webhook_url:
        return None
    problems = [f"{o.threshold}: {o.detail}" for o in run.failed_thresholds]
    problems += [f"stopped early: {r}" for r in run.stop_reasons]
    if not problems:
        problems = [f"run ended {run.status}"]
    return monitor.send_performance_alert(run.results(), problems, str(report) if report else None)
