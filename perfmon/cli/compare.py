"""``perfmon compare``: two stored runs side by side, key metrics, thresholds and the series that
moved beyond sampling noise."""

from __future__ import annotations

import argparse

from ..core.errors import ConfigError
from ..core.numbers import number
from ..core.results import Run
from ..core.thresholds import ThresholdOutcome
from ._common import Subcommands, config, fmt, reading_store

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    cmp_ = sub.add_parser("compare", help="two stored runs side by side, key metrics and thresholds")
    cmp_.add_argument("base", help="the baseline run id (or prefix)")
    cmp_.add_argument("candidate", help="the run to compare with it")
    cmp_.add_argument("--across", action="store_true",
                      help="compare runs of different test types, environments, profiles or targets on purpose")
    cmp_.set_defaults(handler=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    with reading_store(config(args)) as store:
        _compare(store.load_run(args.base), store.load_run(args.candidate), across=args.across)
    return 0


# The summary's figures under performance_test_runs' column names (WS-180), as people query them.
_SPEC_COLUMN = {"avg_response_time": "avg_response_time_ms", "p95_response_time": "p95_response_time_ms",
                "error_rate": "error_rate", "throughput": "throughput_rps"}


def _compare(base: Run, cand: Run, *, across: bool) -> None:
    """Key metrics and every threshold of two runs, with the change from base to candidate."""
    from ..analysis.history import difference

    if not across and (why := difference(cand, base)) is not None:
        raise ConfigError(f"run {base.run_id[:8]} is not comparable with {cand.run_id[:8]}: its {why}; compare "
                          f"runs of one test type, environment, profile and target, or pass --across")
    a, b = base.summary_metrics().to_dict(), cand.summary_metrics().to_dict()
    rows = [("metric", f"base {base.run_id[:8]}", f"candidate {cand.run_id[:8]}", "change")]
    for key in a:
        va, vb = a[key], b[key]
        change = "-" if va is None or vb is None or va == 0 else f"{100 * (vb - va) / va:+.1f}%"
        rows.append((_SPEC_COLUMN[key], fmt(va), fmt(vb), change))
    seen_a = {(o.threshold.metric, o.threshold.expression): o for o in base.thresholds}
    seen_b = {(o.threshold.metric, o.threshold.expression): o for o in cand.thresholds}
    for pair in sorted(set(seen_a) | set(seen_b)):
        oa, ob = seen_a.get(pair), seen_b.get(pair)

        def cell(o: ThresholdOutcome | None) -> str:
            return "-" if o is None else f"{fmt(o.observed)} {'pass' if o.passed else 'FAIL'}"

        rows.append((f"{pair[0]}: {pair[1]}", cell(oa), cell(ob), ""))
    rows.append(("verdict", base.status.upper(), cand.status.upper(), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    from ..analysis.history.regression import compare_two
    from ..analysis.history.series import observe

    changed = [f for f in compare_two(observe(base), observe(cand)) if f.kind != "same"]
    print(f"series beyond sampling noise (run-to-run noise is unknown from two runs; `perfmon regressions` "
          f"judges against history): {len(changed) or 'none'}")
    for f in sorted(changed, key=lambda f: f.q_value):
        change = "-" if f.change is None else f"{100 * f.change:+.1f}%"
        print(f"  {'REGRESSION' if f.kind == 'regression' else 'improved'}  {f.key}  {number(f.baseline, digits=4)} -> "
              f"{number(f.observed, digits=4)}  {change}  confidence {f.confidence:.3f}")
