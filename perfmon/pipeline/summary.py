"""The run as a person reads it at the end of a session: verdict, key numbers, every threshold,
what the analyses found, and where the run and its report went."""

from __future__ import annotations

from ..core.findings import SCENARIO_FINDINGS, Line, Severity
from ..core.metrics import Rate
from ..core.numbers import clock, number
from ..core.redaction import redact
from ..core.results import Run
from .advice import CONTENTION
from .deliver import Delivery
from .evidence import EVIDENCE_KEPT
from .quarantine import QUARANTINE

__all__ = ["Line", "closing_lines", "history_lines", "styled_history", "styled_summary", "summary_lines"]

_ERRORS_SHOWN = 10  # distinct errors printed; summary.json keeps them all



def summary_lines(run: Run) -> list[str]:
    """The run itself: also what ``perfmon show`` prints for a stored run."""
    return [text for text, _ in styled_summary(run)]


def styled_summary(run: Run) -> list[Line]:
    """The run's summary lines, each with the severity that decides how it is drawn."""
    s = run.summary_metrics()
    errors = None if s.error_rate is None else s.error_rate * 100
    head: Severity = "fail" if run.status in ("failed", "unmeasured") else "plain"
    lines: list[Line] = [
        (f"perfmon run {run.run_id}  {run.test_type}  {run.environment}  profile={run.profile}  "
         f"verdict={run.status.upper()}", head),
        (f"  duration {run.duration_seconds:.1f}s  users {run.concurrent_users}  "
         f"avg {_fmt(s.avg_response_time, 'ms')}  p95 {_fmt(s.p95_response_time, 'ms')}  errors {_fmt(errors, '%')}  "
         f"throughput {_fmt(s.throughput, '/s')}", "plain"),
    ]
    lines += [(text, "plain") for text in _how_it_ran(run)]
    lines.extend((f"  UNMEASURED  {why}", "fail") for why in run.metadata.get("unmeasured") or ())
    lines += [(text, "plain") for text in _how_it_ended(run)]
    run_wide = [f for f in run.findings if not isinstance(f, SCENARIO_FINDINGS)]
    for finding in [*run_wide, *(f for f in run.findings if isinstance(f, SCENARIO_FINDINGS))]:
        lines += finding.describe()
    lines += [(text, "plain") for text in _searches(run)]
    lines += _error_lines(run) + _check_lines(run)
    for o in run.thresholds:
        mark = {"pass": "PASS", "fail": "FAIL", "no data": "NO DATA"}[o.status]
        style: Severity = "pass" if o.status == "pass" else "fail" if o.status == "fail" else "plain"
        lines.append((f"  {mark}  {o.threshold}  {o.detail}", style))
    return lines + styled_history(run)


def _error_lines(run: Run) -> list[Line]:
    """The Errors block: each distinct exception the scripts raised, most frequent first, with where."""
    errors = run.errors
    if not errors:
        return []
    tests = run.failed_tests
    iterations = sum(e.count for e in errors if e.source not in tests)
    said = [*([f"{len(tests)} failed test(s)"] if tests else []),
            *([f"{iterations} failed iteration(s)"] if iterations else [])]
    lines: list[Line] = [(f"  Errors: {', '.join(said)}, {len(errors)} distinct", "fail")]
    for e in errors[:_ERRORS_SHOWN]:
        where = f"  at {e.where}" if e.where else ""
        lines.append((f"    ERROR  {e.count}×  {e.headline()}{where}  ({e.source}, first at {clock(e.first_at)})",
                      "fail"))
    if len(errors) > _ERRORS_SHOWN:
        lines.append((f"    … and {len(errors) - _ERRORS_SHOWN} more in summary.json (errors)", "plain"))
    return lines


def _check_lines(run: Run) -> list[Line]:
    """k6's check lines: each named check with ✓ or ✗ and its pass rate (a failing one with its counts)."""
    by_name: dict[str, list[int]] = {}
    for _, tags, rate in run.metrics.series("checks"):
        if isinstance(rate, Rate) and "check" in tags:
            counts = by_name.setdefault(tags["check"], [0, 0])
            counts[0] += rate.trues
            counts[1] += rate.total
    lines: list[Line] = []
    for name, (passed, total) in sorted(by_name.items()):
        if passed == total:
            lines.append((f"  ✓ {name}  100% ({total})", "pass"))
        else:
            lines.append((f"  ✗ {name}  {passed / total:.0%} — ✓ {passed} / ✗ {total - passed}", "fail"))
    return lines


def _how_it_ran(run: Run) -> list[str]:
    """The client's saturation, the samples the verdict could read, steps without INP."""
    lines = []
    if run.client_saturation is not None:
        lines.append(f"  client CPU saturated {run.client_saturation:.0%} of the run")
    if (clean := _clean_line(run)) is not None:
        lines.append(clean)
    for _, tags, counter in run.metrics.series("browser_step_inp_missing"):
        lines.append(f"  NO INP  step {tags.get('step')!r} of journey {tags.get('journey')!r}: in "
                     f"{getattr(counter, 'count', 0):.0f} iteration(s) its clicks were scripted (element.click() from "
                     "page JavaScript), which Event Timing does not see; drive it with Playwright's input")
    return lines


def _how_it_ended(run: Run) -> list[str]:
    """Lost iterations, where a spread run ran, scenarios stopped early and users cancelled at the stop."""
    lines = []
    if run.lost_iterations:
        lines.append(f"  {run.lost_iterations} iteration(s) lost to crashed workers or cut off at the stop")
    lines.extend(_spread_lines(run))
    for reason in run.stop_reasons:
        lines.append(f"  stopped early: {reason}")
    if dropped := run.metadata.get("evidence_dropped"):
        lines.append(f"  evidence: {dropped.get('kept', 0)} iteration folder(s) kept; {dropped.get('past_cap', 0)} "
                     f"more past {EVIDENCE_KEPT} per run and {dropped.get('quarantined', 0)} of breaches measured on "
                     "a saturated client were not kept")
    for sc in run.scenarios:
        if sc.cancelled_at_stop:
            lines.append(f"  {sc.name}: {sc.cancelled_at_stop} user(s) still busy after the {sc.graceful_stop_s:g}s "
                         "graceful stop were cancelled; their requests count as failed (error: interrupted)")
    return lines


def _searches(run: Run) -> list[str]:
    """The capacity searches a test ran (``PerfApi.find_capacity``)."""
    lines = []
    for scenario, found in (run.metadata.get("breaking_points") or {}).items():
        users = f" (about {found['users']:.0f} users)" if found.get("users") else ""
        broke = f", broke at {number(found['breaking_rate'], digits=4)}/s" if found.get("breaking_rate") else ""
        lines.append(f"  capacity ({scenario}): sustainable {_fmt(found.get('sustainable_rate'), '/s')}{users}{broke}"
                     + (f"; {found['why']}" if found.get("why") else ""))
    return lines


def _spread_lines(run: Run) -> list[str]:
    """Where a run spread over several machines ran: its shards, and the hosts of its browsers and workers."""
    found: list[str] = []
    if shards := run.metadata.get("shards"):
        hosts = ", ".join(f"{r['shard']}: {r['host'] or '?'} ({r['users']} users)" for r in shards["reported"])
        missing = f"; MISSING {', '.join(shards['missing'])} (the run is partial)" if shards["missing"] else ""
        found.append(f"  shards {len(shards['reported'])} of {shards['count']}: {hosts}{missing}")
        if commits := shards.get("commits"):
            found.append(f"  shards ran different commits: {', '.join(c[:8] for c in commits)}")
    by_host: dict[str, dict[str, float]] = {"browser": {}, "runner": {}}
    for _, tags, counter in run.metrics.series("browser_host_iterations"):
        for side in by_host:
            host = tags.get(side, "local")
            by_host[side][host] = by_host[side].get(host, 0.0) + float(getattr(counter, "count", 0))
    for side, counts in by_host.items():
        if set(counts) - {"local"}:
            spread = ", ".join(f"{h} {n:.0f}" for h, n in sorted(counts.items()))
            found.append(f"  iterations by {side} host: {spread}")
    return found


def _clean_line(run: Run) -> str | None:
    """How many browser samples the verdict could read, and which metrics lost the most."""
    held = run.metadata.get(QUARANTINE)
    if not isinstance(held, dict) or not held.get("metrics"):
        return None
    counts = held["metrics"]
    clean, total = sum(c["clean"] for c in counts.values()), sum(c["total"] for c in counts.values())
    line = f"  browser samples clean {clean} of {total} ({clean / total:.0%})" if total else "  no browser samples"
    worst = sorted((c["clean"] / c["total"], name) for name, c in counts.items()
                   if c["total"] and c["clean"] < c["total"])
    if worst:
        contention = run.metadata.get(CONTENTION)
        measured = contention.get("wait_measured") if isinstance(contention, dict) else None
        why = "the client waited for the CPU (run-queue wait)" if measured is True else \
            "the client CPU was saturated (CPU percent: this kernel keeps no scheduler statistics)" \
            if measured is False else "the client CPU was saturated"
        line += f"; quarantined while {why}, fewest clean: " + ", ".join(f"{name} {share:.0%}"
                                                                           for share, name in worst[:3])
    return line


def history_lines(run: Run) -> list[str]:
    """The comparison with the run's history: regressions, improvements, what it could have seen."""
    return [text for text, _ in styled_history(run)]


def styled_history(run: Run) -> list[Line]:
    """:func:`history_lines`, each with its severity (a regression fails)."""
    return run.comparison.describe() if run.comparison is not None else []


def closing_lines(run: Run, delivery: Delivery) -> list[Line]:
    """Where the run went, and what to do about a failure."""
    out: list[Line] = []
    stored = delivery.stored
    if stored is not None:
        if stored.spooled:
            out.append((f"store failed: {stored.problem}", "fail"))
            out.append((f"the run was kept in {stored.where}; `perfmon flush` sends it when the store is back", "fail"))
        else:
            out.append((f"stored in {redact(stored.where)} (see: perfmon history)", "plain"))
            if stored.problem:  # stored, but the spool that would have kept it could not be written
                out.append((f"warning: {stored.problem}", "plain"))
    if delivery.report:
        out.append((f"report: {delivery.report}", "plain"))
    out.extend((f"ERROR: {p}", "fail") for p in delivery.problems)
    if delivery.flushed:
        sent = ", ".join(delivery.flushed)
        out.append((f"also sent {len(delivery.flushed)} run(s) spooled earlier: {sent}", "plain"))
    if delivery.alerted is not None:
        out.append(("alert sent to PERFMON_ALERT_WEBHOOK", "plain") if delivery.alerted else
                   ("alert to PERFMON_ALERT_WEBHOOK failed (the run is stored all the same)", "fail"))
    if run.status == "unmeasured" and (misnamed := run.metadata.get("misnamed")):
        out.append(("perfmon: UNMEASURED, no verdict (exit 2, a threshold's metric is misspelt): "
                    + "; ".join(misnamed), "fail"))
    elif run.status == "unmeasured":
        # Not judged: the thresholds' verdicts stand above, but the run neither passed nor failed on them.
        out.append(("perfmon: UNMEASURED, no verdict (exit 3): " + "; ".join(run.metadata.get("unmeasured") or ()),
                    "fail"))
    elif run.status == "failed" and (tests := run.failed_tests):
        named = ", ".join(tests[:3]) + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
        said = f"{len(tests)} test(s) failed ({named})"
        if distorted := run.metadata.get("unmeasured"):
            out.append((f"perfmon: FAILED: {said}; the numbers were also measured on a distorted client and are not "
                        "judged: " + "; ".join(distorted), "fail"))
        elif failed := run.failed_thresholds:
            out.append((f"perfmon: FAILED thresholds: {', '.join(str(o.threshold) for o in failed)}; and {said}",
                        "fail"))
        else:
            out.append((f"perfmon: FAILED: {said}", "fail"))
    elif failed := run.failed_thresholds:
        names = ", ".join(str(o.threshold) for o in failed)
        out.append((f"perfmon: FAILED thresholds: {names}", "fail"))
    return out


def _fmt(v: float | None, unit: str = "") -> str:
    return number(v, unit, digits=4, space=False)
