"""Test hosts of the test's own: network namespaces joined to this one by veth pairs, or loopback.

Where the test may create network namespaces (root, ``ip`` present), each host is a namespace
with one veth pair: the host at ``10.R.i.2``, this namespace at ``10.R.i.1``, and a default route
back, so every host reaches the target served at ``10.R.1.1`` and the controller reaches every
host. Nothing leaves those pairs and loopback. Elsewhere each host is this machine's loopback, and
the hosts differ only by port (``PERFMON_TEST_HOSTS=loopback`` asks for that); :attr:`Hosts.mode` says
which was used.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

__all__ = ["Host", "Hosts", "network_hosts"]


@dataclass
class Host:
    name: str
    address: str  # where the controller and the other hosts reach it
    netns: str | None
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, args: Sequence[str], *, log: Path, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[str]:
        """A process on this host, in a process group of its own."""
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        proc = subprocess.Popen([*prefix, *args], stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
                                env=env, cwd=cwd, start_new_session=True)
        self.processes.append(proc)
        return proc

    def kill(self) -> None:
        """Everything on this host dies at once, as when its machine goes away."""
        pids = [p.pid for p in self.processes]
        for proc in self.processes:  # and their children in sessions of their own (a browser server's)
            with contextlib.suppress(psutil.Error):
                pids += [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
        if self.netns:
            out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=False)
            pids += [int(p) for p in out.stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@dataclass
class Hosts:
    mode: str  # "network namespaces" or "loopback ports"
    hosts: list[Host]
    target_address: str  # where every host reaches a target served by the test

    def serve_target(self, log: Path) -> str:
        """The bundled app, in this namespace at the address every host routes to; stopped with the hosts."""
        from perfmon.system.target import free_port

        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "demo_app", "--host", self.target_address, "--port", str(port)],
                                stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "DEMO_ADMIN_TOKEN": secrets.token_hex(16)})  # beyond loopback
        self.hosts[0].processes.append(proc)
        url = f"http://{self.target_address}:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz", timeout=2).raise_for_status()
                return url
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"the target did not start: {log.read_text()[-500:]}")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def _namespaces_allowed() -> bool:
    if os.geteuid() != 0 or os.environ.get("PERFMON_TEST_HOSTS") == "loopback":  # the fallback, on demand
        return False
    probe = f"perfmon-probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (OSError, subprocess.SubprocessError):
        return False
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        _ip("netns", "del", probe)
    return True


@contextlib.contextmanager
def network_hosts(count: int) -> Iterator[Hosts]:
    if not _namespaces_allowed():
        hosts = [Host(f"h{i}", "127.0.0.1", None) for i in range(1, count + 1)]
        try:
            yield Hosts("loopback ports", hosts, "127.0.0.1")
        finally:
            for host in hosts:
                host.kill()
        return
    used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True, check=False).stdout
    subnet = random.choice([n for n in range(200, 250) if f"10.{n}." not in used])
    tag = f"{os.getpid() % 100000}"
    hosts = []
    try:
        for i in range(1, count + 1):
            ns, outer, inner = f"perfmon-{tag}-h{i}", f"pm{tag}h{i}a", f"pm{tag}h{i}b"
            _ip("netns", "add", ns)
            hosts.append(Host(f"h{i}", f"10.{subnet}.{i}.2", ns))
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", ns)
            _ip("addr", "add", f"10.{subnet}.{i}.1/24", "dev", outer)
            _ip("link", "set", outer, "up")
            for args in (("addr", "add", f"10.{subnet}.{i}.2/24", "dev", inner), ("link", "set", inner, "up"),
                         ("link", "set", "lo", "up"), ("route", "add", "default", "via", f"10.{subnet}.{i}.1")):
                _ip("netns", "exec", ns, "ip", *args)
        yield Hosts("network namespaces", hosts, f"10.{subnet}.1.1")
    finally:
        for host in hosts:
            host.kill()
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                _ip("netns", "del", str(host.netns))  # its end of the veth pair goes with it, and so the pair
        time.sleep(0.1)
