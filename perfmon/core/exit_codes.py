"""perfmon's exit codes: one table for ``perfmon run``, the scripts and the pytest plugin (README,
"Exit codes"), so a CI step can tell a slow release from a broken test bench.

=====  ===========  =============================================================================
code   name         meaning
=====  ===========  =============================================================================
0      PASSED       every threshold passed and nothing regressed; the run is in the store
1      FAILED       a threshold failed, a test failed, or a regression against history was found
2      USAGE        a usage or configuration error: nothing was measured (or, when a threshold names a
                    metric one letter off one the run recorded, the run is stored as unmeasured)
3      UNMEASURED   the run could not be measured: the target was down or stopped answering, the
                    load generator was saturated beyond ``unreliable_saturation``, fewer than
                    ``min_clean_share`` of a browser metric's samples were measured on an unsaturated
                    client, a threshold had no samples (and nothing else failed), or it was interrupted
4      SPOOLED      the results could not all be written: the run waits in the spool (``perfmon flush``),
                    or a report, the spool itself or runs spooled earlier could not be written (an
                    ``ERROR:`` line says which; a run neither stored nor spooled is lost, and says so)
=====  ===========  =============================================================================

When several apply, the first of 2, 3, 1, 4 wins: a run whose numbers are distorted is not judged
on them, and a failed run that also could not be stored is reported as failed (the spool keeps it).
pytest's own command-line errors, raised before any plugin runs, keep pytest's 4 under plain pytest;
``perfmon run`` turns them into 2.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode", "for_status"]


class ExitCode(IntEnum):
    PASSED = 0
    FAILED = 1
    USAGE = 2
    UNMEASURED = 3
    SPOOLED = 4


def for_status(status: str, *, spooled: bool) -> ExitCode:
    """The code of a concluded run from its status (``perfmon.core.results.RunStatus``) and whether it
    only reached the spool."""
    if status in ("unmeasured", "interrupted"):
        return ExitCode.UNMEASURED
    if status == "failed":
        return ExitCode.FAILED
    return ExitCode.SPOOLED if spooled else ExitCode.PASSED
