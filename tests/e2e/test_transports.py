"""The lean HTTP/1.1 transport against aiohttp: the same requests give the same answers, the same
error kinds and, run as the same scenario on the bundled app, the same counts and percentiles.

The edge cases (chunked, gzip, deflate, a server closing kept-alive connections, redirect chains,
timeouts) are served by the standard library's HTTP server, a real server speaking HTTP/1.1 over
loopback (and over TLS, with a certificate the test makes with openssl), because the bundled app
never answers that way."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from perfmon import Counter, Metrics, Trend
from perfmon.core.config import Scenario
from perfmon.load import Client, EngineOptions, RequestError, VirtualUser, run_scenario
from perfmon.loadgen.transports import TRANSPORTS, open_transport
from perfmon.system.target import free_port
from tests._support.apps import DemoApp
from tests._support.hostile import on_own_loop

T = TypeVar("T")


class Edges(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, *headers: tuple[str, str], close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name == "Transfer-Encoding" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if close:
            self.close_connection = True

    def do_GET(self) -> None:  # http.server calls it by this name
        path, _, query = self.path.partition("?")
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/gzip":
            self._send(200, gzip.compress(b"zipped"), ("Content-Encoding", "gzip"))
        elif path == "/deflate":
            self._send(200, zlib.compress(b"deflated"), ("Content-Encoding", "deflate"))
        elif path == "/close":
            self._send(200, b"closing", close=True)
        elif path == "/drop":  # answers, then drops the kept-alive connection without saying so
            self._send(200, b"dropped")
            self.close_connection = True
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            target = (f"../hop/{left - 1}" if left else "/query") + "?" + query
            self._send(302 if left % 2 else 301, b"", ("Location", target))
        elif path == "/eof":  # no length: the body ends with the connection, as HTTP/1.0 servers do
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True
        elif path == "/early-hints":  # an interim 103 before the answer
            self.send_response_only(103)
            self.send_header("Link", "</style.css>; rel=preload")
            self.end_headers()
            self._send(200, b"after the hints")
        elif path == "/loop":
            self._send(302, b"", ("Location", "/loop"))
        elif path == "/query":
            self._send(200, query.encode(), ("Server-Timing", "app;dur=7.5, db;dur=2"))
        elif path == "/slow":
            time.sleep(1.5)
            with contextlib.suppress(OSError):  # the client gave up long ago
                self._send(200, b"late")
        else:
            self._send(404, b"no such page")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if self.path == "/see-other":
            self._send(303, b"", ("Location", "/query?from=post"))
        else:
            self._send(200, self.headers.get("Content-Type", "").encode() + b" " + body)


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Edges)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def edges() -> Iterator[str]:
    yield from _serve()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def tls_edges(certificate: Path) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    yield from _serve(context)


async def _exchanges(base_url: str, transport_name: str) -> list[tuple[Any, ...]]:
    """Each exchange as (label, status, body, final path), or (label, the error's kind)."""
    transport = open_transport(transport_name, "perfmon-test")
    metrics = Metrics()
    client = Client(transport, metrics, base_url=base_url, timeout_s=5)
    seen: list[tuple[Any, ...]] = []

    async def attempt(label: str, method: str, path: str, **kw: Any) -> None:
        try:
            r = await client.request(method, path, **kw)
        except RequestError as exc:
            seen.append((label, exc.kind))
            return
        seen.append((label, r.status_code, r.text, r.url.removeprefix(base_url)))

    try:
        for path in ("/chunked", "/gzip", "/deflate", "/close", "/close", "/drop", "/drop", "/drop", "/missing", "/eof",
                     "/early-hints", "/chunked"):
            await attempt(path, "GET", path)
        await attempt("hops", "GET", "/hop/3", params={"a": "1", "b": ["x", "y"]})
        await attempt("303", "POST", "/see-other", json={"k": 1})
        await attempt("json", "POST", "/echo", json={"k": 1})
        await attempt("form", "POST", "/echo", data={"a": "1 2"})
        await attempt("/loop", "GET", "/loop")
        await attempt("/slow", "GET", "/slow", timeout=0.5)
    finally:
        await transport.close()
    server: dict[str, float] = {}
    for name, tags, t in metrics.series():
        if isinstance(t, Trend) and name.startswith("http_req_server"):
            server[tags.get("metric", "")] = server.get(tags.get("metric", ""), 0) + t.sum
    seen.append(("server-timing", server))
    return seen


def test_the_lean_transport_answers_as_aiohttp_does(edges: str) -> None:
    lean, reference = (on_own_loop(_exchanges(edges, name)) for name in ("lean", "aiohttp"))
    assert lean == reference
    # And the answers are the right ones, not merely the same.
    found = {row[0]: row[1:] for row in lean}
    assert found["/chunked"] == (200, "hello chunked world", "/chunked")
    assert found["/gzip"][:2] == (200, "zipped") and found["/deflate"][:2] == (200, "deflated")
    assert found["/drop"][:2] == (200, "dropped") and found["/missing"][0] == 404
    assert found["/eof"][:2] == (200, "until the end") and found["/early-hints"][:2] == (200, "after the hints")
    assert found["hops"] == (200, "a=1&b=x&b=y", "/query?a=1&b=x&b=y")
    assert found["303"] == (200, "from=post", "/query?from=post")
    assert found["json"][:2] == (200, 'application/json {"k": 1}')
    assert found["form"][:2] == (200, "application/x-www-form-urlencoded a=1+2")
    assert found["/loop"] == ("TooManyRedirects",) and found["/slow"] == ("TimeoutError",)
    assert found["server-timing"] == ({"": 7.5 * 2, "db": 2.0 * 2},)  # two answers from /query


EXCHANGES = """
import asyncio, json, sys
from tests.e2e.test_transports import _exchanges
print(json.dumps({name: asyncio.run(_exchanges(sys.argv[1], name)) for name in ("lean", "aiohttp")}))
"""


def test_over_tls_the_lean_transport_answers_as_aiohttp_does(tls_edges: str, certificate: Path) -> None:
    # In a process of its own: aiohttp reads SSL_CERT_FILE once, when it is imported.
    root = Path(__file__).resolve().parents[2]

    def exchanges(**env: str) -> dict[str, list[list[object]]]:
        out = subprocess.run([sys.executable, "-c", EXCHANGES, tls_edges], cwd=root, capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"} | env, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        return dict(json.loads(out.stdout))

    trusted = exchanges(SSL_CERT_FILE=str(certificate / "cert.pem"))
    assert trusted["lean"] == trusted["aiohttp"]
    assert ["/chunked", 200, "hello chunked world", "/chunked"] in trusted["lean"]
    assert ["/gzip", 200, "zipped", "/gzip"] in trusted["lean"]
    # A certificate nobody vouched for is refused by both, under the same name.
    untrusted = exchanges()
    kinds = {name: {row[1] for row in rows[:-1]} for name, rows in untrusted.items()}
    assert kinds == {"lean": {"ClientConnectorCertificateError"}, "aiohttp": {"ClientConnectorCertificateError"}}


def test_a_refused_connection_is_the_same_error_kind() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async def kind(name: str) -> str:
        transport = open_transport(name, "perfmon-test")
        try:
            await Client(transport, Metrics(), base_url=url).get("/")
        except RequestError as exc:
            return exc.kind
        finally:
            await transport.close()
        return "answered"

    assert {name: on_own_loop(kind(name)) for name in TRANSPORTS} == dict.fromkeys(TRANSPORTS, "ClientConnectorError")


async def _journey(client: Client, user: VirtualUser) -> None:
    r = await client.post("/api/auth/login", json={"email": user.email, "password": user.password})
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    await client.get("/api/dashboard")
    await client.post("/api/forms/submit", json={"form_id": 1 + user.index % 20})
    await client.get("/api/nothing-here")


def test_one_scenario_through_both_transports_counts_and_times_alike(clean_demo: DemoApp) -> None:
    # The server's own delay (100 ms) dominates each request, so both transports must see it alike;
    # per-VU iterations make the counts exact, not a matter of throughput.
    clean_demo.set_faults(DEMO_LATENCY_MS="100")
    found = {}
    for name in TRANSPORTS:
        sc = Scenario(name="same", executor="per-vu-iterations", vus=4, iterations=3, duration_s=60,
                      think_time_s=0, transport=name)
        res = run_scenario(_journey, sc, base_url=clean_demo.url, options=EngineOptions(progress=False))
        assert res.run is not None
        counts = {(tags["name"], tags["status"]): c.count for _, tags, c in res.run.metrics.series("http_reqs")
                  if isinstance(c, Counter)}
        latency = res.run.metrics.select("http_req_duration{name:/api/dashboard}")
        assert isinstance(latency, Trend)
        found[name] = (counts, latency.percentile(50), latency.percentile(95))
    (lean_counts, lean_p50, lean_p95), (aio_counts, aio_p50, aio_p95) = found["lean"], found["aiohttp"]
    assert lean_counts == aio_counts == {("/api/auth/login", "200"): 12, ("/api/dashboard", "200"): 12,
                                         ("/api/forms/submit", "201"): 12, ("/api/nothing-here", "404"): 12}
    assert lean_p50 is not None and aio_p50 is not None and lean_p95 is not None and aio_p95 is not None
    assert min(lean_p50, aio_p50) >= 100
    assert lean_p50 == pytest.approx(aio_p50, rel=0.25) and lean_p95 == pytest.approx(aio_p95, rel=0.25)
