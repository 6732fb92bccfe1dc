"""Quarantine per sample: browser numbers measured while the client was saturated are kept out of
the verdict, one sample at a time.

Every browser sample (a step, a vital, a navigation phase) arrives with the interval it measured
(``perfmon.core.samples``); the sampler says which seconds the client was saturated (a runner
process at 90 % of a core or, while browsers ran, the browsers and runners held up waiting for a CPU;
``perfmon.system.resources``). A sample that spent 10 % or more of its interval in those seconds is
quarantined; the rest become the run's browser Trends, which the thresholds, the history and the
report read. Quarantined samples are kept apart, in
``<metric>_quarantined``, never judged. Each metric's clean and total counts are kept in
``run.metadata["quarantine"]`` for the summary, the report and summary.json.

When fewer than ``min_clean`` of the samples of a metric the verdict reads (a threshold's, or one the
history gate compares) are clean, what is left is not the run that was asked for (the clean
seconds are the quiet ones), so the run is unmeasured. Counts and sizes (resources, DOM nodes,
heap) are never quarantined: a busy client does not change them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from ..core.config import JUDGED_METRICS
from ..core.metrics import parse_selector
from ..core.results import Run
from ..core.samples import QUARANTINED, Sample, TimedSamples
from .advice import CONTENTION, busy_client_advice, who_took_the_cpu

__all__ = ["DIRTY_SHARE", "QUARANTINE", "clean_shortfall", "quarantine"]

QUARANTINE = "quarantine"  # run.metadata key
# A sample is quarantined when saturated time took this share of its interval or more: a saturated
# stretch can stretch what it overlaps by about its own length, so past the calibration margin (10 %)
# the sample is not trusted; a short sample inside a saturated second always is quarantined.
DIRTY_SHARE = 0.1
_MIN_SAMPLES = 5  # fewer samples of a metric than this are too few to say it is mostly distorted


def _overlaps(busy: Sequence[tuple[float, float]]) -> Callable[[Sample], bool]:
    """A test of whether saturated time (``busy``: sorted, disjoint spans) took more than
    ``DIRTY_SHARE`` of a sample's interval; an instant sample is dirty inside a span."""
    ends = [e for _, e in busy]

    def dirty(sample: Sample) -> bool:
        _, start, end = sample
        i = bisect.bisect_left(ends, start)  # the first span that ends at or after the sample starts
        overlap, touched = 0.0, False
        while i < len(busy) and busy[i][0] <= end:
            overlap += max(0.0, min(end, busy[i][1]) - max(start, busy[i][0]))
            touched = True
            i += 1
        return touched and overlap >= DIRTY_SHARE * (end - start)

    return dirty


def quarantine(run: Run, timed: TimedSamples, busy: Sequence[tuple[float, float]], *, min_clean: float) -> None:
    """Record ``timed``'s clean samples into ``run.metrics`` and count, per metric, how many were clean
    (adding to the counts of an earlier call)."""
    dirty = _overlaps(sorted(busy))
    # Counts add up over calls: a sharded run quarantines each shard's samples by its own machine's spans.
    earlier = (run.metadata.get(QUARANTINE) or {}).get("metrics") or {}
    counts: dict[str, list[int]] = {k: [int(v["clean"]), int(v["total"])] for k, v in earlier.items()}
    for name, tags, resolution, samples in timed.series():
        # Quarantined samples are kept, never judged: under a name no threshold, history series or chart
        # reads, for the report and for `perfmon calibrate`, which measures how far they drift.
        kept = 0
        for value, start, end in samples:
            bad = dirty((value, start, end))
            run.metrics.trend(name + QUARANTINED if bad else name, tags, resolution=resolution).record(value, end)
            kept += not bad
        total = counts.setdefault(name, [0, 0])
        total[0] += kept
        total[1] += len(samples)
    if counts:
        run.metadata[QUARANTINE] = {"min_clean": min_clean,
                                    "metrics": {k: {"clean": c, "total": t} for k, (c, t) in sorted(counts.items())}}


def clean_shortfall(run: Run) -> str | None:
    """The reason a run's browser numbers cannot be judged, when too few of the samples of a metric the
    verdict reads (a threshold's, or one the history gate compares) were clean; ``None`` otherwise."""
    found = run.metadata.get(QUARANTINE)
    if not isinstance(found, dict):
        return None
    min_clean = float(found.get("min_clean") or 0.0)
    judged = set(JUDGED_METRICS) | {parse_selector(o.threshold.metric)[0] for o in run.thresholds}
    short = []
    clean = total = 0
    for name, c in (found.get("metrics") or {}).items():
        clean, total = clean + int(c["clean"]), total + int(c["total"])
        if name in judged and int(c["total"]) >= _MIN_SAMPLES and int(c["clean"]) < min_clean * int(c["total"]):
            short.append((int(c["clean"]) / int(c["total"]), name))
    if not short:
        return None
    worst = ", ".join(f"{name} {share:.0%}" for share, name in sorted(short)[:3])
    contention = run.metadata.get(CONTENTION)
    # Where the kernel keeps no scheduler statistics the sampler fell back on the machine's CPU percent.
    how = "; judged by CPU percent: this kernel keeps no scheduler statistics" \
        if isinstance(contention, dict) and contention.get("wait_measured") is False else ""
    who = who_took_the_cpu(run)
    return (f"only {clean} of {total} browser samples were measured on an unsaturated client ({worst} clean; "
            f"min_clean_share = {min_clean:g}{how}){f'; while they waited, {who}' if who else ''}: "
            f"{busy_client_advice(run)}")
