"""Every environment variable perfmon reads, declared once, and the only place it reads them.

A variable either stands for a config key (``PERFMON_STORE`` for ``store``: it overrides the file,
and an explicit option overrides it) or says something about where perfmon runs (a CI system's
commit, a webhook, a browser). Reading an undeclared name is a bug and raises ``KeyError``, so the
list here (and the reference generated from it) cannot fall behind the code. Copying the whole
environment into a child process and scanning it for secrets to mask are not reads of a variable
and stay where they happen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

__all__ = ["VARIABLES", "Variable", "ci_commit", "ci_job_url", "ci_ref_protected", "environ", "read", "read_named"]


@dataclass(frozen=True)
class Variable:
    name: str
    means: str
    key: str | None = None  # the config key it overrides, when it stands for one
    default: str | None = None  # the built-in value when neither it nor the key is set


VARIABLES: tuple[Variable, ...] = (
    Variable("PERFMON_PROFILE", "the profile that scales the scenarios", key="profile", default="smoke"),
    Variable("PERFMON_ENV", "the environment recorded with the run", key="environment", default="development"),
    Variable("PERFMON_STORE", "the result store's URL", key="store", default="sqlite:///.perfmon/results.db"),
    Variable("BASE_URL", "the target's URL; when set, no local target is started", key="base_url"),
    Variable("PERFMON_TARGET_DB", "the target's PostgreSQL, sampled read-only during the run", key="target_db"),
    Variable("PERFMON_SHARD", "this runner's shard of a sharded run, I/N (as --perf-shard)"),
    Variable("PERFMON_RUN_ID", "the id every shard of a sharded run shares (as --perf-run-id)"),
    Variable("PERFMON_BROWSER_WS", "browser servers to run the journeys on, comma-separated (as --perf-browser-ws)"),
    Variable("PERFMON_BROWSER_WS_PATH", "the endpoint path `perfmon browser-server` serves (its only secret)"),
    Variable("PERFMON_CHROMIUM", "the Chromium binary (default: Debian's chromium-headless-shell, then chromium, "
                                 "then one `playwright install chromium` downloaded)"),
    Variable("PLAYWRIGHT_BROWSERS_PATH", "where `playwright install` put its browsers "
                                         "(default: ~/.cache/ms-playwright)"),
    Variable("PERFMON_PLAYWRIGHT_DRIVER", "set to anything: drive Chromium through Playwright's own client, not the "
                                          "thin one"),
    Variable("PERFMON_ALERT_WEBHOOK", "a Slack-compatible webhook for failed runs and refused deploys"),
    Variable("PERFMON_REPORT_URL", "where the HTML report is published; summary.md links to it"),
    Variable("PERFMON_EXIT_FILE", "set by `perfmon run`: where the plugin writes the exit code it decided"),
    Variable("SUPABASE_URL", "the Supabase project's URL, for the store URL `supabase`"),
    Variable("SUPABASE_SERVICE_ROLE_KEY", "the key the Supabase store writes with"),
    Variable("SUPABASE_SECRET_KEY", "the same, under Supabase's newer name (read when the first is unset)"),
    Variable("GITHUB_SHA", "GitHub Actions: the commit a run measures"),
    Variable("CI_COMMIT_SHA", "GitLab CI: the commit a run measures"),
    Variable("GITHUB_HEAD_REF", "GitHub Actions: a pull request's branch"),
    Variable("GITHUB_REF_NAME", "GitHub Actions: the branch or tag"),
    Variable("GITHUB_REF_PROTECTED", "GitHub Actions: `true` on a protected branch or tag (perfmon gate alerts)"),
    Variable("CI_COMMIT_REF_PROTECTED", "GitLab CI: the same"),
    Variable("GITHUB_SERVER_URL", "GitHub Actions: with GITHUB_REPOSITORY and GITHUB_RUN_ID, the job's link"),
    Variable("GITHUB_REPOSITORY", "GitHub Actions: owner/name"),
    Variable("GITHUB_RUN_ID", "GitHub Actions: the workflow run"),
    Variable("CI_JOB_URL", "GitLab CI: the job's link"),
    Variable("GITHUB_STEP_SUMMARY", "GitHub Actions: the file summary.md is appended to"),
)
_DECLARED = {v.name: v for v in VARIABLES}


def read(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value of the declared variable ``name`` (None when unset or empty)."""
    if name not in _DECLARED:
        msg = f"{name} is not declared in perfmon/core/env.py"
        raise KeyError(msg)
    value = (os.environ if env is None else env).get(name)
    return value or None


def read_named(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A variable the user's config names (``[accounts] password_env``): not declared here, since the
    name is the user's to choose. None when unset or empty."""
    return (os.environ if env is None else env).get(name) or None


def environ() -> MutableMapping[str, str]:
    """The process environment, for code that copies it into a child process, sets a variable for
    the children, or scans it (for secrets to mask): not a read of one variable."""
    return os.environ


def ci_commit(env: Mapping[str, str] | None = None) -> str | None:
    """The commit CI is building: GitHub Actions' GITHUB_SHA, else GitLab's CI_COMMIT_SHA."""
    return read("GITHUB_SHA", env) or read("CI_COMMIT_SHA", env)


def ci_ref_protected(env: Mapping[str, str] | None = None) -> bool:
    """Whether CI runs on a protected branch or tag (GitHub or GitLab)."""
    return "true" in (read("GITHUB_REF_PROTECTED", env), read("CI_COMMIT_REF_PROTECTED", env))


def ci_job_url(env: Mapping[str, str] | None = None) -> str | None:
    """A link to the CI job: GitHub Actions' run page, else GitLab's CI_JOB_URL."""
    server, repo, run = (read(k, env) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else read("CI_JOB_URL", env)
