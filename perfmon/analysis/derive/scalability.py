"""Where the target stops scaling: the Universal Scalability Law (Gunther) fitted over (concurrency,
throughput) points, one per 5-s window of a ramp.

    X(N) = λN / (1 + σ(N − 1) + κN(N − 1))

λ is the throughput of one user, σ the contention (the serial share, Amdahl's law) and κ the
coherency cost (the crosstalk that makes throughput fall past a peak). The peak is at
N* = sqrt((1 − σ) / κ); with κ = 0 there is no peak, and throughput levels off at λ / σ.

scipy's ``curve_fit`` does the fitting (bounded least squares) and gives the covariance the
confidence intervals come from; nothing here is a hand-written optimiser. A fit the data cannot
support is refused with the reason: too few concurrency levels, no convergence, or a curve that
explains too little of the data (R² below ``MIN_R2``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from ...core.findings import UslFit
from ...core.metrics import WINDOW_S, Counter, Metrics

__all__ = ["MIN_LEVELS", "MIN_R2", "fit_usl", "ramp_windows", "usl", "usl_points"]

MIN_LEVELS = 4  # distinct concurrency levels (whole users) a fit of three parameters needs
MIN_R2 = 0.8  # below this the law does not describe the data: no fit is reported


def usl(n: Any, sigma: float, kappa: float, lam: float) -> Any:
    """X(N), the law's throughput at ``n`` users (a number or a numpy array)."""
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


def ramp_windows(metrics: Metrics, scenario: str) -> list[tuple[int, float, float]]:
    """Per window of ``scenario``: its start, the average active users and the requests per second
    completed. The first and last windows are left out (windows the scenario only partly covered)."""
    reqs = metrics.select_tags("http_reqs", {"scenario": scenario})
    if not isinstance(reqs, Counter):
        return []
    users = {w: avg for w, avg in metrics.summed_over_parts("vus_active", {"scenario": scenario}, "avg").items()
             if avg}
    shared = sorted(set(users) & set(reqs.windows_))[1:-1]
    return [(w, float(users[w] or 0.0), reqs.windows_[w] / WINDOW_S) for w in shared]


def usl_points(metrics: Metrics, scenario: str) -> list[tuple[float, float]]:
    """The (users, requests per second) of each of the scenario's windows (``ramp_windows``)."""
    return [(users, rate) for _, users, rate in ramp_windows(metrics, scenario)]


def fit_usl(points: Sequence[tuple[float, float]]) -> UslFit | str:
    """The fit over ``points`` (concurrency, throughput), or why there is none (one line)."""
    import numpy as np
    from scipy.optimize import curve_fit
    from scipy.stats import t as student

    levels = {round(n) for n, _ in points}
    if len(levels) < MIN_LEVELS:
        return f"{len(levels)} distinct concurrency level(s), {MIN_LEVELS} needed: ramp the users further"
    n = np.array([p[0] for p in points], dtype=float)
    x = np.array([p[1] for p in points], dtype=float)
    if not np.all(np.isfinite(x)) or x.max() <= 0:
        return "no throughput was measured"
    first = int(np.argmin(n))
    start = (0.05, 0.001, float(max(x[first] / max(n[first], 1.0), x.max() / n.max())))  # λ: one user's rate
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unidentifiable parameter warns; the interval says it
            params, cov = curve_fit(usl, n, x, p0=start, bounds=([0.0, 0.0, 0.0], [1.0, 1.0, np.inf]),
                                    maxfev=20_000)
    except (RuntimeError, ValueError) as exc:
        return f"the fit did not converge ({exc})"
    sigma, kappa, lam = (float(v) for v in params)
    residual = x - usl(n, sigma, kappa, lam)
    total = float(((x - x.mean()) ** 2).sum())
    r2 = 1 - float((residual ** 2).sum()) / total if total > 0 else 0.0
    if r2 < MIN_R2:
        return f"the law explains too little of the data (R² {r2:.2f} < {MIN_R2}): a noisy or unsteady ramp"
    dof = max(1, len(points) - 3)
    half = student.ppf(0.975, dof) * np.sqrt(np.clip(np.diag(cov), 0.0, None))

    def ci(value: float, h: float) -> tuple[float, float]:
        h = h if math.isfinite(h) else math.inf
        return (max(0.0, value - h), value + h)

    peak_n: float | None = None
    peak_x: float | None = None
    if kappa > 0 and sigma < 1:
        peak_n = math.sqrt((1 - sigma) / kappa)
        peak_x = float(usl(peak_n, sigma, kappa, lam))
    elif sigma > 0:
        peak_x = lam / sigma
    return UslFit(sigma, kappa, lam, ci(sigma, half[0]), ci(kappa, half[1]), ci(lam, half[2]), r2, len(points),
                  peak_n, peak_x)
