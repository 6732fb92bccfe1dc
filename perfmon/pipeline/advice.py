"""What to change when a run's client was too busy to measure (issue #38): advice that works on the
machine the run was on, read from what the sampler saw in the saturated seconds
(``run.metadata["contention"]``: the roles' and the busiest outside processes' CPU) and how many
workers ran (``run.metadata["workers"]``).

Fewer workers only when more than one ran; otherwise the neighbour by name, the local target by name
when it took the CPU, else a bigger machine or browsers on other hosts.
"""

from __future__ import annotations

from typing import Any

from ..core.results import Run

__all__ = ["CONTENTION", "WORKERS", "busy_client_advice", "who_took_the_cpu"]

CONTENTION = "contention"  # run.metadata key: whether the wait was measured, and the held-up seconds' consumers
WORKERS = "workers"  # run.metadata key: the xdist workers of the session (1 without xdist)
_NAMED_CORES = 0.25  # an outside process or the target using this much is worth naming as the cause


def _causes(run: Run, role: str) -> list[dict[str, Any]]:
    """The consumers of ``role`` ("target" or "outside") that used enough of the CPU to be named, busiest
    first (the sampler kept them sorted)."""
    found = run.metadata.get(CONTENTION)
    consumers = found.get("consumers") if isinstance(found, dict) else None
    return [c for c in consumers or [] if isinstance(c, dict) and c.get("role") == role
            and float(c.get("cores", 0)) >= _NAMED_CORES]


def _named(c: dict[str, Any], *, inside: bool = False) -> str:
    """"next-server, pid 4121" inside brackets of its own, else "python3 (pid 88)"."""
    if c.get("pid") is None:
        return str(c.get("name", "?"))
    return f"{c.get('name', '?')}, pid {c['pid']}" if inside else f"{c.get('name', '?')} (pid {c['pid']})"


def who_took_the_cpu(run: Run) -> str | None:
    """"the target (next-server, pid 4121) used 1.3 cores; outside perfmon: python3 (pid 88) 1.9 cores",
    over the saturated seconds; None when the sampler named nobody."""
    said = [f"the target ({_named(c, inside=True)}) used {float(c['cores']):.1f} cores"
            for c in _causes(run, "target")]
    outside = [f"{_named(c)} {float(c['cores']):.1f} cores" for c in _causes(run, "outside")]
    said += [f"outside perfmon: {', '.join(outside)}"] if outside else []
    return "; ".join(said) or None


def busy_client_advice(run: Run) -> str:
    """What to change, in one clause, for a run whose client was too busy to measure."""
    workers = run.metadata.get(WORKERS)
    outside, target = _causes(run, "outside"), _causes(run, "target")
    advice = []
    if outside:
        advice.append(f"stop or move {_named(outside[0])}, which took the CPU the browsers waited for")
    if isinstance(workers, int) and workers > 1:
        advice.append(f"run fewer workers (-n {workers} ran; `perfmon calibrate` measures what this machine holds)")
    elif target and not outside:
        advice.append(f"serve the target ({_named(target[0], inside=True)}) from another machine (--base-url)")
    if not advice:
        advice.append("give the browsers a bigger machine, or run them on other hosts (`perfmon browser-server`)")
    return " or ".join(advice)
