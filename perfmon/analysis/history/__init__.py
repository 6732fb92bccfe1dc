"""A run against its history: which past runs are comparable, and what the gate finds against them.

A run is compared only with passed runs of the same test type, environment, profile, target and
set of scenarios (the bundled app counts as one target whatever port it got). The baseline is the last
``baseline_runs`` comparable runs; with fewer than ``min_runs`` there is no verdict, only "not
enough history". `perfmon baseline accept RUN_ID` makes a run the start of its key's history: later
runs compare with it and the runs after it only. Runs from another machine class (other CPU count
or platform) are still used, and the comparison says so, as pytest-benchmark's compare does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.comparison import HistoryComparison
from ...core.config import GateSettings
from ...core.results import Run
from .changepoints import change_points
from .pace import adjust_for_pace, run_pace
from .regression import gate
from .series import observe

__all__ = ["accepted", "baseline_runs", "comparable", "compare_with_history", "difference", "same_kind", "target_of"]

_CHANGE_POINT_RUNS = 50  # the history change points are looked for in


def target_of(run: Run) -> str | None:
    """What the run measured: ``bundled app`` (any port) or the given base URL."""
    found = run.metadata.get("target")
    return str(found) if found else run.base_url


def _scenarios(run: Run) -> tuple[str, ...]:
    return tuple(sorted({s.name for s in run.scenarios}))


def _machine(run: Run) -> tuple[Any, Any]:
    context = run.context()
    return context.get("cpus"), context.get("platform")


def accepted(run: Run) -> bool:
    """Accepted as a baseline (`perfmon baseline accept`): an intended change."""
    return bool(run.metadata.get("baseline_accepted_at"))


def _kind(run: Run) -> tuple[tuple[str, object], ...]:
    return (("test type", run.test_type), ("environment", run.environment), ("profile", run.profile),
            ("target", target_of(run)), ("scenarios", ", ".join(_scenarios(run)) or "none"))


def difference(run: Run, other: Run) -> str | None:
    """What makes two runs incomparable, in words (``environment staging, not ci``), or None."""
    for (what, mine), (_, theirs) in zip(_kind(run), _kind(other), strict=True):
        if mine != theirs:
            return f"{what} {theirs}, not {mine}"
    return None


def same_kind(run: Run, other: Run) -> bool:
    """Same test type, environment, profile, target and scenarios, whatever the verdict."""
    return other.run_id != run.run_id and _kind(other) == _kind(run)


def comparable(run: Run, other: Run) -> bool:
    """Same test type, environment, profile, target and scenarios; and ``other`` passed (or was accepted):
    a failed run (a regression included) never becomes the baseline by itself, or a slowdown would
    become the new normal."""
    return same_kind(run, other) and (other.status == "passed" or accepted(other))


def baseline_runs(run: Run, history: Sequence[Run], settings: GateSettings) -> list[Run]:
    """The newest comparable runs, none older than the newest accepted baseline (history newest first)."""
    found = [r for r in history if comparable(run, r) and r.started_at < run.started_at]
    cut = next((r for r in found if accepted(r)), None)
    if cut is not None:
        found = [r for r in found if r.started_at >= cut.started_at]
    return found[: settings.baseline_runs]


def compare_with_history(run: Run, history: Sequence[Run],
                         settings: GateSettings = GateSettings()) -> HistoryComparison:  # noqa: B008 - frozen
    """Gate ``run`` against the newest comparable runs of ``history`` (newest first), and look for step
    changes across every run of its kind (failed ones included: a step is a step), oldest first."""
    series = [*[r for r in history if same_kind(run, r) and r.started_at < run.started_at][::-1], run]
    series = series[-_CHANGE_POINT_RUNS:]
    seen = {r.run_id: observe(r) for r in series}  # each run's series read once, for both analyses
    steps = change_points(series, settings, [seen[r.run_id] for r in series])
    baseline = baseline_runs(run, history, settings)
    if len(baseline) < settings.min_runs:
        return HistoryComparison(tuple(r.run_id for r in baseline), note=(
            f"not enough history: {len(baseline)} comparable run(s), {settings.min_runs} needed for a verdict"),
            change_points=tuple(steps))
    note = None
    if any(_machine(r) != _machine(run) for r in baseline):
        note = "compared across machines: some baseline runs ran on another CPU count or platform"
    # The baseline is the newest ≤ 10 comparable runs, all inside the 50-run window observed above; the
    # pace's slopes are fitted over every comparable run of that window (pace.py).
    paced = {r.run_id: (seen[r.run_id], run_pace(r)) for r in series}
    candidate, baselines, pace = adjust_for_pace(
        paced[run.run_id], [paced[r.run_id] for r in baseline],
        [paced[r.run_id] for r in series[:-1] if comparable(run, r)])
    findings = gate(candidate, baselines, settings)
    return HistoryComparison(tuple(r.run_id for r in baseline), tuple(findings), note, baseline[0].git_sha,
                             tuple(steps), pace)
