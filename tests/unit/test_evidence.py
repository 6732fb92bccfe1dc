"""Which failure evidence a run keeps (perfmon.pipeline.evidence): failed iterations first, breaches
measured on a busy client never, at most 20 folders; the rest removed from disk and counted."""

from __future__ import annotations

import json
from pathlib import Path

from perfmon.core.samples import EVIDENCE_FILE
from perfmon.pipeline.evidence import prune_evidence


def folder(root: Path, name: str, *, failed: bool, start: float) -> list[str]:
    where = root / name
    where.mkdir(parents=True)
    (where / EVIDENCE_FILE).write_text(json.dumps({"failed": failed, "start": start, "end": start + 2}))
    (where / "trace.zip").write_bytes(b"PK")
    return [str(where / EVIDENCE_FILE), str(where / "trace.zip")]


def test_failed_first_busy_breaches_never_and_a_cap(tmp_path: Path) -> None:
    files: list[str] = []
    for i in range(3):  # breaches while the client was saturated (100-110 s): their samples were quarantined
        files += folder(tmp_path, f"busy-{i}", failed=False, start=100.0 + i)
    for i in range(2):
        files += folder(tmp_path, f"breach-{i}", failed=False, start=10.0 + i)
    for i in range(25):
        files += folder(tmp_path, f"failed-{i:02d}", failed=True, start=200.0 + i)
    found = prune_evidence(files, [(100.0, 110.0)], cap=20)
    assert (found.quarantined, found.dropped) == (3, 7)
    kept = sorted({Path(p).parent.name for p in found.kept})
    assert kept == [f"failed-{i:02d}" for i in range(20)]
    assert sorted(p.name for p in tmp_path.iterdir()) == kept  # the rest is gone from disk


def test_evidence_from_an_older_perfmon_is_kept_as_a_failures_would_be(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "failure.png").write_bytes(b"png")
    found = prune_evidence([str(old / "failure.png")], [(0.0, 1e12)])
    assert found.kept == [str(old / "failure.png")] and old.exists()
