"""The rows of the capacity tables (migration 20261126000100_capacity.sql) for one run: what
analysis/capacity.py reads from the run's searches and ramps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.results import Run

__all__ = ["capacity_rows"]

_FIT_COLUMNS = ("sigma", "kappa", "lam")


def _fit_row(run_id: str, scenario: str, fit: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run_id, "scenario": scenario, "refused": fit.get("why"),
                           "points": int(fit.get("points") or 0), "r_squared": fit.get("r2"),
                           "peak_concurrency": fit.get("peak_concurrency"),
                           "peak_throughput": fit.get("peak_throughput")}
    for name in _FIT_COLUMNS:
        column = "lambda" if name == "lam" else name
        low, high = fit.get(f"{name}_ci") or (None, None)
        row |= {column: fit.get(name), f"{column}_low": low, f"{column}_high": high}
    return row


def capacity_rows(run: Run) -> dict[str, list[dict[str, Any]]]:
    """``performance_breaking_points``, ``performance_capacity_steps`` and
    ``performance_scalability_fits`` rows of ``run``."""
    from ..analysis.capacity import capacity_by_scenario, scalability_fits  # only when a run is written: workers never

    found = capacity_by_scenario(run)
    points, steps = [], []
    for scenario, bp in found.items():
        points.append({"run_id": run.run_id, "scenario": scenario, "sustainable_rate": bp.get("sustainable_rate"),
                       "breaking_rate": bp.get("breaking_rate"), "steps": bp.get("steps", []),
                       "users": bp.get("users"), "limited_by": bp.get("limited_by"),
                       "broken_by": "; ".join(bp.get("broken_by") or []) or None,
                       **{f"rate_{k}": (bp.get("interval") or {}).get(k) for k in ("estimate", "low", "high")}})
        for i, s in enumerate(bp.get("steps") or []):
            steps.append({"run_id": run.run_id, "scenario": scenario, "step": i, "rate": s.get("rate"),
                          "achieved_rate": s.get("throughput"), "concurrency": s.get("concurrency"),
                          "p50": s.get("p50"), "p95": s.get("p95"), "p99": s.get("p99"),
                          "error_rate": s.get("error_rate"), "held": bool(s.get("held")),
                          "broken_by": "; ".join(s.get("broken_by") or []) or None, "suspect": s.get("suspect")})
    fits = [_fit_row(run.run_id, scenario, fit) for scenario, fit in scalability_fits(run).items()]
    return {"performance_breaking_points": points, "performance_capacity_steps": steps,
            "performance_scalability_fits": fits}
