"""After the verdict: store the run (spooled first), write its reports, alert when it did not pass.

The run is written to the spool before anything that can fail, and its file is removed only once
the store confirmed it (``store_or_spool``). Each later step is guarded so it never costs an
earlier one, whatever it raises: a report that cannot be built or written, a webhook that does not
answer, an auto-flush that meets a corrupt file each become one line in ``Delivery.problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config
from ..core.env import read
from ..core.errors import PerfmonError, one_line
from ..core.results import Run
from ..report.alert import run_alert
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
    lost: bool = False  # the run could be neither stored nor spooled
    alerted: bool | None = None  # None: no alert was due or no webhook is set


def deliver(run: Run, config: Config, outputs: Outputs) -> Delivery:
    done = Delivery()
    if outputs.store:
        try:
            done.stored = store_or_spool(run, config)
        except PerfmonError as exc:  # neither the spool nor its fallback nor the store took it: say so, go on
            done.problems.append(f"the run could not be stored nor spooled: {exc}")
            done.lost = True
        if done.stored is not None and not done.stored.spooled:
            try:  # runs spooled earlier go in now the store answers again; a failure leaves them spooled
                flushed = flush_spool(config)
                done.flushed = flushed.sent
                done.problems += [f"spool file set aside in {path}: {why}" for path, why in flushed.rejected]
            except Exception as exc:  # noqa: BLE001 - this run is stored; the others stay spooled
                done.problems.append(f"runs spooled earlier were not sent: {one_line(exc)}; run `perfmon flush`")
    if outputs.report_dir is not None:
        try:
            done.report = _write_reports(run, config, outputs.report_dir, done.stored)
        except Exception as exc:  # noqa: BLE001 - the run is stored or spooled; `perfmon report` retries
            done.problems.append(f"the report was not written: {one_line(exc)}; "
                                 f"`perfmon report {run.run_id[:8]}` writes it again")
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


def _write_reports(run: Run, config: Config, root: Path, stored: StoredRun | None) -> Path:
    from ..report import write_reports

    return write_reports(run, root, history=_history(run, config, stored)).html


def _alert(run: Run, config: Config, report: Path | None) -> bool | None:
    webhook = read("PERFMON_ALERT_WEBHOOK")
    if not webhook:
        return None
    problems = [f"{o.threshold}: {o.detail}" for o in run.failed_thresholds]
    problems += [f"stopped early: {r}" for r in run.stop_reasons]
    if not problems:
        problems = [f"run ended {run.status}"]
    return run_alert(webhook, run.results(), problems, str(report) if report else None)
