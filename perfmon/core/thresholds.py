"""Thresholds in k6's syntax, parsed into check objects.

``{"http_req_duration": ["p(95)<2000", {"threshold": "avg<1500", "abortOnFail": true}]}``
becomes a list of :class:`Threshold`. Parse errors name the source line, the expression and
what was expected, because they come from files people edit by hand.

A threshold may end in ``over DURATION`` (``"rate<0.05 over 30s"``): it must then hold on every
sliding span of that length, read from the per-window metrics, not only over the whole run. A 100 %
error burst at the top of a ramp is invisible to a whole-run rate; k6 users have asked for this
since 2019 (its issues #1136, #1737, #2379). The span is a whole number of windows (``WINDOW_S``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .durations import parse_duration
from .errors import ConfigError, ThresholdError
from .metrics import WINDOW_S, Counter, Metrics, Trend, parse_selector, sliding_spans
from .numbers import number
from .samples import QUARANTINED

__all__ = ["Threshold", "ThresholdOutcome", "evaluate", "iteration_breaches", "parse_thresholds"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "===": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_AGG = r"(?:avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))"
_EXPR = re.compile(rf"^\s*(?P<agg>{_AGG})\s*(?P<op><=|>=|===|==|!=|<|>)\s*(?P<num>-?\d+(?:\.\d+)?(?:e-?\d+)?)"
                   r"(?:\s+over\s+(?P<over>\S+))?\s*$")
# What each kind of metric can be aggregated by (k6's rules), and the kind of every metric perfmon
# records itself, so a threshold that cannot fit (a rate on a Trend) is refused when the config loads.
_AGGREGATIONS = {"trend": "avg, min, max, med, count or p(N)", "rate": "rate or count", "counter": "count or rate",
                 "gauge": "value, min or max"}
_BUILTIN_KINDS = {
    **dict.fromkeys(("http_req_duration", "http_req_server_duration", "iteration_duration", "browser_step_duration",
                     "browser_iteration_duration", "browser_tbt", "browser_vital_lcp", "browser_vital_inp",
                     "browser_vital_cls", "browser_vital_fcp", "browser_vital_ttfb", "spike_recovery_time",
                     "vus_active"), "trend"),
    **dict.fromkeys(("http_req_failed", "checks", "iteration_failed", "browser_step_failed",
                     "browser_iteration_failed"), "rate"),
    **dict.fromkeys(("http_reqs", "iterations", "dropped_iterations", "http_req_errors", "script_errors",
                     "browser_iterations"), "counter"),
    **dict.fromkeys(("vus", "memory_growth_mb_per_min"), "gauge"),
}
_EXPECTED = "expected AGGREGATION OPERATOR NUMBER such as 'p(95)<2000', 'avg<=1500', 'rate<0.01' or 'count>100'"


@dataclass(frozen=True)
class Threshold:
    """One check on one metric selector, e.g. ``http_req_duration{endpoint:login}`` ``p(95)<2000``."""

    metric: str
    expression: str
    aggregation: str
    op: str
    value: float
    abort_on_fail: bool = False
    delay_abort_eval_s: float = 0.0
    builtin: bool = False  # one of perfmon's defaults, not written by the user
    over_s: float | None = None  # a windowed threshold: it must hold on every sliding span this long

    def check(self, observed: float | None) -> bool:
        # A metric that produced no data cannot prove anything, except that a count is zero.
        if observed is None:
            return False
        return _OPS[self.op](observed, self.value)

    def __str__(self) -> str:
        return f"{self.metric}: {self.expression}"

    def to_dict(self) -> dict[str, Any]:
        """Aggregation, operator and value are left out: they are read again from the expression."""
        return {"metric": self.metric, "expression": self.expression, "abort_on_fail": self.abort_on_fail,
                "delay_abort_eval_s": self.delay_abort_eval_s, "builtin": self.builtin}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Threshold:
        parsed = _parse_one(str(d["metric"]), str(d["expression"]), lambda needle: "threshold")
        return replace(parsed, abort_on_fail=bool(d.get("abort_on_fail")),
                       delay_abort_eval_s=float(d.get("delay_abort_eval_s") or 0.0), builtin=bool(d.get("builtin")))


OutcomeStatus = Literal["pass", "fail", "no data"]


@dataclass(frozen=True)
class ThresholdOutcome:
    """How one threshold fared. A threshold with no samples fails when the user wrote it and is
    "no data" (shown, never failing) when it is a built-in default the suite never fed."""

    threshold: Threshold
    observed: float | None
    passed: bool
    problem: str | None = None  # why it could not be evaluated (its aggregation does not fit the metric)
    set_aside: int = 0  # with no data: the samples quarantined (measured on a saturated client), not judged

    @property
    def status(self) -> OutcomeStatus:
        if not self.passed:
            return "fail"
        return "no data" if self.observed is None else "pass"

    @property
    def detail(self) -> str:
        """What was seen, for summaries and reports."""
        if self.problem is not None:
            return f"cannot be evaluated: {self.problem}"
        if self.observed is not None:
            span = f" (worst {self.threshold.over_s:g}s span)" if self.threshold.over_s is not None else ""
            return f"observed {number(self.observed, digits=4)}{span}"
        metric = parse_selector(self.threshold.metric)[0]
        if self.set_aside:
            said = "no data" if self.passed else "no samples"
            return f"{said}: 0 clean of {self.set_aside} (all measured on a saturated client, quarantined)"
        if self.passed:
            return f"no data: this run recorded no {metric} (built-in default, not judged)"
        return f"no samples: nothing recorded {metric}"

    def to_dict(self) -> dict[str, Any]:
        found = {**self.threshold.to_dict(), "observed": self.observed, "passed": self.passed}
        return found | ({"problem": self.problem} if self.problem else {}) | (
            {"set_aside": self.set_aside} if self.set_aside else {})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ThresholdOutcome:
        return cls(Threshold.from_dict(d), d.get("observed"), bool(d["passed"]), d.get("problem"),
                   int(d.get("set_aside") or 0))


def _locate(source: str | None, text: str | None, needle: str) -> str:
    if not source:
        return "threshold"
    if text:
        for lineno, line in enumerate(text.splitlines(), 1):
            if needle in line:
                return f"{source}:{lineno}"
    return source


def _parse_one(metric: str, item: Any, where: Callable[[str], str]) -> Threshold:
    if isinstance(item, str):
        expr, abort, delay = item, False, 0.0
    elif isinstance(item, Mapping):
        unknown = set(item) - {"threshold", "abortOnFail", "delayAbortEval"}
        if "threshold" not in item or unknown:
            msg = (
                f"{where(metric)}: threshold entry {dict(item)!r} for {metric}: expected keys threshold, "
                "abortOnFail, delayAbortEval"
            )
            raise ThresholdError(msg)
        expr = str(item["threshold"])
        abort = item.get("abortOnFail", False)
        if not isinstance(abort, bool):  # "false" as a string is truthy: it would abort
            raise ThresholdError(f"{where('abortOnFail')}: abortOnFail of {metric} = {abort!r}: expected true or false")
        try:
            delay = parse_duration(item.get("delayAbortEval", "0s"), what=f"delayAbortEval of {metric}")
        except ConfigError as exc:
            raise ThresholdError(f"{where('delayAbortEval')}: {exc}") from None
    else:
        msg = f"{where(metric)}: threshold {item!r} for {metric}: {_EXPECTED}"
        raise ThresholdError(msg)
    m = _EXPR.match(expr)
    if m is None:
        msg = f"{where(expr)}: threshold {expr!r} for {metric}: {_EXPECTED}"
        raise ThresholdError(msg)
    agg = re.sub(r"\s+", "", m["agg"])
    over = None
    if m["over"] is not None:
        try:
            over = parse_duration(m["over"], what=f"the span of {expr.strip()!r}")
        except ConfigError as exc:
            raise ThresholdError(f"{where(expr)}: {exc}") from None
        if over < WINDOW_S or over % WINDOW_S:
            msg = (f"{where(expr)}: threshold {expr!r} for {metric}: a span must be a whole number of "
                   f"{WINDOW_S}s windows (the metrics' resolution), e.g. 'over 10s'")
            raise ThresholdError(msg)
    if agg.startswith("p(") and not 0 <= float(agg[2:-1]) <= 100:
        msg = f"{where(expr)}: threshold {expr!r} for {metric}: a percentile must be between p(0) and p(100)"
        raise ThresholdError(msg)
    base = parse_selector(metric)[0]
    kind = _BUILTIN_KINDS.get(base)
    family = "p(N)" if agg.startswith("p(") else agg
    if kind is not None and family not in _AGGREGATIONS[kind].replace(",", " ").split():
        msg = (f"{where(expr)}: threshold {expr!r} for {metric}: {base} is a {kind}, which has no {agg}; "
               f"use {_AGGREGATIONS[kind]}")
        raise ThresholdError(msg)
    if over is not None and kind == "gauge":
        msg = f"{where(expr)}: threshold {expr!r} for {metric}: {base} is a gauge, which keeps no windows; drop 'over'"
        raise ThresholdError(msg)
    return Threshold(metric, expr.strip(), agg, m["op"], float(m["num"]), abort, delay, over_s=over)


def parse_thresholds(
    spec: Mapping[str, Any], *, source: str | None = None, text: str | None = None
) -> list[Threshold]:
    """Parse a ``{selector: [expression | {threshold, abortOnFail, delayAbortEval}]}`` mapping.

    ``source`` and ``text`` (the file name and its contents) let errors point at a line.
    """

    def where(needle: str) -> str:
        return _locate(source, text, needle)

    if not isinstance(spec, Mapping):
        msg = (f"{where('thresholds')}: thresholds = {spec!r}: expected a table of metric = [expressions], "
               "e.g. [tool.perfmon.scenarios.load.thresholds] http_req_duration = [\"p(95)<2000\"]")
        raise ThresholdError(msg)
    out: list[Threshold] = []
    for metric, items in spec.items():
        try:
            parse_selector(metric)
        except ValueError as exc:
            raise ThresholdError(f"{where(metric)}: {exc}") from None
        seq: Sequence[Any] = [items] if isinstance(items, str | Mapping) else items
        if not isinstance(seq, Sequence):
            msg = f"{where(metric)}: thresholds for {metric} must be a list of expressions"
            raise ThresholdError(msg)
        out.extend(_parse_one(metric, item, where) for item in seq)
    return out


def evaluate(
    thresholds: Sequence[Threshold], metrics: Metrics, *, duration_s: float | None = None, newest_span: bool = False
) -> list[ThresholdOutcome]:
    """Check every threshold against merged metrics. A selector with no data fails (k6 does too,
    for thresholds on absent sub-metrics): silence is not a pass in a CI gate. The exception is a
    built-in default, which is reported as "no data" instead: the user never asked for it.
    An aggregation that does not fit the metric it met (a custom metric, so unknown at load time)
    fails that threshold with the reason, and the run is judged and kept all the same.

    ``newest_span``: a windowed threshold checks only its two newest spans, the one ending in the
    window being filled and the one ending in the window just closed (an abortOnFail watcher ticks
    more often than windows close, so its earlier ticks checked the rest)."""
    outcomes: list[ThresholdOutcome] = []
    for t in thresholds:
        metric = metrics.select(t.metric)
        observed: float | None
        if t.over_s is not None and metric is not None:
            try:
                observed, passed = _worst_span(t, metric, newest_only=newest_span)
            except ValueError as exc:
                outcomes.append(ThresholdOutcome(t, None, False, problem=str(exc)))
                continue
            outcomes.append(ThresholdOutcome(t, observed, passed if observed is not None else t.builtin))
            continue
        if metric is None:
            observed = 0.0 if t.aggregation == "count" else None
        else:
            try:
                if isinstance(metric, Counter):
                    observed = metric.stat(t.aggregation, duration_s)
                else:
                    observed = metric.stat(t.aggregation)
            except ValueError as exc:
                outcomes.append(ThresholdOutcome(t, None, False, problem=str(exc)))
                continue
        passed = t.builtin if observed is None else t.check(observed)
        held = _set_aside(t, metrics) if observed is None else 0
        outcomes.append(ThresholdOutcome(t, observed, passed, set_aside=held))
    return outcomes


def _set_aside(t: Threshold, metrics: Metrics) -> int:
    """How many of the threshold's samples were quarantined, when none was left to judge."""
    name, tags = parse_selector(t.metric)
    held = metrics.select_tags(name + QUARANTINED, tags)
    return held.count if isinstance(held, Trend) else 0


def _worst_span(t: Threshold, metric: Any, *, newest_only: bool = False) -> tuple[float | None, bool]:
    """A windowed threshold on every sliding span (or only the newest): the value of the worst span
    that breaks it (else of the one closest to its bound), and whether every span with samples held."""
    assert t.over_s is not None
    starts = metric.window_starts()
    if not starts:
        metric.stat_over(t.aggregation, [])  # a metric that keeps no windows says so (ValueError)
    spans = sliding_spans(starts, t.over_s)
    seen = [v for span in (spans[-2:] if newest_only else spans)
            if (v := metric.stat_over(t.aggregation, span)) is not None]
    if not seen:
        return None, False
    broken = [v for v in seen if not t.check(v)]
    if broken:
        worst = max(broken) if t.op.startswith("<") else min(broken) if t.op.startswith(">") else broken[0]
        return worst, False
    return (max(seen) if t.op.startswith("<") else min(seen)), True


def iteration_breaches(thresholds: Sequence[Threshold], metrics: Metrics) -> list[str]:
    """Which bounds one iteration's own values break, e.g. an LCP of 4 s against ``p(75)<=2500``.

    A threshold judges the whole run; one iteration cannot fail a p75. But the iteration whose
    own value lies beyond the bound is the one worth a trace, so its worst value (the maximum
    against an upper bound, the minimum against a lower one) is checked against the bound.
    Rates and counts are left to the run: a failed step already keeps its evidence."""
    out: list[str] = []
    for t in thresholds:
        if t.op not in ("<", "<=", ">", ">=") or t.aggregation in ("count", "rate"):
            continue
        metric = metrics.select(t.metric)
        if not isinstance(metric, Trend) or not metric.count:
            continue
        worst = metric.stat("max" if t.op.startswith("<") else "min")
        if worst is not None and not t.check(worst):
            out.append(f"{t}: this iteration reached {worst:g}")
    return out
