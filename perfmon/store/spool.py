"""Nothing measured is lost: every run is spooled first, then stored, and its spool file is removed
only once the store confirmed the write.

The spool is a queue of files, one ``Run.to_json`` (redacted) per run:

- ``.perfmon/spool/<run-id>.json`` under the config's root, written atomically (temp file, fsync,
  rename). When that folder cannot be written (``.perfmon`` is a file, a read-only checkout, a full
  disk), the run goes to ``<tmp>/perfmon-spool-<uid>/<project>/`` instead, and the caller is told
  where. When neither can be written the store is still tried: the run is lost only if it fails too.
- ``<run-id>.json.store`` beside it: the store the run was meant for (its URL, redacted). A run goes
  only to that store: the next run's auto-flush into another store (a staging run after a
  production one) leaves it, and ``perfmon flush`` names the store it waits for. A file without one
  (written by an older perfmon) goes to whichever store flushes it.
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
import itertools
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from .._version import __version__
from ..core.config import Config
from ..core.errors import OutputError, PerfmonError, RunRejectedError, one_line
from ..core.metrics import MetricKind
from ..core.redaction import redact
from ..core.results import Run
from . import ShardRow, Store, open_store

__all__ = ["Flushed", "Spool", "StoredRun", "flush_spool", "meant_for", "store_key", "store_or_spool"]


@dataclass(frozen=True)
class StoredRun:
    """Where a run went: the store (``where`` is its URL) or, when the store failed, a spool file."""

    where: str
    spooled: bool
    problem: str | None = None


@dataclass
class Flushed:
    """What a flush did: run ids sent, files set aside in ``rejected/`` with the reason, and how many
    runs wait for another store (by its redacted URL)."""

    sent: list[str] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    elsewhere: dict[str, int] = field(default_factory=dict)
    left: list[tuple[Path, str]] = field(default_factory=list)  # a newer perfmon's files, left in the spool


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
        """Hold the spool's exclusive lock (blocking) for the duration: in the project's folder, else
        the temp directory's (a full disk cannot make the lock file)."""
        for directory in (self.primary, self.fallback):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                lock = open(directory / ".lock", "a", encoding="utf-8")
            except OSError:
                continue
            with lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            return
        raise OutputError(f"cannot make the spool's lock file in {self.primary} nor in {self.fallback}; make .perfmon "
                          "a writable folder in the project")

    def keep(self, run: Run, store: str) -> Path:
        """Write the run atomically (temp file, fsync, rename) so it can be replayed later, into the first
        folder that takes it (a full disk under the project sends it to the temp directory's)."""
        problems: list[str] = []
        for directory in (self.primary, self.fallback):
            try:
                directory.mkdir(parents=True, exist_ok=True)
                path = self._write(directory, f"{run.run_id}.json", run.to_json())
            except (OSError, OutputError) as exc:
                problems.append(str(exc))
                continue
            with contextlib.suppress(OSError):  # without it the run still flushes, to any store
                (directory / f"{path.name}{_STORE_SUFFIX}").write_text(store_key(store), encoding="utf-8")
            return path
        raise OutputError(f"cannot write the spool: {'; '.join(problems)}")

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

    def pending(self, store: str | None = None) -> list[Path]:
        """Spooled runs waiting for a store (for ``store``: those meant for it, and those meant for
        none), oldest name first."""
        found: list[Path] = []
        for directory in (self.primary, self.fallback):
            with contextlib.suppress(OSError):
                found.extend(sorted(p for p in directory.glob("*.json") if p.is_file()))
        if store is None:
            return found
        key = store_key(store)
        return [p for p in found if meant_for(p) in (None, key)]

    def waiting_elsewhere(self, store: str) -> dict[str, int]:
        """Runs spooled for other stores: how many per store (redacted URL)."""
        key = store_key(store)
        counts: dict[str, int] = {}
        for path in self.pending():
            other = meant_for(path)
            if other is not None and other != key:
                counts[other] = counts.get(other, 0) + 1
        return counts

    def reject(self, path: Path, reason: str) -> Path:
        """Move a file the store can never take to ``rejected/``, with the reason beside it; a spool that
        cannot be changed (read-only) leaves the file where it is and says so."""
        folder = path.parent / "rejected"
        moved = folder / path.name
        try:
            folder.mkdir(exist_ok=True)
            os.replace(path, moved)
        except OSError as exc:
            raise OutputError(f"cannot set {path} aside ({exc.strerror or exc}); move it out of the spool by hand"
                              ) from None
        _forget(path)
        with contextlib.suppress(OSError):
            moved.with_suffix(".reason.txt").write_text(redact(reason) + "\n", encoding="utf-8")
        return moved


_STORE_SUFFIX = ".store"


def store_key(store: str) -> str:
    """How a spool file names its store: the URL, redacted (a rotated password is the same store)."""
    return redact(store.strip())


def meant_for(path: Path) -> str | None:
    """The store a spooled run was meant for, or None (an older perfmon wrote it: any store)."""
    try:
        return (path.parent / f"{path.name}{_STORE_SUFFIX}").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _forget(path: Path) -> None:
    """Remove a spooled run's note of its store (the run itself is gone or set aside)."""
    with contextlib.suppress(OSError):
        (path.parent / f"{path.name}{_STORE_SUFFIX}").unlink(missing_ok=True)


def store_or_spool(run: Run, config: Config) -> StoredRun:
    """Spool the run, then store it; the spool file stays when the store fails in any way. When the
    spool cannot be written anywhere the store is tried all the same, and only if it fails too is
    the run lost (an OutputError naming both reasons)."""
    spool = Spool(config)
    try:
        path: Path | None = spool.keep(run, config.store)
    except OutputError as exc:
        path, unspooled = None, str(exc)
    with spool.locked() if path is not None else contextlib.nullcontext():
        try:
            store = open_store(config.store, root=config.root)
            try:
                store.write_run(run)
            finally:
                store.close()
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the run stays spooled and is named
            if path is None:
                raise OutputError(f"the store failed ({one_line(exc)}) and {unspooled}") from None
            return StoredRun(str(path), spooled=True, problem=one_line(exc))
        if path is not None:
            path.unlink(missing_ok=True)
            _forget(path)
    return StoredRun(config.store, spooled=False,
                     problem=None if path is not None else f"{unspooled}; the run went straight to the store")


class _Newer(Exception):
    """A spool file this perfmon cannot read whole: a newer one wrote it. It stays for that one."""


def _read(path: Path) -> Run | None:
    """The spooled run, or ``None`` when another flush already sent it. Raises ValueError when corrupt,
    ``_Newer`` when a newer perfmon wrote fields or metric kinds this one would drop."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc})") from None
    try:
        data = json.loads(text)
        newer = _newer(data)
        if newer:
            raise _Newer(newer)
        return Run.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError, PerfmonError) as exc:
        raise ValueError(f"not a perfmon run ({type(exc).__name__}: {exc})") from None


_RUN_KEYS = frozenset(Run(test_type="load", environment="ci", profile="p", base_url=None).to_dict())


def _newer(data: object) -> str | None:
    """Why ``data`` holds more than this perfmon reads (a newer one spooled it), or None."""
    if not isinstance(data, dict):
        return None
    version = str(data.get("tool_version") or "")
    if version and _version_tuple(version) > _version_tuple(__version__):
        return f"spooled by perfmon {version}, newer than this {__version__}"
    unknown = sorted(set(data) - _RUN_KEYS)
    found = {str(m.get("kind")) for m in data.get("metrics") or [] if isinstance(m, dict)}
    kinds = sorted(found - set(get_args(MetricKind)))
    if unknown or kinds:
        return f"it holds {', '.join(unknown + [f'metric kind {k}' for k in kinds])}, which this perfmon would drop"
    return None


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def flush_spool(config: Config, *, any_store: bool = False) -> Flushed:
    """Send the runs spooled for the config's store (and those meant for none; with ``any_store``, every
    run) to it, removing each file once its run is stored. Corrupt files and runs the store refuses are
    set aside (or, in a spool that cannot be changed, left and named); a store that is down stops the
    flush (raises StoreError)."""
    spool = Spool(config)
    meant = None if any_store else config.store
    done = Flushed(elsewhere={} if any_store else spool.waiting_elsewhere(config.store))
    if not spool.pending(meant):
        return done
    with spool.locked():
        files = spool.pending(meant)
        if not files:
            return done
        store = open_store(config.store, root=config.root)
        try:
            for path in files:
                _flush_one(spool, store, path, done)
        finally:
            store.close()
    return done


def _flush_one(spool: Spool, store: Store, path: Path, done: Flushed) -> None:
    try:
        kept = _read_shard(path) if path.name.startswith("shard-") else _read(path)
    except ValueError as exc:
        _set_aside(spool, path, str(exc), done)
        return
    except _Newer as exc:  # kept as it is, for the perfmon that wrote it: never stored with fields dropped
        done.left.append((path, f"{exc}; flush it with that perfmon or a newer one"))
        return
    if kept is None:
        return
    try:
        sent = _write(store, kept)
    except RunRejectedError as exc:
        _set_aside(spool, path, str(exc), done)
        return
    with contextlib.suppress(OSError):  # a read-only spool: the run is stored; the file is sent again next time
        path.unlink(missing_ok=True)
        _forget(path)
    done.sent.append(sent)


def _set_aside(spool: Spool, path: Path, why: str, done: Flushed) -> None:
    try:
        done.rejected.append((spool.reject(path, why), why))
    except OutputError as exc:
        done.rejected.append((path, f"{why}; {exc}"))


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
