


"""The Universal Scalability Law fit: parameters recovered from curves with known truth, refusals the
data cannot support, and the plateau of the bundled app with DEMO_CAPACITY (issue #15)."""
from __future__ import annotations

import random

import pytest

from perfmon.analysis.derive.scalability import fit_usl
from perfmon.core.findings import UslFit


def curve(sigma: float, kappa: float, lam: float, levels: range, noise: float = 0.02) -> list[tuple[float, float]]:
    rng = random.Random(5)
    return [(float(n), lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1)) * rng.gauss(1, noise))
            for n in levels for _ in range(2)]


def test_a_retrograde_curve_gives_its_parameters_and_peak() -> None:
    fit = fit_usl(curve(0.05, 0.002, 20.0, range(1, 60, 3)))
    assert isinstance(fit, UslFit)
    assert fit.sigma == pytest.approx(0.05, abs=0.02) and fit.kappa == pytest.approx(0.002, rel=0.3)
    assert fit.lam == pytest.approx(20.0, rel=0.05) and fit.r2 > 0.95
    assert fit.sigma_ci[0] <= fit.sigma <= fit.sigma_ci[1]
    assert fit.peak_concurrency == pytest.approx((0.95 / 0.002) ** 0.5, rel=0.2)  # about 22 users
    assert "peak" in fit.describe() and "users" in fit.describe()


def test_contention_alone_levels_off_at_lambda_over_sigma() -> None:
    fit = fit_usl(curve(0.1, 0.0, 10.0, range(1, 80, 4), noise=0.01))
    assert isinstance(fit, UslFit)
    assert fit.peak_throughput == pytest.approx(100.0, rel=0.15)  # λ/σ, whether or not a tiny κ is fitted


@pytest.mark.parametrize(("points", "says"), [
    ([(1.0, 10.0), (2.0, 19.0), (3.0, 27.0)], "3 distinct concurrency level(s), 4 needed"),
    ([(float(n), random.Random(n).uniform(1, 100)) for n in range(1, 30)], "the law explains too little"),
    ([(float(n), 0.0) for n in range(1, 10)], "no throughput was measured"),
])
def test_a_fit_the_data_cannot_support_is_refused_with_the_reason(points: list[tuple[float, float]],
                                                                  says: str) -> None:
    why = fit_usl(points)
    assert isinstance(why, str) and says in why
