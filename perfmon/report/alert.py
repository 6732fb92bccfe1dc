"""Alerts: a Slack-compatible message to a webhook when a run fails or a deploy is refused.

An alert must never fail or lose the run, so nothing here raises: it returns whether the message
was delivered. The text is redacted before it leaves the machine.
"""

from __future__ import annotations

from typing import Any

from ..core.redaction import redact
from ..core.results import PerformanceTestResults
from ..core.retry import retry

__all__ = ["post_webhook", "run_alert"]


class _ServerBusy(Exception):
    """A 5xx answer: worth another try."""


def post_webhook(url: str, payload: dict[str, Any]) -> bool:
    """Post a Slack-compatible message (``{"text": ...}``), its text redacted; retried on 5xx and
    transport errors, never raises. Returns whether it was delivered."""
    import httpx

    payload = {**payload, "text": redact(str(payload.get("text", "")))}

    def once() -> bool:
        r = httpx.post(url, json=payload, timeout=10)
        if r.status_code >= 500:
            raise _ServerBusy
        return r.is_success

    def transient(exc: BaseException) -> bool:  # a malformed URL (httpx.InvalidURL) cannot get better
        return isinstance(exc, _ServerBusy | httpx.HTTPError)

    try:
        return retry(once, attempts=3, backoff_s=0.5, transient=transient)
    except (_ServerBusy, httpx.HTTPError, httpx.InvalidURL):  # InvalidURL is not an HTTPError
        return False


def run_alert(webhook_url: str, results: PerformanceTestResults, problems: list[str],
              report_path: str | None = None) -> bool:
    """Tell the webhook that the run behind ``results`` failed, with its problems and report."""
    lines = [f"*perfmon: {results.test_type} run {results.run_id} failed* ({results.environment})"]
    lines += [f"• {p}" for p in problems]
    if report_path:
        lines.append(f"Report: {report_path}")
    return post_webhook(webhook_url, {"text": "\n".join(lines), "run_id": results.run_id,
                                      "problems": [redact(p) for p in problems]})
