"""Small inline-SVG charts for the HTML report.

Written by hand on purpose: the report must open offline, stay small (under 5 MB for a
15-minute stress run) and raise no console errors. Charting libraries either need a CDN or
embed 200 KB+ of JavaScript per report and render in the browser; these four shapes (lines
over time, bars, a log-binned histogram, sparklines) are drawn here as static SVG, a few KB
each, with every label escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from ..core.numbers import number

__all__ = ["bar_chart", "histogram_chart", "line_chart", "sparkline"]

PALETTE = ("#5b3a66", "#d9822b", "#2b8a3e", "#1c7ed6", "#c92a2a", "#868e96", "#ae3ec9", "#0ca678")
Point = tuple[float, float]


def _empty(width: int, height: int, title: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f'<title>{escape(title)}</title><text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
        f'class="muted">no data</text></svg>'
    )


def line_chart(series: Sequence[tuple[str, Sequence[Point]]], *, title: str, y_unit: str = "",
               width: int = 640, height: int = 220, right: tuple[str, Sequence[Point]] | None = None,
               time_axis: bool = True, dots: Sequence[tuple[float, float, str]] = ()) -> Markup:
    """Lines over x (epoch seconds when ``time_axis``); ``right`` is one series on its own right axis;
    ``dots`` are measured points (x, y, colour) on the left axis, for a fitted line drawn over them."""
    points = [p for _, pts in series for p in pts] + [(x, y) for x, y, _ in dots]
    if not points:
        return _empty(width, height, title)
    left, top, bottom, right_pad = 52, 12, 28, 52 if right else 12
    pw, ph = width - left - right_pad, height - top - bottom
    xs = [p[0] for p in points] + ([p[0] for p in right[1]] if right else [])
    x0, x1 = min(xs), max(xs)
    y1 = max(p[1] for p in points) * 1.1 or 1.0

    def sx(x: float) -> float:
        return left + (pw * (x - x0) / (x1 - x0) if x1 > x0 else pw / 2)

    def sy(y: float, top_value: float) -> float:
        return top + ph - ph * (y / top_value if top_value else 0)

    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f"<title>{escape(title)}</title>"]
    for i in range(5):
        y = y1 * i / 4
        out.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{sy(y, y1):.1f}" y2="{sy(y, y1):.1f}"/>'
                   f'<text class="axis" x="{left - 6}" y="{sy(y, y1) + 4:.1f}" text-anchor="end">{number(y)}</text>')
    out.append(f'<text class="axis" x="4" y="{top + 8}">{escape(y_unit)}</text>')
    span = x1 - x0
    for i in range(5):
        x = x0 + span * i / 4
        label = f"{(x - x0):.0f}s" if time_axis else number(x)
        out.append(f'<text class="axis" x="{sx(x):.1f}" y="{height - 8}" text-anchor="middle">{label}</text>')
    for idx, (name, pts) in enumerate(series):
        if not pts:
            continue
        colour = PALETTE[idx % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y, y1):.1f}" for x, y in sorted(pts))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        out.append(f'<text class="legend" x="{left + 8 + idx * 90}" y="{top + 10}" fill="{colour}">'
                   f"{escape(name)}</text>")
    out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y, y1):.1f}" r="3.5" fill="{colour}"/>' for x, y, colour in dots]
    if right and right[1]:
        r1 = max(p[1] for p in right[1]) * 1.1 or 1.0
        path = " ".join(f"{sx(x):.1f},{sy(y, r1):.1f}" for x, y in sorted(right[1]))
        out.append(f'<polyline fill="none" stroke="#adb5bd" stroke-dasharray="4 3" stroke-width="2" points="{path}"/>')
        out.append(f'<text class="axis" x="{width - 4}" y="{top + 8}" text-anchor="end">{escape(right[0])} '
                   f"(max {number(r1 / 1.1)})</text>")
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(bars: Sequence[tuple[str, float, str | None]], *, title: str, unit: str = "",
              bands: Sequence[tuple[float, str]] = (), width: int = 640) -> Markup:
    """Horizontal bars ``(label, value, colour)``; ``bands`` shade thresholds (e.g. Web Vitals good/poor)."""
    if not bars:
        return _empty(width, 60, title)
    row, left, pad = 22, 220, 60
    height = row * len(bars) + 24
    top_value = max([v for _, v, _ in bars] + [b for b, _ in bands]) * 1.1 or 1.0
    pw = width - left - pad
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f"<title>{escape(title)}</title>"]
    prev = 0.0
    for limit, band in bands:
        out.append(f'<rect x="{left + pw * prev / top_value:.1f}" y="0" width="{pw * (limit - prev) / top_value:.1f}" '
                   f'height="{height - 20}" fill="{band}" opacity="0.18"/>')
        prev = limit
    for i, (label, value, colour) in enumerate(bars):
        y = i * row + 4
        w = pw * value / top_value
        out.append(f'<text class="axis" x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{left}" y="{y}" width="{max(w, 1):.1f}" height="{row - 6}" '
                   f'fill="{colour or PALETTE[0]}"/>'
                   f'<text class="axis" x="{left + w + 4:.1f}" y="{y + 13}">{number(value)}{escape(unit)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def histogram_chart(values: Sequence[tuple[float, int]], *, title: str, unit: str = "ms", width: int = 640,
                    height: int = 160, bins: int = 24) -> Markup:
    """``(value, count)`` pairs binned on a log scale between the smallest and largest value."""
    values = [(v, c) for v, c in values if c > 0]
    if not values:
        return _empty(width, height, title)
    lo, hi = max(min(v for v, _ in values), 0.001), max(v for v, _ in values)
    edges = [lo * (hi / lo) ** (i / bins) for i in range(bins + 1)] if hi > lo else [lo, lo * 1.0001]
    counts = [0] * (len(edges) - 1)
    for v, c in values:
        i = 0 if v <= lo else min(len(counts) - 1, int(math.log(v / lo) / math.log(hi / lo) * bins)) if hi > lo else 0
        counts[i] += c
    top_count = max(counts)
    left, bottom = 40, 24
    bw = (width - left - 8) / len(counts)
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
           f"<title>{escape(title)}</title>"]
    for i, c in enumerate(counts):
        h = (height - bottom - 8) * c / top_count
        out.append(f'<rect x="{left + i * bw:.1f}" y="{height - bottom - h:.1f}" width="{bw - 1:.1f}" '
                   f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{number(edges[i])}-{number(edges[i + 1])}'
                   f"{escape(unit)}: {c}</title></rect>")
    for i in (0, len(counts) // 2, len(counts)):
        out.append(f'<text class="axis" x="{left + i * bw:.1f}" y="{height - 8}" text-anchor="middle">'
                   f"{number(edges[i])}{escape(unit)}</text>")
    out.append("</svg>")
    return Markup("".join(out))


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 28) -> Markup:
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(pts) < 2:
        return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
                      f'<circle cx="{width / 2}" cy="{height / 2}" r="2" fill="{PALETTE[0]}"/></svg>')
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    n = len(values) - 1

    def y(v: float) -> float:
        return height - 3 - (height - 6) * ((v - lo) / (hi - lo) if hi > lo else 0.5)

    path = " ".join(f"{2 + (width - 4) * i / n:.1f},{y(v):.1f}" for i, v in pts)
    last_x, last_y = 2 + (width - 4) * pts[-1][0] / n, y(pts[-1][1])
    return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
                  f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{path}"/>'
                  f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{PALETTE[1]}"/></svg>')
