"""The linear capacity search perfmon shipped before the adaptive one (``perfmon.load.find_capacity``),
kept here only as the baseline bench/capacity_search.py measures the adaptive search against: step
the arrival rate up by ``step_rate`` until the thresholds break (or the server completes under 90 %
of the rate), then bisect ``refine`` times. The library has one search; this is the bench's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from perfmon.core.config import Scenario
from perfmon.core.metrics import Counter, Metrics, Rate, Trend
from perfmon.core.thresholds import Threshold, evaluate
from perfmon.load.capacity import tagged_by_step
from perfmon.loadgen.engine import Engine, EngineOptions, Journey, run_engine

KEEP_UP = 0.9  # completed iterations per second must reach this share of the target rate


@dataclass(frozen=True)
class LinearStep:
    rate: float
    throughput: float
    p50: float | None
    p95: float | None
    p99: float | None
    error_rate: float | None
    dropped: float
    held: bool
    broken_by: list[str] = field(default_factory=list)


@dataclass
class LinearResult:
    sustainable_rate: float | None  # the highest rate that held every threshold
    breaking_rate: float | None  # the lowest rate that broke one (None: never broke up to max_rate)
    steps: list[LinearStep]
    metrics: Metrics = field(default_factory=Metrics, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"sustainable_rate": self.sustainable_rate, "breaking_rate": self.breaking_rate,
                "steps": [asdict(s) for s in sorted(self.steps, key=lambda s: s.rate)]}


def _step(journey: Journey, rate: float, *, base_url: str, duration_s: float, max_vus: int,
          thresholds: Sequence[Threshold], on_start: Journey | None,
          options: EngineOptions) -> tuple[LinearStep, Metrics]:
    name = f"rate-{rate:g}"
    sc = Scenario(name=name, executor="constant-arrival-rate", rate=rate, duration_s=duration_s, max_vus=max_vus,
                  think_time_s=0.0, thresholds=tuple(thresholds))
    m = Metrics()
    engine = Engine(journey, sc, base_url=base_url, on_start=on_start, metrics=m, test_type="stress",
                    options=replace(options, progress=False, graceful_stop_s=min(30.0, duration_s)))
    run_engine(engine)
    iterations = m.select("iterations")
    done = iterations.count if isinstance(iterations, Counter) else 0.0
    throughput = done / duration_s
    latency = m.select("http_req_duration")
    failed = m.select("http_req_failed")
    dropped = m.select("dropped_iterations")
    outcomes = evaluate(thresholds, m, duration_s=duration_s)
    broken = [f"{o.threshold}" for o in outcomes if not o.passed]
    if throughput < KEEP_UP * rate:
        broken.append(f"throughput {throughput:.1f}/s < {KEEP_UP:.0%} of {rate:g}/s")
    p50 = p95 = p99 = None
    if isinstance(latency, Trend) and latency.count:
        s = latency.stats()
        p50, p95, p99 = s.p50, s.p95, s.p99
    step = LinearStep(
        rate=rate,
        throughput=throughput,
        p50=p50,
        p95=p95,
        p99=p99,
        error_rate=failed.rate if isinstance(failed, Rate) else None,
        dropped=dropped.count if isinstance(dropped, Counter) else 0.0,
        held=not broken,
        broken_by=broken,
    )
    return step, tagged_by_step(m, rate)


def linear_search(
    journey: Journey,
    *,
    base_url: str,
    thresholds: Sequence[Threshold],
    start_rate: float = 10.0,
    step_rate: float = 10.0,
    max_rate: float = 1000.0,
    step_duration_s: float = 10.0,
    refine: int = 2,
    max_vus: int = 500,
    on_start: Journey | None = None,
    options: EngineOptions = EngineOptions(),  # noqa: B008 - frozen, never mutated
) -> LinearResult:
    """Step the arrival rate from ``start_rate`` by ``step_rate`` until ``thresholds`` break
    (bounded by ``max_rate``), then bisect ``refine`` times."""
    if start_rate <= 0 or step_rate <= 0 or max_rate < start_rate:
        msg = "linear_search needs 0 < start_rate <= max_rate and step_rate > 0"
        raise ValueError(msg)
    steps: list[LinearStep] = []
    merged = Metrics()

    def measure(rate: float) -> LinearStep:
        step, tagged = _step(journey, rate, base_url=base_url, duration_s=step_duration_s, max_vus=max_vus,
                             thresholds=thresholds, on_start=on_start, options=options)
        steps.append(step)
        merged.merge(tagged)
        return step

    good: float | None = None
    bad: float | None = None
    rate = start_rate
    while rate <= max_rate:
        if measure(rate).held:
            good = rate
            rate += step_rate
        else:
            bad = rate
            break
    if good is not None and bad is not None:
        for _ in range(refine):
            mid = round((good + bad) / 2, 1)
            if mid in (good, bad):
                break
            if measure(mid).held:
                good = mid
            else:
                bad = mid
    return LinearResult(sustainable_rate=good, breaking_rate=bad, steps=steps, metrics=merged)
