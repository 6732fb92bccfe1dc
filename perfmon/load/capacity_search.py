"""The sustainable rate, found adaptively: exponential steps up, then a binary search with repeated
trials near the boundary, as Envoy Nighthawk's adaptive load controller does.

Each step is an open-model run at one arrival rate. It *holds* when every SLO threshold passes, the
target completed at least ``KEEP_UP`` (99 %) of the scheduled iterations and none was dropped. A step
whose own client was saturated measured the generator, not the target: it is retried with twice
the processes (up to one per core), and when that is not enough the search stops and says the
generator is the limit, never reporting the generator's rate as the server's capacity.

The answer is a bracket: the highest rate that held in every one of its ``trials`` and the lowest
that broke. The search stops when the bracket is narrower than ``width`` (relative), or at a bound
(steps, time, ``max_rate``), which the result names in one line. Compared with the linear search
(``find_breaking_point``): most steps are spent near the answer, not climbing to it (bench/).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ..config import Scenario
from ..metrics import Counter, Rate, Trend
from ..thresholds import Threshold, evaluate
from .api import measure_scenario
from .engine import EngineOptions, Journey

__all__ = ["Capacity", "CapacitySearch", "SearchStep", "find_capacity"]

KEEP_UP = 0.99  # completed iterations must reach this share of the schedule
Limit = Literal["server", "generator", "max_rate", "steps", "time"]


@dataclass(frozen=True)
class CapacitySearch:
    """How the search runs and where it stops (every bound is one clear line in the result)."""

    start_rate: float = 10.0
    max_rate: float = 5000.0
    width: float = 0.1  # stop when (broke - held) / held is narrower than this
    trials: int = 2  # a rate near the boundary holds only when it held this many times
    step_duration_s: float = 5.0
    max_steps: int = 40
    max_time_s: float = 600.0
    max_vus: int = 1000
    saturation_share: float = 0.2  # a step whose client was saturated longer than this measured the client


@dataclass(frozen=True)
class SearchStep:
    rate: float
    processes: int
    throughput: float
    p95: float | None
    error_rate: float | None
    dropped: float
    client_saturation: float | None
    held: bool
    generator_bound: bool
    broken_by: list[str] = field(default_factory=list)


@dataclass
class Capacity:
    sustainable_rate: float | None  # the highest rate that held in every trial
    breaking_rate: float | None  # the lowest rate that broke
    limited_by: Limit
    why: str  # one line: what the result means and what stopped the search
    steps: list[SearchStep]
    processes: int

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "steps"},
                "steps": [asdict(s) for s in self.steps]}


def _measure(journey: Journey, rate: float, processes: int, thresholds: tuple[Threshold, ...], base_url: str,
             on_start: Journey | None, settings: CapacitySearch, options: EngineOptions) -> SearchStep:
    sc = Scenario(name=f"capacity-{rate:g}", executor="constant-arrival-rate", rate=rate,
                  duration_s=settings.step_duration_s, max_vus=settings.max_vus, think_time_s=0.0,
                  thresholds=thresholds, processes=processes)
    metrics, ran = measure_scenario(journey, sc, base_url=base_url, on_start=on_start, test_type="stress",
                                    options=replace(options, progress=False, processes=processes,
                                                    graceful_stop_s=min(10.0, settings.step_duration_s)))
    done = metrics.select("iterations")
    throughput = (done.count if isinstance(done, Counter) else 0.0) / settings.step_duration_s
    dropped = float(ran.dropped_iterations)
    latency, failed = metrics.select("http_req_duration"), metrics.select("http_req_failed")
    saturation = ran.client_saturation
    generator_bound = saturation is not None and saturation > settings.saturation_share
    broken = [str(o.threshold) for o in evaluate(thresholds, metrics, duration_s=settings.step_duration_s)
              if not o.passed]
    if throughput < KEEP_UP * rate:
        broken.append(f"throughput {throughput:.1f}/s < {KEEP_UP:.0%} of {rate:g}/s")
    if dropped:
        broken.append(f"{dropped:.0f} iteration(s) dropped (no free user: latency x rate exceeded max_vus)")
    return SearchStep(rate=rate, processes=processes, throughput=throughput,
                      p95=latency.percentile(95) if isinstance(latency, Trend) and latency.count else None,
                      error_rate=failed.rate if isinstance(failed, Rate) else None, dropped=dropped,
                      client_saturation=saturation, held=not broken and not generator_bound,
                      generator_bound=generator_bound, broken_by=broken)


def find_capacity(journey: Journey, *, base_url: str, thresholds: tuple[Threshold, ...] | list[Threshold],
                  settings: CapacitySearch = CapacitySearch(),
                  on_start: Journey | None = None,
                  options: EngineOptions = EngineOptions()) -> Capacity:  # noqa: B008 - frozen
    """Search the highest arrival rate at which ``thresholds`` (the SLO) hold (module docstring)."""
    if not 0 < settings.start_rate <= settings.max_rate or settings.trials < 1 or settings.width <= 0:
        msg = "find_capacity needs 0 < start_rate <= max_rate, trials >= 1 and width > 0"
        raise ValueError(msg)
    slo = tuple(thresholds)
    cores = os.cpu_count() or 1
    steps: list[SearchStep] = []
    held: dict[float, int] = {}  # rate -> trials that held
    processes = 1
    started = time.monotonic()

    def result(limit: Limit, why: str, good: float | None, bad: float | None) -> Capacity:
        return Capacity(good, bad, limit, why, steps, processes)

    def bound() -> str | None:
        if len(steps) >= settings.max_steps:
            return f"stopped after max_steps = {settings.max_steps} steps"
        if time.monotonic() - started > settings.max_time_s:
            return f"stopped after max_time = {settings.max_time_s:g}s"
        return None

    def holds(rate: float, trials: int) -> bool | None:
        """Whether ``rate`` held ``trials`` times; None when the generator could not drive it."""
        nonlocal processes
        while held.get(rate, 0) < trials:
            if bound() is not None:
                return None
            step = _measure(journey, rate, processes, slo, base_url, on_start, settings, options)
            steps.append(step)
            if step.generator_bound:
                if processes >= cores:
                    return None
                processes = min(cores, processes * 2)  # one core was not enough: spread and measure again
                continue
            if not step.held:
                return False
            held[rate] = held.get(rate, 0) + 1
        return True

    good: float | None = None
    bad: float | None = None
    rate = settings.start_rate
    while bad is None:  # exponential steps up, one trial each (far from the boundary)
        ok = holds(rate, 1)
        if ok is None:
            break
        if ok:
            good = rate
            if rate >= settings.max_rate:
                return result("max_rate", f"held up to max_rate = {settings.max_rate:g}/s; the capacity is above "
                              "it (raise --max-rate)", good, None)
            rate = min(rate * 2, settings.max_rate)
        else:
            bad = rate
    while bad is not None:  # binary search between what held and what broke, repeating trials
        if good is not None and holds(good, settings.trials) is False:
            bad, good = good, None if good <= settings.start_rate else good / 2
            continue
        if good is None or (bad - good) / good <= settings.width:
            break
        mid = round((good + bad) / 2, 2)
        ok = holds(mid, settings.trials)
        if ok is None:
            break
        good, bad = (mid, bad) if ok else (good, mid)
    if steps and steps[-1].generator_bound:
        known = f"the target's capacity is above {good:g}/s" if good else "nothing is known of the target's capacity"
        return result("generator", f"the load generator saturated at {steps[-1].rate:g}/s with {processes} "
                      f"process(es) on {cores} core(s): {known}, and this machine cannot measure more; use a "
                      "bigger runner or several", good, None)
    if (stop := bound()) is not None and (bad is None or good is None or (bad - good) / good > settings.width):
        return result("steps" if "steps" in stop else "time", f"{stop}: sustainable between {good or 0:g} and "
                      f"{bad if bad is not None else '?'}/s", good, bad)
    if good is None:
        return result("server", f"even {settings.start_rate:g}/s broke the SLO: lower --start-rate", None, bad)
    return result("server", f"sustainable {good:g}/s (held {settings.trials} times), broke at {bad:g}/s", good, bad)
