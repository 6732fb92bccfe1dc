"""The run against its history, between derive and judge: read the comparable past runs from the
store and gate the run against them (analysis/history.py, analysis/regression.py).

History is read from the store the run is going to; when there is none yet, or it cannot be read,
the run is judged without it and the summary says why. A past run that cannot be read is skipped
with a line naming it, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ..core.comparison import HistoryComparison
from ..core.config import Config
from ..core.errors import PerfmonError
from ..core.findings import Leaks
from ..core.results import Run
from ..store import RunSummary, Store, open_store

__all__ = ["Compared", "compare", "open_regressions", "read_history", "readable_runs"]

_READ_FACTOR = 5  # read this many times the baseline size: other test types are filtered out after


@dataclass
class Compared:
    problems: list[str] = field(default_factory=list)  # one line each (unreadable history rows)


def read_history(store: Store, run: Run, baseline_runs: int) -> tuple[list[Run], list[str]]:
    """The stored runs of ``run``'s test type and environment, newest first, that could hold its last
    ``baseline_runs`` comparable ones, and one line per past run that could not be read (skipped).
    Raises StoreError when the store fails."""
    problems: list[str] = []
    summaries = store.history(test_type=run.test_type, environment=run.environment, limit=baseline_runs * _READ_FACTOR)
    return list(readable_runs(store, summaries, problems)), problems


def readable_runs(store: Store, summaries: Iterable[RunSummary], problems: list[str]) -> Iterator[Run]:
    """Each stored run of ``summaries`` read back, in order; one that cannot be read is skipped with a
    line in ``problems`` naming it (an unreadable history row never stops an analysis)."""
    for past in summaries:
        try:
            yield store.load_run(past.run_id)
        except (PerfmonError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"history run {past.run_id} skipped: it cannot be read ({exc})")


def compare(run: Run, config: Config) -> Compared:
    """Gate ``run`` against its comparable history; the findings go to ``run.comparison``."""
    done = Compared()
    if config.regressions == "off":
        return done
    from ..analysis.derive.database import compare_queries
    from ..analysis.history import baseline_runs, compare_with_history  # scipy: when a run is compared

    settings = config.regression_gate
    try:
        store = open_store(config.store, root=config.root, create=False)
    except PerfmonError as exc:
        if config.store.startswith("sqlite:"):  # no store file yet: this is the first run, history is empty
            run.comparison = compare_with_history(run, [], settings)
        else:
            run.comparison = HistoryComparison(note=f"no history to compare with ({exc})")
        return done
    try:
        history, done.problems = read_history(store, run, settings.baseline_runs)
    except PerfmonError as exc:
        run.comparison = HistoryComparison(note=f"no history to compare with ({exc})")
        return done
    finally:
        store.close()
    found = compare_with_history(run, history, settings)
    run.comparison = replace(found, mode=config.regressions)
    compare_queries(run, baseline_runs(run, history, settings))
    return done


def open_regressions(run: Run) -> list[str]:
    """The run's regressions against its history and its leaks, one short label each: what fails a run
    (regressions = "fail"), what `perfmon regressions` and `perfmon gate` report; none once the run was
    accepted as an intended change."""
    found = run.comparison.regressions if run.comparison is not None else []
    labels = [f"{f.key} {100 * f.change:+.1f}%" if f.change is not None else f.key for f in found]
    for leaks in run.findings_of(Leaks):
        labels += [f"leak process_rss_mb{{role:{leak.role}}} {leak.slope_mb_per_h or 0:.0f} MB/h"
                   for leak in leaks.leaking]
    if not labels:  # most runs: no scipy import (1 CPU-s) just to say so
        return []
    from ..analysis.history import accepted  # scipy: only when there is something to report

    return [] if accepted(run) else labels
