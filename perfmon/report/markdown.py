"""The Markdown summary a reviewer reads in ten seconds: the job summary and the PR comment.

In this order, because a reviewer stops reading at the first line that answers "can this merge?":

1. the verdict, in the heading;
2. what failed, first: failed thresholds, regressions and leaks against history, and why a run
   could not be measured, each with its change and a link into the HTML report;
3. the key metrics against the baseline (the comparable runs the gate used), largest change first;
4. where the HTML report is, and every threshold folded away for whoever wants it.

Links point at ``report_url`` (``$PERFMON_REPORT_URL``: where CI publishes the reports, e.g. the
workflow run's page) or else at the report's path, with the HTML report's section anchors.
"""

from __future__ import annotations

from ..core.comparison import HistoryComparison
from ..core.findings import Leaks
from ..core.numbers import number
from ..core.results import Run

__all__ = ["markdown"]

_ICON = {"passed": "✅", "failed": "❌"}  # unmeasured, interrupted, partial: ⚠️
_KEY_METRICS = 8  # rows of the key-metrics table
_ERRORS_LISTED = 5  # distinct script errors under "What failed"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _link(base: str | None, anchor: str, label: str) -> str:
    return f"[{label}]({base}#{anchor})" if base else label


def _failures(run: Run, base: str | None) -> list[str]:
    out = [f"- ⚠️ **not measured, no verdict**: {why}" for why in run.metadata.get("unmeasured") or ()]
    for e in run.errors[:_ERRORS_LISTED]:
        where = f" at `{_cell(e.where)}`" if e.where else ""
        out.append(f"- 💥 **error** `{_cell(e.headline())}`{where}: {e.count}× in {_cell(e.source)} "
                   f"({_link(base, 'errors', 'errors')})")
    if len(run.errors) > _ERRORS_LISTED:
        out.append(f"- … and {len(run.errors) - _ERRORS_LISTED} more distinct errors (summary.json)")
    for o in run.failed_thresholds:
        seen = "no samples" if o.observed is None else f"observed {number(o.observed)}"
        out.append(f"- ❌ **threshold** `{_cell(str(o.threshold))}`: {seen} "
                   f"({_link(base, 'thresholds', 'thresholds')})")
    found = run.comparison or HistoryComparison()
    for f in found.regressions:
        change = "" if f.change is None else f" ({100 * f.change:+.1f} %)"
        out.append(f"- 📈 **regression** `{_cell(f.key)}`: {number(f.baseline, f.unit)} → "
                   f"{number(f.observed, f.unit)}{change}, confidence {f.confidence:.3f} "
                   f"({_link(base, 'history', 'history')})")
    for c in found.worse_steps:
        moved = f"{number(c.before, digits=4)} → {number(c.after, digits=4)}"
        out.append(f"- 📈 **step** `{_cell(c.key)}`: {moved} from run `{c.first_run[:8]}`, commits {c.commits()} "
                   f"({_link(base, 'history', 'history')})")
    for leaks in run.findings_of(Leaks):
        out += [f"- 💧 **leak** `process_rss_mb{{role:{leak.role}}}`: {leak.why}" for leak in leaks.leaking]
    out += [f"- ❌ **stopped early**: {reason}" for reason in run.stop_reasons]
    return out


def _key_metrics(run: Run) -> list[str]:
    found = run.comparison or HistoryComparison()
    findings = [f for f in found.findings if f.change is not None]
    if findings:
        rows = sorted(findings, key=lambda f: -abs(f.change or 0.0))[:_KEY_METRICS]
        mark = {"regression": " 📈", "improvement": " ✨"}
        lines = [f"| metric | this run | baseline ({len(found.against)} runs) | change |",
                 "| --- | ---: | ---: | ---: |"]
        lines += [f"| `{_cell(f.key)}` | {number(f.observed, f.unit)} | {number(f.baseline, f.unit)} | "
                  f"{100 * (f.change or 0.0):+.1f} %{mark.get(f.kind, '')} |" for f in rows]
        if len(findings) > len(rows):
            lines.append(f"| … and {len(findings) - len(rows)} more series, unchanged or smaller changes | | | |")
        return [*lines, "", "📈 regression, ✨ improvement; an unmarked change is within its series' noise."]
    s = run.summary_metrics()
    why = found.note or "not compared with history"
    return [f"| metric | this run ({why}) |", "| --- | ---: |",
            f"| avg response time | {number(s.avg_response_time, 'ms')} |",
            f"| p95 response time | {number(s.p95_response_time, 'ms')} |",
            f"| error rate | {number(s.error_rate, 'share')} |",
            f"| throughput | {number(s.throughput, '/s')} |"]


def markdown(run: Run, report_path: str | None = None, *, report_url: str | None = None) -> str:
    """The summary of ``run``; ``report_url`` (else ``report_path``) is where the HTML report is."""
    base = report_url or report_path
    commit = f"commit `{run.git_sha[:10]}`" + (f" ({run.branch})" if run.branch else "") if run.git_sha else "no commit"
    lines = [
        f"## {_ICON.get(run.status, '⚠️')} perfmon: {run.status.upper()} · {run.test_type} run · {run.environment} · "
        f"profile `{run.profile}`",
        "",
        f"run `{run.run_id[:8]}` · {commit} · {run.duration_seconds:.0f} s · {run.concurrent_users} users"
        + (f" · [HTML report]({base})" if base else ""),
    ]
    failures = _failures(run, base)
    if failures:
        lines += ["", "### What failed", "", *failures]
    if said := run.metadata.get("warnings"):  # what changes what the numbers mean
        lines += ["", "### Measured under", "", *(f"- ⚠️ {line.removeprefix('perfmon: ')}" for line in said)]
    lines += ["", "### Key metrics", "", *_key_metrics(run)]
    passed = sum(o.status == "pass" for o in run.thresholds)
    lines += ["", f"<details><summary>All {len(run.thresholds)} thresholds ({passed} passed)</summary>", "",
              "| threshold | observed | result |", "| --- | ---: | --- |"]
    for o in run.thresholds:
        verdict = {"pass": "pass", "fail": "**FAIL**", "no data": "no data"}[o.status]
        lines.append(f"| `{_cell(str(o.threshold))}` | {number(o.observed)} | {verdict} |")
    lines += ["", "</details>"]
    if report_path:
        lines += ["", f"HTML report: `{report_path}`" + (f" ({report_url})" if report_url else "")]
    return "\n".join(lines) + "\n"
