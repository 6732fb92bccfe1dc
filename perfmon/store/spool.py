"""Nothing measured is lost: every run is spooled first, then stored, and its spool file is removed
only once the store confirmed the write.

The spool is a queue of files, one ``Run.to_json`` (redacted) per run:

- ``.perfmon/spool/<run-id>.json`` under the config's root, written atomically (temp file, fsync,
  rename). When that folder cannot be written (``.perfmon`` is a file, a read-only checkout), the
  run goes to ``<tmp>/perfmon-spool-<uid>/<project>/`` instead, and the caller is told where.
- ``rejected/<run-id>.json`` with ``<run-id>.reason.txt`` beside it: a file that does not parse, or
  a run the store refused for good (a constraint). Flushing sets it aside and goes on with the rest.
- ``.lock``: storing and flushing hold an exclusive ``flock`` on it, so concurrent runs and
  concurrent ``perfmon flush`` never race over a file. A file another process already sent is
  simply gone, which is not an error.

Runs are keyed by their own ids, so sending one twice changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config
from ..core.errors import OutputError, PerfmonError, RunRejectedError, one_line
from ..core.redaction import redact
from ..core.results import Run
from . import ShardRow, Store, open_store

__all__ = ["Flushed", "Spool", "StoredRun", "flush_spool", "store_or_spool"]


@dataclass(frozen=True)
class StoredRun:
    """Where a run went: the store (``where`` is its URL) or, when the store failed, a spool file."""

    where: str
    spooled: bool
    problem: str | None = None


@dataclass
class Flushed:
    """What a flush did: run ids sent, and files set aside in ``rejected/`` with the reason."""

    sent: list[str] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)


class Spool:
    """The spool folders of one project: its own, and the fallback in the temp directory."""

    def __init__(self, config: Config) -> None:
        self.primary = config.root / ".perfmon" / "spool"
        project = hashlib.sha1(str(config.root.resolve()).encode()).hexdigest()[:12]
        self.fallback = Path(tempfile.gettempdir()) / f"perfmon-spool-{os.getuid()}" / project

    def _writable(self) -> Path:
        for directory in (self.primary, self.fallback):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                if os.access(directory, os.W_OK):
                    return directory
            except OSError:
                continue
        msg = (f"cannot write the spool at {self.primary} nor at {self.fallback}; make .perfmon a writable folder "
               "in the project")
        raise OutputError(msg)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the spool's exclusive lock (blocking) for the duration."""
        directory = self._writable()
        with open(directory / ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def keep(self, run: Run) -> Path:
        """Write the run atomically (temp file, fsync, rename) so it can be replayed later."""
        return self._write(self._writable(), f"{run.run_id}.json", run.to_json())

    def keep_shard(self, row: ShardRow, *, rejected: bool = False) -> Path:
        """Keep a shard's part the store did not take (``shard-<run>-<i>.json``); ``rejected``: one it must
        never take as it is (another runner stored that shard), kept aside for a person to look at."""
        directory = self._writable() / ("rejected" if rejected else "")
        directory.mkdir(exist_ok=True)
        kept = {"run_id": row.run_id, "shard": row.shard, "shards": row.shards, "host": row.host, "part": row.part}
        return self._write(directory, f"shard-{row.run_id}-{row.shard}.json", json.dumps({"shard": kept}))

    @staticmethod
    def _write(directory: Path, name: str, text: str) -> Path:
        """``text`` as ``directory/name``: a temp file, fsync'd, then renamed over it. Not redacted here:
        the pipeline masked the run field by field (``Run.redact_fields``); rewriting the serialised
        text also rewrote statuses and digits that happened to equal a secret."""
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            final = directory / name
            os.replace(tmp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise OutputError(f"cannot write the spool file in {directory}: {exc}; free some disk space") from None
        return final

    def pending(self) -> list[Path]:
        """Spooled runs waiting for the store, oldest name first."""
        found: list[Path] = []
        for directory in (self.primary, self.fallback):
            with contextlib.suppress(OSError):
                found.extend(sorted(p for p in directory.glob("*.json") if p.is_file()))
        return found

    def reject(self, path: Path, reason: str) -> Path:
        """Move a file the store can never take to ``rejected/``, with the reason beside it."""
        folder = path.parent / "rejected"
        folder.mkdir(exist_ok=True)
        moved = folder / path.name
        os.replace(path, moved)
        moved.with_suffix(".reason.txt").write_text(redact(reason) + "\n", encoding="utf-8")
        return moved


def store_or_spool(run: Run, config: Config) -> StoredRun:
    """Spool the run, then store it; the spool file stays when the store fails in any way."""
    spool = Spool(config)
    path = spool.keep(run)
    with spool.locked():
        try:
            store = open_store(config.store, root=config.root)
            try:
                store.write_run(run)
            finally:
                store.close()
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the run stays spooled and is named
            return StoredRun(str(path), spooled=True, problem=one_line(exc))
        path.unlink(missing_ok=True)
    return StoredRun(config.store, spooled=False)


def _read(path: Path) -> Run | None:
    """The spooled run, or ``None`` when another flush already sent it. Raises ValueError when corrupt."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc})") from None
    try:
        return Run.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError, PerfmonError) as exc:
        raise ValueError(f"not a perfmon run ({type(exc).__name__}: {exc})") from None


def flush_spool(config: Config) -> Flushed:
    """Send every spooled run to the store, removing each file once its run is stored. Corrupt files and
    runs the store refuses are set aside; a store that is down stops the flush (raises StoreError)."""
    spool = Spool(config)
    done = Flushed()
    if not spool.pending():
        return done
    with spool.locked():
        files = spool.pending()
        if not files:
            return done
        store = open_store(config.store, root=config.root)
        try:
            for path in files:
                try:
                    kept = _read_shard(path) if path.name.startswith("shard-") else _read(path)
                except ValueError as exc:
                    done.rejected.append((spool.reject(path, str(exc)), str(exc)))
                    continue
                if kept is None:
                    continue
                try:
                    sent = _write(store, kept)
                except RunRejectedError as exc:
                    done.rejected.append((spool.reject(path, str(exc)), str(exc)))
                    continue
                path.unlink(missing_ok=True)
                done.sent.append(sent)
        finally:
            store.close()
    return done


def _read_shard(path: Path) -> ShardRow | None:
    """A kept shard part, or ``None`` when another flush already sent it. Raises ValueError when corrupt."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))["shard"]
        return ShardRow(str(d["run_id"]), int(d["shard"]), int(d["shards"]), d.get("host"), dict(d["part"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a shard part ({type(exc).__name__}: {exc})") from None


def _write(store: Store, kept: Run | ShardRow) -> str:
    """Store a spooled run or shard part; what was sent. A part is only stored: whichever shard or
    `perfmon merge` next sees all of a run's parts judges it."""
    if isinstance(kept, ShardRow):
        store.write_shard(kept)
        return f"{kept.run_id} (shard {kept.shard}/{kept.shards})"
    store.write_run(kept)
    return kept.run_id
