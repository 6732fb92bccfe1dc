"""Which failure evidence a run keeps: screenshots and traces of failed iterations, and of iterations
whose own values broke a threshold on a client that was not saturated, at most ``EVIDENCE_KEPT``.

Each worker keeps evidence as its iterations end (it cannot know the run's saturated spans nor what
the other workers kept); here, once the run is assembled, breach evidence measured while the client
was saturated is removed (those samples were quarantined, never judged), then failed iterations
first and breaches after, oldest first, up to the cap; the rest are removed and counted. An
unmeasured ``-n 50`` run once left 198 folders (64 MB of traces) of breaches nobody judged.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.samples import EVIDENCE_FILE

__all__ = ["EVIDENCE_KEPT", "Evidence", "prune_evidence"]

EVIDENCE_KEPT = 20  # folders per run


@dataclass(frozen=True)
class Evidence:
    kept: list[str]  # the files of the folders kept
    folders: int  # the folders kept
    dropped: int  # folders removed past the cap
    quarantined: int  # breach folders removed: measured while the client was saturated


def prune_evidence(artifacts: Sequence[str], busy: Sequence[tuple[float, float]], *,
                   cap: int = EVIDENCE_KEPT) -> Evidence:
    """Keep the evidence worth a look (see the module's docstring); remove the rest from disk."""
    folders: dict[Path, list[str]] = {}
    for path in artifacts:
        folders.setdefault(Path(path).parent, []).append(path)
    failed: list[tuple[float, Path]] = []
    breaches: list[tuple[float, Path]] = []
    quarantined = 0
    for folder in folders:
        facts = _facts(folder)
        if facts is None or facts["failed"]:
            failed.append((facts["start"] if facts else 0.0, folder))
        elif any(start < facts["end"] and facts["start"] < end for start, end in busy):
            quarantined += 1
            shutil.rmtree(folder, ignore_errors=True)
        else:
            breaches.append((facts["start"], folder))
    ordered = [folder for _, folder in sorted(failed)] + [folder for _, folder in sorted(breaches)]
    for folder in ordered[cap:]:
        shutil.rmtree(folder, ignore_errors=True)
    kept = [path for folder in ordered[:cap] for path in folders[folder]]
    return Evidence(kept, len(ordered[:cap]), max(0, len(ordered) - cap), quarantined)


def _facts(folder: Path) -> dict[str, float] | None:
    try:
        found = json.loads((folder / EVIDENCE_FILE).read_text())
        return {"failed": float(bool(found["failed"])), "start": float(found["start"]), "end": float(found["end"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # written by an older perfmon, or cut short: kept, as a failure's would be
