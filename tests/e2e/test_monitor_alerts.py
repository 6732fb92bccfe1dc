
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from perfmon import PerformanceMonitor
from tests._support.runs import results


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    got: list[dict[str, Any]] = []
    answers = [503, 200]  # the first delivery fails: the monitor must retry

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got, answers
    server.shutdown()


def test_alert_is_slack_compatible_and_retried(receiver: tuple[str, list[dict[str, Any]], list[int]]) -> None:
    url, got, _ = receiver
    r = results(2000, 4000, 0.2, 5)
    assert PerformanceMonitor(webhook_url=url).send_performance_alert(r, ["p95 too high"], "perf-reports/x")
    assert len(got) == 2
    assert got[-1]["run_id"] == r.run_id and "p95 too high" in got[-1]["text"]


def test_alert_failure_never_raises() -> None:
    assert PerformanceMonitor(webhook_url="http://127.0.0.1:9/nope").send_performance_alert(
        results(1, 1, 0, 1), ["x"]) is False
