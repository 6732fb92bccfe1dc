"""Step changes in a series across the run history, and the first run (and commit range) of each.

The gate compares one run with its baseline; a slow creep, a few percent per release, never looks
significant against the last ten runs. Change-point detection looks at the whole series instead:
ruptures' PELT with a least-squares cost finds where the mean shifts (as ``KernelCPD`` with the
linear kernel: the same cost and segmentation, computed in C, about 100 times faster than
``Pelt(model="l2")``, which computes a variance per candidate segment in Python). The penalty is
the usual ``3·log(n)·σ²`` with the noise σ estimated robustly from successive differences
(MAD / 0.6745 / √2), so a step must stand out from run-to-run noise, not from the series' own spread
(which the step inflates). Each change is then kept only if Welch's t-test (scipy) on the segments
either side agrees and the shift exceeds the gate's minimum effect, and is attributed to the first
run after it and the commit range ``(previous SHA, SHA]``. The split was chosen because it separates
the segments best, so its t-test p-value is multiplied by the number of places it could have been
(Bonferroni over the scan), and the steps of all series go through Benjamini–Hochberg together: on
the bench's histories without a step this took false steps from 5–9 of 50 to 0 (bench/README.md).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ...core.comparison import ChangePoint
from ...core.config import GateSettings
from ...core.results import Run
from .series import Observation, observe

__all__ = ["MIN_POINTS", "ChangePoint", "change_points"]

MIN_POINTS = 8  # fewer runs than this and a step cannot be told from noise
_MIN_SEGMENT = 3


def change_points(runs: Sequence[Run], settings: GateSettings = GateSettings(),  # noqa: B008
                  observed: Sequence[Sequence[Observation]] | None = None) -> list[ChangePoint]:
    """Step changes in every series of ``runs`` (oldest first, all comparable); ``observed`` is their
    observations when the caller has them already."""
    if len(runs) < MIN_POINTS:
        return []
    import numpy as np
    import ruptures
    from scipy import stats as sps

    seen: list[dict[str, Observation]] = [{o.key: o for o in obs} for obs in (observed or [observe(r) for r in runs])]
    keys = sorted({k for obs in seen for k in obs})
    found: list[ChangePoint] = []
    p_values: list[float] = []
    for key in keys:
        points = [(i, obs[key]) for i, obs in enumerate(seen) if key in obs]
        if len(points) < MIN_POINTS:
            continue
        values = np.array([o.value for _, o in points], dtype=float)
        sigma = float(np.median(np.abs(np.diff(values)))) / 0.6745 / math.sqrt(2)
        if sigma <= 0:
            sigma = float(np.std(values)) or 1e-9
        ends = ruptures.KernelCPD(kernel="linear", min_size=_MIN_SEGMENT, jump=1).fit(values.reshape(-1, 1)).predict(
            pen=3 * math.log(len(values)) * sigma**2)
        start = 0
        bounds = [b for b in ends if b < len(values)]
        for n, split in enumerate(bounds):
            stop = bounds[n + 1] if n + 1 < len(bounds) else len(values)
            before, after = values[start:split], values[split:stop]
            start = split
            if len(before) < 2 or len(after) < 2:
                continue
            places = len(values) - 2 * _MIN_SEGMENT + 1
            p = min(1.0, places * float(sps.ttest_ind(after, before, equal_var=False).pvalue))
            mean_before, mean_after = float(statistics.fmean(before)), float(statistics.fmean(after))
            first = points[split][1]
            if abs(mean_after - mean_before) < settings.min_effect(mean_before, first.unit, first.metric):
                continue
            run_index = points[split][0]
            previous = runs[points[split - 1][0]]
            higher = mean_after > mean_before
            found.append(ChangePoint(key, first.unit, first.higher_is_worse, runs[run_index].run_id,
                                     previous.git_sha, runs[run_index].git_sha, mean_before, mean_after,
                                     (mean_after / mean_before - 1) if mean_before else None, p,
                                     higher == first.higher_is_worse))
            p_values.append(p)
    if not found:
        return []
    adjusted = sps.false_discovery_control(p_values, method="bh")
    return [c for c, q in zip(found, adjusted, strict=True) if q <= settings.fdr]
