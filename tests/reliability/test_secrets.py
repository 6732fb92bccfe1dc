"""No secret leaks: planted fake secrets are searched for in everything perfmon prints or writes
(summary, errors, reports, summary.json, JUnit, Markdown, the spool, the store's rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from perfmon.core.redaction import redact
from tests._support.apps import DemoApp
from tests._support.sessions import perfmon_cmd, project, pytest_cmd, run, runs_in

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXBsYW50ZWQ"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://perfmon:pw-in-userinfo@db.example.com:5432/perf", "pw-in-userinfo"),
        ("postgresql://perfmon@db.example.com/perf?sslmode=require&password=pw-in-query", "pw-in-query"),
        ("host=db.example.com port=5432 password=pw-keyword dbname=perf", "pw-keyword"),
        ("host=db.example.com password='pw quoted' dbname=perf", "pw quoted"),
        ("http://admin:hunter2-basic@127.0.0.1:8000/dashboard", "hunter2-basic"),
        (f"Authorization: Bearer {JWT}", JWT.split(".")[1]),
        ("SUPABASE_SECRET_KEY=sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz", "N7UND0UgjKTVK"),
        ("/cb?api_token=at-1234&x=1", "at-1234"),
        ("/oauth?refresh_token=rt-1234", "rt-1234"),
        ("/oauth?client_secret=cs-1234", "cs-1234"),
        ("/ws?auth=au-1234", "au-1234"),
        ("/file.png?X-Amz-Signature=sg-1234&sig=sg-5678", "sg-"),
    ],
    ids=["userinfo", "query", "keyword-dsn", "keyword-quoted", "basic-auth", "jwt", "supabase-key", "api_token",
         "refresh_token", "client_secret", "auth", "signature"],
)
def test_the_redactor_masks_every_shape(text: str, secret: str) -> None:
    masked = redact(text, env={})
    assert secret not in masked and "***" in masked


def test_the_redactor_masks_secret_environment_values_and_keeps_ordinary_text() -> None:
    env = {"MY_API_TOKEN": "opaque-token-value", "HOME": "/root", "DEBUG_KEY": "1"}
    assert redact("sent opaque-token-value to /root", env=env) == "sent *** to /root"
    plain = "http://127.0.0.1:8000/api/items/1,2,3?page=2 monkey=banana"
    assert redact(plain, env=env) == plain


def planted(root: Path, *secrets: str) -> list[str]:
    """Files under ``root`` that contain any of ``secrets``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in secrets if s.encode() in data]
    return found


def test_no_planted_secret_reaches_any_output(tmp_path: Path, demo: DemoApp) -> None:
    proj = project(tmp_path)
    base_url = demo.url.replace("http://", "http://admin:hunter2-basic@")
    down_store = "postgresql://perfmon@127.0.0.1:1/perf?password=pw-in-query"
    secrets = ("hunter2-basic", "pw-in-query", "pw-keyword", JWT)
    extra = {"BASE_URL": base_url, "SUPABASE_SERVICE_ROLE_KEY": JWT}

    session = run(pytest_cmd("test_quick.py", "--perf-store", down_store, "--perf-report-dir", "rep"), proj, **extra)
    assert session.returncode == 4, session.stdout + session.stderr  # spooled
    assert "store failed" in session.stdout and "the run was kept in" in session.stdout
    spooled = list((proj / ".perfmon" / "spool").glob("*.json"))
    assert len(spooled) == 1
    assert len([p for p in (proj / "rep").glob("*/index.html") if p.parent.name != "latest"]) == 1

    keyword = run(perfmon_cmd("--store", "host=127.0.0.1 port=1 password=pw-keyword", "history"), proj, **extra)
    flush_down = run(perfmon_cmd("--store", down_store, "flush"), proj, **extra)
    assert keyword.returncode == 2 and flush_down.returncode == 2

    db = tmp_path / "good.db"
    flushed = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush", "--all"), proj, **extra)
    assert flushed.returncode == 0 and spooled[0].stem in flushed.stdout
    [(stored_url,)] = sqlite3.connect(db).execute("select base_url from performance_test_runs").fetchall()
    assert stored_url == base_url.replace("hunter2-basic", "***")

    printed = [out.stdout + out.stderr for out in (session, keyword, flush_down, flushed)]
    assert not [s for text in printed for s in secrets if s in text], printed
    assert planted(proj, *secrets) == []
    assert planted(tmp_path, *secrets) == []  # the store file included


@pytest.mark.pg
def test_a_query_string_password_never_shows_when_the_store_takes_the_run(tmp_path: Path, pg_url: str) -> None:
    proj = project(tmp_path)
    store = f"{pg_url}?password=pw-in-query"  # the local server trusts loopback: the run is stored
    out = run(pytest_cmd("test_quick.py", "--perf-store", store), proj)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "stored in postgresql://" in out.stdout and "password=***" in out.stdout
    history = run(perfmon_cmd("--store", store, "history"), proj)
    assert history.returncode == 0
    assert "pw-in-query" not in out.stdout + out.stderr + history.stdout + history.stderr
    assert planted(proj, "pw-in-query") == []


PLANTED_TEST = """
import os

import pytest

from perfmon.load import Client, VirtualUser

JWT = {jwt!r}


async def hit(client: Client, user: VirtualUser) -> None:
    await client.get("/healthz")
    await client.get("/healthz?token=tok-in-url-1234")
    await client.get(f"/api/reset/{{JWT}}", name=None)


@pytest.mark.parametrize("secret", [os.environ["E2E_API_SECRET"]])
def test_quick(perf_api, secret):
    perf_api.run(hit, scenario="quick")
"""


def test_secrets_in_paths_parameters_and_words_are_masked_in_the_store_and_never_corrupt_a_run(
        tmp_path: Path, demo: DemoApp) -> None:
    """#36: the store took tokens in paths and secret test parameters verbatim while the spool masked
    them; and the spool's text redaction turned ``"status": "passed"`` into ``"***"`` when a secret
    variable's value was ``passed``, so the spooled run could never be flushed."""
    proj = project(tmp_path, limit="60000")
    (proj / "test_quick.py").write_text(PLANTED_TEST.format(jwt=JWT))
    extra = {"E2E_PASSWORD": "passed", "E2E_API_SECRET": "param-secret-5678", "BASE_URL": demo.url}
    secrets = ("tok-in-url-1234", JWT.split(".")[1], "param-secret-5678")

    down = run(pytest_cmd("test_quick.py", "--perf-store", "postgresql://perfmon@127.0.0.1:1/perf"), proj, **extra)
    assert down.returncode == 4, down.stdout + down.stderr  # spooled, and judged: the 404s fail no threshold
    [spooled] = (proj / ".perfmon" / "spool").glob("*.json")
    assert '"status": "passed"' in spooled.read_text()

    db = tmp_path / "r.db"
    flushed = run(perfmon_cmd("--store", f"sqlite:///{db}", "flush", "--all"), proj, **extra)
    assert flushed.returncode == 0 and spooled.stem in flushed.stdout, flushed.stdout + flushed.stderr
    direct = run(pytest_cmd("test_quick.py", "--perf-store", f"sqlite:///{db}"), proj, **extra)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert sorted(status for _, _, status in runs_in(db)) == ["passed", "passed"]

    con = sqlite3.connect(db)
    names = {n for (n,) in con.execute("select tags from performance_metric_series")}
    assert any("/healthz?token=***" in n or "/api/reset/***" in n for n in names), names
    dumped = "\n".join(con.iterdump())
    assert [s for s in secrets if s in dumped] == []
    written = [p for p in planted(tmp_path, *secrets) if not p.startswith(str(proj / "test_quick.py"))]
    assert written == []  # the spool, the reports, the store file: everything but the test that holds them
