"""``perfmon gate``: may this commit be deployed? Exit 0 only when a recent, complete, passing run of
it has no open regression; fail closed, one line of why, a bypass only when asked."""

from __future__ import annotations

import argparse
import sys

from ..core.env import ci_commit, ci_job_url, ci_ref_protected, read
from ..core.errors import ConfigError, DamagedRunError, StoreError
from ..core.exit_codes import ExitCode
from ..core.redaction import redact
from ..store import Store, open_store
from ._common import NO_VERDICT, STORE_UNREADABLE, Subcommands, config

__all__ = ["register"]


def register(sub: Subcommands) -> None:
    gate = sub.add_parser("gate", help="may this commit be deployed? exit 0 only when a recent, complete, passing "
                                       "run of it has no open regression")
    gate.add_argument("--sha", default=None, help="the commit (or its first characters; default: $GITHUB_SHA or "
                                                  "$CI_COMMIT_SHA)")
    gate.add_argument("--env", default=None, help="the environment its run was in (default: the config's)")
    gate.add_argument("--profile", dest="run_profile", default=None, help="only runs of this profile (e.g. ci)")
    gate.add_argument("--type", default=None, help="only runs of this test type (e.g. hybrid)")
    gate.add_argument("--max-age", default=None, help="refuse a run older than this (e.g. 24h)")
    gate.add_argument("--allow-missing", action="store_true",
                      help="deliberately let the deploy through when there is no run to look at, or the store "
                           "cannot be read (said loudly)")
    gate.add_argument("--alert", action="store_true",
                      help="post a refusal to $PERFMON_ALERT_WEBHOOK, once per run (the default on a protected "
                           "branch or tag: $GITHUB_REF_PROTECTED or $CI_COMMIT_REF_PROTECTED is true)")
    gate.set_defaults(handler=_cmd_gate)


# `perfmon gate`: the verdict's reason -> exit code (README: "Exit codes").
_GATE_EXIT = {"passed": 0, "failed": 1, "regressed": 1, "unmeasured": NO_VERDICT, "stale": NO_VERDICT,
              "missing": NO_VERDICT, "ambiguous": ExitCode.USAGE}


def _cmd_gate(args: argparse.Namespace) -> int:
    """The deployment check: fail closed, say why in one line, bypass only when asked."""
    cfg = config(args)
    import re

    from ..core.durations import parse_duration
    from ..pipeline.deploy_check import check_deploy

    sha = args.sha or ci_commit()
    if not sha:
        raise ConfigError("perfmon gate needs the commit: pass --sha (or set $GITHUB_SHA or $CI_COMMIT_SHA)")
    if not re.fullmatch(r"[0-9a-fA-F]{4,40}", sha):
        raise ConfigError(f"--sha {sha!r} is not a commit SHA; pass the full SHA or its first 4 or more hex digits")
    max_age = parse_duration(args.max_age, what="--max-age") if args.max_age else None
    environment = args.env or cfg.environment
    bypass = "; pass --allow-missing to deploy without it deliberately"
    store: Store | None = None
    try:
        store = open_store(cfg.store, root=cfg.root, create=False)
        verdict = check_deploy(store, sha.lower(), environment=environment, profile=args.run_profile,
                               test_type=args.type, max_age_s=max_age)
    except StoreError as exc:
        if store is not None:
            store.close()
        if args.allow_missing and not isinstance(exc, DamagedRunError):  # a run exists: it is not "missing"
            print(f"perfmon gate: ALLOWED WITHOUT LOOKING (--allow-missing): the store could not be read ({exc})",
                  file=sys.stderr)
            return 0
        line = f"the store could not be read ({exc})"
        print(f"perfmon gate: REFUSED: {line}{'' if isinstance(exc, DamagedRunError) else bypass}", file=sys.stderr)
        _gate_alert(args, None, line, sha=sha, environment=environment, run_id=None)
        return STORE_UNREADABLE
    try:
        if verdict.reason == "missing" and args.allow_missing:
            print(f"perfmon gate: ALLOWED WITHOUT A RUN (--allow-missing): {verdict.line}", file=sys.stderr)
            return 0
        if verdict.allowed:
            print(f"perfmon gate: ALLOWED: {verdict.line}")
        else:
            print(f"perfmon gate: REFUSED: {verdict.line}{bypass if verdict.reason == 'missing' else ''}",
                  file=sys.stderr)
            _gate_alert(args, store, verdict.line, sha=sha, environment=environment, run_id=verdict.run_id)
        return _GATE_EXIT[verdict.reason]
    finally:
        store.close()


def _gate_alert(args: argparse.Namespace, store: Store | None, line: str, *, sha: str, environment: str | None,
                run_id: str | None) -> None:
    """A refused deploy on a protected branch or tag (or with --alert) goes to the webhook, once per run.
    The alert never changes the gate's exit code: a webhook that is down is one more line."""
    from ..pipeline.deploy_check import alert_refusal

    protected = ci_ref_protected()
    webhook = read("PERFMON_ALERT_WEBHOOK")
    if not (args.alert or protected) or not webhook:
        return
    where = ci_job_url()
    try:
        said = alert_refusal(store, webhook, line, sha=sha, environment=environment, run_id=run_id, where=where)
    except StoreError as exc:
        said = f"alert not sent: the store could not mark it ({exc})"
    print(f"perfmon gate: {redact(said)}", file=sys.stderr)
