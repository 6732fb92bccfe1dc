"""Journeys spread over hosts the test creates (network namespaces, or loopback ports where it may
not): pytest-xdist workers on other hosts through execnet socket servers or sshd, browsers on browser
servers there, one run merged on the controller, and a host killed mid-iteration losing only that
iteration."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perfmon.system.target import free_port
from tests._support.apps import DemoApp
from tests._support.hosts import Host, Hosts, network_hosts
from tests._support.journeys import LONG_JOURNEYS
from tests._support.sessions import env, pytest_cmd, runs_in

pytestmark = pytest.mark.browser

SUITE = """
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("vu", range(1, {iterations} + 1))  # its own virtual users: the plugin adds none
def test_journey(perf, vu):
    with perf.step("open"):
        perf.page.goto("/login")
    marks = os.environ.get("MARK_DIR")
    if marks and os.environ.get("TEST_HOST") == "h2":
        done = Path(marks) / "h2-tests"
        with done.open("a") as f:
            f.write("x")
        if len(done.read_text()) == 2:  # h2's second test: in flight when the test kills h2
            (Path(marks) / "h2-in-flight").touch()
            import time
            time.sleep(300)
"""


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    with network_hosts(2) as found:
        print(f"test hosts: {found.mode}")  # the test says which it used
        yield found


def _execnet_server(host: Host, tmp_path: Path, **extra: str) -> str:
    port = 8801 if host.netns else free_port()
    (tmp_path / host.name).mkdir()
    host.start([sys.executable, "-m", "execnet.script.socketserver", f"{host.address}:{port}"],
               log=tmp_path / f"{host.name}-execnet.log", env=env(TEST_HOST=host.name, **extra))
    _wait_listening(host, port)
    return f"socket={host.address}:{port}//id={host.name}//chdir={tmp_path / host.name}"


SSHD = "/usr/sbin/sshd"  # Debian's openssh-server (scripts/test.sh installs it)


def _ssh_server(host: Host, tmp_path: Path) -> str:
    """An sshd of the test's own on the host (its own keys and config, root by key only), reached through
    an ssh config naming the host as ``host.name``, as a user's ``~/.ssh/config`` would."""
    port = 2201 if host.netns else free_port()
    keys = tmp_path / "ssh"
    keys.mkdir(exist_ok=True)
    if not (keys / "client").exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "client")], check=True)
        shutil.copy(keys / "client.pub", keys / "authorized_keys")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / f"{host.name}-host")], check=True)
    sshd_config = keys / f"{host.name}-sshd_config"
    sshd_config.write_text(f"ListenAddress {host.address}\nPort {port}\nHostKey {keys / f'{host.name}-host'}\n"
                           f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
                           "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                           "StrictModes no\nPidFile none\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    host.start([SSHD, "-D", "-e", "-f", str(sshd_config)], log=tmp_path / f"{host.name}-sshd.log")
    _wait_listening(host, port)
    with (keys / "config").open("a") as config:
        config.write(f"Host {host.name}\n  HostName {host.address}\n  Port {port}\n  User root\n"
                     f"  IdentityFile {keys / 'client'}\n  IdentitiesOnly yes\n  BatchMode yes\n"
                     "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n")
    (tmp_path / host.name).mkdir()
    return (f"ssh={host.name}//id={host.name}//ssh_config={keys / 'config'}//python={sys.executable}"
            f"//chdir={tmp_path / host.name}")


def _browser_server(host: Host, tmp_path: Path) -> str:
    port = 9301 if host.netns else free_port()
    out = tmp_path / f"{host.name}-browser.log"
    host.start([sys.executable, "-m", "perfmon", "browser-server", "--host", host.address, "--port", str(port)],
               log=out, env=env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = out.read_text().splitlines()
        if lines and lines[0].startswith("ws://"):
            return lines[0]
        time.sleep(0.2)
    raise AssertionError(f"no browser server on {host.name}: {out.read_text()[-500:]}")


def _wait_listening(host: Host, port: int) -> None:
    """Wait until the host listens on ``port``, without connecting (a connection would become a gateway)."""
    prefix = ["ip", "netns", "exec", host.netns] if host.netns else []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        table = subprocess.run([*prefix, "cat", "/proc/net/tcp"], capture_output=True, text=True, check=False).stdout
        if any(f":{port:04X}" == row.split()[1][-5:] and row.split()[3] == "0A" for row in table.splitlines()[1:]):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {host.name}:{port}")


def _project(tmp_path: Path, iterations: int) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "perfmon.toml").write_text('[scenarios.browser]\nthink_time = "0s"\n')
    (proj / "test_spread.py").write_text(SUITE.replace("{iterations}", str(iterations)))
    return proj


def _stored(db: Path) -> tuple[int, float, dict[tuple[str, str], float]]:
    con = sqlite3.connect(db)
    [(run_id, lost)] = con.execute("select id, lost_iterations from performance_test_runs").fetchall()
    done = con.execute("select sum(count) from performance_metric_series where run_id = ? and "
                       "name = 'browser_iterations'", (run_id,)).fetchone()[0]
    by_host: dict[tuple[str, str], float] = {}
    for tags, count in con.execute("select tags, sum(count) from performance_metric_series where run_id = ? and "
                                   "name = 'browser_host_iterations' group by tags", (run_id,)):
        import json

        t = json.loads(tags)
        by_host[(t["browser"], t["runner"])] = count
    return int(lost), float(done or 0), by_host


@pytest.mark.parametrize("gateway", ["socket", "ssh"])
def test_journeys_on_two_hosts_merge_on_the_controller(hosts: Hosts, tmp_path: Path, gateway: str) -> None:
    if gateway == "ssh" and not Path(SSHD).exists():
        pytest.skip("no sshd here: apt-get install openssh-server (scripts/test.sh does)")
    base_url = hosts.serve_target(tmp_path / "target.log")
    start = _execnet_server if gateway == "socket" else _ssh_server
    tx = [start(h, tmp_path) for h in hosts.hosts]
    ws = [_browser_server(h, tmp_path) for h in hosts.hosts]
    proj, db = _project(tmp_path, 4), tmp_path / "r.db"
    out = subprocess.run(
        pytest_cmd("-d", *[a for spec in tx for a in ("--tx", spec)], "test_spread.py", "--base-url", base_url,
                   "--perf-browser-ws", ",".join(ws), "--perf-store", f"sqlite:///{db}"),
        cwd=proj, env=env(), capture_output=True, text=True, timeout=600)
    # Two journeys at once on two cores can saturate this machine: then the run is honestly unmeasured.
    assert out.returncode in (0, 3), f"[{hosts.mode}] " + out.stdout[-3000:] + out.stderr[-2000:]
    assert "iterations by runner host: " in out.stdout and "iterations by browser host: " in out.stdout
    lost, done, by_host = _stored(db)
    assert (lost, done) == (0, 4), hosts.mode
    # socket=HOST:PORT names a runner by its address; ssh=NAME by the name the ssh config resolves.
    runners = {spec.split("//")[0].removeprefix("socket=").removeprefix("ssh=") for spec in tx}
    browsers = {w.removeprefix("ws://").split("/")[0] for w in ws}
    assert {runner for _, runner in by_host} == runners, (hosts.mode, by_host)  # journeys ran on both hosts
    assert {browser for browser, _ in by_host} == browsers, (hosts.mode, by_host)
    assert sum(by_host.values()) == 4
    # Nothing of the endpoints' secret paths is stored.
    con = sqlite3.connect(db)
    stored = " ".join(str(row) for row in con.execute("select metadata from performance_test_runs"))
    assert all(w.rsplit("/", 1)[1] not in stored for w in ws)


def _six_journeys_until_h2_is_in_flight(hosts: Hosts, tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """Six journeys over the two hosts' xdist workers, returned while h2's second one is in flight."""
    base_url = hosts.serve_target(tmp_path / "target.log")
    marks = tmp_path / "marks"
    marks.mkdir()
    tx = [_execnet_server(h, tmp_path, MARK_DIR=str(marks)) for h in hosts.hosts]
    proj, db = _project(tmp_path, 6), tmp_path / "r.db"
    run = subprocess.Popen(
        pytest_cmd("-d", *[a for spec in tx for a in ("--tx", spec)], "test_spread.py", "--base-url", base_url,
                   "--perf-store", f"sqlite:///{db}"),
        cwd=proj, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (marks / "h2-in-flight").exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (marks / "h2-in-flight").exists(), f"[{hosts.mode}] h2 never started its second test"
    return run, db


def test_a_killed_host_loses_only_its_in_flight_iteration(hosts: Hosts, tmp_path: Path) -> None:
    run, db = _six_journeys_until_h2_is_in_flight(hosts, tmp_path)
    hosts.hosts[1].kill()
    stdout, stderr = run.communicate(timeout=600)
    assert "is gone" in stdout, f"[{hosts.mode}] " + stdout[-3000:] + stderr[-2000:]
    assert "Traceback" not in stdout + stderr and "INTERNALERROR" not in stdout, stdout[-4000:] + stderr[-4000:]
    # A crashed test fails the run (or it is unmeasured when too few samples were clean).
    assert run.returncode in (1, 3), stdout[-2000:]
    lost, done, by_host = _stored(db)
    # Lost: h2's iteration in flight, and the one xdist had queued on it when every other worker had
    # already been told to stop (then it cannot move, and the summary says so); nothing else.
    stranded = 1 if "1 test(s) queued on that host could not move" in stdout else 0
    assert (lost, done) == (1 + stranded, 5 - stranded), (hosts.mode, by_host, stdout[-2000:])
    assert len({runner for _, runner in by_host}) == 2  # h2's first iteration arrived before it died


@pytest.fixture
def local_target(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "demo_app", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env=env())
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(("args", "message"), [
    (["--perf-browser-ws", "http://127.0.0.1:1/x"], "'127.0.0.1:1' is not a browser server endpoint"),
    (["--perf-browser-ws", "ws://[::1"], "'[::1' is not a browser server endpoint"),  # was an INTERNALERROR (#36)
    (["--perf-browser-ws", "ws://127.0.0.1:{closed}/secret-token"], "the browser server at 127.0.0.1:{closed} is "
                                                                    "unreachable"),
    (["-d", "--tx", "socket=127.0.0.1:{closed}//id=h1", "--base-url", "{target}"], "an xdist host could not start "
                                                                                   "a worker (Connection refused)"),
    (["-d", "--tx", "ssh=-o BatchMode=yes -p {closed} root@127.0.0.1//id=h1", "--base-url", "{target}"],
     "an xdist host could not start a worker over ssh (root@127.0.0.1, see ssh's line above)"),
    (["-d", "--tx", "socket=127.0.0.1:{closed}//id=h1"], "xdist workers on other hosts cannot reach the bundled app"),
], ids=["not-an-endpoint", "open-ipv6-bracket", "browser-server-down", "xdist-host-refuses", "ssh-host-refuses",
        "remote-workers-without-a-target"])
def test_bad_scale_out_input_is_one_line(tmp_path: Path, local_target: str, args: list[str], message: str) -> None:
    from tests._support.sessions import project

    proj = project(tmp_path)
    closed = str(free_port())
    given = [a.replace("{closed}", closed).replace("{target}", local_target) for a in args]
    out = subprocess.run(pytest_cmd("test_quick.py", *given), cwd=proj, env=env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode not in (0, 1), out.stdout[-2000:] + out.stderr
    assert message.replace("{closed}", closed) in out.stderr, out.stderr
    assert "Traceback" not in out.stdout + out.stderr and "INTERNALERROR" not in out.stdout + out.stderr
    assert "secret-token" not in out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert message.replace("{closed}", closed) in lines[-1], out.stderr
    assert all(line.startswith("ssh: ") for line in lines[:-1]), out.stderr  # only ssh's own reason besides


def test_an_endpoint_that_is_not_a_browser_server_is_named_without_its_secret_path(tmp_path: Path,
                                                                                   local_target: str) -> None:
    """#36: an HTTP app answering on the endpoint's port printed the endpoint's secret path three times."""
    (tmp_path / "test_page.py").write_text("def test_page(perf):\n    perf.page.goto('/login')\n")
    endpoint = local_target.replace("http://", "ws://") + "/perfmon-secret-token-0123456789"
    out = subprocess.run(pytest_cmd("test_page.py", "--perf-browser-ws", endpoint, "--base-url", local_target),
                         cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=300)
    said = out.stdout + out.stderr
    assert out.returncode not in (0, 1), said[-3000:]
    assert "secret-token" not in said, said[-3000:]
    label = local_target.removeprefix("http://")
    assert f"the browser server at {label} did not answer as a Playwright browser server" in said, said[-3000:]
    assert "Traceback" not in said and "INTERNALERROR" not in said, said[-3000:]


def test_every_host_dying_ends_the_session_with_what_was_measured(hosts: Hosts, tmp_path: Path) -> None:
    run, db = _six_journeys_until_h2_is_in_flight(hosts, tmp_path)
    for host in hosts.hosts[::-1]:
        host.kill()
    stdout, stderr = run.communicate(timeout=600)
    assert "INTERNALERROR" not in stdout and "Traceback" not in stdout + stderr, stdout[-4000:] + stderr[-2000:]
    assert run.returncode in (1, 3), stdout[-2000:]
    lost, done, _ = _stored(db)
    assert done >= 1 and lost >= 1 and done + lost == 6, (hosts.mode, lost, done, stdout[-2000:])



def test_a_browser_server_that_dies_mid_run_is_a_broken_bench_not_a_slow_release(tmp_path: Path, demo: DemoApp
                                                                                 ) -> None:
    """#36: 328 lines of Playwright tracebacks and a FAILED run (exit 1, "a slow release") when the browser
    server went away; now one line per journey it cut, the session stops, the run is unmeasured (3)."""
    import signal as signals

    import psutil

    from perfmon.browser import start_browser_server

    server = start_browser_server()
    (tmp_path / "test_pages.py").write_text(LONG_JOURNEYS)
    db = tmp_path / "r.db"
    proc = subprocess.Popen(pytest_cmd("test_pages.py", "-n", "2", "--perf-browser-ws", str(server["ws_endpoint"]),
                                       "--base-url", demo.url, "--perf-store", f"sqlite:///{db}"),
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(12)  # a few journeys in
        assert proc.poll() is None
        for pid in server["pids"]:
            with contextlib.suppress(psutil.Error):
                for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
                    p.send_signal(signals.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    said = out + err
    assert proc.returncode == 3, said[-3000:]
    assert "Traceback" not in said and "TargetClosedError" not in said, said[-3000:]
    assert len(said.splitlines()) < 80, said[-3000:]
    assert f"the browser server at {server['ws_endpoint'].split('/')[2]} went away during the run" in said
    [(_, _, status)] = runs_in(db)
    assert status == "unmeasured"
