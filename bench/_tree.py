"""Measure a command's whole process tree: CPU seconds and peak memory, by polling psutil.

Shared by the bench scripts. Processes that leave the tree (a browser server re-parented when
its worker exits) are still followed once seen. Memory is PSS (shared pages split fairly
between processes), so 50 Chromium renderers sharing one binary are not counted 50 times.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

import psutil


@dataclass
class TreeUsage:
    wall_s: float
    cpu_s: float
    peak_pss_mb: float
    peak_processes: int
    returncode: int
    by_kind: dict[str, float]


def kind(p: psutil.Process) -> str:
    """Which part of the layout a process is, so the CPU can be split by part."""
    try:
        cmd = p.cmdline()
    except psutil.Error:
        return "gone"
    text = " ".join(cmd)
    if p.name() == "node" or (cmd and os.path.basename(cmd[0]) == "node"):
        return "node"
    if "chrom" in text:
        for part in cmd:
            if part.startswith("--type="):
                return "chromium " + part.removeprefix("--type=")
        return "chromium browser"
    if "xdist" in text or "execnet" in text or "-c" in cmd[:3]:  # xdist: python -u -c 'exec(...)'
        return "python worker"
    return "python " + os.path.basename(cmd[1] if len(cmd) > 1 else cmd[0] if cmd else "?")


def run_measured(argv: list[str], *, cwd: str, env: dict[str, str] | None = None, interval_s: float = 1.0,
                 timeout_s: float = 1800) -> TreeUsage:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    root = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {proc.pid: root}
    cpu: dict[int, float] = {}
    kinds: dict[int, str] = {}
    peak_pss = 0.0
    peak_n = 0
    while True:
        try:
            for child in root.children(recursive=True):
                seen.setdefault(child.pid, child)
                for grandchild in child.children(recursive=True):
                    seen.setdefault(grandchild.pid, grandchild)
        except psutil.Error:
            pass
        pss = 0.0
        alive = 0
        for pid, p in list(seen.items()):
            try:
                t = p.cpu_times()
                # A process's own time only: children_* would count a reaped child twice.
                cpu[pid] = max(cpu.get(pid, 0.0), t.user + t.system)
                if pid not in kinds:
                    kinds[pid] = kind(p)
                pss += p.memory_full_info().pss
                alive += 1
            except psutil.Error:
                continue
        peak_pss = max(peak_pss, pss)
        peak_n = max(peak_n, alive)
        if proc.poll() is not None and alive <= 1:
            break
        if time.perf_counter() - start > timeout_s:
            proc.kill()
            break
        time.sleep(interval_s)
    rc = proc.wait()
    by_kind: dict[str, float] = {}
    for pid, seconds in cpu.items():
        part = kinds.get(pid, "gone")
        by_kind[part] = by_kind.get(part, 0.0) + seconds
    return TreeUsage(time.perf_counter() - start, sum(cpu.values()), peak_pss / 2**20, peak_n, rc, by_kind)
