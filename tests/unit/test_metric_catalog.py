"""The built-in metric names a threshold's typo is checked against: every name the code records with
a literal is in the catalog, and a name one letter off one of them is refused before a run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfmon import ConfigError, load_config
from perfmon.core.metrics.catalog import BUILTIN_METRICS, misspelt

PACKAGE = Path(__file__).resolve().parents[2] / "perfmon"
RECORDED = re.compile(r"\.(?:trend|rate|counter|gauge)\(\s*\"([a-z_]+)\"")


def test_every_metric_the_code_records_by_name_is_in_the_catalog() -> None:
    recorded = {name for path in PACKAGE.rglob("*.py") for name in RECORDED.findall(path.read_text())}
    assert len(recorded) > 20  # the scan finds the recording calls
    assert recorded <= BUILTIN_METRICS, sorted(recorded - BUILTIN_METRICS)
    vitals = {f"browser_vital_{v}" for v in ("lcp", "fcp", "cls", "inp", "ttfb")}  # recorded through an f-string
    assert vitals <= BUILTIN_METRICS


@pytest.mark.parametrize(("name", "meant"), [("http_req_duraton", "http_req_duration"),
                                             ("http_req_faild", "http_req_failed"),
                                             ("browser_vital_lpc", "browser_vital_lcp"),
                                             ("http_req_duration", None), ("checkout_time", None)])
def test_a_name_close_to_a_built_in_one_is_taken_for_a_typo(name: str, meant: str | None) -> None:
    assert misspelt(name) == meant


def test_a_misspelt_threshold_metric_is_refused_before_the_run(tmp_path: Path, clean_env: None) -> None:
    path = tmp_path / "perfmon.toml"
    path.write_text('[scenarios.load.thresholds]\nhttp_req_duraton = ["p(95)<500"]\n'
                    '"checkout_time{step:pay}" = ["p(95)<900"]\n')
    with pytest.raises(ConfigError, match=re.escape("perfmon.toml:2: threshold metric 'http_req_duraton' is not "
                                                    "one perfmon records; did you mean 'http_req_duration'?")):
        load_config(path)
    path.write_text('[scenarios.load.thresholds]\n"checkout_time{step:pay}" = ["p(95)<900"]\n')  # a custom one
    assert [t.metric for t in load_config(path).scenario("load").thresholds][-1] == "checkout_time{step:pay}"
