""".github/workflows/performance.yml is proven to work, not just to parse: its pull-request job's own
`run:` steps run in a clean clone of this repository (nothing installed: the scripts create their
own .venv) against the bundled app, as the runner would run them. actionlint and the GitHub
workflow schema check the rest of the file in scripts/test.sh."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._support.sessions import ROOT, env, runs_in

WORKFLOW = ROOT / ".github" / "workflows" / "performance.yml"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def test_the_jobs_are_wired_as_the_issue_asks() -> None:
    jobs = workflow()["jobs"]
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as True
    assert {"pull_request", "push", "workflow_dispatch", "schedule"} <= set(triggers)
    assert jobs["deploy"]["needs"] == "performance"
    first_run = next(s["run"] for s in jobs["deploy"]["steps"] if "run" in s and "gate" in s["run"])
    assert "perfmon.sh gate --sha" in first_run  # the deploy job asks the gate before deploying
    deploy_runs = [s.get("run", "") for s in jobs["deploy"]["steps"]]
    assert deploy_runs.index(first_run) < deploy_runs.index(next(r for r in deploy_runs if "deployment" in r))
    used = {s["uses"].split("@")[0] for job in jobs.values() for s in job["steps"] if "uses" in s}
    assert used <= {"actions/checkout", "actions/setup-python", "actions/upload-artifact"}
    text = WORKFLOW.read_text()
    assert "playwright install" not in text.replace("`playwright install`", "")
    assert all(job.get("container") == "python:3.11-bookworm" for job in jobs.values())  # Chromium from apt


@pytest.mark.browser
def test_the_pull_request_steps_run_in_a_clean_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    summary = tmp_path / "step-summary.md"
    job_env = env(GITHUB_STEP_SUMMARY=str(summary), CI="true", GITHUB_ACTIONS="true",
                  PIP_DISABLE_PIP_VERSION_CHECK="1")
    job_env.pop("VIRTUAL_ENV", None)
    job_env["PATH"] = os.pathsep.join(p for p in job_env["PATH"].split(os.pathsep) if ".venv" not in p)
    steps = [s for s in workflow()["jobs"]["smoke"]["steps"] if "run" in s]
    assert steps, "the pull-request job has no run: steps"
    for step in steps:
        done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=clone, env=job_env, capture_output=True,
                              text=True, timeout=1200)
        if step is steps[0] and done.returncode == 3:
            # This 2-core machine, busy with the rest of the suite, can saturate the browsers' CPU: the run then
            # ends without a verdict, in one line (issue #16), and the steps after it run anyway (if: always()).
            advice = ("stop or move", "run fewer workers", "serve the target", "give the browsers a bigger machine",
                      "use fewer users")  # what to change on this machine (perfmon/pipeline/advice.py)
            assert "UNMEASURED" in done.stdout and any(a in done.stdout for a in advice), done.stdout[-3000:]
            continue
        assert done.returncode == 0, f"{step['name']}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    [(_, kind, status)] = runs_in(clone / ".perfmon" / "results.db")
    assert kind == "mixed" and status in ("passed", "unmeasured")
    comment = (clone / "pr-comment.md").read_text()
    heading = "## ✅ perfmon: PASSED" if status == "passed" else "## ⚠️ perfmon: UNMEASURED"
    assert comment.startswith(heading) and comment in summary.read_text()
    report = json.loads((clone / "perf-reports" / "latest" / "summary.json").read_text())
    assert report["run"]["status"] == status


SECRET = "sk-live-NEVER-PRINT-ME"


@pytest.mark.parametrize(("given", "args", "missing"), [
    ({}, (), "PERFMON_BASE_URL"),
    ({"BASE_URL": "https://staging.example"}, (), "PERFMON_STORE"),
    ({"BASE_URL": "https://staging.example", "PERFMON_STORE": "supabase"}, (), "SUPABASE_URL"),
    ({"BASE_URL": "https://staging.example", "PERFMON_STORE": "supabase", "SUPABASE_URL": "https://x.supabase.co"},
     (), "SUPABASE_SERVICE_ROLE_KEY"),
    ({"PERFMON_STORE": ""}, ("--store-only",), "PERFMON_STORE"),  # an unset secret arrives as ""
])
def test_a_missing_secret_stops_the_job_in_one_line(given: dict[str, str], args: tuple[str, ...],
                                                    missing: str) -> None:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "check-ci-secrets.sh"), *args], env=env(**given),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"perfmon: error: the secret {missing} is not set; ") and done.stderr.count("\n") == 1


def test_the_secrets_check_passes_and_prints_no_value() -> None:
    given = {"BASE_URL": "https://staging.example", "PERFMON_STORE": "supabase",
             "SUPABASE_URL": "https://x.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": SECRET}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "check-ci-secrets.sh")], env=env(**given),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and SECRET not in done.stdout + done.stderr
    assert done.stdout == "perfmon: the secrets this job needs are set\n"
