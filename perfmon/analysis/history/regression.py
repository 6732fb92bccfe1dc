"""The regression gate: each series of a candidate run against the same series in its baseline runs.

Two noise sources are modelled, because CI has both:

- between runs (machine-to-machine bias, the dominant one on shared runners): the spread of the
  baseline runs' values;
- within the run: the candidate's own sampling error (series.py: from its histogram).

Times, rates per second and memory are compared on a log scale (a change is relative); shares
(error rate) and CLS as they are. With 5 baseline runs a series' own spread has 4 degrees of
freedom, far too few to gate 80 series at a low false-alarm rate, so each series' between-run
variance is shrunk towards a prior (empirical Bayes, as limma's moderated t does; the prior weight
is a fixed ``PRIOR_DF``, not fitted). The prior is the series' own sampling variance (the mean of
its baseline runs' within-run variances: a p95 from 95 samples is looser than a p50 from 10 000)
times the factor by which the run's series of the same unit vary between runs more than their
sampling says (the mean ratio, at least 1): what a neighbour on a shared CI runner adds to every
series. A ratio, not an added variance, so that a loose series' noisy variance estimate cannot
swamp a tight one's. Series without a within-run error (memory peaks) are shrunk towards the
median variance of their unit instead. Each endpoint's location shift (location.py) is judged
as one more series. With 10 comparable runs of history or more, each endpoint's latency series
arrive adjusted for the machine's pace (pace.py), which takes out part of the between-run spread.
The figures on the bench's runs are in bench/README.md.

The deviation of the new run from the baseline mean is judged against ``var = s²/N + max(s², v_c)``
(the baseline mean's uncertainty plus the new run's own: at least the between-run spread, at least
its sampling variance times the same factor) with a one-sided Student t on ``N - 1 + PRIOR_DF``
degrees of freedom (scipy). A regression must also be large enough to matter (a relative minimum
effect with an absolute floor, per unit) and survive Benjamini–Hochberg across every series of the
run, both directions (scipy's ``false_discovery_control``), so a run with 80 series does not alarm
by sheer count. Improvements are found the same way and reported, never failed. Each series also
reports the smallest change it could have detected at 80 % power. Hand-written because no library
offers this combination; every distribution comes from scipy.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

from ...core.comparison import SeriesChange
from ...core.config import GateSettings
from .location import with_location
from .series import Observation

__all__ = ["SeriesChange", "compare_two", "gate"]

PRIOR_DF = 20.0  # weight of the prior variance, in degrees of freedom
_LINEAR_UNITS = ("share", "")  # compared as they are (values can be 0); the rest on a log scale


@dataclass(frozen=True)
class _Judged:
    obs: Observation
    mean: float  # baseline mean, natural units
    center: float  # baseline mean, on the compared scale
    s2: float  # baseline variance, on the compared scale
    within: float  # the baseline runs' mean within-run variance, on the compared scale (0: unknown)
    n: int


def _scaled(value: float, unit: str) -> float:
    return value if unit in _LINEAR_UNITS else math.log(max(value, 1e-9))


def _within(obs: Observation) -> float:
    """The run's own sampling variance of ``obs``, on the compared scale."""
    return obs.se**2 if obs.unit in _LINEAR_UNITS else (obs.se / max(obs.value, 1e-9)) ** 2


def _priors(judged: Sequence[_Judged]) -> tuple[dict[str, float | None], dict[str, float]]:
    """Each series' prior variance (by key; None when it has none to be shrunk towards), and each
    unit's factor of run-to-run over sampling variance."""
    ratios: dict[str, list[float]] = {}
    unknown: dict[str, list[float]] = {}
    for j in judged:
        if j.within > 0:
            ratios.setdefault(j.obs.unit, []).append(j.s2 / j.within)
        else:
            unknown.setdefault(j.obs.unit, []).append(j.s2)
    factor = {unit: max(1.0, statistics.fmean(rs)) for unit, rs in ratios.items()}
    out: dict[str, float | None] = {}
    for j in judged:
        if j.within > 0:
            out[j.obs.key] = j.within * factor[j.obs.unit]
        else:
            alike = unknown[j.obs.unit]
            out[j.obs.key] = statistics.median(alike) if len(alike) >= 3 else None
    return out, factor


def gate(candidate: Sequence[Observation], baselines: Sequence[Sequence[Observation]],
         settings: GateSettings = GateSettings()) -> list[SeriesChange]:  # noqa: B008 - frozen
    """Judge every series of ``candidate`` that at least ``min_runs`` baseline runs also have, and
    each endpoint's location shift (location.py)."""
    candidate, baselines = with_location(candidate, baselines, settings.min_runs)
    past: dict[str, list[Observation]] = {}
    for run in baselines:
        for obs in run:
            past.setdefault(obs.key, []).append(obs)
    judged: list[_Judged] = []
    for obs in candidate:
        values = past.get(obs.key, [])
        if len(values) < settings.min_runs:
            continue
        scaled = [_scaled(v.value, obs.unit) for v in values]
        judged.append(_Judged(obs, statistics.fmean(v.value for v in values), statistics.fmean(scaled),
                              statistics.variance(scaled), statistics.fmean(_within(v) for v in values),
                              len(values)))
    if not judged:
        return []
    priors, factor = _priors(judged)
    tests = len(judged)
    rows = []
    for j in judged:
        prior = priors[j.obs.key]
        d0 = PRIOR_DF if prior is not None else 0.0
        df = d0 + j.n - 1
        s2 = (d0 * (prior or 0.0) + (j.n - 1) * j.s2) / df
        # The new run is at least as noisy as the baseline runs, and at least as its own sampling says.
        scale = math.sqrt(s2 / j.n + max(s2, _within(j.obs) * factor.get(j.obs.unit, 1.0)))
        diff = _scaled(j.obs.value, j.obs.unit) - j.center
        worse = diff if j.obs.higher_is_worse else -diff
        if scale > 0:
            p_worse, p_better = float(sps.t.sf(worse / scale, df)), float(sps.t.sf(-worse / scale, df))
        else:  # no spread at all: any difference is real
            p_worse, p_better = (0.0 if worse > 0 else 1.0), (0.0 if worse < 0 else 1.0)
        # One true change among `tests` series passes BH at about fdr / (2 tests): the worst case.
        reach = (float(sps.t.isf(settings.fdr / (2 * tests), df)) + float(sps.t.ppf(settings.power, df))) * scale
        rows.append((j, worse, p_worse, p_better, reach))
    # Both directions of every series are one family: improvements cannot buy regressions significance.
    adjusted = sps.false_discovery_control([p for *_, pw, pb, _ in rows for p in (pw, pb)], method="bh")
    out = []
    for i, (j, worse, p_worse, p_better, reach) in enumerate(rows):
        obs, mean = j.obs, j.mean
        effect = settings.min_effect(mean, obs.unit, obs.metric)
        delta = obs.value - mean
        worse_dir = worse > 0
        q = float(adjusted[2 * i] if worse_dir else adjusted[2 * i + 1])
        kind = "same"
        if abs(delta) >= effect and q <= settings.fdr:
            kind = "regression" if worse_dir else "improvement"
        linear = obs.unit in _LINEAR_UNITS
        reach_natural = reach if linear else abs(mean) * (math.exp(reach) - 1)
        detectable = max(reach_natural, effect) / abs(mean) if mean else None
        out.append(SeriesChange(obs.key, obs.metric, obs.statistic, obs.tags, obs.unit, mean, obs.value,
                           delta / mean if mean else None, p_worse if worse_dir else p_better, q, detectable, j.n,
                           kind))
    return out


def compare_two(base: Sequence[Observation], candidate: Sequence[Observation],
                settings: GateSettings = GateSettings()) -> list[SeriesChange]:  # noqa: B008 - frozen
    """Two runs series by series, for ``perfmon compare``. With one run on each side the between-run
    spread is unknown, so only the runs' own sampling errors are used (a normal test on the
    difference, scipy), with the same minimum effect and Benjamini–Hochberg: a change it reports
    is beyond sampling noise, not necessarily beyond run-to-run noise."""
    before = {o.key: o for o in base}
    pairs = [(before[o.key], o) for o in candidate if o.key in before]
    if not pairs:
        return []
    rows = []
    for a, b in pairs:
        scale = math.sqrt(a.se**2 + b.se**2)
        diff = b.value - a.value
        worse = diff if b.higher_is_worse else -diff
        p = float(2 * sps.norm.sf(abs(worse) / scale)) if scale > 0 else (0.0 if diff else 1.0)
        rows.append((a, b, diff, worse, p, scale))
    adjusted = sps.false_discovery_control([r[4] for r in rows], method="bh")
    out = []
    for (a, b, diff, worse, p, scale), q in zip(rows, adjusted, strict=True):
        effect = settings.min_effect(a.value, b.unit, b.metric)
        kind = "same"
        if abs(diff) >= effect and q <= settings.fdr:
            kind = "regression" if worse > 0 else "improvement"
        reach = (float(sps.norm.isf(settings.fdr / (2 * len(rows)))) + float(sps.norm.ppf(settings.power))) * scale
        out.append(SeriesChange(b.key, b.metric, b.statistic, b.tags, b.unit, a.value, b.value,
                           diff / a.value if a.value else None, p, float(q),
                           max(reach, effect) / abs(a.value) if a.value else None, 1, kind))
    return out
