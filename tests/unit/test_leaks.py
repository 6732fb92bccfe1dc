"""The leak verdict on memory series with known truth: a GC sawtooth that does not leak, the same
sawtooth on a rising floor, and a run too short to tell (the rates on the real app are in bench/)."""

from __future__ import annotations

import json
import random
from dataclasses import asdict

from perfmon import Metrics
from perfmon.analysis.derive.leaks import detect_leak


def sawtooth(metrics: Metrics, *, seconds: int, floor_mb_per_h: float, seed: int = 3) -> None:
    """RSS sampled once a second: a floor, plus garbage that builds up and is collected every 7 s."""
    rng = random.Random(seed)
    start = 1_700_000_000.0
    for t in range(seconds):
        floor = 300 + floor_mb_per_h * t / 3600
        garbage = 40 * (t % 7) / 7 + rng.gauss(0, 1.5)
        metrics.trend("process_rss_mb", {"role": "target"}).record(floor + garbage, start + t)


def test_a_sawtooth_without_a_rising_floor_is_not_a_leak() -> None:
    m = Metrics()
    sawtooth(m, seconds=120, floor_mb_per_h=0)
    leak = detect_leak(m, "target")
    assert leak is not None and not leak.leaking, leak


def test_a_rising_floor_under_the_sawtooth_is_a_leak_with_its_slope() -> None:
    m = Metrics()
    sawtooth(m, seconds=120, floor_mb_per_h=1800)  # 0.5 MB/s
    leak = detect_leak(m, "target")
    assert leak is not None and leak.leaking, leak
    assert leak.low_mb_per_h is not None and leak.high_mb_per_h is not None
    assert leak.low_mb_per_h <= 1800 * 1.2 and leak.high_mb_per_h >= 1800 * 0.8
    json.dumps(asdict(leak))  # stored in the run's metadata: plain JSON types only (numpy's are not)


def test_a_run_too_short_to_tell_is_said_so() -> None:
    m = Metrics()
    sawtooth(m, seconds=20, floor_mb_per_h=1800)
    leak = detect_leak(m, "target")
    assert leak is not None and not leak.leaking and leak.why.startswith("too short to judge")
    assert detect_leak(m, "browser") is None


def test_warm_up_that_settles_is_not_a_leak() -> None:
    """The runner's floor in a real 45-s run: a climb while it warms up, then flat for the last 20 s.
    Over the whole run that is a significant trend at 161 MB/h; it stopped, so it is no leak."""
    m = Metrics()
    start = 1_700_000_000.0
    floors = [72.3, 73.0, 84.2, 84.9, 85.1, 85.4, 85.6, 85.6, 85.6, 85.6]
    for i, floor in enumerate(floors):
        for s in range(5):
            m.trend("process_rss_mb", {"role": "runner"}).record(floor + 0.3 * (s % 2), start + 5 * i + s)
    leak = detect_leak(m, "runner")
    assert leak is not None and not leak.leaking and "then settled" in leak.why, leak
    m2 = Metrics()
    for i in range(10):  # the same climb, kept up to the end: a leak
        for s in range(5):
            m2.trend("process_rss_mb", {"role": "runner"}).record(72 + 1.4 * i + 0.3 * (s % 2), start + 5 * i + s)
    leak2 = detect_leak(m2, "runner")
    assert leak2 is not None and leak2.leaking, leak2


def test_a_steep_but_small_rise_in_a_short_run_is_not_a_leak() -> None:
    """The runner in a fresh-clone run: floors rising to the end at ~311 MB/h over 45 s, under 4 MB in all.
    Kept up for ten minutes the same slope is a leak."""
    start = 1_700_000_000.0

    def floors(seconds: int) -> Metrics:
        m = Metrics()
        for t in range(seconds):
            m.trend("process_rss_mb", {"role": "runner"}).record(80 + 311 * t / 3600 + 0.2 * (t % 3), start + t)
        return m

    short = detect_leak(floors(55), "runner")
    assert short is not None and not short.leaking and "only 3." in short.why and "MB over the run" in short.why, short
    long = detect_leak(floors(600), "runner")
    assert long is not None and long.leaking, long
