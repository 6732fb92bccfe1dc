"""What the analyses found about one run, as typed objects: every output reads these.

Each finding is a frozen dataclass with ``describe()`` (the summary's line and its severity: the
severity, never words in the text, decides how a line is drawn), ``to_dict()`` (the plain builtins
stored in the run's ``metadata["derived"]`` under the finding's ``key``, the shape summary.json's v1
``derived`` has always had) and ``from_dict()`` (its inverse, for a run read back from a store or a
spool). ``Run.findings`` holds them; the terminal summary, Markdown, HTML, summary.json, the stores'
regression rows and the capacity tables read the same objects.

A key this perfmon does not know (a run stored by a newer one) is kept as :class:`OtherFinding`, so
re-storing a run never drops what it found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar, Literal

from .numbers import number

__all__ = [
    "SCENARIO_FINDINGS",
    "DbBottleneck",
    "Finding",
    "GeneratorCost",
    "JourneyCost",
    "Leak",
    "Leaks",
    "Line",
    "MemoryGrowth",
    "OtherFinding",
    "RampBreak",
    "Scalability",
    "Severity",
    "SpikeRecovery",
    "UslFit",
    "derived_dict",
    "findings_from",
]

Severity = Literal["plain", "pass", "fail"]
Line = tuple[str, Severity]  # a summary line and how it is drawn


@dataclass(frozen=True)
class SpikeRecovery:
    """How long a spike scenario's p95 took to come back near its pre-spike level, or why it has no time."""

    kind: ClassVar[str] = "spike_recovery"
    scenario: str
    recovery_s: float | None
    why: str | None = None
    absent_is_failure: str | None = None  # the metric whose absence fails its threshold (never recovered)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.scenario}"

    def describe(self) -> list[Line]:
        seen = f"{self.recovery_s:.0f}s" if self.recovery_s is not None else f"none: {self.why}"
        return [(f"  spike recovery ({self.scenario}): {seen}", "plain")]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"recovery_s": self.recovery_s}
        if self.why is not None:
            out["why"] = self.why
        if self.absent_is_failure is not None:
            out["absent_is_failure"] = self.absent_is_failure
        return out

    @classmethod
    def from_dict(cls, scenario: str, d: Mapping[str, Any]) -> SpikeRecovery:
        return cls(scenario, d.get("recovery_s"), d.get("why"), d.get("absent_is_failure"))


@dataclass(frozen=True)
class MemoryGrowth:
    """An endurance scenario's memory growth per process role (MB per minute)."""

    kind: ClassVar[str] = "memory_growth"
    scenario: str
    mb_per_min: Mapping[str, float | None]

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.scenario}"

    def describe(self) -> list[Line]:
        growth = ", ".join(f"{role} {number(v, 'MB/min', digits=4)}" for role, v in self.mb_per_min.items())
        return [(f"  memory growth ({self.scenario}): {growth}", "plain")]

    def to_dict(self) -> dict[str, Any]:
        return {"mb_per_min": dict(self.mb_per_min)}

    @classmethod
    def from_dict(cls, scenario: str, d: Mapping[str, Any]) -> MemoryGrowth:
        return cls(scenario, dict(d.get("mb_per_min") or {}))


@dataclass(frozen=True)
class RampBreak:
    """Where a stress ramp (a ``stress`` scenario) broke its SLO (``rate``, ``users``, ``at_s``,
    ``broken_by``), or ``why`` it did not; the best window that held and every window read (``steps``)
    for the capacity tables."""

    kind: ClassVar[str] = "breaking_point"
    scenario: str
    rate: float | None = None
    users: float | None = None
    at_s: float | None = None
    broken_by: tuple[str, ...] = ()
    why: str | None = None
    sustainable_rate: float | None = None
    sustainable_users: float | None = None
    steps: tuple[Mapping[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.scenario}"

    @property
    def broke(self) -> bool:
        return self.rate is not None

    def describe(self) -> list[Line]:
        if self.why is not None:
            seen = f"held: {self.why}"
        else:
            seen = (f"{number(self.rate or 0, digits=4)}/s at {self.users or 0:.0f} users, {self.at_s or 0:.0f}s "
                    f"in, broken by {'; '.join(self.broken_by)}")
        return [(f"  breaking point ({self.scenario}): {seen}", "plain")]

    def to_dict(self) -> dict[str, Any]:
        held = {"sustainable_rate": self.sustainable_rate, "sustainable_users": self.sustainable_users,
                "steps": [dict(s) for s in self.steps]}
        if self.why is not None and self.rate is None:  # held, or nothing to read (no window, no steps)
            return {"why": self.why, **held} if self.steps else {"why": self.why}
        return {"rate": self.rate, "users": self.users, "at_s": self.at_s, "broken_by": list(self.broken_by), **held}

    @classmethod
    def from_dict(cls, scenario: str, d: Mapping[str, Any]) -> RampBreak:
        return cls(scenario, d.get("rate"), d.get("users"), d.get("at_s"), tuple(d.get("broken_by") or ()),
                   d.get("why"), d.get("sustainable_rate"), d.get("sustainable_users"),
                   tuple(d.get("steps") or ()))


@dataclass(frozen=True)
class UslFit:
    """A Universal Scalability Law fit of throughput against users (analysis/scalability.py)."""

    sigma: float
    kappa: float
    lam: float  # throughput of one user, per second
    sigma_ci: tuple[float, float]  # 95 % intervals
    kappa_ci: tuple[float, float]
    lam_ci: tuple[float, float]
    r2: float
    points: int
    peak_concurrency: float | None  # None: no retrograde region (κ = 0)
    peak_throughput: float | None  # X(N*), or the λ/σ ceiling without a peak; None if neither is finite

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UslFit:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for ci in ("sigma_ci", "kappa_ci", "lam_ci"):
            known[ci] = tuple(known[ci])
        return cls(**known)

    def describe(self) -> str:
        peak = ("no limit in sight" if self.peak_throughput is None else
                f"peak {number(self.peak_throughput, digits=4)}/s" + (f" at {self.peak_concurrency:.0f} users"
                                                                      if self.peak_concurrency is not None
                                                                      else " (ceiling)"))

        def ci(bounds: tuple[float, float]) -> str:
            return f"[{number(bounds[0], digits=2)}, {number(bounds[1], digits=2)}]"

        return (f"{peak}; σ {number(self.sigma)} {ci(self.sigma_ci)}, κ {number(self.kappa)} {ci(self.kappa_ci)}, "
                f"λ {number(self.lam)}/s, R² {self.r2:.3f}, {self.points} windows")


@dataclass(frozen=True)
class Scalability:
    """A ramp of users fitted to the Universal Scalability Law, or why it could not be."""

    kind: ClassVar[str] = "scalability"
    scenario: str
    fit: UslFit | None = None
    why: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.scenario}"

    def describe(self) -> list[Line]:
        seen = f"not fitted: {self.why}" if self.fit is None else self.fit.describe()
        return [(f"  scalability ({self.scenario}, USL): {seen}", "plain")]

    def to_dict(self) -> dict[str, Any]:
        return self.fit.to_dict() if self.fit is not None else {"why": self.why}

    @classmethod
    def from_dict(cls, scenario: str, d: Mapping[str, Any]) -> Scalability:
        return cls(scenario, why=d.get("why")) if "why" in d else cls(scenario, UslFit.from_dict(d))


@dataclass(frozen=True)
class Leak:
    """What the floor of ``role``'s memory did. ``leaking`` is the verdict; ``why`` says how it was reached."""

    role: str
    leaking: bool
    why: str
    slope_mb_per_h: float | None = None
    low_mb_per_h: float | None = None  # the slope's 95 % confidence interval
    high_mb_per_h: float | None = None
    p_value: float | None = None
    windows: int = 0
    unjudged: str | None = None  # why a run without a verdict does not call it a leak ("the run was unmeasured")


@dataclass(frozen=True)
class Leaks:
    """The leak verdict of every process role the run sampled long enough to tell (analysis/leaks.py)."""

    kind: ClassVar[str] = "leaks"
    roles: Mapping[str, Leak]

    @property
    def key(self) -> str:
        return self.kind

    @property
    def leaking(self) -> list[Leak]:
        return [leak for leak in self.roles.values() if leak.leaking and not leak.unjudged]

    def unjudged(self, why: str) -> Leaks:
        """The same growth, not called a leak: ``why`` the run has no verdict (50 workers starting look
        like 70 GB/h on an unmeasured run)."""
        return Leaks({role: replace(leak, unjudged=why) for role, leak in self.roles.items()})

    def describe(self) -> list[Line]:
        return [(f"  LEAK  process_rss_mb{{role:{leak.role}}}: {leak.why}", "fail") for leak in self.leaking] + [
            (f"  not judged  process_rss_mb{{role:{leak.role}}}: {leak.why}; {leak.unjudged}", "plain")
            for leak in self.roles.values() if leak.leaking and leak.unjudged]

    def to_dict(self) -> dict[str, Any]:
        return {role: asdict(leak) for role, leak in self.roles.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Leaks:
        def leak(role: str, found: Mapping[str, Any]) -> Leak:  # what is missing takes its default
            return Leak(role, bool(found.get("leaking")), str(found.get("why") or ""), found.get("slope_mb_per_h"),
                        found.get("low_mb_per_h"), found.get("high_mb_per_h"), found.get("p_value"),
                        int(found.get("windows") or 0), found.get("unjudged"))

        return cls({str(role): leak(str(role), found) for role, found in d.items()})


@dataclass(frozen=True)
class JourneyCost:
    """What one browser journey cost per process role: ``cpu_s`` per iteration, ``peak_mb``, ``mb_per_journey``."""

    kind: ClassVar[str] = "journey_cost"
    journeys: float
    concurrent: int
    roles: Mapping[str, Mapping[str, float | None]]

    @property
    def key(self) -> str:
        return self.kind

    def describe(self) -> list[Line]:
        per_role = ", ".join(f"{role} " + ("-" if c["cpu_s"] is None else f"{c['cpu_s']:.2f} CPU-s") + " "
                             + ("-" if c["mb_per_journey"] is None else f"{c['mb_per_journey']:.0f} MB")
                             for role, c in self.roles.items())
        return [(f"  cost per journey ({self.journeys:.0f} journeys, up to {self.concurrent} at once): {per_role}",
                 "plain")]

    def to_dict(self) -> dict[str, Any]:
        return {"journeys": self.journeys, "concurrent": self.concurrent,
                "roles": {role: dict(c) for role, c in self.roles.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JourneyCost:
        return cls(d["journeys"], d["concurrent"], {str(r): dict(c) for r, c in (d.get("roles") or {}).items()})


@dataclass(frozen=True)
class GeneratorCost:
    """The HTTP load generator's CPU over the run, per 1,000 requests."""

    kind: ClassVar[str] = "generator_cost"
    cpu_s: float
    requests: float
    cpu_s_per_1000_requests: float

    @property
    def key(self) -> str:
        return self.kind

    def describe(self) -> list[Line]:
        return [(f"  load generator: {self.cpu_s_per_1000_requests:.3f} CPU-s per 1,000 requests "
                 f"({self.requests:.0f} requests, {self.cpu_s:.2f} CPU-s)", "plain")]

    def to_dict(self) -> dict[str, Any]:
        return {"cpu_s": self.cpu_s, "requests": self.requests, "cpu_s_per_1000_requests": self.cpu_s_per_1000_requests}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GeneratorCost:
        return cls(d["cpu_s"], d["requests"], d["cpu_s_per_1000_requests"])


@dataclass(frozen=True)
class DbBottleneck:
    """Whether locks, the connection pool or the queries held the target's database back (``bottleneck``,
    None when it kept up), why, and the shares the rules read (analysis/database.py)."""

    kind: ClassVar[str] = "db_bottleneck"
    bottleneck: str | None
    why: str
    shares: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.kind

    def describe(self) -> list[Line]:
        return [(f"  database: {self.bottleneck or 'no bottleneck'}: {self.why}", "plain")]

    def to_dict(self) -> dict[str, Any]:
        return {"bottleneck": self.bottleneck, "why": self.why, **self.shares}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DbBottleneck:
        return cls(d.get("bottleneck"), str(d.get("why") or ""),
                   {k: v for k, v in d.items() if k not in ("bottleneck", "why")})


@dataclass(frozen=True)
class OtherFinding:
    """A finding this perfmon does not know (stored by a newer one): kept as it was, described by nothing."""

    key: str
    data: Any

    def describe(self) -> list[Line]:
        return []

    def to_dict(self) -> Any:
        return self.data


Finding = (SpikeRecovery | MemoryGrowth | RampBreak | Scalability | Leaks | JourneyCost | GeneratorCost
           | DbBottleneck | OtherFinding)

SCENARIO_FINDINGS = (SpikeRecovery, MemoryGrowth, RampBreak, Scalability)  # one per scenario; others per run

_PER_SCENARIO: Mapping[str, Callable[[str, Mapping[str, Any]], Finding]] = {
    SpikeRecovery.kind: SpikeRecovery.from_dict,
    MemoryGrowth.kind: MemoryGrowth.from_dict,
    RampBreak.kind: RampBreak.from_dict,
    Scalability.kind: Scalability.from_dict,
}
_PER_RUN: Mapping[str, Callable[[Mapping[str, Any]], Finding]] = {
    Leaks.kind: Leaks.from_dict,
    JourneyCost.kind: JourneyCost.from_dict,
    GeneratorCost.kind: GeneratorCost.from_dict,
    DbBottleneck.kind: DbBottleneck.from_dict,
}



def findings_from(derived: Mapping[str, Any]) -> list[Finding]:
    """The typed findings of a run's stored ``derived`` table (the inverse of :func:`derived_dict`)."""
    out: list[Finding] = []
    for key, data in derived.items():
        kind, colon, scenario = str(key).partition(":")
        try:
            if colon and kind in _PER_SCENARIO and isinstance(data, Mapping):
                out.append(_PER_SCENARIO[kind](scenario, data))
            elif not colon and kind in _PER_RUN and isinstance(data, Mapping):
                out.append(_PER_RUN[kind](data))
            else:
                out.append(OtherFinding(str(key), data))
        except (KeyError, TypeError, ValueError):  # a malformed entry is kept as it was, never dropped
            out.append(OtherFinding(str(key), data))
    return out


def derived_dict(findings: Iterable[Finding]) -> dict[str, Any]:
    """The findings as the run's ``metadata["derived"]`` table: key -> plain builtins."""
    return {f.key: f.to_dict() for f in findings}
