"""Requests per CPU-second of the load generator: perfmon's engine against Locust and wrk.

    .venv/bin/python bench/http_engine.py [--users 50] [--seconds 10]

All three hit the same nginx `return 200` on loopback with the same number of connections,
one after another; each generator's whole process tree is measured with psutil. perfmon's
figure includes recording every request into its histograms, as in a real run. Needs Debian's
nginx-light and wrk, and `pip install locust` (the bench extra).
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tree import run_measured

from perfmon.target import free_port

HERE = Path(__file__).resolve().parent
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
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok"; }} }}
}}
"""


def start_nginx() -> tuple[subprocess.Popen[bytes], str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    d = Path(tempfile.mkdtemp(prefix="perfmon-nginx-"))
    port = free_port()
    (d / "nginx.conf").write_text(NGINX_CONF.format(dir=d, port=port))
    proc = subprocess.Popen([nginx, "-c", str(d / "nginx.conf"), "-p", str(d)])
    time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    nginx, url = start_nginx()
    rows: list[tuple[str, int, float, float]] = []
    try:
        wrk = shutil.which("wrk")
        if wrk:
            out = tempfile.NamedTemporaryFile(suffix=".txt", delete=False)
            cmd = ["bash", "-c", f"{wrk} -t1 -c{args.users} -d{int(args.seconds)}s {url}/ > {out.name}"]
            u = run_measured(cmd, cwd=str(HERE), interval_s=0.5)
            m = re.search(r"(\d+) requests in", Path(out.name).read_text())
            rows.append(("wrk (C, 1 thread)", int(m.group(1)) if m else 0, u.cpu_s, u.wall_s))
        out = tempfile.NamedTemporaryFile(suffix=".txt", delete=False)
        cmd = ["bash", "-c", f"{sys.executable} {HERE / '_perfmon_client.py'} {url} {args.users} {args.seconds} "
                             f"> {out.name}"]
        u = run_measured(cmd, cwd=str(HERE), interval_s=0.5)
        rows.append(("perfmon engine (aiohttp + histograms)", int(Path(out.name).read_text().strip() or 0), u.cpu_s,
                     u.wall_s))
        out2 = tempfile.NamedTemporaryFile(suffix=".txt", delete=False)
        cmd = ["bash", "-c", f"{sys.executable} {HERE / '_perfmon_client.py'} {url} {args.users} {args.seconds} 2 "
                             f"> {out2.name}"]
        u = run_measured(cmd, cwd=str(HERE), interval_s=0.5)
        rows.append(("perfmon engine, 2 processes", int(Path(out2.name).read_text().strip() or 0), u.cpu_s, u.wall_s))
        locust = shutil.which("locust") or str(Path(sys.executable).parent / "locust")
        if Path(locust).exists():
            prefix = Path(tempfile.mkdtemp()) / "l"
            cmd = [locust, "-f", str(HERE / "_locustfile.py"), "--headless", "-u", str(args.users), "-r",
                   str(args.users), "-t", f"{int(args.seconds)}s", "--host", url, "--csv", str(prefix),
                   "--only-summary", "--loglevel", "ERROR"]
            u = run_measured(cmd, cwd=str(HERE), interval_s=0.5)
            with open(f"{prefix}_stats.csv") as f:
                agg = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
            rows.append(("Locust FastHttpUser", int(agg["Request Count"]), u.cpu_s, u.wall_s))
    finally:
        nginx.terminate()
        nginx.wait()
    ours = rows[[r[0] for r in rows].index("perfmon engine (aiohttp + histograms)")]
    ours_rate = ours[1] / ours[2] if ours[2] else 0.0
    print(f"{'generator':40} {'requests':>9} {'CPU s':>7} {'wall s':>7} {'req/CPU-s':>10} {'perfmon / it':>12}")
    for name, n, cpu, wall in rows:
        rate = n / cpu if cpu else 0.0
        print(f"{name:40} {n:9d} {cpu:7.2f} {wall:7.1f} {rate:10.0f} {ours_rate / rate if rate else 0:12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
