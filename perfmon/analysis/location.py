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
from typing import Any

from .series import LOCATION_GRID, Observation

__all__ = ["LOCATION", "with_location"]

LOCATION = "location"  # the statistic's name in series keys: "location http_req_duration{name:/x}"
_RIDGE = 1e-6  # relative, keeps neighbouring quantiles' nearly singular covariance invertible


def _covariance(mean_profile: Sequence[float], samples: float) -> Any:
    """The joint sampling covariance of the quantiles at LOCATION_GRID for ``samples`` requests, with
    the density at each read off ``mean_profile`` (the probability between its neighbours over the
    time between them, never steeper than a hundredth of the whole spread: a histogram bucket)."""
    import numpy as np

    p = np.array(LOCATION_GRID) / 100
    q = np.array(mean_profile, dtype=float)
    spacing = np.maximum(np.gradient(q, p), (q[-1] - q[0]) / 100)  # 1 / density
    lo, hi = np.minimum.outer(p, p), np.maximum.outer(p, p)
    return lo * (1 - hi) * np.outer(spacing, spacing) / max(samples, 1.0)


def _weights(mean_profile: Sequence[float]) -> list[float] | None:
    """The GLS weights of the quantiles (summing to 1), or None when the distribution has no spread."""
    import numpy as np

    if not all(math.isfinite(v) for v in mean_profile) or mean_profile[-1] - mean_profile[0] <= 0:
        return None
    cov = _covariance(mean_profile, 1.0)
    cov += np.eye(len(mean_profile)) * _RIDGE * float(np.trace(cov))
    inv_one = np.linalg.solve(cov, np.ones(len(mean_profile)))
    total = float(inv_one.sum())
    return [float(v) for v in inv_one / total] if total > 0 else None


def _location(profile: Sequence[float], weights: Sequence[float]) -> float:
    return sum(w * q for w, q in zip(weights, profile, strict=True))


def _se(samples: float, weights: Sequence[float], mean_profile: Sequence[float]) -> float:
    """The location's sampling error for ``samples`` requests: sqrt(w' Σ w)."""
    import numpy as np

    w = np.array(weights)
    return math.sqrt(max(float(w @ _covariance(mean_profile, samples) @ w), 0.0))


def with_location(candidate: Sequence[Observation], baselines: Sequence[Sequence[Observation]],
                  min_runs: int) -> tuple[list[Observation], list[list[Observation]]]:
    """``candidate`` and ``baselines`` with a location series added for every latency series whose
    quantile profile the candidate and at least ``min_runs`` baseline runs have."""
    cand = list(candidate)
    base = [list(run) for run in baselines]
    for obs in candidate:
        if not obs.profile:
            continue
        past = [o for run in baselines for o in run if o.key == obs.key and len(o.profile) == len(obs.profile)]
        if len(past) < min_runs:
            continue
        mean_profile = [sum(col) / len(col) for col in zip(*(o.profile for o in past), strict=True)]
        weights = _weights(mean_profile)
        if weights is None:
            continue
        key = obs.key.replace(f"{obs.statistic} ", f"{LOCATION} ", 1)

        def located(o: Observation, key: str = key, weights: list[float] = weights,
                    mean_profile: list[float] = mean_profile) -> Observation:
            return replace(o, key=key, statistic=LOCATION, value=_location(o.profile, weights),
                           se=_se(o.samples, weights, mean_profile), profile=())

        cand.append(located(obs))
        for run in base:
            for o in list(run):
                if o.key == obs.key and len(o.profile) == len(obs.profile):
                    run.append(located(o))
    return cand, base
