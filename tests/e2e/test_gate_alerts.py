


"""`perfmon gate`: a commit deploys only on a recent, complete, passing run with no open regression;
every refusal is one line and its own exit code. On a real SQLite store (PostgreSQL shares the SQL;
the Supabase backend's filter is checked against the fake PostgREST in test_store_supabase.py)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfmon.cli import main
from tests._support.runs import SHA, commit_run, gate, stored


class Webhook:
    """A real HTTP endpoint on loopback that records what the gate posts (or answers 503: it is down)."""

    def __init__(self, status: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.got: list[dict[str, Any]] = []
        got, code = self.got, status

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Hook)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    hook = Webhook()
    for name in ("GITHUB_REF_PROTECTED", "CI_COMMIT_REF_PROTECTED", "GITHUB_SERVER_URL", "CI_JOB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERFMON_ALERT_WEBHOOK", hook.url)
    yield hook
    hook.close()


def test_a_refusal_on_a_protected_branch_alerts_once_per_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = commit_run("failed")
    url = stored(tmp_path, failed)
    assert gate(url, capsys, "--sha", SHA)[0] == 1 and webhook.got == []  # not protected, not asked: quiet
    monkeypatch.setenv("GITHUB_REF_PROTECTED", "true")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "wedsync/platform")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    code, said = gate(url, capsys, "--sha", SHA)
    assert code == 1 and "perfmon gate: alert sent to PERFMON_ALERT_WEBHOOK" in said
    [posted] = webhook.got
    assert posted["run_id"] == failed.run_id and posted["sha"] == SHA and posted["environment"] == "ci"
    assert posted["text"].startswith(f"*perfmon gate refused deploying {SHA[:12]} to ci*\nrun {failed.run_id[:8]}")
    assert posted["text"].endswith("https://github.example/wedsync/platform/actions/runs/77")
    code, said = gate(url, capsys, "--sha", SHA)  # the deploy job is retried
    assert code == 1 and f"alert not sent: the refusal of run {failed.run_id[:8]} was already posted" in said
    assert len(webhook.got) == 1


def test_an_alert_never_carries_a_secret_and_a_failed_post_is_tried_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_store = "postgresql://perfmon:hunter2-in-url@127.0.0.1:9/perf"  # nothing listens: unreadable, exit 4
    code = main(["--store", secret_store, "gate", "--env", "ci", "--sha", SHA, "--alert"])
    said = capsys.readouterr()
    assert code == 4 and "hunter2" not in said.err + said.out
    [posted] = webhook.got
    assert "the store could not be read" in posted["text"] and "hunter2" not in json.dumps(posted)
    down = Webhook(status=503)
    monkeypatch.setenv("PERFMON_ALERT_WEBHOOK", down.url)
    url = stored(tmp_path, commit_run("failed"))
    assert "alert to PERFMON_ALERT_WEBHOOK failed" in gate(url, capsys, "--sha", SHA, "--alert")[1]
    down.close()
    monkeypatch.setenv("PERFMON_ALERT_WEBHOOK", webhook.url)
    assert "alert sent" in gate(url, capsys, "--sha", SHA, "--alert")[1]  # the failed one did not use up the run
