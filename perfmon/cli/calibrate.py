"""``perfmon calibrate``: how many concurrent journeys this machine holds before its own numbers drift.

The suite's journeys run at rising concurrency (``pytest -n 1``, 2, 4, 8 …, each a real perfmon run
into a scratch store); then the gap between the last level that held and the first that did not is
halved until it is one worker wide. A level holds when

- its step timings and vitals (every sample, quarantined ones included: the point is how far they
  drift) stay within ``margin`` of the one-journey baseline: the geometric mean of every series'
  median ratio, so one noisy series of three samples cannot decide alone;
- and the client was not saturated: at most ``SATURATED_SHARE`` of its browser samples quarantined.

The answer is stored with the machine's identity (``perfmon.system.host``), and the pytest plugin warns at
the start of a run whose ``-n`` exceeds it. Hand-written: no tool measures its own client's drift.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.config import Config
from ..core.env import environ
from ..core.errors import ConfigError, StoreError
from ..core.metrics import Trend, merged_percentiles
from ..core.results import Run
from ..core.samples import QUARANTINED
from ..system.host import machine_class, machine_identity
from ._common import Subcommands, config, positive

__all__ = [
    "SATURATED_SHARE",
    "Calibration",
    "Level",
    "calibrate",
    "calibrate_command",
    "drift",
    "newest_run",
    "register",
    "run_level",
]

SATURATED_SHARE = 0.05  # more of a level's browser samples quarantined than this: its client was saturated
_SERIES = (("browser_step_duration", "step"), ("browser_vital_lcp", "page"), ("browser_vital_fcp", "page"),
           ("browser_vital_ttfb", "page"))
_MIN_SAMPLES = 2  # per series and level, to compare its median


@dataclass(frozen=True)
class Level:
    """One concurrency tried: how far its numbers drifted from one journey alone, and why it did not hold."""

    workers: int
    drift: float | None  # geometric mean of the series' median ratios, minus 1
    worst: str | None  # the series that drifted most, and by how much
    quarantined: float  # share of its browser samples measured on a saturated client
    samples: int
    held: bool
    why: str = ""
    run_id: str = ""


@dataclass
class Calibration:
    level: int  # the most concurrent journeys that held (0: not even one)
    margin: float
    suite: str
    machine: dict[str, Any] = field(default_factory=machine_identity)
    levels: list[Level] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)

    def needs(self, workers: int) -> int:
        """Machines like this one (or remote browser servers) that ``workers`` concurrent journeys need."""
        return math.ceil(workers / self.level) if self.level else 0

    def describe(self, workers: int) -> str:
        where = f"this machine ({machine_class(self.machine)})"
        if not self.level:
            return f"{where}: not even one journey ran with its client unsaturated; measure from a bigger machine"
        return (f"{where}: up to {self.level} concurrent journey(s); -n {workers} needs about {self.needs(workers)} "
                "such machines or remote browser servers")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "machine_class": machine_class(self.machine)}


def _medians(run: Run) -> dict[str, tuple[float, int]]:
    """Each step's and page vital's median over every sample (clean and quarantined), and its count."""
    out: dict[str, tuple[float, int]] = {}
    for name, label in _SERIES:
        grouped: dict[str, list[Trend]] = {}
        for metric in (name, name + QUARANTINED):
            for _, tags, series in run.metrics.series(metric):
                if isinstance(series, Trend) and series.count:
                    key = f"{name}{{journey:{tags.get('journey', '')},{label}:{tags.get(label, '')}}}"
                    grouped.setdefault(key, []).append(series)
        for key, trends in grouped.items():
            [median] = merged_percentiles(trends, [50.0])
            if median is not None:
                out[key] = (median, sum(t.count for t in trends))
    return out


def _quarantined(run: Run) -> tuple[float, int]:
    counts = (run.metadata.get("quarantine") or {}).get("metrics") or {}
    total = sum(int(c["total"]) for c in counts.values())
    clean = sum(int(c["clean"]) for c in counts.values())
    return (1 - clean / total if total else 0.0), total


def drift(baseline: Run, run: Run, workers: int, *, margin: float) -> Level:
    """Judge one level's run against the one-journey baseline run."""
    base, now = _medians(baseline), _medians(run)
    shared = [k for k in base if k in now and base[k][1] >= _MIN_SAMPLES and now[k][1] >= _MIN_SAMPLES
              and base[k][0] > 0 and now[k][0] > 0]
    quarantined, samples = _quarantined(run)
    if not shared:
        return Level(workers, None, None, quarantined, samples, False,
                     "no step or vital was measured at both levels: does the suite record any?", run.run_id)
    ratios = {k: now[k][0] / base[k][0] for k in shared}
    typical = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios)) - 1
    worst_key = max(ratios, key=lambda k: ratios[k])
    worst = f"{worst_key} {100 * (ratios[worst_key] - 1):+.0f}%"
    why = []
    if typical > margin:
        why.append(f"steps and vitals {100 * typical:+.0f}% against one journey alone (margin {100 * margin:.0f}%)")
    if quarantined > SATURATED_SHARE:
        why.append(_saturated(quarantined))
    return Level(workers, typical, worst, quarantined, samples, not why, "; ".join(why), run.run_id)


def run_level(cfg: Config, workers: int, *, iterations: int, pytest_args: Sequence[str], scratch: Path) -> Run:
    """Run the browser suite at ``-n workers`` into a scratch store and read the run back."""
    db = scratch / "calibration.db"
    log = scratch / f"n{workers}.log"
    argv = [sys.executable, "-m", "pytest", cfg.suites.browser, "-p", "no:cacheprovider", "-o", "addopts=",
            "-n", str(workers), "--perf-iterations", str(iterations), "--perf-store", f"sqlite:///{db}",
            "--perf-regressions", "off", "--perf-report-dir", str(scratch / "reports"), *pytest_args]
    with log.open("w") as out:
        code = subprocess.call(argv, cwd=cfg.root, stdout=out, stderr=subprocess.STDOUT,
                               env={**environ(), "PERFMON_EXIT_FILE": str(scratch / "exit")})
    said = (scratch / "exit").read_text().partition("\n")[0].strip() if (scratch / "exit").is_file() else ""
    if said in ("2", "4") or (not said and code not in (0, 1)):
        tail = " ".join(log.read_text(errors="replace").split()[-40:])
        raise ConfigError(f"the browser suite did not run at -n {workers} (pytest exit {code}): {tail}")
    try:
        return newest_run(db)
    except (StoreError, ValueError) as exc:
        raise ConfigError(f"the browser suite stored no run at -n {workers}: {exc}") from None


def newest_run(db: Path) -> Run:
    """The newest run in the SQLite store at ``db`` (ValueError when it holds none)."""
    from ..store import open_store

    store = open_store(f"sqlite:///{db}")
    try:
        [newest] = store.history(limit=1)
        return store.load_run(newest.run_id)
    finally:
        store.close()


def calibrate(cfg: Config, *, levels: Sequence[int], margin: float, iterations: int,
              measure: Callable[[int], Run], say: Callable[[str], None] = print) -> Calibration:
    """Try ``levels`` in order (doubling, typically) until one does not hold, then bisect the gap."""
    found = Calibration(level=0, margin=margin, suite=cfg.suites.browser)
    baseline = measure(1)
    quarantined, samples = _quarantined(baseline)
    held = quarantined <= SATURATED_SHARE
    one = Level(1, 0.0, None, quarantined, samples, held, "" if held else _saturated(quarantined), baseline.run_id)
    tried = {1: one}
    say(_line(one))
    if not one.held:
        found.levels = [one]
        return found
    good, bad = 1, None
    for workers in sorted(set(levels) - {1}):
        level = tried[workers] = drift(baseline, measure(workers), workers, margin=margin)
        say(_line(level))
        if not level.held:
            bad = workers
            break
        good = workers
    while bad is not None and bad - good > 1:
        mid = (good + bad) // 2
        level = tried[mid] = drift(baseline, measure(mid), mid, margin=margin)
        say(_line(level))
        good, bad = (mid, bad) if level.held else (good, mid)
    found.level = good
    found.levels = [tried[w] for w in sorted(tried)]
    return found


def _saturated(quarantined: float) -> str:
    return f"{100 * quarantined:.0f}% of its browser samples were measured on a saturated client"


def _line(level: Level) -> str:
    change = "baseline" if level.workers == 1 else ("-" if level.drift is None else f"{100 * level.drift:+.0f}%")
    worst = f", worst {level.worst}" if level.worst else ""
    verdict = "held" if level.held else f"did not hold: {level.why}"
    return (f"  -n {level.workers:<3} {change}{worst}; {100 * level.quarantined:.0f}% of {level.samples} samples "
            f"quarantined; {verdict}")


def calibrate_command(args: Any, cfg: Config) -> int:
    """``perfmon calibrate``: 0 with a level found and stored, 3 when not even one journey ran unsaturated."""
    import json

    from ..core.exit_codes import ExitCode
    from ..store import open_store

    levels = _levels(args.levels)
    with tempfile.TemporaryDirectory(prefix="perfmon-calibrate-") as tmp:
        scratch = Path(tmp)

        def measure(workers: int) -> Run:
            (scratch / "exit").unlink(missing_ok=True)
            return run_level(cfg, workers, iterations=args.iterations, pytest_args=args.pytest_args, scratch=scratch)

        quiet = args.json
        if not quiet:
            print(f"perfmon calibrate: {cfg.suites.browser} at -n {', '.join(map(str, levels))} … "
                  f"(margin {100 * args.margin:.0f}%, {args.iterations} iteration(s) per worker)")
        found = calibrate(cfg, levels=levels, margin=args.margin, iterations=args.iterations, measure=measure,
                          say=(lambda _: None) if quiet else print)
    store = open_store(args.store or cfg.store, root=cfg.root)
    try:
        store.write_calibration(found.to_dict())
    finally:
        store.close()
    if quiet:
        print(json.dumps({**found.to_dict(), "for_workers": args.workers, "needs": found.needs(args.workers)},
                         indent=2))
    else:
        print(found.describe(args.workers))
    return 0 if found.level else int(ExitCode.UNMEASURED)


def _levels(text: str) -> list[int]:
    try:
        levels = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        levels = []
    if not levels or levels[0] < 1:
        raise ConfigError(f"--levels {text!r}: give worker counts of 1 or more separated by commas, e.g. 1,2,4,8,16")
    return levels if levels[0] == 1 else [1, *levels]


def register(sub: Subcommands) -> None:
    cal = sub.add_parser("calibrate", help="how many concurrent browser journeys this machine holds before its own "
                                           "numbers drift (stored; the plugin warns when -n exceeds it)")
    cal.add_argument("--levels", default="1,2,4,8,16,32", help="worker counts to try, rising (default: 1,2,4,8,16,32)"
                                                               "; the gap where it stops holding is then bisected")
    cal.add_argument("--margin", type=float, default=0.10,
                     help="how far steps and vitals may drift from one journey alone (default: 0.10)")
    cal.add_argument("--iterations", type=positive, default=2, help="iterations of each journey per worker")
    cal.add_argument("--for", dest="workers", type=positive, default=50, metavar="N",
                     help="say how many such machines -n N needs (default: 50)")
    cal.add_argument("--json", action="store_true", help="print the result as JSON")
    cal.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest as they are")
    cal.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    if not 0 < args.margin < 10:
        raise ConfigError(f"--margin {args.margin:g}: give the drift allowed as a fraction, e.g. 0.1 for 10 %")
    args.pytest_args = [a for a in args.pytest_args if a != "--"]
    return calibrate_command(args, config(args))
