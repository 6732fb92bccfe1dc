


"""The Supabase store's HTTP contract, against FakePostgREST (tests/_support/fake_postgrest.py): a fake
of the hosted REST API, which cannot run here. A smoke test runs against a real project only
when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests._support.fake_postgrest import KEY


def test_the_key_never_reaches_output_spool_or_store(tmp_path: Path) -> None:
    """A whole run with a store that rejects us: grep everything it wrote for the key."""
    proj = tmp_path
    (proj / "perfmon.toml").write_text('[scenarios.quick]\nvus = 1\nduration = "1s"\nthink_time = "0.02s"\n')
    (proj / "test_q.py").write_text(
        "async def hit(client, user):\n    await client.get('/healthz')\n\n"
        "def test_q(perf_api):\n    perf_api.run(hit, scenario='quick')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFMON_", "DEMO_", "SUPABASE_"))}
    # A real URL scheme with nothing listening: every attempt fails fast, as with a wrong project.
    env.update(SUPABASE_URL="http://127.0.0.1:9", SUPABASE_SERVICE_ROLE_KEY=KEY, PERFMON_STORE="supabase")
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_q.py"], cwd=proj, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 4 and "store failed" in out.stdout
    texts = [out.stdout, out.stderr] + [p.read_text() for p in proj.rglob("*") if p.is_file() and
                                        p.suffix in (".json", ".log", ".txt", ".db")]
    assert len(list((proj / ".perfmon" / "spool").glob("*.json"))) == 1
    assert all(KEY not in t for t in texts)
