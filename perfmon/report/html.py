"""The self-contained HTML report: one file, inline CSS, inline SVG, no network."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from .model import VITAL_BANDS, ReportModel
from .svg import PALETTE, bar_chart, histogram_chart, line_chart, sparkline

__all__ = ["render_html"]

_GOOD, _NEEDS, _POOR = "#2b8a3e", "#f08c00", "#c92a2a"


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _vital_colour(vital: str, value: float) -> str:
    good, poor = VITAL_BANDS[vital]
    return _GOOD if value <= good else _NEEDS if value <= poor else _POOR


def _charts(m: ReportModel) -> dict[str, Any]:
    charts: dict[str, Any] = {
        "latency": line_chart(m.latency, title="response time percentiles", y_unit="ms",
                              right=("VUs", m.vus) if m.vus else None),
        "throughput": line_chart([("requests/s", m.throughput)], title="throughput", y_unit="req/s", height=160),
        "errors": line_chart([("errors %", m.errors)], title="error rate", y_unit="%", height=140),
        "histograms": [histogram_chart(e["values"], title=f"latency histogram {e['name']}") for e in m.endpoints],
        "steps": bar_chart([(f"{s['journey']} · {s['step']}", s["p95"] or 0.0, PALETTE[0]) for s in m.steps],
                           title="step p95", unit=" ms"),
        "cpu": line_chart(m.cpu, title="CPU per role", y_unit="% of a core"),
        "memory": line_chart(m.memory, title="memory per role", y_unit="MB"),
        "vitals": [],
        "breaking": {},
    }
    for vital in VITAL_BANDS:
        rows = [v for v in m.vitals if v["vital"] == vital]
        if rows:
            good, poor = VITAL_BANDS[vital]
            unit = "" if vital == "CLS" else " ms"
            bars = [(f"{v['journey']} · {v['page']}", v["p75"] or 0.0, _vital_colour(vital, v["p75"] or 0.0))
                    for v in rows]
            charts["vitals"].append(Markup(f"<h3>{vital}</h3>") + bar_chart(
                bars, title=f"{vital} p75", unit=unit, bands=[(good, _GOOD), (poor, _NEEDS), (poor * 1.5, _POOR)]))
    for name, bp in m.breaking_points.items():
        steps = sorted(bp.get("steps", []), key=lambda s: s["rate"])
        charts["breaking"][name] = line_chart(
            [("throughput/s", [(s["rate"], s["throughput"]) for s in steps])],
            right=("p95 ms", [(s["rate"], s["p95"] or 0.0) for s in steps]),
            title=f"breaking point {name}", y_unit="req/s", time_axis=False)
    return charts


def render_html(model: ReportModel) -> str:
    env = Environment(loader=PackageLoader("perfmon.report", "templates"), autoescape=select_autoescape(["j2", "html"]))
    template = env.get_template("report.html.j2")
    return template.render(m=model, charts=_charts(model), num=_num, pct=_pct, spark=sparkline)
