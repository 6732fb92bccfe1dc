"""A location-shift series per endpoint: how much later the whole latency distribution sits, read
from many quantiles at once, for the gate to judge beside p50 and p95.

One percentile of ~100 samples moves several percent between runs on its own, so a +5 % slowdown
of an endpoint hides in its p95's noise. Every request slower by the same few milliseconds moves
*every* quantile by that much, and the quantiles where the distribution is dense (few samples
span them) are estimated far more precisely than the rest. The best linear unbiased estimate of
such a shift from a set of quantiles weights each by the inverse of their joint sampling
covariance (Mosteller 1946; Ogawa 1951): for order statistics of ``n`` samples at probabilities
``p_i < p_j``, ``cov = p_i (1 - p_j) / (n f_i f_j)``, with ``f`` the density at each quantile. The
density is read off the baseline runs' mean quantiles (finite differences), so one set of weights
serves the candidate and every baseline run alike: each run's location is ``w · q`` (milliseconds,
the weights sum to 1) with sampling error ``1 / sqrt(1' Σ⁻¹ 1)``. On the bench's runs its error is
about 0.5 ms against the p95's 0.9 ms (bench/README.md). Hand-written because no library
estimates a location shift from summarised quantiles; the linear algebra is numpy's.

A tail-only slowdown (rare slow queries) moves the location little: the p95 series still sees it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from .series import LOCATION_GRID, Observation

__all__ = ["LOCATION", "with_location"]

LOCATION = "location"  # the statistic's name in series keys: "location http_req_duration{name:/x}"
_RIDGE = 1e-6  # relative, keeps neighbouring quantiles' nearly singular covariance invertible


def _weights(mean_profile: Sequence[float]) -> tuple[list[float], float] | None:
    """The GLS weights of the quantiles at LOCATION_GRID (summing to 1) and the location's sampling
    variance for one request (``w' Σ w``; divide by the run's requests), or None when the
    distribution has no spread. The density at each quantile is read off ``mean_profile``: the
    probability between its neighbours over the time between them, never steeper than a hundredth
    of the whole spread (a histogram bucket)."""
    import numpy as np

    if not all(math.isfinite(v) for v in mean_profile) or mean_profile[-1] - mean_profile[0] <= 0:
        return None
    p = np.array(LOCATION_GRID) / 100
    q = np.array(mean_profile, dtype=float)
    spacing = np.maximum(np.gradient(q, p), (q[-1] - q[0]) / 100)  # 1 / density
    cov = np.minimum.outer(p, p) * (1 - np.maximum.outer(p, p)) * np.outer(spacing, spacing)
    inv_one = np.linalg.solve(cov + np.eye(len(p)) * _RIDGE * float(np.trace(cov)), np.ones(len(p)))
    total = float(inv_one.sum())
    if total <= 0:
        return None
    w = inv_one / total
    return [float(v) for v in w], max(float(w @ cov @ w), 0.0)


def with_location(candidate: Sequence[Observation], baselines: Sequence[Sequence[Observation]],
                  min_runs: int) -> tuple[list[Observation], list[list[Observation]]]:
    """``candidate`` and ``baselines`` with a location series added for every latency series whose
    quantile profile the candidate and at least ``min_runs`` baseline runs have."""
    cand = list(candidate)
    base = [list(run) for run in baselines]
    by_key = [{o.key: o for o in run if o.profile} for run in baselines]
    for obs in candidate:
        past = [(i, run[obs.key]) for i, run in enumerate(by_key)
                if obs.key in run and len(run[obs.key].profile) == len(obs.profile)]
        if not obs.profile or len(past) < min_runs:
            continue
        found = _weights([sum(col) / len(col) for col in zip(*(o.profile for _, o in past), strict=True)])
        if found is None:
            continue
        weights, unit_variance = found
        key = obs.key.replace(f"{obs.statistic} ", f"{LOCATION} ", 1)

        def located(o: Observation, key: str = key, weights: list[float] = weights,
                    unit_variance: float = unit_variance) -> Observation:
            value = sum(w * q for w, q in zip(weights, o.profile, strict=True))
            return replace(o, key=key, statistic=LOCATION, value=value,
                           se=math.sqrt(unit_variance / max(o.samples, 1.0)), profile=())

        cand.append(located(obs))
        for i, o in past:
            base[i].append(located(o))
    return cand, base
