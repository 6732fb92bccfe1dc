"""What one browser journey costs the machines that run it: CPU-seconds per journey iteration and
peak memory per concurrent journey, for the runner (pytest and its workers), the browsers and the
target, from the sampler's psutil figures (``process_cpu_seconds``, ``process_rss_mb``). And what
the HTTP load generator costs: its event loops' CPU (``generator_cpu_seconds``) per 1,000 requests,
which in a hybrid run is taken from the browsers beside it.

This is the figure a capacity question needs ("how many runners for -n 50?") and no anchor
publishes: k6 browser and Artillery report neither. It covers the whole session, start-up
included, because that is what a CI minute pays for.
"""

from __future__ import annotations

from typing import Any

from ...core.findings import GeneratorCost, JourneyCost
from ...core.metrics import Counter, Metric, Trend
from ...core.results import Run

__all__ = ["ROLES", "generator_cost", "journey_cost"]

ROLES = ("runner", "browser", "target")


def journey_cost(run: Run) -> JourneyCost | None:
    """Per role: ``cpu_s`` per journey iteration, ``peak_mb`` of the role and ``mb_per_journey`` (the
    peak over the most journeys that ran at once); None when the run had no journey or no samples."""
    iterations = run.metrics.select("browser_iterations")
    done = iterations.count if isinstance(iterations, Counter) else 0.0
    if not done:
        return None
    concurrent = max(1, int((run.metadata.get("users_by_kind") or {}).get("browser") or run.concurrent_users))
    generator = run.metrics.select("generator_cpu_seconds")
    out: dict[str, Any] = {}
    for role in ROLES:
        cpu, rss = _session(run, "process_cpu_seconds", role), _session(run, "process_rss_mb", role)
        peak = rss.max if isinstance(rss, Trend) and rss.count else None
        if not isinstance(cpu, Counter) and peak is None:
            continue
        used = cpu.count if isinstance(cpu, Counter) else None
        if used is not None and role == "runner" and isinstance(generator, Counter):
            used = max(0.0, used - generator.count)  # the load generator's own cost is its line, not the journeys'
        out[role] = {"cpu_s": used / done if used is not None else None, "peak_mb": peak,
                     "mb_per_journey": peak / concurrent if peak is not None else None}
    return JourneyCost(done, concurrent, out) if out else None


def _session(run: Run, name: str, role: str) -> Metric | None:
    """The session sampler's series of ``name`` for ``role``, the one tagged with the role alone: a
    scenario's own sampler tags its series with the scenario too, and watches the same processes again."""
    return next((metric for _, tags, metric in run.metrics.series(name) if tags == {"role": role}), None)


def generator_cost(run: Run) -> GeneratorCost | None:
    """The load generator's ``cpu_s`` over the run, its ``requests`` and ``cpu_s_per_1000_requests``;
    None when no engine ran or it sent nothing."""
    cpu = run.metrics.select("generator_cpu_seconds")
    requests = run.metrics.select("http_reqs")
    if not isinstance(cpu, Counter) or not isinstance(requests, Counter) or not requests.count:
        return None
    return GeneratorCost(round(cpu.count, 3), requests.count, round(1000 * cpu.count / requests.count, 4))
