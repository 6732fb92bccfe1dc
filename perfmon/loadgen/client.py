"""An httpx-compatible async client for load scripts.

Scripts see httpx's surface (``await client.get(url)``, ``response.status_code``,
``response.json()``); underneath is a transport (``transports.py``): the lean HTTP/1.1 client
for plain HTTP, aiohttp for TLS and the rest, because a load generator's CPU is its measuring
budget (bench/http_engine.py has the figures). Every request is recorded into k6-named metrics:

- ``http_req_duration`` Trend (ms), tags ``name``, ``method``, ``status``, plus the scenario's
- ``http_reqs`` Counter, ``http_req_failed`` Rate (status >= 400 or a transport error)
- ``http_req_errors`` Counter tagged ``error`` = status code or exception class
- ``http_req_server_duration`` Trend (ms), when the server sends ``Server-Timing: …;dur=``:
  the server's own account, to compare with what the client saw (its first metric); each further
  metric in the header is ``http_req_server_timing`` tagged ``metric`` (``db-pool;dur=`` is a wait
  for a database connection: analysis/database.py reads it)

``name`` defaults to the path with ids folded (``/api/forms/17`` -> ``/api/forms/{id}``) so
one endpoint is one row.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..core.metrics import Counter, Metrics, Rate, Trend
from ..core.metrics.catalog import NO_ANSWER
from ..core.names import endpoint_name
from .transports import Transport
from .urls import InvalidHeader, check_headers

__all__ = ["Client", "RequestError", "Response", "endpoint_name"]

class RequestError(Exception):
    """A request that got no HTTP response (refused, DNS, TLS, timeout); like httpx.RequestError."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class Response:
    """The parts of ``httpx.Response`` scripts use."""

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, url: str, elapsed_ms: float):
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url
        self.elapsed_ms = elapsed_ms

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> Response:
        if self.status_code >= 400:
            msg = f"HTTP {self.status_code} for {self.url}"
            raise RequestError(msg, kind=str(self.status_code))
        return self

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class Client:
    """One per virtual user; shares the engine's connection pool and metrics."""

    def __init__(
        self,
        transport: Transport,
        metrics: Metrics,
        *,
        base_url: str,
        tags: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self._transport = transport
        self._metrics = metrics
        self.base_url = base_url.rstrip("/")
        self.headers: dict[str, str] = dict(headers or {})
        self._tags = dict(tags or {})
        self._timeout_s = timeout_s
        self._series: dict[tuple[str, str, str], tuple[Trend, Counter, Rate]] = {}
        self._errors: dict[tuple[str, str], Counter] = {}
        self._server: dict[tuple[str, str, str, str], Trend] = {}
        self._labels: dict[str, str] = {}  # URL -> endpoint name
        # Set by the engine for open-model iterations: the first request's latency starts at the
        # time the iteration was scheduled, so a late generator cannot hide server slowness.
        self.intended_start: float | None = None

    def _record(self, name: str, method: str, status: str, ms: float, failed: bool, error: str | None) -> None:
        key = (name, method, status)
        s = self._series.get(key)
        if s is None:
            tags = {**self._tags, "name": name, "method": method, "status": status}
            s = (self._metrics.trend("http_req_duration", tags), self._metrics.counter("http_reqs", tags),
                 self._metrics.rate("http_req_failed", tags))
            self._series[key] = s
        now = time.time()
        s[0].record(ms, now)
        s[1].add(1, now)
        s[2].record(failed, now)
        if error is not None:
            ekey = (name, error)
            c = self._errors.get(ekey)
            if c is None:
                c = self._metrics.counter("http_req_errors", {**self._tags, "name": name, "error": error})
                self._errors[ekey] = c
            c.add(1, now)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        full = url if "://" in url else f"{self.base_url}{url if url.startswith('/') else '/' + url}"
        label = name or self._labels.get(full)
        if label is None:
            label = endpoint_name(urlsplit(full).path)
            if len(self._labels) < 1024:  # unique query strings must not grow this without bound
                self._labels[full] = label
        merged = {**self.headers, **headers} if headers else self.headers
        body, kind = _body(json, data, content)
        if kind is not None:
            merged = {**merged, "Content-Type": kind}
        if params:
            full = f"{full}{'&' if '?' in full else '?'}{urlencode(params, doseq=True)}"
        start = time.perf_counter()
        if self.intended_start is not None:
            start = min(start, self.intended_start)
            self.intended_start = None
        try:
            check_headers(merged)
        except InvalidHeader as exc:  # never sent; failed as httpx fails it (a RequestError), and counted
            self._record(label, method, NO_ANSWER, 0.0, True, "InvalidHeader")
            raise RequestError(f"{method} {full}: InvalidHeader: {exc}", kind="InvalidHeader") from exc
        try:
            status, found, received, final = await self._transport.send(
                method, full, merged, body, self._timeout_s if timeout is None else timeout)
            ms = (time.perf_counter() - start) * 1000
            response = Response(status, found, received, final, ms)
        except OSError as exc:  # the transports' errors, and TimeoutError, are all OSErrors
            ms = (time.perf_counter() - start) * 1000
            kind = type(exc).__name__
            self._record(label, method, NO_ANSWER, ms, True, kind)
            raise RequestError(f"{method} {full}: {kind}: {exc}", kind=kind) from exc
        except asyncio.CancelledError:
            # Cancelled at the end of the graceful stop, or by Ctrl-C: a hung target's worst latencies
            # are exactly these, so they count as failed requests with the time they had taken.
            self._record(label, method, NO_ANSWER, (time.perf_counter() - start) * 1000, True, "interrupted")
            raise
        failed = status >= 400
        self._record(label, method, str(status), ms, failed, str(status) if failed else None)
        timing = response.headers.get("Server-Timing")
        if timing:
            self._record_server(label, method, str(status), timing)
        return response

    def _record_server(self, name: str, method: str, status: str, header: str) -> None:
        # RFC's "app;dur=12.3, db-pool;dur=9.8;desc=...": the first metric is the server's total time;
        # each further one (a pool wait, the queries' time) is a part of it, kept by its metric name.
        # Per response: partition, not a full parse (bench/http_engine.py counts the generator's CPU).
        for i, entry in enumerate(header.split(",")):
            metric, _, params = entry.partition(";")
            _, found, rest = params.partition("dur=")
            if not found:
                continue
            try:
                ms = float(rest.split(";", 1)[0])
            except ValueError:
                continue
            metric = "" if i == 0 else metric.strip() or "unnamed"
            key = (name, method, status, metric)
            trend = self._server.get(key)
            if trend is None:
                tags = {**self._tags, "name": name, "method": method, "status": status}
                trend = (self._metrics.trend("http_req_server_timing", {**tags, "metric": metric}) if metric else
                         self._metrics.trend("http_req_server_duration", tags))
                self._server[key] = trend
            trend.record(ms)

    async def get(self, url: str, **kw: Any) -> Response:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Response:
        return await self.request("POST", url, **kw)

    async def put(self, url: str, **kw: Any) -> Response:
        return await self.request("PUT", url, **kw)

    async def patch(self, url: str, **kw: Any) -> Response:
        return await self.request("PATCH", url, **kw)

    async def delete(self, url: str, **kw: Any) -> Response:
        return await self.request("DELETE", url, **kw)

    async def head(self, url: str, **kw: Any) -> Response:
        return await self.request("HEAD", url, **kw)


def _body(json: Any, data: Any, content: bytes | None) -> tuple[bytes | None, str | None]:
    """The request body from httpx's three ways of giving one, and the Content-Type it implies."""
    if json is not None:
        return jsonlib.dumps(json).encode(), "application/json"
    if content is not None:
        return content, None
    if data is None:
        return None, None
    if isinstance(data, Mapping):
        return urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
    return (data.encode() if isinstance(data, str) else bytes(data)), None
