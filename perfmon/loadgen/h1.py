"""A lean HTTP/1.1 client for load: asyncio protocols, httptools' C parser, TLS from the event loop.

Written by hand because the generator's CPU per request is its measuring budget: every CPU-second
it spends is taken from the browsers beside it and bounds one runner's reach. aiohttp cost about
twice k6's CPU per request here (issue #19; ``bench/http_engine.py`` has the figures), most of it
in layers a load generator does not need. This does only what one needs: keep-alive connections
per origin, over TLS (verified against the system's CAs, or ``SSL_CERT_FILE``) for ``https``,
Content-Length and chunked bodies (llhttp, through httptools), gzip and deflate, a total timeout
per request, a bound on a body's size (an endless stream or a decompression bomb fails the request
as ``ResponseTooLarge`` instead of filling the generator's memory), and a retry on a fresh
connection only for idempotent methods (a POST is never sent twice). ``transports.py`` sends the
rest (HEAD, credentials in the URL) through aiohttp.

Errors keep the class names aiohttp gives the same failures (``ClientConnectorError``,
``ServerDisconnectedError``, ...), so a run's ``http_req_errors{error}`` compares with history
whichever transport measured it.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from collections.abc import Mapping
from typing import Any

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from .urls import authority

__all__ = ["IDEMPOTENT", "MAX_BODY", "H1Pool", "ResponseTooLarge", "ServerDisconnectedError", "TransportError"]

MAX_BODY = 10 * 1024 * 1024  # a response body kept for a script: 10 MiB, decoded (k6 keeps bodies whole; we bound them)
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"))  # RFC 9110 9.2.2


class TransportError(OSError):
    """A request that got no complete HTTP response; its class name is the error's ``kind``."""


class ClientConnectorError(TransportError):
    """The connection could not be made (refused, unreachable, DNS)."""


class ClientConnectorSSLError(ClientConnectorError):
    """The TLS handshake failed."""


class ClientConnectorCertificateError(ClientConnectorError):
    """The server's certificate did not verify."""


class ServerDisconnectedError(TransportError):
    """The server closed the connection before the response was complete."""


class ClientPayloadError(TransportError):
    """The response could not be parsed or decoded."""


class ClientOSError(TransportError):
    """The connection failed while the request was being written."""


class ResponseTooLarge(TransportError):
    """The body (declared, received or decoded) passed the transport's limit; the connection is dropped."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; httptools calls the ``on_*`` methods as it parses."""

    __slots__ = ("body", "closed", "headers", "headers_done", "limit", "parser", "reading", "size", "transport",
                 "waiter")

    def __init__(self, limit: int = MAX_BODY) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes, bool]] | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.closed = False
        self.reading = False  # bytes of the current response arrived (a reused connection is not retried then)
        self.headers_done = False
        self.limit = limit
        self.size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reading = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.close()  # a 101's answer is complete; the protocol it switches to is not HTTP/1.1 (nor ours)
        except httptools.HttpParserError as exc:
            self._fail(ClientPayloadError(f"malformed response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not any(name.lower() in (b"content-length", b"transfer-encoding")
                                         for name, _ in self.headers):
            self.on_message_complete()  # a body without a length ends where the connection does (HTTP/1.0 style)
        if self.headers_done:  # the answer began and was cut short: aiohttp's name for it
            self._fail(ClientPayloadError("Response payload is not completed"))
        self._fail(ServerDisconnectedError("Server disconnected"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        for name, value in self.headers:
            if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > self.limit:
                self._too_large(f"the response declares {int(value)} bytes")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limit:
            self._too_large(f"the response passed {self.size} bytes")
            return
        self.body.append(body)

    def _too_large(self, what: str) -> None:
        self.body = []
        self._fail(ResponseTooLarge(f"{what}, over the {self.limit}-byte limit on a body"))
        self.close()

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.headers, self.body, self.headers_done = [], [], False  # an interim answer (103): the real one follows
            return
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
            waiter.set_result((status, self.headers, body, self.parser.should_keep_alive()))

    def _fail(self, exc: TransportError) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send(self, data: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        self.headers, self.body, self.reading, self.headers_done, self.size = [], [], False, False, 0
        self.waiter = waiter = loop.create_future()
        assert self.transport is not None
        self.transport.write(data)
        return waiter


class H1Pool:
    """Keep-alive connections per origin, opened as needed (no cap: each busy user holds one, as
    aiohttp's ``limit=0`` connector does), reused most-recent first."""

    def __init__(self, user_agent: str, *, max_body: int = MAX_BODY) -> None:
        self._max_body = max_body
        self._idle: dict[tuple[bool, str, int], deque[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._user_agent = user_agent.encode("latin-1")
        self._tls: ssl.SSLContext | None = None

    async def _connect(self, tls: bool, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        if tls and self._tls is None:
            self._tls = ssl.create_default_context()
        try:
            _, conn = await loop.create_connection(lambda: _Connection(self._max_body), host, port,
                                                   ssl=self._tls if tls else None)
        except OSError as exc:  # refused, unreachable, DNS, and a TLS handshake or certificate that fails
            kind = (ClientConnectorCertificateError if isinstance(exc, ssl.SSLCertVerificationError) else
                    ClientConnectorSSLError if isinstance(exc, ssl.SSLError) else ClientConnectorError)
            raise kind(f"Cannot connect to host {host}:{port} [{exc.strerror or exc}]") from exc
        self._all.add(conn)
        return conn

    async def request(self, method: str, host: str, port: int, target: str, headers: Mapping[str, str],
                      body: bytes | None, timeout_s: float, *, tls: bool = False
                      ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        """One exchange on a kept-alive connection: status, headers, the (decoded) body. ``target`` is
        already encoded and ``headers`` already checked (``urls.py``)."""
        loop = asyncio.get_running_loop()
        data = self._message(method, authority(host, port, tls), target, headers, body)
        deadline = loop.time() + timeout_s
        idle = self._idle.setdefault((tls, host, port), deque())
        for _ in range(2):  # a reused connection the server closed while idle gets one fresh retry
            reused = bool(idle)
            conn = idle.pop() if idle else None
            while conn is not None and conn.closed:
                self._all.discard(conn)
                conn = idle.pop() if idle else None
            if conn is None:
                reused = False
                conn = await asyncio.wait_for(self._connect(tls, host, port), max(deadline - loop.time(), 0))
            try:
                waiter = conn.send(data, loop)
            except (OSError, RuntimeError) as exc:
                conn.close()
                self._all.discard(conn)
                if reused:
                    continue
                raise ClientOSError(str(exc)) from exc
            timer = loop.call_at(deadline, _expire, waiter)
            try:
                status, raw, content, keep_alive = await waiter
            except ServerDisconnectedError:
                self._all.discard(conn)
                if reused and not conn.reading and method in IDEMPOTENT:
                    continue  # the server closed it while idle; a POST may have been taken, so it is not re-sent
                raise
            except BaseException:  # a timeout or a cancelled user: the connection is mid-response
                conn.close()
                self._all.discard(conn)
                raise
            finally:
                timer.cancel()
            if keep_alive and not conn.closed:
                idle.append(conn)
            else:
                conn.close()
                self._all.discard(conn)
            found: CIMultiDict[str] = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
            encoding = found.get("Content-Encoding")
            if encoding and content:
                content = _decoded(content, encoding, self._max_body)
            return status, CIMultiDictProxy(found), content
        raise ServerDisconnectedError("Server disconnected")

    def _message(self, method: str, host: str, target: str, headers: Mapping[str, str],
                 body: bytes | None) -> bytes:
        """The request as it goes on the wire: request line, headers (ours where the script gave none), body."""
        given = {k.lower() for k in headers}
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1")]
        if "host" not in given:  # a script's own Host (a virtual host on one address) replaces ours, as in httpx
            head.append(f"Host: {host}\r\n".encode("latin-1"))
        for name, value in headers.items():
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        if "user-agent" not in given:
            head.append(b"User-Agent: " + self._user_agent + b"\r\n")
        if "accept" not in given:
            head.append(b"Accept: */*\r\n")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: %d\r\n" % len(body or b""))
        head.append(b"\r\n")
        if body:
            head.append(body)
        return b"".join(head)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _decoded(content: bytes, encoding: str, limit: int) -> bytes:
    kind = encoding.strip().lower()
    try:
        if kind in ("gzip", "x-gzip"):
            return _inflate(content, 16 + zlib.MAX_WBITS, limit)
        if kind == "deflate":
            try:
                return _inflate(content, zlib.MAX_WBITS, limit)
            except zlib.error:
                return _inflate(content, -zlib.MAX_WBITS, limit)  # raw deflate, as some servers send it
    except zlib.error as exc:
        raise ClientPayloadError(f"cannot decode a {kind} body: {exc}") from exc
    return content


def _inflate(content: bytes, wbits: int, limit: int) -> bytes:
    """Decompressed, but never past ``limit`` bytes: a small bomb must not take the generator's memory."""
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(content, limit + 1)
    if len(out) > limit:
        raise ResponseTooLarge(f"the {len(content)}-byte body inflates past the {limit}-byte limit on a body")
    return out
