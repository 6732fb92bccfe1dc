"""xdist workers under PYTHONDONTWRITEBYTECODE share compiled modules in .perfmon/pycache (real pytest
runs with two workers); the source tree gets no .pyc, and a prefix the user chose is kept."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests._support.sessions import env, pytest_cmd

SEEN = """
import json, os, sys
from pathlib import Path

def test_where_bytecode_goes():
    Path(os.environ["PYTEST_XDIST_WORKER"] + ".json").write_text(json.dumps(
        {"prefix": os.environ.get("PYTHONPYCACHEPREFIX"), "dont_write": sys.dont_write_bytecode,
         "json": json.__cached__}))
"""


def two_workers(tmp_path: Path, **extra_env: str) -> list[dict[str, object]]:
    """What each worker saw; the environment is this one's without the bytecode settings, plus ``extra_env``."""
    (tmp_path / "test_seen.py").write_text(SEEN)
    for old in tmp_path.glob("gw*.json"):
        old.unlink()
    clean = {k: v for k, v in env().items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    out = subprocess.run(pytest_cmd("test_seen.py", "-n", "2", "--perf-no-store"), cwd=tmp_path,
                         env={**clean, **extra_env}, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in out.stdout + out.stderr, out.stdout[-2000:] + out.stderr[-2000:]
    return [json.loads(p.read_text()) for p in sorted(tmp_path.glob("gw*.json"))]


def test_workers_share_a_cache_outside_the_source_tree(tmp_path: Path) -> None:
    cache = tmp_path / ".perfmon" / "pycache"
    for _ in range(2):  # the first run fills the cache, the second reads it
        seen = two_workers(tmp_path, PYTHONDONTWRITEBYTECODE="1")
        assert seen and all(s["prefix"] == str(cache) and not s["dont_write"] for s in seen)
    # json was loaded before the workers started: its compiled file was copied in, not compiled by each
    assert all(Path(str(s["json"])).is_relative_to(cache) and Path(str(s["json"])).exists() for s in seen)
    rewritten = cache / tmp_path.relative_to(tmp_path.anchor)
    assert [p.name for p in rewritten.glob("test_seen.*pytest*.pyc")], "the workers' rewritten test file was not kept"
    assert not [p for p in tmp_path.rglob("__pycache__") if cache not in p.parents]


def test_a_chosen_prefix_or_writable_bytecode_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    seen = two_workers(tmp_path, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(mine))
    assert seen and all(s["prefix"] == str(mine) and s["dont_write"] for s in seen)
    # Bytecode may be written: nothing to do (the prefix only keeps this test's .pyc out of the tree)
    elsewhere = tmp_path / "elsewhere"
    seen = two_workers(tmp_path, PYTHONPYCACHEPREFIX=str(elsewhere))
    assert seen and all(s["prefix"] == str(elsewhere) and not s["dont_write"] for s in seen)
    assert not (tmp_path / ".perfmon" / "pycache").exists()
