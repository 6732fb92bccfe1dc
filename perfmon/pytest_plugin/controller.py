"""What only the controller (or the only process) of a pytest session does: sample the machine,
drive a hybrid run's background load, and at the end hand every record to the pipeline once.

The load engine and aiohttp, psutil's sampler, the pipeline and the stores are imported where they
are used: every xdist worker imports the plugin, and at ``-n 50`` those imports cost about 19 MB per
worker (bench/README.md).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import Config
from ..core.errors import ConfigError, PerfmonError, one_line
from ..core.exit_codes import ExitCode
from ..core.records import MeasurementLog, Record, read_records
from ..core.redaction import redact
from ..core.results import FAILED_PARTS, UNMEASURED_PARTS
from ..system.services import stop_shared_services

if TYPE_CHECKING:
    from ..load.background import BackgroundLoad
    from ..pipeline import Concluded, Line, Outputs, RunFacts
    from ..pipeline.shards import ShardStored
    from ..system.resources import Sampler
    from ..system.target_db import TargetDbSampler

from .context import SessionFiles, UserError, session_target
from .live import LiveStatus, Tally

__all__ = ["Controller", "SessionOutcome", "write_exit_file"]


@dataclass(frozen=True)
class SessionOutcome:
    concluded: Concluded | None  # None: nothing was measured, or it could not be concluded (``broken``)
    user_error: UserError | None  # the first user error a process met during the tests
    broken: str | None = None  # concluding failed (a perfmon bug); where the measurements were kept
    shard: ShardStored | None = None  # a shard of a sharded run: where its part went (``concluded``: the run)
    said: str | None = None  # why nothing was concluded, when that is news (an interrupt before any record)

    @property
    def exit_code(self) -> ExitCode | None:
        """The session's code in perfmon's table; ``None`` when perfmon has nothing to say (nothing
        was measured and nothing went wrong)."""
        if self.user_error is not None:
            return ExitCode(self.user_error.exit_code)
        if self.broken is not None:
            return ExitCode.SPOOLED  # the measurements are kept, but not in the store
        if self.shard is not None:
            return self.shard.exit_code
        return self.concluded.exit_code if self.concluded is not None else None

    def session_exit_code(self, *, tests_failed: bool, interrupted: bool) -> ExitCode | None:
        """The code a pytest session ends with, given how pytest saw it: a failed test the run does not
        show (a crashed worker's, in a partial run) still fails, and a session stopped before anything
        was measured is unmeasured. ``None``: pytest's own code stands."""
        decided = self.exit_code
        if decided is None:
            return ExitCode.UNMEASURED if interrupted else None
        if tests_failed and decided in (ExitCode.PASSED, ExitCode.SPOOLED):
            return ExitCode.FAILED
        return decided

    def lines(self) -> list[Line]:
        found = self.shard.lines() if self.shard is not None else \
            self.concluded.lines() if self.concluded is not None else []
        found += [(f"ERROR: {self.broken}", "fail")] if self.broken else []
        found += [(self.said, "fail")] if self.said and self.concluded is None else []
        return found + ([(f"ERROR: {self.user_error.message}", "fail")] if self.user_error else [])


class Controller:
    """The controller's side of a session (the only process, without xdist)."""

    def __init__(self, config: Config, files: SessionFiles, *, run_id: str, started_at: float) -> None:
        self.config = config
        self.files = files
        self.run_id = run_id
        self.started_at = started_at
        self.lost_iterations = 0
        self.sampler: Sampler | None = None
        self.target_db: TargetDbSampler | None = None
        self.background: BackgroundLoad | None = None
        self.warnings: list[str] = []  # one line each, shown at the start and recorded; the run goes on
        self.tally = Tally()  # tests finished so far, for the live status line
        self.live: LiveStatus | None = None

    def start(self, *, load: str | None = None, load_script: str | None = None,
              load_on_start: str | None = None, browser_endpoints: tuple[str, ...] = (), store: bool = True) -> None:
        """Check the store's URL, a given target and browser servers, start sampling and, for a hybrid
        run, the background load. Raises :class:`~perfmon.PerfmonError` (one line) before any test runs
        when something is wrong."""
        from ..core.metrics import Metrics
        from ..system.resources import Sampler
        from ..system.target import check_reachable

        if store:
            self._check_store()
        if self.config.base_url:
            check_reachable(self.config.base_url)  # before 50 workers start, not in each of them
        if browser_endpoints:
            from ..browser import check_endpoint

            for endpoint in browser_endpoints:
                check_endpoint(endpoint)
        self.sampler = Sampler(Metrics(), target_pid=lambda: self.files.started_target().get("pid"))
        self.sampler.start()
        if self.config.target_db:
            # The target first: an app that sets up its database at start (the bundled one seeds
            # it) would otherwise put that work in the run's query table.
            session_target(self.config, self.files)
            self._sample_target_db(self.config.target_db)
        if load:
            from ..load.background import BackgroundLoad

            target = session_target(self.config, self.files)
            self.background = BackgroundLoad.start(
                self.config, load, script=load_script or self.config.suites.load_script,
                on_start=load_on_start if load_on_start is not None else self.config.suites.load_on_start,
                base_url=target.base_url, target_pid=target.pid,
                beacon=str(self.files.progress / f"background-{load}.json"))

    def start_live(self, fd: int) -> None:
        """The status line every 10 s on ``fd`` (the terminal's stderr, as it was before any capture)."""
        self.live = LiveStatus(fd, beacons=self.files.progress, tally=self.tally,
                               base_url=lambda: self.files.started_target().get("base_url") or self.config.base_url,
                               saturation=lambda: self.sampler.saturation if self.sampler is not None else None)
        self.live.start()

    def _check_store(self) -> None:
        """A malformed store URL stops the run before it measures (ConfigError, exit 2); a database that
        cannot be reached now is said at the start, and the run goes on: the spool keeps it if the
        store is still down at the end."""
        from ..store import open_store, store_kind

        if store_kind(self.config.store) == "sqlite":
            return  # a file: created when the run is stored
        try:
            open_store(self.config.store, root=self.config.root).close()
        except PerfmonError as exc:
            self.warnings.append(f"perfmon: the store cannot be reached now ({one_line(exc)}); the run goes on, and "
                                 "waits in the spool if it still cannot be stored at the end (`perfmon flush`)")

    def _sample_target_db(self, url: str) -> None:
        from ..core.metrics import Metrics
        from ..system.target_db import TargetDbError, TargetDbSampler

        sampler = TargetDbSampler(url, Metrics(), interval_s=self.config.target_db_interval_s)
        try:
            sampler.start()
        except TargetDbError as exc:  # a database we cannot read costs its metrics, never the run
            self.warnings.append(f"perfmon: {exc}")
            return
        self.target_db = sampler
        if sampler.summary.statements:
            self.warnings.append(f"perfmon: {sampler.summary.statements}")

    def calibration_warning(self, workers: int) -> str | None:
        """A line when ``workers`` concurrent journeys are more than this machine's newest calibration
        (``perfmon calibrate``) says it holds; None otherwise, or when the store cannot say."""
        from ..store.calibration import machine_level

        found = machine_level(self.config.store, root=self.config.root)
        if found is None or workers <= found[0]:
            return None
        return (f"perfmon: -n {workers} is more concurrent browser journeys than this machine holds ({found[0]}, "
                f"`perfmon calibrate` on {found[1]}): samples measured while its CPU is "
                "saturated will be quarantined, and too few clean ones leave the run unmeasured; run fewer workers "
                "or browsers on other machines")

    def finish(self, *, interrupted: bool, tests_failed: bool, metadata: Mapping[str, Any],
               outputs: Outputs) -> SessionOutcome:
        """Stop measuring and conclude the session's one run from every process's records. A user error
        met during the tests stopped the session: the run is failed, not interrupted."""
        from ..pipeline import RunFacts, conclude

        error, bench = self.files.user_error(), self.files.bench_broken()
        if self.live is not None:
            self.live.stop()
        if self.sampler is not None:
            self.sampler.stop()
        if self.target_db is not None:
            metadata = {**metadata, "target_db": self.target_db.stop().to_dict()}
            if self.sampler is not None:
                self.sampler.metrics.merge(self.target_db.metrics)
        background = self.background.finish() if self.background is not None else None
        if error is not None and error.in_suite:
            return SessionOutcome(None, error)  # the suite is broken: what ran is not a run, nothing is stored
        started = self.files.started_target().get("base_url")
        base_url = started or self.config.base_url
        # One target across runs whatever port the bundled app got: the history compares by it.
        metadata = {**metadata, "target": "bundled app" if started else redact(base_url or "") or None,
                    **({"sampler_cpu_s": round(self.sampler.cpu_s, 3), "contention": self.sampler.contention()}
                       if self.sampler else {}),
                    **({"warnings": list(self.warnings)} if self.warnings else {})}
        facts = RunFacts(lost_iterations=self.lost_iterations,
                         client_saturation=self.sampler.saturation if self.sampler else None,
                         client_busy=tuple(self.sampler.busy) if self.sampler else (),
                         # The session stopped because the bench broke (or a user error): not a Ctrl-C.
                         interrupted=interrupted and error is None and bench is None,
                         tests_failed=tests_failed or error is not None, bench_broken=(bench,) if bench else ())
        try:
            records = [*read_records(self.files.records), *([background] if background is not None else [])]
            if self.config.shard is not None:
                if error is not None:  # every shard meets it alike: a part would only keep the others waiting
                    return SessionOutcome(None, error)
                try:
                    stored = self._store_shard(records, base_url, facts, metadata, outputs)
                except ConfigError as exc:  # a shard another runner claimed: its part is kept in the spool
                    return SessionOutcome(None, UserError(str(exc), exc.exit_code))
                return SessionOutcome(None, error, shard=stored)
            concluded = conclude(records, self.config, run_id=self.run_id, started_at=self.started_at,
                                 base_url=base_url, facts=facts, outputs=outputs, finished_at=time.time(),
                                 session_metrics=self.sampler.metrics if self.sampler else None, metadata=metadata)
        except Exception as exc:  # noqa: BLE001 - a bug must not cost what was measured: keep the raw records
            if background is not None:
                MeasurementLog(self.files.records, "background").append(background)
            kept = self._keep_records()
            return SessionOutcome(None, error, broken=f"perfmon could not conclude run {self.run_id} "
                                  f"({one_line(exc)}); its measurements are kept in {kept}")
        if concluded is None and facts.interrupted:
            cut = f" ({self.lost_iterations} iteration(s) cut off at the stop)" if self.lost_iterations else ""
            return SessionOutcome(None, error, said=f"perfmon: interrupted before any test's measurements were "
                                  f"written{cut}; no run was stored (exit 3)")
        return SessionOutcome(concluded, error)

    def _store_shard(self, records: list[Record], base_url: str | None, facts: RunFacts,
                     metadata: Mapping[str, Any], outputs: Outputs) -> ShardStored:
        from ..pipeline.shards import make_part, store_part

        assert self.config.shard is not None
        part = make_part(records, self.config, run_id=self.run_id, started_at=self.started_at,
                         finished_at=time.time(), base_url=base_url, facts=facts,
                         session_metrics=self.sampler.metrics if self.sampler else None, metadata=metadata)
        return store_part(part, self.config, self.config.shard, outputs)

    def _keep_records(self) -> Path:
        """Copy the session's records out of the session folder, which ``close`` removes."""
        kept = self.config.root / ".perfmon" / "unconcluded" / self.run_id
        try:
            shutil.copytree(self.files.records, kept, dirs_exist_ok=True)
        except OSError:
            kept = Path(tempfile.gettempdir()) / f"perfmon-unconcluded-{self.run_id}"
            shutil.copytree(self.files.records, kept, dirs_exist_ok=True)
        return kept

    def close(self) -> None:
        """Stop every shared process and remove the session directory."""
        if self.live is not None:
            self.live.stop()
        stop_shared_services(self.files.services)
        shutil.rmtree(self.files.root, ignore_errors=True)


def write_exit_file(path: str, code: int, outcome: SessionOutcome | None) -> None:
    """For `perfmon run` ($PERFMON_EXIT_FILE): the code the plugin decided, then the parts of an
    unmeasured run to run again and those that failed anyway (``--retry-unmeasured``), as JSON."""
    run = outcome.concluded.run if outcome is not None and outcome.concluded is not None else None
    parts = {k: run.metadata.get(k) or [] for k in (UNMEASURED_PARTS, FAILED_PARTS)} if run is not None else {}
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{code}\n{json.dumps(parts)}\n")
