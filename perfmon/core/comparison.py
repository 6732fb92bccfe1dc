"""A run against its history, as typed objects: what the regression gate and the change-point scan
found (analysis/history/ computes them; this module only holds them).

:class:`HistoryComparison` is ``Run.comparison``. Like the other findings (core/findings.py) it
has ``describe()`` (the summary's lines, each with its severity), ``to_dict()`` (the plain builtins
kept in the run's ``metadata["regressions"]``, the shape stores and summary.json's v1 have always
had) and ``from_dict()`` (its inverse). The terminal summary, Markdown, JUnit, summary.json, the
stores' regression rows, ``perfmon regressions`` and ``perfmon capacity`` read the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .findings import Line
from .numbers import number

__all__ = ["ChangePoint", "HistoryComparison", "Pace", "SeriesChange"]


@dataclass(frozen=True)
class SeriesChange:
    """One series judged against its baseline. ``kind`` is ``regression``, ``improvement`` or ``same``."""

    key: str
    metric: str
    statistic: str
    tags: tuple[tuple[str, str], ...]
    unit: str
    baseline: float
    observed: float
    change: float | None  # relative, signed (observed / baseline - 1); None when the baseline is 0
    p_value: float
    q_value: float  # Benjamini–Hochberg adjusted
    detectable: float | None  # smallest relative change detectable at `power`; None when the baseline is 0
    runs: int
    kind: str

    @property
    def confidence(self) -> float:
        return 1.0 - self.q_value

    def moved(self) -> str:
        """``22.7 -> 24.1 ms (+6.1%), confidence 0.998``."""
        unit = f" {self.unit}" if self.unit not in ("", "share") else ""
        pct = "" if self.change is None else f" ({100 * self.change:+.1f}%)"
        return (f"{number(self.baseline, digits=4)} -> {number(self.observed, digits=4)}{unit}{pct}, "
                f"confidence {self.confidence:.3f}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tags": dict(self.tags)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SeriesChange:
        return cls(str(d["key"]), str(d["metric"]), str(d["statistic"]),
                   tuple((str(k), str(v)) for k, v in dict(d.get("tags") or {}).items()), str(d["unit"]),
                   float(d["baseline"]), float(d["observed"]), _maybe(d.get("change")), float(d["p_value"]),
                   float(d["q_value"]), _maybe(d.get("detectable")), int(d["runs"]), str(d["kind"]))


@dataclass(frozen=True)
class ChangePoint:
    """A step in a series across the run history, and the first run (and commit range) after it."""

    key: str
    unit: str
    higher_is_worse: bool
    first_run: str  # the first run after the change
    previous_sha: str | None
    first_sha: str | None
    before: float  # mean of the segment before
    after: float  # mean of the segment after
    change: float | None  # relative
    p_value: float
    worse: bool

    def commits(self) -> str:
        """``(previous, first]``, each cut to 8 characters."""
        return f"({(self.previous_sha or '?')[:8]}, {(self.first_sha or '?')[:8]}]"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChangePoint:
        return cls(str(d["key"]), str(d["unit"]), bool(d["higher_is_worse"]), str(d["first_run"]),
                   _text(d.get("previous_sha")), _text(d.get("first_sha")), float(d["before"]), float(d["after"]),
                   _maybe(d.get("change")), float(d["p_value"]), bool(d["worse"]))


@dataclass(frozen=True)
class Pace:
    """How a run was adjusted: its pace against its baseline's (``change``: relative), the history the
    slopes were fitted on, and each adjusted endpoint's slope."""

    change: float
    runs: int
    slopes: dict[str, float]

    def describe(self) -> str:
        top = max(self.slopes.values(), default=0.0)
        return (f"adjusted for the machine's pace: the load generator used {100 * self.change:+.1f}% CPU per "
                f"request against its baseline runs; latency slopes up to {top:.2f}, fitted over {self.runs} runs")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pace:
        return cls(float(d["change"]), int(d["runs"]), {str(k): float(v) for k, v in dict(d["slopes"]).items()})


@dataclass(frozen=True)
class HistoryComparison:
    """The gate's findings for one run, or why there are none (``note``)."""

    against: tuple[str, ...] = ()  # baseline run ids, newest first
    findings: tuple[SeriesChange, ...] = ()
    note: str | None = None  # "not enough history …", "compared across machines …"
    previous_sha: str | None = None  # the newest baseline run's commit: a regression lies in (previous, this]
    change_points: tuple[ChangePoint, ...] = ()  # steps across the whole history
    pace: Pace | None = None  # how the latency series were adjusted for the machine's pace
    mode: str | None = None  # the run's `regressions` setting: fail, warn (None: not compared)
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys a newer perfmon stored, kept as they were
    unjudged: str | None = None  # why a run without a verdict has no regressions ("the run was unmeasured")

    @property
    def regressions(self) -> list[SeriesChange]:
        return [] if self.unjudged else [f for f in self.findings if f.kind == "regression"]

    @property
    def improvements(self) -> list[SeriesChange]:
        return [f for f in self.findings if f.kind == "improvement"]

    @property
    def worse_steps(self) -> list[ChangePoint]:
        return [] if self.unjudged else [c for c in self.change_points if c.worse]

    @property
    def gating(self) -> bool:
        """Whether its regressions fail the run (``regressions = "fail"``, the default)."""
        return (self.mode or "fail") == "fail"

    def describe(self) -> list[Line]:
        """The comparison in the summary: regressions (failing), improvements, steps, what it could see."""
        lines: list[Line] = []
        if self.unjudged:
            worse = sum(f.kind == "regression" for f in self.findings)
            return [(f"  history: not judged: {self.unjudged}" + (f" ({worse} series moved against "
                     f"{len(self.against)} run(s); see the report)" if worse else ""), "plain")]
        if self.findings:
            lines.append((f"  history: compared with {len(self.against)} comparable run(s)", "plain"))
        if self.note:
            lines.append((f"  history: {self.note}", "plain"))
            if not self.findings:
                return lines
        if self.pace is not None:
            lines.append((f"  history: {self.pace.describe()}", "plain"))
        lines += [(f"  REGRESSION  {f.key}  {f.moved()}", "fail") for f in self.regressions]
        lines += [(f"  improved  {f.key}  {f.moved()}", "plain") for f in self.improvements]
        for c in self.change_points:
            change = "" if c.change is None else f" ({100 * c.change:+.1f}%)"
            word = "STEP (worse)" if c.worse else "step (better)"
            moved = f"{number(c.before, digits=4)} -> {number(c.after, digits=4)}"
            lines.append((f"  {word}  {c.key}  {moved}{change} from run {c.first_run[:8]}, commits {c.commits()}",
                          "plain"))
        reach = sorted((f for f in self.findings if f.kind == "same" and f.detectable is not None),
                       key=lambda f: f.detectable or 0.0)
        if reach:
            shown = ", ".join(f"{f.key} >= {100 * (f.detectable or 0.0):.0f}%" for f in reach[:3])
            more = f" (and {len(reach) - 3} more)" if len(reach) > 3 else ""
            lines.append((f"  smallest detectable changes: {shown}{more}", "plain"))
        return lines

    def to_dict(self) -> dict[str, Any]:
        pace = {**asdict(self.pace), "described": self.pace.describe()} if self.pace else None
        return {**self.extra, "against": list(self.against), "note": self.note, "previous_sha": self.previous_sha,
                "pace": pace, "change_points": [asdict(c) for c in self.change_points],
                "findings": [f.to_dict() for f in self.findings], **({"mode": self.mode} if self.mode else {}),
                **({"unjudged": self.unjudged} if self.unjudged else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HistoryComparison:
        """Raises KeyError, TypeError or ValueError on a malformed entry (the caller keeps it as it was)."""
        known = {"against", "note", "previous_sha", "pace", "change_points", "findings", "mode", "unjudged"}
        pace = d.get("pace")
        return cls(tuple(str(r) for r in d.get("against") or ()),
                   tuple(SeriesChange.from_dict(f) for f in d.get("findings") or ()), _text(d.get("note")),
                   _text(d.get("previous_sha")), tuple(ChangePoint.from_dict(c) for c in d.get("change_points") or ()),
                   Pace.from_dict(pace) if isinstance(pace, Mapping) else None, _text(d.get("mode")),
                   {k: v for k, v in d.items() if k not in known}, _text(d.get("unjudged")))


def _maybe(value: Any) -> float | None:
    return None if value is None else float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
