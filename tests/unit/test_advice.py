"""What an unmeasured run tells its user to change (perfmon/pipeline/advice.py): advice that works on
the machine the run was on, from who took the CPU in its saturated seconds."""

from __future__ import annotations

from typing import Any

from perfmon.core.results import Run
from perfmon.pipeline.advice import busy_client_advice, who_took_the_cpu


def run_with(workers: int, *consumers: dict[str, Any]) -> Run:
    run = Run(test_type="browser", environment="ci", profile="smoke", base_url=None)
    run.metadata.update({"workers": workers, "contention": {"wait_measured": True,
                                                            "consumers": list(consumers)}})
    return run


TARGET = {"role": "target", "name": "next-server", "pid": 4121, "cores": 1.3}
BURNER = {"role": "outside", "name": "python3", "pid": 88, "cores": 1.9}
BROWSERS = {"role": "browser", "name": "chromium-headless-shell", "pid": 7, "cores": 0.6}


def test_one_worker_is_never_told_to_run_fewer_workers() -> None:
    alone = run_with(1, BROWSERS)
    assert "fewer workers" not in busy_client_advice(alone)
    assert busy_client_advice(alone).startswith("give the browsers a bigger machine")
    assert who_took_the_cpu(alone) is None  # perfmon's own roles are not the news


def test_the_neighbour_is_named_and_so_is_the_target() -> None:
    crowded = run_with(1, BURNER, TARGET, BROWSERS)
    assert who_took_the_cpu(crowded) == "the target (next-server, pid 4121) used 1.3 cores; outside perfmon: " \
                                        "python3 (pid 88) 1.9 cores"
    assert busy_client_advice(crowded) == "stop or move python3 (pid 88), which took the CPU the browsers waited for"


def test_a_local_target_is_the_cause_when_nothing_else_is() -> None:
    assert busy_client_advice(run_with(1, TARGET, BROWSERS)) == \
        "serve the target (next-server, pid 4121) from another machine (--base-url)"


def test_more_than_one_worker_is_told_to_run_fewer_and_how_many_ran() -> None:
    assert busy_client_advice(run_with(4, TARGET)) == \
        "run fewer workers (-n 4 ran; `perfmon calibrate` measures what this machine holds)"
