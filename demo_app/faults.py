"""Fault-injection knobs: the same names as environment variables and at runtime.

Each knob is read from ``DEMO_*`` at start and can be changed while running through
``POST /admin/faults`` (guarded by ``DEMO_ADMIN_TOKEN``), so one app instance can prove that
the framework sees added latency, errors, a capacity limit, stalls, leaks and bad Web Vitals.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["KNOBS", "LIMITS", "FaultError", "Faults"]

KNOBS = {
    "DEMO_LATENCY_MS": "latency",
    "DEMO_ERROR_RATE": "error_rate",
    "DEMO_CAPACITY": "capacity",
    "DEMO_SERVICE_MS": "service_ms",
    "DEMO_STALL_EVERY_S": "stall_every_s",
    "DEMO_STALL_MS": "stall_ms",
    "DEMO_LEAK_KB_PER_REQ": "leak_kb_per_req",
    "DEMO_LCP_DELAY_MS": "lcp_delay_ms",
    "DEMO_CLS": "cls",
    "DEMO_INP_MS": "inp_ms",
    "DEMO_ENDPOINT_LATENCY_MS": "endpoint_latency_ms",
    "DEMO_DB_POOL": "db_pool",
    "DEMO_DB_MISSING_INDEX": "db_missing_index",
    "DEMO_DB_LOCK_MS": "db_lock_ms",
}


# Every knob is bounded to a finite range (README, "The reference app and its fault knobs"): an
# infinite latency or a twelve-day stall would freeze the app, /admin included, with no way back.
LIMITS = {
    "DEMO_LATENCY_MS": (0.0, 60_000.0),  # mean and jitter, each
    "DEMO_ERROR_RATE": (0.0, 1.0),
    "DEMO_CAPACITY": (0.0, 100_000.0),  # 0: unlimited
    "DEMO_SERVICE_MS": (0.0, 60_000.0),
    "DEMO_STALL_EVERY_S": (0.0, 3_600.0),  # 0: never; otherwise at least 0.1 s
    "DEMO_STALL_MS": (0.0, 10_000.0),
    "DEMO_LEAK_KB_PER_REQ": (0.0, 1_024.0),
    "DEMO_LCP_DELAY_MS": (0.0, 30_000.0),
    "DEMO_CLS": (0.0, 5.0),
    "DEMO_INP_MS": (0.0, 10_000.0),
    "DEMO_ENDPOINT_LATENCY_MS": (0.0, 60_000.0),  # per path
    "DEMO_DB_POOL": (1.0, 100.0),  # the database knobs act in PostgreSQL mode (DEMO_DATABASE_URL) only
    "DEMO_DB_MISSING_INDEX": (0.0, 1.0),
    "DEMO_DB_LOCK_MS": (0.0, 10_000.0),
}
_MIN_STALL_EVERY_S = 0.1  # between stalls the loop serves requests, /admin among them


class FaultError(ValueError):
    """A knob value that does not parse; the message names the knob and the expected form."""


def _num(name: str, raw: Any) -> float:
    lo, hi = LIMITS[name]
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise FaultError(f"{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:  # NaN and infinities fail here too
        raise FaultError(f"{name}={raw!r} must be between {lo:g} and {hi:g}")
    return value


def _per_path(name: str, raw: Any) -> dict[str, float]:
    """``"/api/forms/submit=10,/dashboard=200"`` -> ``{"/api/forms/submit": 10.0, "/dashboard": 200.0}``."""
    found: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in str(raw).split(","))):
        path, eq, ms = item.rpartition("=")
        if not eq or not path.startswith("/"):
            raise FaultError(f"{name}={raw!r}: write PATH=MS pairs, e.g. /api/forms/submit=10,/dashboard=200")
        found[path] = _num(name, ms)
    return found


@dataclass
class Faults:
    latency_mean_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    capacity: int = 0  # 0: unlimited
    service_ms: float = 0.0
    stall_every_s: float = 0.0
    stall_ms: float = 0.0
    leak_kb_per_req: float = 0.0
    lcp_delay_ms: float = 0.0
    cls: float = 0.0
    inp_ms: float = 0.0
    endpoint_latency_ms: dict[str, float] = field(default_factory=dict)  # path -> added ms, exact paths
    db_pool: int = 10
    db_missing_index: bool = False
    db_lock_ms: float = 0.0

    def __post_init__(self) -> None:
        self._gate: asyncio.Semaphore | None = None

    def update(self, knobs: Mapping[str, Any]) -> None:
        """Apply ``{"DEMO_LATENCY_MS": "400,50", ...}``; unknown names and bad values raise
        :class:`FaultError` before anything changes."""
        staged: dict[str, Any] = {}
        for key, raw in knobs.items():
            if key not in KNOBS:
                raise FaultError(f"unknown knob {key!r}; known: {', '.join(KNOBS)}")
            if key == "DEMO_LATENCY_MS":
                mean, _, jitter = str(raw).partition(",")
                staged["latency_mean_ms"] = _num(key, mean or 0)
                staged["latency_jitter_ms"] = _num(key, jitter or 0)
            elif key in ("DEMO_CAPACITY", "DEMO_DB_POOL"):
                value = _num(key, raw)
                if value != int(value):  # 0.5 once became int 0, which for DEMO_CAPACITY means "no limit"
                    raise FaultError(f"{key}={raw!r} must be a whole number")
                staged[KNOBS[key]] = int(value)
            elif key == "DEMO_DB_MISSING_INDEX":
                flag = _num(key, raw)
                if flag not in (0, 1):
                    raise FaultError(f"{key}={raw!r} must be 0 or 1")
                staged["db_missing_index"] = flag == 1
            elif key == "DEMO_ENDPOINT_LATENCY_MS":
                staged["endpoint_latency_ms"] = _per_path(key, raw)
            elif key == "DEMO_STALL_EVERY_S":
                every = _num(key, raw)
                if 0 < every < _MIN_STALL_EVERY_S:
                    raise FaultError(f"{key}={raw!r} must be 0 (never) or at least {_MIN_STALL_EVERY_S:g}")
                staged["stall_every_s"] = every
            else:
                staged[KNOBS[key]] = _num(key, raw)
        for k, v in staged.items():
            setattr(self, k, v)
        if "capacity" in staged:
            self._gate = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Faults:
        f = cls()
        f.update({k: v for k, v in env.items() if k in KNOBS and v != ""})
        return f

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # --- what the knobs do -----------------------------------------------------------------
    def added_latency_s(self, path: str = "") -> float:
        """The added latency of one request: the global knob (with jitter) plus ``path``'s own."""
        own = self.endpoint_latency_ms.get(path, 0.0)
        if self.latency_mean_ms <= 0:
            return own / 1000
        jitter = random.uniform(-self.latency_jitter_ms, self.latency_jitter_ms) if self.latency_jitter_ms else 0.0
        return (max(0.0, self.latency_mean_ms + jitter) + own) / 1000

    def should_fail(self) -> bool:
        return self.error_rate > 0 and random.random() < self.error_rate

    def gate(self) -> asyncio.Semaphore | None:
        """The capacity limit: at most ``capacity`` requests in service, the rest queue."""
        if self.capacity <= 0:
            return None
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.capacity)
        return self._gate
