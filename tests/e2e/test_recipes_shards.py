


"""The scale-out recipes as shipped: the Kubernetes manifest against the Kubernetes schemas (strict, so a
misspelt field fails), the sharded GitHub workflow's shape, and that the shard counts in each agree."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


MANIFEST = ROOT / "deploy" / "kubernetes" / "perfmon-sharded.yaml"


def _documents() -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in yaml.safe_load_all(MANIFEST.read_text())}


def _script(container: dict[str, Any]) -> str:
    assert container["command"] == ["sh", "-c"]
    [script] = container["args"]
    subprocess.run(["sh", "-n", "-c", script], check=True)  # the shell can parse it
    return str(script)


def test_the_shard_counts_and_the_browser_endpoint_agree() -> None:
    docs = _documents()
    shards = docs["Job/perfmon-shards"]["spec"]
    assert shards["completionMode"] == "Indexed"
    n = shards["completions"]
    assert shards["parallelism"] == n
    [shard] = shards["template"]["spec"]["containers"]
    run = _script(shard)
    assert f'--shard "$((JOB_COMPLETION_INDEX + 1))/{n}"' in run and '--run-id "$PERFMON_RUN_ID"' in run
    [merge] = docs["Job/perfmon-merge"]["spec"]["template"]["spec"]["containers"]
    assert f"--shards {n} " in _script(merge)
    # The shards reach the browser servers through the Service, on its port, at the servers' own path.
    port = docs["Service/perfmon-browsers"]["spec"]["ports"][0]["port"]
    assert f"ws://perfmon-browsers:{port}$" in run.replace("{", "").replace("}", "")
    [server] = docs["Deployment/perfmon-browsers"]["spec"]["template"]["spec"]["containers"]
    assert server["args"][:2] == ["perfmon", "browser-server"] and str(port) in server["args"]
    paths = {e["valueFrom"]["secretKeyRef"]["key"] for c in (server, shard) for e in c["env"]
             if e["name"] == "PERFMON_BROWSER_WS_PATH"}
    assert paths == {"browser-ws-path"}  # one secret path, shared by servers and clients
    ids = {e["value"] for c in (shard, merge) for e in c["env"] if e["name"] == "PERFMON_RUN_ID"}
    assert len(ids) == 1  # the shards and the merge name the same run
