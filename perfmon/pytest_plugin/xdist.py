"""pytest-xdist's side of a session, local or across hosts: what each worker is told, what comes back.

Workers on other hosts (``--tx socket=...`` or ``ssh=...``) run on a copy of the project xdist sends
them, cannot see the controller's disk, and may disappear with their host. So the controller tells
each its target, profile, shard and config file; a remote worker sends every finished record with
its test's report (xdist serializes reports to the controller anyway); and a host that refuses or
dies is one line, not xdist's traceback. Two of xdist's internals are used, each guarded: its
``DSession._clone_node`` (replacing a crashed worker, which fails on a host that is gone) and its
scheduler's queue. Kept out of the plugin so that stays thin.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ..core.errors import PerfmonError, TargetError
from ..core.records import MeasurementLog, Record
from .context import ProcessContext, UserError
from .controller import Controller
from .stopping import ControllerStop

__all__ = ["XdistHooks", "remote_workers", "ship_to_controller"]

UserErrorExit = Callable[[PerfmonError, pytest.Config], NoReturn]  # the plugin's one way out for a user error


class XdistHooks:
    """The controller's side of pytest-xdist: what each worker is told, and what comes back."""

    def __init__(self, process: ProcessContext, controller: Controller, user_error: UserErrorExit) -> None:
        self.process = process
        self.controller = controller
        self.user_error = user_error
        self.workers: dict[str, int] = {}  # gateway id -> worker index (a restarted worker keeps its own)
        self.remote_log: MeasurementLog | None = None
        self.stop = ControllerStop()

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Generator[None, None, None]:
        """xdist connects its gateways here: a host that refuses is one line, not a traceback."""
        import execnet

        if remote_workers(session.config):
            self._prepare_remote(session)
        elif threading.current_thread() is threading.main_thread():
            self.stop.install(session.config, on_lost=lambda busy: self._lost_to_the_stop(busy, session.config))
        try:
            return (yield)
        except (OSError, EOFError, execnet.HostNotFound, execnet.RemoteError) as exc:
            self.controller.close()
            if isinstance(exc, execnet.HostNotFound):  # ssh= failed; ssh itself printed why, just above
                destination = (str(exc).split() or ["?"])[-1]
                self.user_error(TargetError(f"an xdist host could not start a worker over ssh ({destination}, "
                                            "see ssh's line above); `ssh HOST` must work without a prompt, "
                                            "and --tx's python= be perfmon's environment there"), session.config)
            said = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                (str(exc).strip().splitlines() or [""])[-1] or type(exc).__name__
            self.user_error(TargetError(f"an xdist host could not start a worker ({said}); on that host run "
                                        "`python -m execnet.script.socketserver HOST:PORT` in perfmon's "
                                        "environment, with the --tx chdir folder present, or fix --tx"),
                            session.config)

    def _prepare_remote(self, session: pytest.Session) -> None:
        """Before xdist starts workers on other hosts (after its configure, which warns about rsync)."""
        config = session.config
        if not (config.option.rsyncdir or config.getini("rsyncdirs")):
            # xdist runs remote workers on a copy of the project it sends them, and needs the tests' paths
            # inside it; perfmon's own outputs stay here.
            config.option.rsyncdir = [str(self.process.config.root)]
            config.option.rsyncignore = [*config.option.rsyncignore, self.process.config.report_dir,
                                         "test-results", "node_modules"]
        # xdist maps only absolute paths into that copy; `pytest ... tests/browser_perf` should just work.
        config.invocation_params = dataclasses.replace(config.invocation_params, args=tuple(
            _absolute(arg, config.invocation_params.dir) for arg in config.invocation_params.args))
        dsession = config.pluginmanager.get_plugin("dsession")
        if callable(getattr(dsession, "_clone_node", None)):
            dsession._clone_node = self._clone_or_carry_on(dsession, session)  # type: ignore[union-attr]

    def _clone_or_carry_on(self, dsession: Any, session: pytest.Session) -> Callable[[Any], Any]:
        """xdist replaces a crashed worker on the same host; when that host is gone, it would end the
        session with a traceback. Carry on without it: its pending tests already went to the others."""
        import execnet

        clone = dsession._clone_node

        def clone_or_carry_on(node: Any) -> Any:
            try:
                return clone(node)
            except (OSError, EOFError, execnet.HostNotFound, execnet.RemoteError) as exc:
                reporter = session.config.pluginmanager.get_plugin("terminalreporter")

                def say(line: str) -> None:
                    if reporter is not None:
                        reporter.write_line(line, yellow=True)

                say(f"perfmon: xdist host {_gateway_host(node.gateway.spec)} is gone "
                    f"({type(exc).__name__}); the other hosts run its remaining tests")
                # xdist cleared its shutdown to wait for the replacement. With none coming, its tests that went
                # back to the queue run elsewhere, unless every other worker was already told to stop (xdist
                # does so as soon as it has nothing left to give one): those were this host's, and are lost.
                sched = dsession.sched
                if not [n for n in dsession._active_nodes if n is not node and not n.shutting_down]:
                    queued = getattr(sched, "pending", None)  # --dist load's queue; other schedulers keep theirs
                    if isinstance(queued, list) and (stranded := len(queued)):
                        self.controller.lost_iterations += stranded
                        say(f"perfmon: {stranded} test(s) queued on that host could not move (every other worker "
                            "had finished): counted as lost")
                        queued.clear()
                    dsession.triggershutdown()
                elif sched.tests_finished:
                    dsession.triggershutdown()
                return None
        return clone_or_carry_on

    def _lost_to_the_stop(self, busy: int, config: pytest.Config) -> None:
        self.controller.lost_iterations += busy
        if (reporter := config.pluginmanager.get_plugin("terminalreporter")) is not None:
            reporter.write_line(f"perfmon: {busy} worker(s) had not finished their test when perfmon stopped waiting "
                                "for them; their last iterations are counted as lost", yellow=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        spec = node.gateway.spec
        worker = self.workers.setdefault(str(spec.id), len(self.workers))
        node.workerinput.update(self.process.workerinput(worker=worker, runner=_gateway_host(spec)))

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        self.controller.lost_iterations += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A remote worker's record (or user error) arrives with its test's report."""
        if (error := getattr(report, "perfmon_user_error", None)) is not None:
            self.process.files.note_user_error(UserError(str(error["message"]), int(error["exit_code"])))
        if (line := getattr(report, "perfmon_record", None)) is not None:
            if self.remote_log is None:
                self.remote_log = MeasurementLog(self.process.files.records, "remote")
            self.remote_log.append_line(str(line))


def _gateway_host(spec: Any) -> str | None:
    """A remote worker's host as results name it: ``socket=``'s HOST:PORT, or ``ssh=``'s destination
    (its last word, without a user; the options before it, such as ``-i KEY``, are not a name)."""
    if spec.socket:
        return str(spec.socket)
    if spec.ssh:
        return str(spec.ssh).split()[-1].rpartition("@")[2]
    return None


def remote_workers(config: pytest.Config) -> bool:
    """Whether pytest-xdist will start workers on other hosts (``--tx socket=...`` or ``ssh=...``)."""
    if not config.pluginmanager.hasplugin("xdist") or config.getoption("dist", "no") == "no":
        return False
    return any(("socket=" in tx or "ssh=" in tx) for tx in config.getoption("tx", None) or [])


def _absolute(arg: str, cwd: Path) -> str:
    path, sep, rest = arg.partition("::")
    return str((cwd / path).resolve()) + sep + rest if not arg.startswith("-") and (cwd / path).exists() else arg


def ship_to_controller(rep: pytest.TestReport, process: ProcessContext, record: Record | None) -> None:
    """A remote worker's disk is not the controller's: its finished record (and a user error it met)
    ride on the test's report, which xdist serializes to the controller as it does every report."""
    if (error := process.files.user_error()) is not None:  # sent again with later reports: the controller keeps one
        rep.perfmon_user_error = {"message": error.message, "exit_code": error.exit_code}  # type: ignore[attr-defined]
    if rep.when == "teardown" and record is not None and record.measured:
        rep.perfmon_record = json.dumps(record.to_dict())  # type: ignore[attr-defined]
