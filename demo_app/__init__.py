"""The reference WedSync-like supplier app perfmon tests by default (and proves itself on).

A separate package: perfmon never imports it; it starts it as a process.
"""

from __future__ import annotations

from .faults import KNOBS, Faults

__all__ = ["KNOBS", "Faults", "create_app"]


def __getattr__(name: str) -> object:
    # FastAPI is imported only when the app itself is wanted.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
