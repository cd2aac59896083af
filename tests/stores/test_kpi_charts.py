"""The KPI pack's SVG charts: pure functions, text escaped, gaps where a month has no figure."""

from __future__ import annotations

import re

from django.utils import translation

from apps.stores.kpis.charts import Bar, Series, bar_chart_svg, line_chart_svg, percentile_svg


def test_line_breaks_where_a_month_has_no_figure():
    svg = line_chart_svg(
        labels=["2026-07", "2026-08", "2026-09", "2026-10"],
        series=[Series("A", [1.0, 2.0, None, 4.0])],
        title="t",
    )
    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 3
    assert 'data-points="3"' in svg


def test_sparkline_has_no_axes_or_points():
    svg = line_chart_svg(
        labels=["a", "b"], series=[Series("A", [1.0, 3.0])], title="t", compact=True
    )
    assert "kpi-sparkline" in svg
    assert "<circle" not in svg
    assert "<text" not in svg


def test_every_text_is_escaped():
    svg = line_chart_svg(
        labels=["<b>"], series=[Series('"><script>', [1.0])], title="<script>x</script>"
    )
    bars = bar_chart_svg(bars=[Bar(label="<i>", value=1.0, href='/x?a=1&b="2"')], title="&")
    for text in (svg, bars):
        assert "<script>" not in text
        assert "<b>" not in text
        assert "<i>" not in text
    assert 'href="/x?a=1&amp;b=&quot;2&quot;"' in bars


def test_bars_are_linked_and_negative_values_grow_left_of_zero():
    svg = bar_chart_svg(
        bars=[Bar("up", 10.0, href="/a"), Bar("down", -5.0, href="/b")], title="t", width=640
    )
    assert svg.count("<a href=") == 2
    rects = [
        (float(x), float(width))
        for x, width in re.findall(r'<rect[^>]* x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    ]
    zero = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))
    (up_x, up_width), (down_x, down_width) = rects
    # Coordinates are written to 0.1 px.
    assert abs(up_x - zero) < 0.11
    assert abs(down_x + down_width - zero) < 0.11
    assert abs(up_width - 2 * down_width) < 0.21


def test_percentile_marker_only_with_a_percentile():
    assert 'class="marker"' in percentile_svg(percentile=80.0, title="t")
    assert 'class="marker"' not in percentile_svg(percentile=None, title="t")


def test_large_numbers_are_short_in_each_language():
    bars = [Bar("A", 123456.0), Bar("B", 2_500_000.0), Bar("C", 12.5)]
    with translation.override("zh-hans"):
        svg = bar_chart_svg(bars=bars, title="t")
    for short in (">12.3万<", ">250万<", ">12.5<"):
        assert short in svg
    with translation.override("en"):
        svg = bar_chart_svg(bars=bars, title="t")
    assert "万" not in svg
    for short in (">123k<", ">2.5M<", ">12.5<"):
        assert short in svg
