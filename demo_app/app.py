"""The reference WedSync-like supplier app: pages, JSON API, fault knobs and server timings.

Every response carries ``Server-Timing: app;dur=<ms>`` (time from arrival to response,
queueing and injected faults included), and ``/admin/stats`` summarises them, so the
framework's client-side numbers can be checked against the server's own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import secrets
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jwt
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from .db import Database
from .faults import FaultError, Faults
from .hero import hero_svg

if TYPE_CHECKING:
    from .pg import PgDatabase

__all__ = ["DEFAULT_ADMIN_TOKEN", "create_app"]

DEFAULT_ADMIN_TOKEN = "perfmon-demo-admin"

_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
_UNFAULTED = ("/healthz", "/admin/", "/static/")


def _percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(env: Mapping[str, str] | None = None, db_path: Path | None = None) -> FastAPI:
    env = os.environ if env is None else env
    faults = Faults.from_env(env)
    admin_token = env.get("DEMO_ADMIN_TOKEN") or DEFAULT_ADMIN_TOKEN
    jwt_secret = env.get("DEMO_JWT_SECRET") or secrets.token_hex(32)
    scratch: Path | None = None
    pg: PgDatabase | None = None
    db: Database | PgDatabase
    if url := env.get("DEMO_DATABASE_URL"):
        from .pg import PgDatabase  # psycopg only when asked for

        db = pg = PgDatabase(url, faults)
        pg.open()
    else:
        if db_path is None:
            scratch = Path(tempfile.mkdtemp(prefix="wedsync-demo-"))
            db_path = scratch / "demo.db"
        db = Database(db_path)
        db.seed()
    templates = Environment(loader=PackageLoader("demo_app", "templates"), autoescape=select_autoescape())
    static = {p.name: p.read_bytes() for p in resources.files("demo_app").joinpath("static").iterdir()}
    static["hero.svg"] = hero_svg()
    leaked: list[bytearray] = []
    server_ms: deque[float] = deque(maxlen=200_000)

    app = FastAPI(title="WedSync demo", docs_url=None, redoc_url=None)
    app.state.faults = faults

    async def stall_loop() -> None:
        # Freezes the whole event loop, as a GC pause or a blocking call would.
        while True:
            every = faults.stall_every_s
            await asyncio.sleep(every if every > 0 else 0.5)
            if faults.stall_every_s > 0 and faults.stall_ms > 0:
                time.sleep(faults.stall_ms / 1000)

    @app.on_event("startup")
    async def _start() -> None:
        app.state.stall_task = asyncio.create_task(stall_loop())

    @app.on_event("shutdown")
    async def _stop() -> None:
        if pg is not None:
            pg.close()
        if scratch is not None:  # a temporary database: nothing of it outlives the app
            shutil.rmtree(scratch, ignore_errors=True)

    @app.middleware("http")
    async def inject(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        path = request.url.path
        if path.startswith(_UNFAULTED):
            return await call_next(request)
        if pg is None:
            return await faulted(request, call_next, start, "")
        try:
            async with pg.request() as waited_ms:  # the request holds one connection, waits included
                return await faulted(request, call_next, start, f", db-pool;dur={waited_ms:.3f}")
        except TimeoutError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)

    async def faulted(request: Request, call_next: Callable[[Request], Awaitable[Response]], start: float,
                      timing: str) -> Response:
        path = request.url.path
        if faults.leak_kb_per_req > 0:
            leaked.append(bytearray(b"\x01") * int(faults.leak_kb_per_req * 1024))
        gate = faults.gate()
        if gate is not None:
            async with gate:
                if faults.service_ms > 0:
                    await asyncio.sleep(faults.service_ms / 1000)
        elif faults.service_ms > 0:
            await asyncio.sleep(faults.service_ms / 1000)
        delay = faults.added_latency_s(path)
        if delay:
            await asyncio.sleep(delay)
        if path.startswith("/api/") and faults.should_fail():
            response: Response = JSONResponse({"error": "injected failure"}, status_code=500)
        else:
            response = await call_next(request)
        took = (time.perf_counter() - start) * 1000
        server_ms.append(took)
        response.headers["Server-Timing"] = f"app;dur={took:.3f}{timing}"
        return response

    # --- auth -------------------------------------------------------------------------------
    def issue(uid: int) -> str:
        return jwt.encode({"sub": str(uid), "exp": int(time.time()) + 3600}, jwt_secret, algorithm="HS256")

    def user_id(request: Request) -> int | None:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else request.cookies.get("session")
        if not token:
            return None
        try:
            return int(jwt.decode(token, jwt_secret, algorithms=["HS256"])["sub"])
        except (jwt.PyJWTError, KeyError, ValueError):
            return None

    def require(request: Request) -> int:
        uid = user_id(request)
        if uid is None:
            raise HTTPException(401, "missing or invalid bearer token")
        return uid

    def page(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(faults=faults, **ctx), status_code=status)

    # --- pages ------------------------------------------------------------------------------
    @app.get("/")
    def root() -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.get("/login")
    def login_page() -> HTMLResponse:
        return page("login.html", error=None)

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        email, password = form.get("email", [""])[0], form.get("password", [""])[0]
        uid = await asyncio.to_thread(db.check_login, email, password)
        if uid is None:
            return page("login.html", status=401, error="Email or password is wrong.")
        resp = RedirectResponse("/dashboard", status_code=303)
        resp.set_cookie("session", issue(uid), httponly=True, samesite="lax")
        return resp

    @app.get("/dashboard", response_model=None)
    @app.get("/dashboard/clients", response_model=None)  # the same page; app.js shows the clients view
    def dashboard(request: Request) -> Response:
        uid = user_id(request)
        if uid is None:
            return RedirectResponse("/login", status_code=303)
        user = db.user(uid)
        couples = db.couples(uid)
        months = [0] * 12
        for c in couples:
            months[int(str(c["wedding_date"])[5:7]) - 1] += 1
        return page("dashboard.html", user=user, couples=couples, months=months, peak=max(months) or 1,
                    recent=db.recent_submissions(uid))

    @app.get("/forms/{form_id}", response_model=None)
    def form_page(form_id: int, request: Request) -> Response:
        if user_id(request) is None:
            return RedirectResponse("/login", status_code=303)
        title = db.form_title(form_id)
        if title is None:
            raise HTTPException(404, "no such form")
        return page("form.html", form_id=form_id, title=title)

    @app.get("/static/{name}")
    async def static_file(name: str) -> Response:
        body = static.get(name)
        if body is None:
            raise HTTPException(404, "no such file")
        if name.startswith("hero") and faults.lcp_delay_ms > 0:
            await asyncio.sleep(faults.lcp_delay_ms / 1000)
        media = _STATIC_TYPES.get(Path(name).suffix, "application/octet-stream")
        return Response(body, media_type=media, headers={"Cache-Control": "no-store"})

    # --- API --------------------------------------------------------------------------------
    @app.post("/api/auth/login")
    async def api_login(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            email, password = str(body["email"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send JSON {email, password}"}, status_code=400)
        uid = await asyncio.to_thread(db.check_login, email, password)
        if uid is None:
            return JSONResponse({"error": "invalid credentials"}, status_code=401)
        return JSONResponse({"token": issue(uid)})

    @app.get("/api/dashboard")
    def api_dashboard(request: Request) -> dict[str, Any]:
        uid = require(request)
        user = db.user(uid)
        couples = db.couples(uid)
        return {
            "supplier": {"email": user[0], "business_name": user[1]} if user else None,
            "couples": couples,
            "stats": {"total": len(couples), "booked": sum(c["status"] != "enquiry" for c in couples)},
            "recent": db.recent_submissions(uid),
        }

    @app.post("/api/forms/submit", status_code=201)
    async def api_submit(request: Request) -> JSONResponse:
        uid = require(request)
        try:
            body = await request.json()
            form_id = int(body["form_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send JSON with form_id and the answers"}, status_code=400)
        if db.form_title(form_id) is None:
            return JSONResponse({"error": "no such form"}, status_code=404)
        sid = await asyncio.to_thread(db.submit, form_id, uid, json.dumps(body))
        return JSONResponse({"id": sid}, status_code=201)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # --- admin: knobs and server-side timings -----------------------------------------------
    def admin(request: Request) -> None:
        client = request.client.host if request.client else ""
        if not _loopback(client):
            raise HTTPException(403, "the admin endpoints answer loopback clients only")
        if request.headers.get("authorization") != f"Bearer {admin_token}":
            raise HTTPException(403, "send Authorization: Bearer <DEMO_ADMIN_TOKEN>")

    @app.get("/admin/faults")
    def get_faults(request: Request) -> dict[str, Any]:
        admin(request)
        return faults.as_dict()

    @app.post("/admin/faults")
    async def set_faults(request: Request) -> JSONResponse:
        admin(request)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise FaultError("send a JSON object such as {\"DEMO_LATENCY_MS\": \"400\"}")
            faults.update(body)
        except (ValueError, FaultError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if pg is not None and body.keys() & {"DEMO_DB_POOL", "DEMO_DB_MISSING_INDEX"}:  # the lock is read per submit
            await asyncio.to_thread(pg.apply, faults)
        return JSONResponse(faults.as_dict())

    @app.get("/admin/stats")
    def stats(request: Request, reset: bool = False) -> dict[str, Any]:
        admin(request)
        values = sorted(server_ms)
        if reset:
            server_ms.clear()
        return {
            "count": len(values),
            "p50_ms": _percentile(values, 50),
            "p95_ms": _percentile(values, 95),
            "p99_ms": _percentile(values, 99),
            "leaked_bytes": sum(len(b) for b in leaked),
            "pid": os.getpid(),
        }

    return app
