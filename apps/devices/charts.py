"""Server-rendered temperature charts: an inline SVG string, no JavaScript, no CDN.

Pure function of the points it is given (the selectors read them); every piece of text that
goes into the SVG is escaped here, so the result may be marked safe by the caller.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class ChartPoint:
    at: dt.datetime
    value: float
    low: float | None = None  # for aggregates: the hour's minimum
    high: float | None = None  # ... and maximum


@dataclass(frozen=True)
class ChartFrame:
    width: int = 640
    height: int = 220
    left: int = 44
    right: int = 10
    top: int = 12
    bottom: int = 26

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


def nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def _fmt(number: float) -> str:
    return f"{number:.1f}"


def temperature_chart_svg(
    *,
    points: Sequence[ChartPoint],
    start: dt.datetime,
    end: dt.datetime,
    min_ok: float | None = None,
    max_ok: float | None = None,
    gap: dt.timedelta = dt.timedelta(minutes=15),
    label_every: dt.timedelta = dt.timedelta(hours=6),
    label_format: str = "%H:%M",
    empty_text: str = "",
    title: str = "",
    frame: ChartFrame | None = None,
) -> SafeString:
    """An SVG line chart of `points` between `start` and `end` (points sorted by time).

    The line breaks where two neighbouring points are more than `gap` apart (the device was
    silent); the allowed range [min_ok, max_ok] is drawn as a band with dashed limits; when
    points carry low/high (hourly aggregates) the min–max spread is shaded.
    """
    frame = frame or ChartFrame()
    span_seconds = max((end - start).total_seconds(), 1.0)
    values: list[float] = [point.value for point in points]
    values += [point.low for point in points if point.low is not None]
    values += [point.high for point in points if point.high is not None]
    values += [limit for limit in (min_ok, max_ok) if limit is not None]
    low_value = min(values) if values else 0.0
    high_value = max(values) if values else 10.0
    if high_value - low_value < 2:
        low_value, high_value = low_value - 1, high_value + 1
    step = nice_step(high_value - low_value)
    y_min = math.floor(low_value / step) * step
    y_max = math.ceil(high_value / step) * step

    def x_of(moment: dt.datetime) -> float:
        share = (moment - start).total_seconds() / span_seconds
        return frame.left + min(max(share, 0.0), 1.0) * frame.plot_width

    def y_of(value: float) -> float:
        share = (value - y_min) / (y_max - y_min)
        return frame.top + (1 - share) * frame.plot_height

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="temperature-chart" role="img" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" data-points="{len(points)}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{frame.left}" y="{frame.top}" width="{frame.plot_width}" '
        f'height="{frame.plot_height}" fill="#fff" stroke="#e5e7eb"/>',
    ]
    if min_ok is not None or max_ok is not None:
        band_top = y_of(max_ok if max_ok is not None else y_max)
        band_bottom = y_of(min_ok if min_ok is not None else y_min)
        parts.append(
            f'<rect class="ok-band" x="{frame.left}" y="{band_top:.1f}" '
            f'width="{frame.plot_width}" height="{max(band_bottom - band_top, 0):.1f}" '
            f'fill="#ecfdf5"/>'
        )
        for limit in (min_ok, max_ok):
            if limit is None:
                continue
            y = y_of(limit)
            parts.append(
                f'<line class="limit" x1="{frame.left}" x2="{frame.left + frame.plot_width}" '
                f'y1="{y:.1f}" y2="{y:.1f}" stroke="#b91c1c" stroke-dasharray="4 3"/>'
            )
    tick = y_min
    while tick <= y_max + step / 2:
        y = y_of(tick)
        parts.append(
            f'<line x1="{frame.left - 3}" x2="{frame.left}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#6b7280"/><text x="{frame.left - 5}" y="{y + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#6b7280">{_fmt(tick)}</text>'
        )
        tick += step
    label_at = timezone.localtime(start).replace(minute=0, second=0, microsecond=0)
    while label_at <= end:
        if label_at >= start:
            x = x_of(label_at)
            text = escape(label_at.strftime(label_format))
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" '
                f'y2="{frame.top + frame.plot_height}" stroke="#f3f4f6"/>'
                f'<text x="{x:.1f}" y="{frame.height - 8}" font-size="11" '
                f'text-anchor="middle" fill="#6b7280">{text}</text>'
            )
        label_at = _next_label(label_at, label_every)

    segments: list[list[ChartPoint]] = []
    for point in points:
        if segments and point.at - segments[-1][-1].at <= gap:
            segments[-1].append(point)
        else:
            segments.append([point])
    for segment in segments:
        spread = [p for p in segment if p.low is not None and p.high is not None]
        if len(spread) > 1:
            upper = " ".join(f"{x_of(p.at):.1f},{y_of(p.high):.1f}" for p in spread)  # type: ignore[arg-type]
            lower = " ".join(
                f"{x_of(p.at):.1f},{y_of(p.low):.1f}"  # type: ignore[arg-type]
                for p in reversed(spread)
            )
            parts.append(f'<polygon class="spread" points="{upper} {lower}" fill="#dbeafe"/>')
        coordinates = " ".join(f"{x_of(p.at):.1f},{y_of(p.value):.1f}" for p in segment)
        if len(segment) == 1:
            x, y = coordinates.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="#1f7a4d"/>')
        else:
            parts.append(
                f'<polyline points="{coordinates}" fill="none" stroke="#1f7a4d" '
                f'stroke-width="1.6" stroke-linejoin="round"/>'
            )
    if not points and empty_text:
        parts.append(
            f'<text x="{frame.left + frame.plot_width / 2:.1f}" '
            f'y="{frame.top + frame.plot_height / 2:.1f}" font-size="13" text-anchor="middle" '
            f'fill="#6b7280">{escape(empty_text)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only


def _next_label(moment: dt.datetime, every: dt.timedelta) -> dt.datetime:
    """Labels on round local times: every N hours at multiples of N, or every day at 00:00."""
    if every >= dt.timedelta(days=1):
        following = moment + dt.timedelta(days=1)
        return following.replace(hour=0)
    hours = max(int(every.total_seconds() // 3600), 1)
    following = moment + dt.timedelta(hours=1)
    while following.hour % hours:
        following += dt.timedelta(hours=1)
    return following
