"""The inline SVG chart: points, gaps, limits, escaping."""

from __future__ import annotations

import datetime as dt

from apps.devices.charts import ChartPoint, temperature_chart_svg

START = dt.datetime(2025, 7, 1, 0, 0, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=24)


def _points(minutes: range, value: float = 4.0) -> list[ChartPoint]:
    return [ChartPoint(at=START + dt.timedelta(minutes=m), value=value) for m in minutes]


def test_chart_draws_one_line_through_all_points():
    svg = temperature_chart_svg(points=_points(range(0, 60, 5)), start=START, end=END)
    assert svg.count("<polyline") == 1
    polyline = svg.split('<polyline points="')[1].split('"')[0]
    assert len(polyline.split(" ")) == 12
    assert 'data-points="12"' in svg


def test_chart_breaks_the_line_where_the_device_was_silent():
    points = _points(range(0, 30, 5)) + _points(range(120, 150, 5))
    svg = temperature_chart_svg(points=points, start=START, end=END, gap=dt.timedelta(minutes=15))
    assert svg.count("<polyline") == 2


def test_chart_draws_the_allowed_band_and_limits():
    svg = temperature_chart_svg(points=_points(range(3)), start=START, end=END, min_ok=0, max_ok=8)
    assert svg.count('class="limit"') == 2
    assert 'class="ok-band"' in svg


def test_points_are_placed_by_time_and_value():
    points = [ChartPoint(at=START, value=0.0), ChartPoint(at=END, value=10.0)]
    svg = temperature_chart_svg(points=points, start=START, end=END, gap=dt.timedelta(days=2))
    first, last = svg.split('<polyline points="')[1].split('"')[0].split(" ")
    (x0, y0), (x1, y1) = (map(float, first.split(",")), map(float, last.split(",")))
    assert (x0, x1) == (44.0, 630.0)  # left edge, right edge of the plot
    assert y0 > y1  # higher temperature is drawn higher up


def test_empty_chart_says_so_and_escapes_text():
    svg = temperature_chart_svg(
        points=[], start=START, end=END, empty_text="No <data>", title='A "title" <script>'
    )
    assert "<polyline" not in svg
    assert "No &lt;data&gt;" in svg
    assert "<script>" not in svg
    assert 'data-points="0"' in svg


def test_hourly_points_shade_the_min_max_spread():
    points = [
        ChartPoint(at=START + dt.timedelta(hours=h), value=4.0, low=2.0, high=6.0) for h in range(5)
    ]
    svg = temperature_chart_svg(points=points, start=START, end=END, gap=dt.timedelta(hours=3))
    assert svg.count('class="spread"') == 1
