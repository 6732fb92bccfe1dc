"""The bundled app's fault knobs are bounded to finite, documented ranges, and its admin endpoints
stay on loopback: a knob can slow the app down, never freeze it for good."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from demo_app.app import DEFAULT_ADMIN_TOKEN, _loopback
from demo_app.faults import LIMITS
from tests._support.apps import ADMIN, ROOT, DemoApp
from tests._support.sessions import env


@pytest.mark.parametrize(
    ("knob", "value"),
    [("DEMO_CAPACITY", "inf"), ("DEMO_CAPACITY", "1e400"), ("DEMO_LATENCY_MS", "inf"), ("DEMO_LATENCY_MS", "nan"),
     ("DEMO_STALL_MS", "1e12"), ("DEMO_STALL_EVERY_S", "0.001"), ("DEMO_SERVICE_MS", "-1"), ("DEMO_CLS", "6"),
     ("DEMO_CAPACITY", "0.5"), ("DEMO_DB_POOL", "2.5")],  # 0.5 became 0, "no limit" (#36)
)
def test_an_out_of_range_knob_is_refused_at_runtime_and_nothing_changes(clean_demo: DemoApp, knob: str,
                                                                        value: str) -> None:
    before = httpx.get(f"{clean_demo.url}/admin/faults", headers=ADMIN).json()
    r = httpx.post(f"{clean_demo.url}/admin/faults", json={knob: value}, headers=ADMIN)
    assert r.status_code == 400 and knob in r.json()["error"]
    assert httpx.get(f"{clean_demo.url}/admin/faults", headers=ADMIN).json() == before
    assert httpx.get(f"{clean_demo.url}/healthz").status_code == 200


def test_an_out_of_range_knob_at_start_is_one_line_and_exit_2() -> None:
    out = subprocess.run([sys.executable, "-m", "demo_app", "--port", "0"], cwd=ROOT, capture_output=True, text=True,
                         env=env(DEMO_CAPACITY="inf"), timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == ("demo_app: DEMO_CAPACITY='inf' must be between 0 and 100000; fix the DEMO_* "
                                  "variable and start again")


def test_every_knob_has_a_finite_documented_range() -> None:
    readme = (ROOT / "README.md").read_text()
    for knob, (_lo, hi) in LIMITS.items():
        assert hi < float("inf") and f"`{knob}`" in readme
        assert f"{hi:g}" in readme.replace(",", ""), knob


def test_the_largest_stall_still_lets_admin_requests_through(clean_demo: DemoApp) -> None:
    clean_demo.set_faults(DEMO_STALL_EVERY_S="0.1", DEMO_STALL_MS="2000")
    try:
        # Between two stalls the loop serves requests: switching the stall off gets through.
        r = httpx.post(f"{clean_demo.url}/admin/faults", json={"DEMO_STALL_EVERY_S": "0"}, headers=ADMIN, timeout=30)
        assert r.status_code == 200
    finally:
        clean_demo.set_faults(DEMO_STALL_EVERY_S="0", DEMO_STALL_MS="0")


def test_admin_is_loopback_only_and_the_default_token_never_leaves_loopback() -> None:
    assert _loopback("127.0.0.1") and _loopback("::1") and _loopback("127.0.0.2")
    assert not _loopback("10.0.0.5") and not _loopback("192.168.1.20") and not _loopback("testclient")
    for token in ({}, {"DEMO_ADMIN_TOKEN": DEFAULT_ADMIN_TOKEN}, {"DEMO_ADMIN_TOKEN": ""}):  # written out: still it
        out = subprocess.run([sys.executable, "-m", "demo_app", "--host", "0.0.0.0", "--port", "0"], cwd=ROOT,
                             capture_output=True, text=True, env=env(**token), timeout=60)
        assert out.returncode == 2, token
        assert "refusing to serve on 0.0.0.0 with the default admin token" in out.stderr
