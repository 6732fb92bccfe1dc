"""The self-contained HTML report: one file, inline CSS, inline SVG, no network."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..analysis.derive.scalability import usl
from ..core.numbers import clock, number, percent
from .model import VITAL_BANDS, ReportModel
from .svg import PALETTE, bar_chart, histogram_chart, line_chart, sparkline

__all__ = ["render_html"]

_GOOD, _NEEDS, _POOR = "#2b8a3e", "#f08c00", "#c92a2a"


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
    p95 = ("p95 ms", dict(m.latency)["p95"]) if m.latency else None
    charts["db"] = [line_chart(series, title=title, y_unit=unit, right=p95, height=180) for title, unit, series in (
        ("database connections by state", "connections", m.db_connections),
        ("backends waiting", "backends", m.db_waiting), ("statement time", "ms per s", m.db_time)) if series]
    for vital in VITAL_BANDS:
        rows = [v for v in m.vitals if v["vital"] == vital]
        if rows:
            good, poor = VITAL_BANDS[vital]
            unit = "" if vital == "CLS" else " ms"
            bars = [(f"{v['journey']} · {v['page']}", v["p75"] or 0.0, _vital_colour(vital, v["p75"] or 0.0))
                    for v in rows]
            charts["vitals"].append(Markup(f"<h3>{vital}</h3>") + bar_chart(
                bars, title=f"{vital} p75", unit=unit, bands=[(good, _GOOD), (poor, _NEEDS), (poor * 1.5, _POOR)]))
    for name in sorted({*m.breaking_points, *m.fits}):
        charts["breaking"][name] = _capacity_chart(name, m.breaking_points.get(name) or {}, m.fits.get(name) or {})
    return charts


def _capacity_chart(name: str, found: dict[str, Any], fit: dict[str, Any]) -> Markup:
    """Completions per second against users in flight, one dot per step (green held the SLO, red
    broke it), with the Universal Scalability Law fit drawn over them when there is one; a search
    without users in flight is drawn against its scheduled rate instead."""
    steps = [s for s in found.get("steps") or [] if s.get("throughput") is not None]
    by_users = all(s.get("concurrency") is not None for s in steps)
    x_of = "concurrency" if by_users else "rate"
    dots = [(float(s[x_of]), float(s["throughput"]), _GOOD if s.get("held") else _POOR)
            for s in steps if s.get(x_of) is not None]
    curve: list[tuple[float, float]] = []
    if by_users and fit.get("lam") is not None:
        top = max([x for x, _, _ in dots] + [float(fit.get("peak_concurrency") or 0.0)] + [1.0])
        sigma, kappa, lam = float(fit["sigma"]), float(fit["kappa"]), float(fit["lam"])
        curve = [(n, float(usl(n, sigma, kappa, lam))) for n in (top * i / 60 for i in range(1, 61))]
    return line_chart([("USL fit", curve)] if curve else [], dots=dots, time_axis=False, y_unit="req/s",
                      title=f"capacity {name}: completions per second against "
                            + ("users in flight" if by_users else "the scheduled rate"))


def render_html(model: ReportModel) -> str:
    env = Environment(loader=PackageLoader("perfmon.report", "templates"), autoescape=select_autoescape(["j2", "html"]))
    template = env.get_template("report.html.j2")
    return template.render(m=model, charts=_charts(model), num=number, pct=_percent, spark=sparkline, clock=clock)


def _percent(share: float | None) -> str:
    return percent(share, space=False)
