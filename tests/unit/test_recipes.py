


"""The scale-out recipes as shipped: the Kubernetes manifest against the Kubernetes schemas (strict, so a
misspelt field fails), the sharded GitHub workflow's shape, and that the shard counts in each agree."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


MANIFEST = ROOT / "deploy" / "kubernetes" / "perfmon-sharded.yaml"


WORKFLOW = ROOT / ".github" / "workflows" / "sharded-performance.yml"


def _documents() -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in yaml.safe_load_all(MANIFEST.read_text())}


def test_the_manifest_is_valid_kubernetes() -> None:
    docs = _documents()
    assert set(docs) == {"Deployment/perfmon-browsers", "Service/perfmon-browsers", "Job/perfmon-shards",
                         "Job/perfmon-merge"}
    for doc in docs.values():
        kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_the_validator_catches_a_misspelt_field() -> None:
    job = _documents()["Job/perfmon-shards"]
    job["spec"]["completionsMode"] = job["spec"].pop("completionMode")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, "1.37.0", strict=True)


def test_the_sharded_workflow_shards_and_gates_on_the_merged_run() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    shard, gate = flow["jobs"]["shard"], flow["jobs"]["gate"]
    matrix = shard["strategy"]["matrix"]["shard"]
    assert shard["strategy"]["fail-fast"] is False
    n = len(matrix)
    assert matrix == list(range(1, n + 1)) and shard["env"]["SHARD"] == f"${{{{ matrix.shard }}}}/{n}"
    [run] = [s["run"] for s in shard["steps"] if "run-performance-tests.sh" in s.get("run", "")]
    # The workflow run's id, not its attempt: a re-run shard replaces its part instead of starting a run.
    assert '--shard "$SHARD" --run-id "$GITHUB_RUN_ID"' in run and "ATTEMPT" not in run.upper()
    assert gate["needs"] == "shard" and gate["if"] == "always()"
    [merge] = [s["run"] for s in gate["steps"] if "merge" in s.get("run", "")]
    assert re.search(rf'merge "\$GITHUB_RUN_ID" --shards {n} --wait \d+m', merge)


def test_the_release_workflow_builds_checks_and_publishes_through_trusted_publishing() -> None:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert flow[True]["push"]["tags"] == ["v*"]  # PyYAML reads the key `on` as True
    build, publish = flow["jobs"]["build"], flow["jobs"]["publish"]
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "python -m build" in runs and "twine check --strict dist/*" in runs
    assert "perfmon/_version.py" in runs and "CHANGELOG.md" in runs  # the tag is the one version
    assert publish["needs"] == "build" and publish["permissions"] == {"id-token": "write"}
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert not any("password" in (s.get("with") or {}) for s in publish["steps"])  # no token: OIDC


def test_the_version_is_written_once_and_the_changelog_has_it() -> None:
    from perfmon import __version__

    project = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in project and 'attr = "perfmon._version.__version__"' in project
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d\d-\d\d$",
                     (ROOT / "CHANGELOG.md").read_text(), re.M)
