"""The one pipeline from measurements to a verdict, used by the pytest session (with or without
xdist, hybrid background load included), by ``run_scenario`` outside pytest and by the CLI::

    records -> assemble (one Run) -> quarantine (browser samples of saturated seconds out) ->
               derive (analyses add metrics) -> compare (with history) ->
               judge (once) -> deliver (spool, store, reports, alert)

Measuring layers (the load engine, a browser iteration, the sampler) hand in records and never
decide pass or fail; everything after them happens here, in this order, once per run.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..analysis.derive import derive
from ..core.config import Config
from ..core.errors import one_line
from ..core.exit_codes import ExitCode, for_status
from ..core.metrics import Metrics
from ..core.records import Record
from ..core.redaction import redact
from ..core.results import NO_VERDICT, UNJUDGED, Run
from ..core.thresholds import Threshold
from .assemble import assemble
from .compare import Compared, compare, open_regressions
from .deliver import NO_OUTPUTS, Delivery, Outputs, deliver
from .evidence import prune_evidence
from .judge import RunFacts, judge
from .quarantine import quarantine
from .summary import Line, closing_lines, styled_summary, summary_lines

__all__ = [
    "NO_OUTPUTS",
    "Concluded",
    "Delivery",
    "Line",
    "Outputs",
    "RunFacts",
    "closing_lines",
    "conclude",
    "judge_and_deliver",
    "summary_lines",
]


@dataclass
class Concluded:
    run: Run
    delivery: Delivery = field(default_factory=Delivery)

    @property
    def exit_code(self) -> ExitCode:
        """The run's code in perfmon's table (``perfmon.core.exit_codes``)."""
        stored = self.delivery.stored
        if self.run.status == "unmeasured" and self.run.metadata.get("misnamed"):
            return ExitCode.USAGE  # a threshold's typo: the user's to fix, not the machine's
        # An ERROR line never ends in 0: a run that reached only the spool, or none of it, or whose report
        # or earlier spooled runs could not be written, is 4 unless its verdict says more.
        unwritten = (stored is not None and stored.spooled) or bool(self.delivery.problems)
        return for_status(self.run.status, spooled=unwritten)

    def lines(self) -> list[Line]:
        # Each line's severity comes with it; every line printed at the end of a run passes the one redactor.
        lines = styled_summary(self.run) + closing_lines(self.run, self.delivery)
        return [(redact(text), style) for text, style in lines]


def conclude(
    records: Iterable[Record],
    config: Config,
    *,
    run_id: str,
    started_at: float,
    base_url: str | None,
    facts: RunFacts = RunFacts(),  # noqa: B008 - frozen
    outputs: Outputs = NO_OUTPUTS,
    finished_at: float | None = None,
    session_metrics: Metrics | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Concluded | None:
    """Assemble ``records`` into one run, derive, judge, deliver; ``None`` when nothing was measured.

    ``session_metrics`` are measured around the tests (the controller's psutil sampler);
    ``metadata`` records how the session was run (network or CPU throttling, tracing)."""
    assembled = assemble(records, config, run_id=run_id, started_at=started_at, base_url=base_url,
                         finished_at=finished_at)
    if assembled is None:
        return None
    run = assembled.run
    quarantine(run, assembled.timed, facts.client_busy, min_clean=config.min_clean_share)
    if found := run.metadata.pop("artifacts", None):
        evidence = prune_evidence(found, facts.client_busy)
        run.metadata.update({"artifacts": evidence.kept} if evidence.kept else {})
        if evidence.dropped or evidence.quarantined:
            run.metadata["evidence_dropped"] = {"kept": evidence.folders, "past_cap": evidence.dropped,
                                                "quarantined": evidence.quarantined}
    if session_metrics is not None:
        run.metrics.merge(session_metrics)
    run.metadata.update(metadata or {})
    return judge_and_deliver(run, assembled.thresholds, config, facts=replace(
        facts, interrupted=facts.interrupted or assembled.interrupted), outputs=outputs)


def judge_and_deliver(run: Run, thresholds: list[Threshold], config: Config, *, facts: RunFacts,
                      outputs: Outputs) -> Concluded:
    """The rest of the one pipeline, for a run assembled (and quarantined) from one session's records or
    from the parts of a sharded run: derive, compare with history, judge once, deliver."""
    if run.finished_at is None:
        run.finished_at = time.time()
    broken: str | None = None
    try:
        derive(run, thresholds)
    except Exception as exc:  # noqa: BLE001 - an analysis that breaks must not cost the measured run
        broken = f"the analyses failed ({one_line(exc)}); the run is judged on what was measured"
        run.metadata["derive_error"] = broken
    compared = Compared()
    if outputs.store:  # a session's run; run_scenario's own callers have no history to compare with
        try:
            compared = compare(run, config)
        except Exception as exc:  # noqa: BLE001 - the comparison must not cost the measured run
            compared.problems.append(f"the comparison with history failed ({one_line(exc)})")
    regressions = len(open_regressions(run)) if config.regressions == "fail" else 0
    judge(run, thresholds, replace(facts, regressions=regressions), unreliable_saturation=config.unreliable_saturation)
    if run.status in NO_VERDICT:
        run.unjudge(UNJUDGED.format(status=run.status))
    run.redact_fields()  # what is written (store, spool, reports, alert) is masked field by field
    delivery = deliver(run, config, outputs)
    delivery.problems[:0] = compared.problems
    if broken:
        delivery.problems.insert(0, broken)
    return Concluded(run, delivery)
