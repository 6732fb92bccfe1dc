"""Which machine this is, as far as performance goes: what a calibration is stored with and matched by.

CI runners get a fresh host name every job, so a calibration is matched by the machine's class
(CPU count, CPU model, memory) and by its host name only when one of the same class has several.
"""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path
from typing import Any

__all__ = ["machine_class", "machine_identity"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_identity() -> dict[str, Any]:
    """Host name, CPU count and model, memory (GiB, rounded) and platform."""
    import psutil

    return {"host": socket.gethostname(), "cpus": os.cpu_count() or 1, "cpu_model": _cpu_model(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30), "platform": platform.platform()}


def machine_class(identity: dict[str, Any]) -> str:
    """The part of ``identity`` that says how much browser work a machine holds."""
    return f"{identity.get('cpus')} x {identity.get('cpu_model')}, {identity.get('memory_gb')} GiB"
