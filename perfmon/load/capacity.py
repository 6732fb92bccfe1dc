"""The sustainable rate, found adaptively: exponential steps up, then a binary search with repeated
trials near the boundary, as Envoy Nighthawk's adaptive load controller does.

Each step is an open-model run at one arrival rate. It *holds* when every SLO threshold passes, the
target completed at least ``KEEP_UP`` (99 %) of the scheduled iterations and none was dropped. A step
whose own client was saturated measured the generator, not the target: it is retried with twice
the processes (up to one per core), and when that is not enough the search stops and says the
generator is the limit, never reporting the generator's rate as the server's capacity.

Every step is also checked against Little's law (users in flight = completions per second ×
iteration time): a step off by more than ``LITTLE_MARGIN`` is flagged, the sign of a generator that
is not doing what it reports, or of a measurement error; at the capacity itself, also of a queue
still growing during the step (the law holds in steady state).

The answer is a bracket, the highest rate that held in every one of its ``trials`` and the lowest
that broke, and an estimate of where the SLO breaks with a 95 % confidence interval: every step's
*margin* (how far its binding SLO piece was from its limit, on a log scale) rises with the rate, and
its crossing of zero is read off a least-squares line through the steps near the boundary
(``interval``). Once the bracket is narrow, more trials at the estimated boundary narrow the
interval until it too is narrower than ``width`` (at most ``REFINE_STEPS × trials`` of them).

In users the business understands: a user runs one iteration every (iteration time + think time),
so the sustainable rate times that is about how many concurrent users the target holds at the SLO;
the iteration time and requests per iteration are the sustainable step's own.

The search stops when the bracket and the interval are narrower than ``width`` (relative), or at a
bound (steps, time, ``max_rate``), which the result names in one line. Compared with a linear search
(fixed steps up, then a bisection: bench/capacity_search.py keeps one to measure against), most steps
are spent near the answer, not climbing to it. ``find_breaking_point``, the linear search's old name,
is now this search under that name (its ``step_rate`` and ``refine`` have no meaning here).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from ..analysis.derive.scalability import fit_usl
from ..core.config import Scenario
from ..core.errors import ConfigError
from ..core.findings import UslFit
from ..core.metrics import Counter, Metrics, Rate, Trend
from ..core.numbers import number
from ..core.thresholds import Threshold, ThresholdOutcome, evaluate
from ..loadgen.engine import EngineOptions, Journey
from ..loadgen.measure import measure_scenario

__all__ = ["BreakingPoint", "Capacity", "CapacitySearch", "CapacityStep", "SearchStep", "find_breaking_point",
           "find_capacity", "interval", "littles_law", "old_search", "tagged_by_step"]

KEEP_UP = 0.99  # completed iterations must reach this share of the schedule
NEAR_RATES = 5  # distinct rates the interval's line is fitted through
REFINE_STEPS = 3  # times `trials`: the most steps spent narrowing the interval once the bracket is narrow
LITTLE_MARGIN = 0.25  # users in flight against throughput x iteration time
# Users in flight are counted whole, when an iteration is scheduled (before it starts): a gap under
# this many users is that sampling, not a broken generator.
LITTLE_SLACK_USERS = 1.5
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

    def __post_init__(self) -> None:
        if not 0 < self.start_rate <= self.max_rate or self.trials < 1 or self.width <= 0:
            msg = ("a capacity search needs 0 < start_rate <= max_rate, trials >= 1 and width > 0 "
                   "(--start-rate, --max-rate, --trials, --width)")
            raise ConfigError(msg)


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
    concurrency: float | None = None  # users in flight, averaged over the step
    iteration_s: float | None = None  # average iteration time
    requests_per_iteration: float | None = None
    suspect: str | None = None  # Little's law does not hold: the numbers disagree with each other
    p50: float | None = None
    p99: float | None = None
    margin: float | None = None  # log of the binding SLO piece's observed over its limit: < 0 held, > 0 broke


@dataclass
class Capacity:
    sustainable_rate: float | None  # the highest rate that held in every trial
    breaking_rate: float | None  # the lowest rate that broke
    limited_by: Limit
    why: str  # one line: what the result means and what stopped the search
    steps: list[SearchStep]
    processes: int
    metrics: Metrics = field(default_factory=Metrics, repr=False)  # every step's, tagged ``step_rate``

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("sustainable_rate", "breaking_rate", "limited_by", "why", "processes")}
        fit = self.fit()
        broken = [b for s in self.steps if s.rate == self.breaking_rate for b in s.broken_by]
        found = self.interval
        out["interval"] = None if found is None else {"estimate": found[0], "low": found[1], "high": found[2]}
        return {**out, "broken_by": list(dict.fromkeys(broken)), "steps": [asdict(s) for s in self.steps],
                "fit": fit.to_dict() if isinstance(fit, UslFit) else {"why": fit}}

    @property
    def interval(self) -> tuple[float, float, float] | None:
        """The rate at which the SLO breaks and its 95 % confidence interval, from the steps near the
        boundary (``interval()``), or None when they cannot support one."""
        return interval(self.steps)

    def fit(self) -> UslFit | str:
        """The Universal Scalability Law over the steps' (users in flight, completions per second),
        or why not. Generator-bound steps measured the client and are left out."""
        return fit_usl([(s.concurrency, s.throughput) for s in self.steps
                        if s.concurrency is not None and not s.generator_bound])

    def users(self, think_time_s: float) -> float | None:
        """About how many concurrent users, each pausing ``think_time_s`` between iterations, the
        sustainable rate serves (the sustainable step's own iteration time)."""
        at = [s for s in self.steps if s.held and s.rate == self.sustainable_rate and s.iteration_s is not None]
        if self.sustainable_rate is None or not at:
            return None
        iteration = sum(s.iteration_s or 0.0 for s in at) / len(at)
        return self.sustainable_rate * (iteration + think_time_s)


def littles_law(concurrency: float | None, throughput: float, iteration_s: float | None) -> str | None:
    """Why a step's users in flight disagree with throughput x iteration time, or None when they agree
    (or cannot be compared)."""
    if concurrency is None or not iteration_s or not throughput:
        return None
    expected = throughput * iteration_s
    if abs(concurrency - expected) <= max(LITTLE_MARGIN * max(concurrency, expected), LITTLE_SLACK_USERS):
        return None
    return (f"Little's law: {concurrency:.1f} users in flight, but {throughput:.1f}/s x {iteration_s:.3f}s "
            f"= {expected:.1f}")


def _margin(outcomes: list[ThresholdOutcome], throughput: float, rate: float) -> float | None:
    """How far the step was from breaking, as one number that grows with the rate: the largest log of
    observed over limit among the SLO's upper bounds that saw something (an error rate of zero says
    nothing of how near the errors are), and, once completions fell behind, of the schedule's 99 %
    over what completed. Negative held, positive broke; None when no piece can be read."""
    pieces = [math.log(o.observed / o.threshold.value) for o in outcomes
              if o.observed is not None and o.observed > 0 and o.threshold.op.startswith("<")
              and o.threshold.value > 0]
    if throughput > 0 and throughput < KEEP_UP * rate:
        pieces.append(math.log(KEEP_UP * rate / throughput))
    return max(pieces) if pieces else None


def interval(steps: list[SearchStep], level: float = 0.95) -> tuple[float, float, float] | None:
    """The rate at which the SLO breaks, with its ``level`` confidence interval: the steps' margins
    fitted against log rate by least squares (scipy's ``linregress``) near the boundary, and the
    crossing of zero inverted with the classic calibration interval (the prediction's variance,
    σ²/b² × (1/n + (x* − x̄)²/Sxx), Student t on n − 2 degrees of freedom). Near the boundary means
    the ``NEAR_RATES`` rates closest to the middle of the bracket. None with fewer than three
    distinct rates there, or a fit that does not rise with the rate."""
    from scipy import stats as sps

    measured = [s for s in steps if s.margin is not None and not s.generator_bound]
    held = [s.rate for s in measured if s.held]
    broke = [s.rate for s in measured if not s.held]
    if not held or not broke:
        return None
    # The margin bends sharply at saturation: a line holds only close to the boundary, so the fit
    # takes the NEAR_RATES distinct rates nearest (on a log scale) to the middle of the bracket.
    middle = math.log(max(held) * min(broke)) / 2
    rates = sorted({s.rate for s in measured}, key=lambda r: abs(math.log(r) - middle))[:NEAR_RATES]
    xs = [math.log(s.rate) for s in measured if s.rate in rates]
    ys = [s.margin or 0.0 for s in measured if s.rate in rates]  # margin is set: `measured` has no None
    if len(rates) < 3:
        return None
    fit = sps.linregress(xs, ys)
    if not fit.slope > 0:
        return None
    n, mean_x = len(xs), sum(xs) / len(xs)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    x_star = -fit.intercept / fit.slope
    # linregress's slope error is σ/√Sxx, so σ²/b² = (stderr/b)² Sxx.
    half = float(sps.t.ppf(0.5 + level / 2, max(n - 2, 1))) * (fit.stderr / fit.slope) * math.sqrt(
        sxx * (1 / n + (x_star - mean_x) ** 2 / sxx))
    return math.exp(x_star), math.exp(x_star - half), math.exp(x_star + half)


def _measure(journey: Journey, rate: float, processes: int, thresholds: tuple[Threshold, ...], base_url: str,
             on_start: Journey | None, settings: CapacitySearch, options: EngineOptions) -> tuple[SearchStep, Metrics]:
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
    outcomes = evaluate(thresholds, metrics, duration_s=settings.step_duration_s)
    broken = [str(o.threshold) for o in outcomes if not o.passed]
    if throughput < KEEP_UP * rate:
        broken.append(f"throughput {throughput:.1f}/s < {KEEP_UP:.0%} of {rate:g}/s")
    if dropped:
        broken.append(f"{dropped:.0f} iteration(s) dropped (no free user: latency x rate exceeded max_vus)")
    users = metrics.summed_over_parts("vus_active", {}, "avg")  # the processes' users added up, per window
    took, reqs = metrics.select("iteration_duration"), metrics.select("http_reqs")
    concurrency = sum(users.values()) / len(users) if users else None
    iteration_s = took.avg / 1000 if isinstance(took, Trend) and took.avg is not None else None
    per_iteration = reqs.count / done.count if isinstance(reqs, Counter) and isinstance(done, Counter) \
        and done.count else None
    suspect = littles_law(concurrency, throughput, iteration_s)
    margin = _margin(outcomes, throughput, rate)
    p50, p95, p99 = latency.percentiles([50, 95, 99]) if isinstance(latency, Trend) and latency.count else [None] * 3
    return SearchStep(rate=rate, processes=processes, throughput=throughput, p50=p50, p95=p95, p99=p99,
                      error_rate=failed.rate if isinstance(failed, Rate) else None, dropped=dropped,
                      client_saturation=saturation, held=not broken and not generator_bound,
                      generator_bound=generator_bound, broken_by=broken, concurrency=concurrency,
                      iteration_s=iteration_s, requests_per_iteration=per_iteration,
                      suspect=suspect, margin=margin), tagged_by_step(metrics, rate)


def find_capacity(journey: Journey, *, base_url: str, thresholds: tuple[Threshold, ...] | list[Threshold],
                  settings: CapacitySearch = CapacitySearch(),
                  on_start: Journey | None = None,
                  options: EngineOptions = EngineOptions()) -> Capacity:  # noqa: B008 - frozen
    """Search the highest arrival rate at which ``thresholds`` (the SLO) hold (module docstring)."""
    search = _Search(journey, base_url, tuple(thresholds), settings, on_start, options)
    return search.run()


class _Search:
    """One capacity search: exponential steps up, a bisection with repeated trials, then trials at the
    estimated boundary; its state is what every phase shares."""

    def __init__(self, journey: Journey, base_url: str, slo: tuple[Threshold, ...], settings: CapacitySearch,
                 on_start: Journey | None, options: EngineOptions) -> None:
        self.journey, self.base_url, self.slo, self.settings = journey, base_url, slo, settings
        self.on_start, self.options = on_start, options
        self.cores = os.cpu_count() or 1
        self.steps: list[SearchStep] = []
        self.measured = Metrics()
        self.held: dict[float, int] = {}  # rate -> trials that held
        self.processes = 1
        self.started = time.monotonic()
        self.good: float | None = None
        self.bad: float | None = None

    def run(self) -> Capacity:
        if (done := self._ramp_up()) is not None:
            return done
        self._bisect()
        self._refine()
        return self._conclude()

    def _result(self, limit: Limit, why: str, good: float | None, bad: float | None) -> Capacity:
        return Capacity(good, bad, limit, why, self.steps, self.processes, self.measured)

    def _bound(self) -> str | None:
        if len(self.steps) >= self.settings.max_steps:
            return f"stopped after max_steps = {self.settings.max_steps} steps"
        if time.monotonic() - self.started > self.settings.max_time_s:
            return f"stopped after max_time = {self.settings.max_time_s:g}s"
        return None

    def _holds(self, rate: float, trials: int) -> bool | None:
        """Whether ``rate`` held ``trials`` times; None when the generator could not drive it."""
        while self.held.get(rate, 0) < trials:
            if self._bound() is not None:
                return None
            step, step_metrics = _measure(self.journey, rate, self.processes, self.slo, self.base_url, self.on_start,
                                          self.settings, self.options)
            self.steps.append(step)
            self.measured.merge(step_metrics)
            if step.generator_bound:
                if self.processes >= self.cores:
                    return None
                self.processes = min(self.cores, self.processes * 2)  # one core was not enough: spread, again
                continue
            if not step.held:
                return False
            self.held[rate] = self.held.get(rate, 0) + 1
        return True

    def _ramp_up(self) -> Capacity | None:
        """Exponential steps up, one trial each (far from the boundary), until a rate breaks."""
        rate = self.settings.start_rate
        while self.bad is None:
            ok = self._holds(rate, 1)
            if ok is None:
                return None
            if not ok:
                self.bad = rate
                return None
            self.good = rate
            if rate >= self.settings.max_rate:
                return self._result("max_rate", f"held up to max_rate = {self.settings.max_rate:g}/s; the capacity "
                                    "is above it (raise --max-rate)", self.good, None)
            rate = min(rate * 2, self.settings.max_rate)
        return None

    def _bisect(self) -> None:
        """A binary search between what held and what broke, repeating trials."""
        while self.bad is not None:
            good, bad = self.good, self.bad
            if good is not None and self._holds(good, self.settings.trials) is False:
                self.bad, self.good = good, None if good <= self.settings.start_rate else good / 2
                continue
            if good is None or (bad - good) / good <= self.settings.width:
                return
            mid = round((good + bad) / 2, 2)
            ok = self._holds(mid, self.settings.trials)
            if ok is None:
                return
            self.good, self.bad = (mid, bad) if ok else (good, mid)

    def _refine(self) -> None:
        """Trials at the estimated boundary until its interval is as narrow as the bracket must be."""
        for _ in range(REFINE_STEPS * self.settings.trials):
            good, bad = self.good, self.bad
            if good is None or bad is None or self._bound() is not None or self.steps[-1].generator_bound:
                return
            found = interval(self.steps)
            if found is not None and (found[2] - found[1]) / found[0] <= self.settings.width:
                return
            at = round(found[0], 2) if found is not None and good < found[0] < bad else round((good + bad) / 2, 2)
            if not good < at < bad:
                return  # the bracket is as narrow as rates are written: nothing between its ends to try
            # A new sustainable rate must hold every trial, as in the bisection; a rate that already did
            # gets one more (a trial that changes nothing would not narrow anything).
            ok = self._holds(at, max(self.settings.trials, self.held.get(at, 0) + 1))
            if ok is None:
                return
            self.good, self.bad = (at, bad) if ok else (good, at)

    def _conclude(self) -> Capacity:
        good, bad, steps = self.good, self.bad, self.steps
        if steps and steps[-1].generator_bound:
            known = (f"the target's capacity is above {good:g}/s" if good
                     else "nothing is known of the target's capacity")
            return self._result("generator", f"the load generator saturated at {steps[-1].rate:g}/s with "
                                f"{self.processes} process(es) on {self.cores} core(s): {known}, and this machine "
                                "cannot measure more; use a bigger runner or several", good, None)
        if (stop := self._bound()) is not None and (bad is None or good is None
                                                    or (bad - good) / good > self.settings.width):
            return self._result("steps" if "steps" in stop else "time", f"{stop}: sustainable between {good or 0:g} "
                                f"and {bad if bad is not None else '?'}/s", good, bad)
        if good is None:
            return self._result("server", f"even {self.settings.start_rate:g}/s broke the SLO: lower --start-rate",
                                None, bad)
        found = interval(steps)
        estimate = "" if found is None else (f"; the SLO breaks at {number(found[0], digits=4)}/s, 95 % interval "
                                             f"[{number(found[1], digits=4)}, {number(found[2], digits=4)}]")
        return self._result("server", f"sustainable {good:g}/s (held {self.settings.trials} times), broke at "
                            f"{bad:g}/s{estimate}", good, bad)


def tagged_by_step(metrics: Metrics, rate: float) -> Metrics:
    """``metrics`` with every series tagged ``step_rate``, so a whole search merges into one run
    without mixing its steps."""
    tagged = Metrics()
    for metric_name, tags, series in metrics.series():
        tagged.merge(Metrics.from_dict([{"name": metric_name, "tags": {**tags, "step_rate": f"{rate:g}"},
                                         **series.to_dict()}]))
    return tagged


# The linear search's names, kept for code written against them: the one search answers under both.
BreakingPoint = Capacity
CapacityStep = SearchStep


def find_breaking_point(journey: Journey, *, base_url: str, thresholds: tuple[Threshold, ...] | list[Threshold],
                        start_rate: float = 10.0, step_rate: float | None = None, max_rate: float = 1000.0,
                        step_duration_s: float = 10.0, refine: int | None = None, max_vus: int = 500,
                        on_start: Journey | None = None,
                        options: EngineOptions = EngineOptions()) -> Capacity:  # noqa: B008 - frozen
    """The old name of :func:`find_capacity`: the adaptive search from ``start_rate`` up to ``max_rate``
    with steps of ``step_duration_s``. ``step_rate`` and ``refine`` belonged to the linear search this
    replaced and are accepted and ignored, so code written against it keeps working."""
    del step_rate, refine
    return find_capacity(journey, base_url=base_url, thresholds=thresholds, on_start=on_start, options=options,
                         settings=old_search(start_rate, max_rate, step_duration_s, max_vus))


def old_search(start_rate: float, max_rate: float, step_duration_s: float, max_vus: int) -> CapacitySearch:
    """The search ``find_breaking_point``'s arguments ask for (its linear-only ones have no meaning here)."""
    return CapacitySearch(start_rate=start_rate, max_rate=max_rate, step_duration_s=step_duration_s, max_vus=max_vus)
