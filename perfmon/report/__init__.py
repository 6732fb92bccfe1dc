"""Reports of a run: HTML (with charts), summary.json, JUnit XML and Markdown, written together
under ``perf-reports/<run-id>/`` with ``perf-reports/latest`` pointing at the newest."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..core.env import read
from ..core.errors import OutputError
from ..core.redaction import redact
from ..core.results import Run
from ..store import RunSummary
from .html import render_html
from .machine import SUMMARY_SCHEMA, junit_xml, summary_json
from .markdown import markdown
from .model import build_model

__all__ = ["SUMMARY_SCHEMA", "ReportPaths", "write_reports"]


@dataclass(frozen=True)
class ReportPaths:
    directory: Path
    html: Path
    summary: Path
    junit: Path
    markdown: Path


def write_reports(run: Run, root: Path, *, history: list[RunSummary] | None = None) -> ReportPaths:
    """Build every report (redacted), then write them; a folder that cannot be written is one
    :class:`~perfmon.OutputError`."""
    out = root / run.run_id
    paths = ReportPaths(out, out / "index.html", out / "summary.json", out / "junit.xml", out / "summary.md")
    texts = {paths.html: render_html(build_model(run, history)), paths.summary: json.dumps(summary_json(run), indent=2),
             paths.junit: junit_xml(run),
             paths.markdown: markdown(run, str(paths.html), report_url=read("PERFMON_REPORT_URL"))}
    texts = {path: redact(text) for path, text in texts.items()}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, text in texts.items():
            path.write_text(text, encoding="utf-8")
        if step_summary := read("GITHUB_STEP_SUMMARY"):
            with open(step_summary, "a", encoding="utf-8") as f:
                f.write(texts[paths.markdown])
        _point_latest(root, out)
    except OSError as exc:
        raise OutputError(f"cannot write the reports under {root}: {exc.strerror or exc}; pass --out (or "
                          "--perf-report-dir) a writable folder") from None
    return paths


def _point_latest(root: Path, target: Path) -> None:
    latest = root / "latest"
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
    elif latest.is_dir():
        shutil.rmtree(latest)
    try:
        latest.symlink_to(target.name, target_is_directory=True)
    except OSError:  # filesystems without symlinks get a copy
        shutil.copytree(target, latest)
