


"""The Universal Scalability Law fit: parameters recovered from curves with known truth, refusals the
data cannot support, and the plateau of the bundled app with DEMO_CAPACITY (issue #15)."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from perfmon.analysis.derive.scalability import fit_usl, usl_points
from perfmon.core.config import Scenario, Stage
from perfmon.core.findings import UslFit
from perfmon.load import Client, EngineOptions, VirtualUser, run_scenario
from tests._support.apps import DemoApp


async def page(client: Client, user: VirtualUser) -> None:
    await client.get("/login")


def test_the_bundled_app_s_plateau_is_its_capacity(demo_factory: Callable[..., DemoApp]) -> None:
    """DEMO_CAPACITY=8 requests in service at 50 ms each: 160 requests/s at most, whatever the users."""
    app = demo_factory(DEMO_CAPACITY="8", DEMO_SERVICE_MS="50")
    ramp = Scenario(name="ramp", executor="ramping-vus", stages=(Stage(30, 32),), think_time_s=0.0)
    res = run_scenario(page, ramp, base_url=app.url, test_type="stress", options=EngineOptions(progress=False))
    assert res.run is not None
    fit = fit_usl(usl_points(res.run.metrics, "ramp"))
    assert isinstance(fit, UslFit), fit
    assert fit.peak_throughput == pytest.approx(160, rel=0.15), fit.describe()
    derived = res.run.stored_metadata()["derived"]["scalability:ramp"]
    assert derived["peak_throughput"] == pytest.approx(fit.peak_throughput, rel=1e-6)
