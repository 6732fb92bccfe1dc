from __future__ import annotations

import json
import random

import pytest

from perfmon import Metrics, Trend
from perfmon.core.metrics import WINDOW_S, Stats, merged_percentiles, parse_selector


def test_trend_statistics_are_exact_or_within_hdr_precision() -> None:
    t = Trend()
    values = [float(v) for v in range(1, 1001)]
    for v in values:
        t.record(v, t=1000.0)
    assert t.count == 1000 and t.min == 1 and t.max == 1000
    assert t.avg == pytest.approx(500.5)
    assert t.percentile(50) == pytest.approx(500, rel=0.001)
    assert t.percentile(95) == pytest.approx(950, rel=0.001)
    assert t.stat("med") == t.percentile(50)


def test_histograms_merged_across_workers_equal_one_histogram() -> None:
    rng = random.Random(7)
    samples = [rng.lognormvariate(4, 1) for _ in range(20_000)]
    whole = Metrics()
    workers = [Metrics() for _ in range(4)]
    for i, v in enumerate(samples):
        ts = 1_700_000_000 + i * 0.01
        whole.trend("http_req_duration", {"name": "/api"}).record(v, ts)
        workers[i % 4].trend("http_req_duration", {"name": "/api"}).record(v, ts)
    merged = Metrics()
    for w in workers:
        # Through plain builtins, as xdist workers and spool files send them.
        merged.merge(Metrics.from_dict(json.loads(json.dumps(w.to_dict()))))
    a = whole.select("http_req_duration")
    b = merged.select("http_req_duration")
    assert isinstance(a, Trend) and isinstance(b, Trend)
    for p in (50, 90, 95, 99, 99.9):
        assert b.percentile(p) == a.percentile(p)
    assert b.count == a.count == 20_000
    assert b.sum == pytest.approx(a.sum)
    assert b.window_starts() == a.window_starts()
    assert b.window_stats() == a.window_stats()


def test_percentiles_are_the_values_hdrhistogram_itself_gives() -> None:
    # metrics.py scans the summed counts with numpy; HdrHistogram's own merge and scan are the reference.
    from hdrh.histogram import HdrHistogram

    rng = random.Random(3)
    trends = [Trend(), Trend()]
    reference = HdrHistogram(1, 3_600_000_000, 3)
    for i in range(5_000):
        v = rng.lognormvariate(3, 1.2)
        trends[i % 2].record(v, 1_700_000_000 + i * 0.05)  # 50 windows, most of them closed (encoded)
        reference.record_value(round(v * 1000))
    ps = [0.0, 1, 25, 50, 75, 90, 95, 99, 99.9, 100]
    expected = [reference.get_value_at_percentile(p) / 1000 for p in ps]
    assert merged_percentiles(trends, ps) == expected
    trends[0].merge(trends[1])
    assert trends[0].percentiles(ps) == expected
    assert trends[0].stats().p95 == expected[ps.index(95)]
    with pytest.raises(ValueError, match="one resolution"):
        merged_percentiles([Trend(), Trend(resolution=0.0001)], [50])


def test_sparse_windows_give_the_same_numbers_as_histograms() -> None:
    """A window's first few values are kept as a list (memory); every statistic, merge and round trip
    must give what the histogram gives. Windows here hold 1 to 80 values, both sides of the cut-over."""
    from hdrh.histogram import HdrHistogram

    rng = random.Random(9)
    parts = [Trend(), Trend(), Trend()]
    reference = HdrHistogram(1, 3_600_000_000, 3)
    per_window: dict[int, HdrHistogram] = {}
    for w in range(30):
        for _ in range(rng.choice([1, 2, 5, 31, 32, 33, 80])):
            v = rng.lognormvariate(3, 1)
            ts = 1_700_000_000 + WINDOW_S * w + rng.random() * WINDOW_S * 0.99
            rng.choice(parts).record(v, ts)
            reference.record_value(round(v * 1000))
            per_window.setdefault(int(ts // WINDOW_S) * WINDOW_S, HdrHistogram(1, 3_600_000_000, 3)).record_value(
                round(v * 1000))
    parts[0].record(5.0, 1_700_000_000 + 1)  # a late sample into the oldest window
    reference.record_value(5000)
    per_window[1_700_000_000].record_value(5000)
    whole = Trend()
    for part in parts:
        whole.merge(Trend.from_dict(json.loads(json.dumps(part.to_dict()))) if part is parts[2] else part)
    ps = [0.0, 50, 90, 95, 99, 100]
    assert whole.percentiles(ps) == [reference.get_value_at_percentile(p) / 1000 for p in ps]
    assert whole.window_starts() == sorted(per_window)
    for w, stats in whole.window_stats():
        assert stats.count == per_window[w].get_total_count()
        assert stats.avg == per_window[w].get_mean_value() / 1000
        assert stats.p95 == per_window[w].get_value_at_percentile(95) / 1000
    again = Trend.from_dict(json.loads(json.dumps(whole.to_dict())))
    assert again.window_stats() == whole.window_stats() and again.percentiles(ps) == whole.percentiles(ps)


def test_a_short_windows_values_land_in_hdrhistograms_own_buckets() -> None:
    from hdrh.histogram import HdrHistogram

    from perfmon.core.metrics.hdr import _add_values, _no_counts

    reference = HdrHistogram(1, 3_600_000_000, 3)
    rng = random.Random(4)
    values = [0, 1, 2047, 2048, 2049, 4095, 4096, 123_456, 3_600_000_000,
              *(int(rng.lognormvariate(10, 3)) % 3_600_000_000 for _ in range(2000))]
    counts = _no_counts()
    assert _add_values(counts, values) == len(values)
    for v in values:
        reference.record_value(v)
    assert [int(c) for c in counts] == [reference.get_count_at_index(i) for i in range(reference.counts_len)]


def test_a_stored_windows_counts_are_the_ones_hdrhistogram_itself_decodes() -> None:
    from hdrh.histogram import HdrHistogram

    from perfmon.core.metrics.hdr import _add_encoded, _no_counts

    rng = random.Random(6)
    both, reference_both = _no_counts(), HdrHistogram(1, 3_600_000_000, 3)
    # The widest window first: one decoded into the same buffer after it must not see its counts.
    for size in (5_000, 40, 0, 1):
        hist = HdrHistogram(1, 3_600_000_000, 3)
        for _ in range(size):
            hist.record_value(int(rng.lognormvariate(10, 3)) % 3_600_000_000 + 1)
        counts = _no_counts()
        assert _add_encoded(counts, hist.encode()) == size
        reference = HdrHistogram.decode(hist.encode())
        assert [int(c) for c in counts] == [reference.get_count_at_index(i) for i in range(reference.counts_len)]
        _add_encoded(both, hist.encode())  # windows add up
        reference_both.add(reference)
    assert [int(c) for c in both] == [reference_both.get_count_at_index(i) for i in range(reference_both.counts_len)]
    other = HdrHistogram(1, 60_000, 2)  # another layout: left to HdrHistogram.decode
    other.record_value(5)
    assert _add_encoded(_no_counts(), other.encode()) is None


def test_window_averages_are_the_ones_hdrhistogram_itself_gives() -> None:
    from hdrh.histogram import HdrHistogram

    rng = random.Random(5)
    t = Trend()
    reference: dict[int, HdrHistogram] = {}
    for i in range(3_000):
        v = rng.lognormvariate(2, 2)  # from microseconds to minutes: many bucket sizes
        ts = 1_700_000_000 + i * 0.1
        t.record(v, ts)
        reference.setdefault(int(ts // WINDOW_S) * WINDOW_S, HdrHistogram(1, 3_600_000_000, 3)).record_value(
            min(round(v * 1000), 3_600_000_000))
    got = t.window_stats()
    assert [w for w, _ in got] == sorted(reference)
    for w, stats in got:
        assert stats.avg == reference[w].get_mean_value() / 1000
        assert stats.min == reference[w].get_min_value() / 1000 and stats.max == reference[w].get_max_value() / 1000


def test_windows_are_aligned_to_the_epoch_and_kept_encoded() -> None:
    t = Trend()
    for i in range(100):
        t.record(1.0, 10_000.0 + i)  # 100 s -> 20 windows
    wins = t.window_starts()
    assert wins == list(range(10_000, 10_100, WINDOW_S))
    assert len(t._live) <= 3  # older windows were encoded


def test_late_sample_reopens_an_encoded_window() -> None:
    t = Trend()
    for i in range(50):
        t.record(10.0, 5000.0 + i)
    t.record(999.0, 5000.0)
    start, first = t.window_stats()[0]
    assert start == 5000
    assert first.count == WINDOW_S + 1
    assert first.max == pytest.approx(999, rel=0.001)


def test_rate_counter_gauge_merge() -> None:
    a, b = Metrics(), Metrics()
    a.rate("http_req_failed").record(True, 100)
    a.rate("http_req_failed").record(False, 100)
    b.rate("http_req_failed").record(False, 200)
    a.counter("http_reqs").add(2, 100)
    b.counter("http_reqs").add(3, 200)
    a.gauge("vus").record(5, 100)
    b.gauge("vus").record(2, 200)
    a.merge(b)
    assert a.rate("http_req_failed").rate == pytest.approx(1 / 3)
    assert a.counter("http_reqs").count == 5
    g = a.gauge("vus")
    assert (g.value, g.min, g.max) == (2, 2, 5)


def test_coordinated_omission_correction_adds_missing_samples() -> None:
    t = Trend()
    t.record_corrected(1000.0, expected_interval=100.0, t=0)
    assert t.count == 10
    assert t.max == 1000 and t.min == 100


def test_kind_conflicts_and_selector_errors() -> None:
    m = Metrics()
    m.trend("x")
    with pytest.raises(ValueError, match="is a trend, not a rate"):
        m.rate("x")
    assert parse_selector("http_req_duration{name:/a, method:GET}") == (
        "http_req_duration", {"name": "/a", "method": "GET"})
    with pytest.raises(ValueError, match="key:value"):
        parse_selector("x{name}")


def test_cls_resolution_keeps_four_decimals() -> None:
    t = Trend(resolution=0.0001)
    t.record(0.2513)
    assert t.percentile(50) == pytest.approx(0.2513, abs=0.0005)


def test_latest_window_and_select_do_not_change_the_source() -> None:
    t = Trend()
    for i in range(30):
        t.record(float(i), 7000.0 + i)  # six windows, the oldest encoded
    m = Metrics()
    m.merge(Metrics.from_dict([{"name": "y", "tags": {}, **t.to_dict()}]))
    assert m.recent_percentile("y", 100) == pytest.approx(29, rel=0.001)  # the newest window holds 25..29
    m = Metrics()
    m.trend("x", {"a": "1"}).record(10.0, 7000.0)
    m.trend("x", {"a": "2"}).record(30.0, 7000.0)
    merged = m.select("x")
    assert isinstance(merged, Trend) and merged.count == 2
    merged.record(99.0, 7000.0)
    assert m.trend("x", {"a": "1"}).count == 1  # the selection is a copy


def test_progress_shows_the_newest_window_p95() -> None:
    from perfmon.core.config import Scenario
    from perfmon.loadgen.progress import Progress

    m = Metrics()
    for i in range(100):
        m.trend("http_req_duration", {"name": "/a"}).record(10.0, 1_000.0)  # an old window
        m.trend("http_req_duration", {"name": "/b"}).record(500.0 + i, 2_000.0)  # the newest
    line = Progress(Scenario(name="t", executor="constant-vus"), m).line(0.0, 3)
    import re

    found = re.search(r"p95=\s*(\d+)ms", line)
    assert found and 590 <= int(found.group(1)) <= 596  # /b's newest window only, not /a's 10 ms


def test_each_kind_owns_its_statistics() -> None:
    m = Metrics()
    t = m.trend("d")
    for v in range(1, 101):
        t.record(float(v), 1000.0 + (v % 10))  # two windows
    s = t.stats()
    assert (s.count, s.min, s.max, s.avg) == (100, 1, 100, 50.5)
    assert s.p50 == pytest.approx(50, abs=0.1) and s.p99 == pytest.approx(99, abs=0.1)
    windows = t.window_stats()
    assert [w for w, _ in windows] == [1000, 1005] and sum(ws.count or 0 for _, ws in windows) == 100
    r = m.rate("f")
    for i in range(4):
        r.record(i == 0, 1000.0)
    assert r.stats().rate == 0.25 and r.window_stats() == [(1000, Stats(count=4, rate=0.25))]
    c = m.counter("n")
    c.add(10, 1000.0)
    assert c.stats(duration_s=5).rate == 2 and c.window_stats()[0][1].rate == 10 / WINDOW_S
    g = m.gauge("v")
    g.record(3, 1000.0)
    assert g.stats().to_dict()["value"] == 3
    assert sum(n for _, n in t.distribution()) == 100


def test_the_users_of_a_scenario_split_over_processes_add_up() -> None:
    # Two processes, 6 and 4 users through one window (as the engine records them: tag part), and a
    # scenario that ran in one: merged, the histograms would say 5 users (their mean), not 10.
    m = Metrics()
    t0 = 1_700_000_000.0
    for part, users in (("0", 6.0), ("1", 4.0)):
        for i in range(10):
            m.trend("vus_active", {"scenario": "s", "part": part}, resolution=1).record(users, t0 + i * 0.1)
    m.trend("vus_active", {"scenario": "other"}, resolution=1).record(3.0, t0)
    merged = m.select_tags("vus_active", {"scenario": "s"})
    assert isinstance(merged, Trend) and merged.avg == pytest.approx(5.0)
    assert m.summed_over_parts("vus_active", {"scenario": "s"}, "avg") == {int(t0 // WINDOW_S * WINDOW_S): 10.0}
    assert list(m.summed_over_parts("vus_active", {}, "max").values()) == [13.0]  # and other scenarios add on


def test_every_buckets_edges_are_the_ones_hdrhistogram_itself_computes() -> None:
    from hdrh.histogram import HdrHistogram

    from perfmon.core.metrics.hdr import _bucket_edges

    hist = HdrHistogram(1, 3_600_000_000, 3)
    start, width = _bucket_edges()
    assert len(start) == hist.counts_len
    for i in range(hist.counts_len):
        value = hist.get_value_from_index(i)
        assert (int(start[i]), int(start[i] + width[i] - 1)) == (
            hist.get_lowest_equivalent_value(value), hist.get_highest_equivalent_value(value)), i
