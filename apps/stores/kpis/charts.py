"""Server-rendered KPI charts: inline SVG strings, no JavaScript, no CDN, nothing inline the
Content-Security-Policy refuses (colours come from classes in static CSS or SVG attributes).

Pure functions of the figures they are given, like `apps/devices/charts.py` (whose axis step
and frame they reuse); every piece of text is escaped here, so callers may mark the result safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.devices.charts import ChartFrame, nice_step


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css_class: str = "series-main"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    href: str = ""
    css_class: str = "bar-main"


def _number(value: float) -> str:
    """A chart's short number: large ones in 万 (tens of thousands) in Chinese, in k and M
    (thousands, millions) in the other languages."""
    if abs(value) >= 10000:
        if (translation.get_language() or "").startswith("zh"):
            tens_of_thousands = value / 10000
            if abs(tens_of_thousands) >= 100:
                return f"{tens_of_thousands:,.0f}万"
            return f"{tens_of_thousands:.1f}万"
        if abs(value) >= 1_000_000:
            return f"{value / 1_000_000:,.1f}M"
        return f"{value / 1000:,.0f}k"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def _axis(values: Sequence[float]) -> tuple[float, float, float]:
    low = min([*values, 0.0]) if values else 0.0
    high = max(values) if values else 1.0
    if high - low < 1e-9:
        high = low + 1
    step = nice_step(high - low, 4)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def line_chart_svg(
    *,
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    frame: ChartFrame | None = None,
    compact: bool = False,
) -> SafeString:
    """A line chart over `labels` (months); a series breaks where its value is None. Each
    point is a circle with a <title> (its value), so the figure is readable without hover
    scripts. `compact`: a sparkline (no axes, no labels)."""
    frame = frame or (
        ChartFrame(width=160, height=44, left=2, right=2, top=4, bottom=4)
        if compact
        else ChartFrame(width=640, height=220, left=60, right=28)
    )
    present = [value for item in series for value in item.values if value is not None]
    y_min, y_max, step = _axis(present)
    count = max(len(labels), 1)

    def x_of(index: int) -> float:
        if count == 1:
            return frame.left + frame.plot_width / 2
        return frame.left + index * frame.plot_width / (count - 1)

    def y_of(value: float) -> float:
        return frame.top + (1 - (value - y_min) / (y_max - y_min)) * frame.plot_height

    css = "kpi-chart kpi-sparkline" if compact else "kpi-chart"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" '
        f'viewBox="0 0 {frame.width} {frame.height}" preserveAspectRatio="xMidYMid meet" '
        f'data-points="{len(present)}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if not compact:
        tick = y_min
        while tick <= y_max + step / 2:
            y = y_of(tick)
            parts.append(
                f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
                f'y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                f'<text class="axis" x="{frame.left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                f'font-size="11" fill="#6b7280">{escape(_number(tick))}</text>'
            )
            tick += step
        every = max(1, math.ceil(count / 8))
        for index, label in enumerate(labels):
            if index % every == 0 or index == count - 1:
                parts.append(
                    f'<text class="axis" x="{x_of(index):.1f}" y="{frame.height - 6}" '
                    f'text-anchor="middle" font-size="11" fill="#6b7280">{escape(label)}</text>'
                )
    for item in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(item.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x_of(index):.1f},{y_of(value):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            parts.append(
                f'<polyline class="{escape(item.css_class)}" fill="none" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        if compact:
            continue
        for index, value in enumerate(item.values):
            if value is not None:
                parts.append(
                    f'<circle class="{escape(item.css_class)}" cx="{x_of(index):.1f}" '
                    f'cy="{y_of(value):.1f}" r="3"><title>{escape(item.name)} '
                    f"{escape(labels[index] if index < len(labels) else '')}: "
                    f"{escape(_number(value))}</title></circle>"
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def bar_chart_svg(*, bars: Sequence[Bar], title: str, width: int = 640) -> SafeString:
    """Horizontal bars, one row each, labelled and linked (`href`) when given; negative
    values grow left of the zero line (a fall in percentile)."""
    row, label_width, value_width = 22, 180, 56
    height = max(len(bars), 1) * row + 8
    values = [bar.value for bar in bars]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    span = (high - low) or 1.0
    plot = width - label_width - value_width

    def x_of(value: float) -> float:
        return label_width + (value - low) / span * plot

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kpi-chart kpi-bars" role="img" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'data-bars="{len(bars)}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    zero = x_of(0.0)
    for index, bar in enumerate(bars):
        y = 4 + index * row
        start, end = sorted((zero, x_of(bar.value)))
        item = (
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="#374151">{escape(bar.label)}</text>'
            f'<rect class="{escape(bar.css_class)}" x="{start:.1f}" y="{y + 3}" '
            f'width="{max(end - start, 1):.1f}" height="{row - 8}" rx="2"/>'
            f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" font-size="12" '
            f'fill="#111827">{escape(_number(bar.value))}</text>'
        )
        if bar.href:
            item = f'<a href="{escape(bar.href)}">{item}</a>'
        parts.append(item)
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}" stroke="#9ca3af"/></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def percentile_svg(
    *, percentile: float | None, title: str, p25: float = 25.0, median: float = 50.0
) -> SafeString:
    """Where a store stands among its peers: a 0–100 track with the peer quartile marks and
    the store's marker (none when it has no percentile)."""
    width, height, left, right = 240, 28, 6, 6
    plot = width - left - right

    def x_of(value: float) -> float:
        return left + min(max(value, 0.0), 100.0) / 100 * plot

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kpi-chart kpi-percentile" role="img" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMid meet" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect class="track-low" x="{left}" y="10" width="{x_of(p25) - left:.1f}" height="8"/>',
        f'<rect class="track" x="{x_of(p25):.1f}" y="10" width="{x_of(100) - x_of(p25):.1f}" '
        f'height="8"/>',
        f'<line x1="{x_of(median):.1f}" x2="{x_of(median):.1f}" y1="6" y2="22" '
        f'stroke="#6b7280" stroke-dasharray="2 2"/>',
    ]
    if percentile is not None:
        parts.append(
            f'<circle class="marker" cx="{x_of(percentile):.1f}" cy="14" r="6">'
            f"<title>{escape(title)}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
