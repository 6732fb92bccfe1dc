"""A FAKE of the hosted Supabase REST API (PostgREST), as an httpx transport.

No PostgREST server can run here, so the Supabase store's HTTP contract is tested against this
stand-in: upserts keyed by ``on_conflict`` columns, PATCH with ``eq.`` and ``is.null`` filters (returning
the rows when asked), GET with
``eq.``/``like.`` (prefix)/order/limit, and scripted failures (status codes with PostgREST-style error bodies,
timeouts, a store that dies after N requests). It records every request for assertions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from perfmon.store.supabase import SupabaseStore


@dataclass
class Failure:
    status: int = 503
    code: str = "PGRST000"
    timeout: bool = False


@dataclass
class FakePostgREST:
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    script: list[Failure] = field(default_factory=list)  # failures for the next requests, in order
    die_after: int | None = None  # every request after this many fails with 503 (the store went down)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables.get(table, {}).values())

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        failure = self.script.pop(0) if self.script else None
        if failure is None and self.die_after is not None and len(self.requests) > self.die_after:
            failure = Failure(503, "PGRST000")
        if failure is not None:
            if failure.timeout:
                raise httpx.ReadTimeout("timed out", request=request)
            body = {"code": failure.code, "message": f"injected {failure.status}", "details": None, "hint": None}
            return httpx.Response(failure.status, json=body)
        table = request.url.path.rsplit("/", 1)[-1]
        params = parse_qsl(request.url.query.decode())
        if request.method == "POST":
            return self._upsert(request, table, dict(params).get("on_conflict", "id"))
        filters = [(k, v[3:]) for k, v in params if v.startswith("eq.")]
        prefixes = [(k, v[5:].rstrip("%*")) for k, v in params if v.startswith("like.")]  # only "prefix%" is used
        nulls = [k for k, v in params if v == "is.null"]
        matching = [r for r in self.rows(table) if all(str(r.get(k)).lower() == v.lower() for k, v in filters)
                    and all(str(r.get(k) or "").startswith(v) for k, v in prefixes)
                    and all(r.get(k) is None for k in nulls)]
        if request.method == "PATCH":
            for r in matching:
                r.update(json.loads(request.content))
            if "return=representation" in request.headers.get("prefer", ""):
                return httpx.Response(200, json=matching)
            return httpx.Response(204)
        if request.method == "GET":
            order = dict(params).get("order")
            if order:
                col, _, direction = order.partition(".")
                matching.sort(key=lambda r: str(r.get(col)), reverse=direction.startswith("desc"))
            limit = dict(params).get("limit")
            if limit:
                matching = matching[: int(limit)]
            return httpx.Response(200, json=matching)
        return httpx.Response(405)

    def _upsert(self, request: httpx.Request, table: str, on_conflict: str) -> httpx.Response:
        prefer = request.headers.get("prefer", "")
        if "resolution=merge-duplicates" not in prefer:
            return httpx.Response(409, json={"code": "23505", "message": "duplicate key", "details": None,
                                             "hint": None})
        body = json.loads(request.content)
        rows = body if isinstance(body, list) else [body]
        keys = on_conflict.split(",")
        store = self.tables.setdefault(table, {})
        for row in rows:
            key = tuple(str(row[k]) for k in keys)
            defaults = {"created_at": datetime.now(UTC).isoformat()} if table == "performance_test_runs" else {}
            store[key] = {**defaults, **store.get(key, {}), **row}  # column defaults, as the database fills them
        return httpx.Response(201)


KEY = "sk-test-SECRET-0123456789abcdef"


URL = "https://fakeproject.supabase.co"


def store(fake: FakePostgREST, **kw: object) -> SupabaseStore:
    """A Supabase store whose HTTP goes to ``fake``."""
    return SupabaseStore(URL, KEY, transport=fake.transport(), backoff_s=0.0, **kw)  # type: ignore[arg-type]
