"""May this commit be deployed? The answer ``perfmon gate`` gives, read from the store alone.

A deploy job often runs in another pipeline, or hours after the tests, so it does not re-run
anything: it looks for the newest complete run of the commit (in the environment, profile and test
type asked for) and allows the deploy only when that run passed, is recent enough, and has no open
regression (a regression or leak against its history that was not accepted as intended with
``perfmon baseline accept``). Anything else refuses, with the reason: the gate fails closed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..report.alert import post_webhook
from ..store import Store
from .compare import open_regressions

__all__ = ["CLOCK_SKEW_S", "DeployVerdict", "alert_refusal", "check_deploy"]

_PREFIX_RUNS = 500  # runs read for a short SHA, to see whether it names more than one commit
CLOCK_SKEW_S = 300.0  # a run stamped further in the future than this has no age --max-age can trust


@dataclass(frozen=True)
class DeployVerdict:
    """``reason``: ``passed``, ``failed`` (failed or partial), ``regressed``, ``unmeasured`` (it could
    not be measured, or was interrupted), ``stale`` (too old, or stamped in the future), ``missing``
    (no complete run of the commit) or ``ambiguous`` (a short SHA that starts several commits')."""

    reason: str
    line: str
    run_id: str | None = None  # the run the verdict is about (none when no run of the commit was found)

    @property
    def allowed(self) -> bool:
        return self.reason == "passed"


def check_deploy(store: Store, sha: str, *, environment: str | None, profile: str | None = None,
                 test_type: str | None = None, max_age_s: float | None = None,
                 now: float | None = None) -> DeployVerdict:
    """The verdict for commit ``sha`` (or its first characters). Raises StoreError when the store
    cannot be read."""
    where = " ".join(part for part in (f"environment {environment}" if environment else "",
                                       f"profile {profile}" if profile else "",
                                       f"test type {test_type}" if test_type else "") if part) or "any environment"
    summaries = store.history(test_type=test_type, environment=environment, profile=profile, git_sha=sha,
                              limit=1 if len(sha) == 40 else _PREFIX_RUNS)
    if not summaries:
        return DeployVerdict("missing", f"no complete performance run of commit {sha[:12]} in {where}; run the "
                                        f"performance tests for it first")
    commits = sorted({s.git_sha for s in summaries if s.git_sha})
    if len(commits) > 1:  # as git refuses an ambiguous short SHA: another commit's run must never allow this one
        return DeployVerdict("ambiguous", f"{sha} is the start of {len(commits)} commits with runs "
                                          f"({', '.join(c[:12] for c in commits[:4])}); pass more of the SHA")
    run = store.load_run(summaries[0].run_id)
    name = (f"run {run.run_id[:8]} of commit {(run.git_sha or sha)[:12]} "
            f"({run.test_type}, {run.environment}, profile {run.profile})")
    age = (now if now is not None else time.time()) - run.started_at
    if max_age_s is not None and age < -CLOCK_SKEW_S:
        return DeployVerdict("stale", f"{name} is stamped {_hours(-age)} in the future (the clock of the machine that "
                                      "ran it is wrong), so its age is unknown; fix that clock and run the "
                                      "performance tests again", run.run_id)
    if max_age_s is not None and age > max_age_s:
        return DeployVerdict("stale", f"{name} is {_hours(age)} old, more than --max-age {_hours(max_age_s)}; run "
                                      f"the performance tests again", run.run_id)
    if run.status in ("unmeasured", "interrupted"):
        why = (run.metadata.get("unmeasured") or ["it was interrupted"])[0]
        return DeployVerdict("unmeasured", f"{name} could not be measured ({run.status.upper()}: {why}); run the "
                                           "performance tests again", run.run_id)
    if run.status != "passed":
        failed = [f"{o.threshold.metric} {o.threshold.expression}" for o in run.failed_thresholds]
        why = f": {', '.join(failed[:3])}" if failed else ""
        return DeployVerdict("failed", f"{name} {run.status.upper()}{why}", run.run_id)
    regressions = open_regressions(run)
    if regressions:
        return DeployVerdict("regressed", f"{name} passed but regressed against its history: "
                                          f"{', '.join(regressions[:3])}; fix it, or accept it as intended with "
                                          f"`perfmon baseline accept {run.run_id[:8]}`", run.run_id)
    return DeployVerdict("passed", f"{name} PASSED with no open regression", run.run_id)


def alert_refusal(store: Store | None, webhook: str, line: str, *, sha: str, environment: str | None,
                  run_id: str | None, where: str | None = None) -> str:
    """Post a refusal to the webhook, once per performance run (the store keeps the mark, so a retried
    deploy job stays quiet); returns what happened, one line. ``where`` names the pipeline (a URL)."""
    if run_id is not None and store is not None and not store.claim_gate_alert(run_id):
        return f"alert not sent: the refusal of run {run_id[:8]} was already posted"
    text = (f"*perfmon gate refused deploying {sha[:12]} to {environment or 'any environment'}*\n{line}"
            + (f"\n{where}" if where else ""))
    if post_webhook(webhook, {"text": text, "sha": sha, "environment": environment, "run_id": run_id}):
        return "alert sent to PERFMON_ALERT_WEBHOOK"
    if run_id is not None and store is not None:
        store.claim_gate_alert(run_id, release=True)  # not delivered: a later gate may try again
    return "alert to PERFMON_ALERT_WEBHOOK failed"


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 60:.0f}min" if seconds >= 60 else f"{seconds:.0f}s"
