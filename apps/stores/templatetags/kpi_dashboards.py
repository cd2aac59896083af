"""The HQ dashboard on the admin's front page (templates/admin/index.html): network figures
with trends, store rankings and the stores that need attention, from the KPI snapshots only
(a fixed handful of queries, never the orders), each figure linked to the list behind it when
the viewer may open that list (otherwise the figure is shown without a link)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.apps import apps
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from apps.stores.kpis import selectors
from apps.stores.kpis.charts import Bar, Series, bar_chart_svg, line_chart_svg
from apps.stores.kpis.definitions import KPI_BY_CODE, KPIS, SUM, KpiDefinition
from linli.admin_helpers import admin_may_view

register = template.Library()

RANKING_SIZE = 10


def _may_view(request: HttpRequest, app_label: str, model_name: str) -> bool:
    """The admin's own answer (the one that would otherwise be a 403 "无权访问")."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return False
    return admin_may_view(request, model)


def _changelist(request: HttpRequest, app_label: str, model_name: str, **query: str) -> str:
    """The admin list's address, or "" when the viewer may not open it (no link then)."""
    if not _may_view(request, app_label, model_name):
        return ""
    try:
        url = reverse(f"admin:{app_label}_{model_name}_changelist")
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def _report(request: HttpRequest, kpi: KpiDefinition, period: dt.date) -> str:
    """The KPI's detail report for the month (the loss rate's: by store and category), or ""
    when it has none or the viewer may not open its changelist (the report's permission)."""
    app_label, model_name = kpi.admin_model
    if not kpi.admin_report or not _may_view(request, app_label, model_name):
        return ""
    return f"{reverse(kpi.admin_report)}?{urlencode({'month': period.strftime('%Y-%m')})}"


def _store_href(request: HttpRequest, store_id: int) -> str:
    if not _may_view(request, "stores", "store"):
        return ""
    return reverse("admin:stores_store_change", args=[store_id])


def _period_param(raw: str | None, periods: list[dt.date]) -> dt.date | None:
    if raw:
        try:
            wanted = dt.date.fromisoformat(raw).replace(day=1)
        except ValueError:
            wanted = None
        if wanted in periods:
            return wanted
    return selectors.kpi_default_period()


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _per_store(point: selectors.TrendPoint) -> float | None:
    if point.value is None or not point.peer_count:
        return None
    return float(point.value) / point.peer_count


@register.inclusion_tag("admin/kpis/dashboard.html", takes_context=True)
def hq_kpi_dashboard(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    periods = selectors.kpi_periods()
    period = _period_param(request.GET.get("period"), periods)
    code = request.GET.get("kpi", "gmv")
    ranking_kpi = KPI_BY_CODE.get(code, KPI_BY_CODE["gmv"])
    if period is None:
        return {"period": None}
    trends = selectors.network_trends(months=12)
    cards = []
    for kpi in KPIS:
        points = [point for point in trends[kpi.code] if point.period <= period]
        now = next((point for point in points if point.period == period), None)
        before = points[-2] if now is not None and len(points) > 1 else None
        value = now.value if now else None
        change = (
            value - before.value
            if value is not None and before is not None and before.value is not None
            else None
        )
        app_label, model_name = kpi.admin_model
        cards.append(
            {
                "kpi": kpi,
                "value": kpi.display(value),
                "has_value": value is not None,
                "change": kpi.display_change(change),
                "improving": None if not change else (change > 0) == kpi.higher_is_better,
                "sparkline": line_chart_svg(
                    labels=[point.period.strftime("%Y-%m") for point in points],
                    series=[Series(str(kpi.label), [_float(p.value) for p in points])],
                    title=str(kpi.label),
                    compact=True,
                ),
                "href": _report(request, kpi, period)
                or _changelist(request, app_label, model_name),
                "ranking_href": "?" + urlencode({"period": period.isoformat(), "kpi": kpi.code}),
            }
        )
    best, worst = selectors.store_ranking(period=period, code=ranking_kpi.code, limit=RANKING_SIZE)

    def bars(rows: list[selectors.RankedStore], css: str) -> list[Bar]:
        return [
            Bar(
                label=f"{row.code} {row.name}",
                value=float(row.value),
                href=_store_href(request, row.store_id),
                css_class=css,
            )
            for row in rows
        ]

    # Up to the chosen month: a later month to date would read as a collapse.
    trend = [point for point in trends[ranking_kpi.code] if point.period <= period]
    attention = selectors.stores_needing_attention(period=period, limit=RANKING_SIZE)
    # Only falls, largest first: the attention rows also hold alerted stores that improved.
    movers = selectors.stores_most_declined(period=period, limit=RANKING_SIZE)
    return {
        "period": period,
        "periods": [
            {"value": item.isoformat(), "label": item.strftime("%Y-%m"), "current": item == period}
            for item in periods[:12]
        ],
        "is_complete": any(point.is_complete for point in trends["gmv"] if point.period == period),
        "cards": cards,
        "ranking_kpi": ranking_kpi,
        "kpis": KPIS,
        "ranking_query": {
            kpi.code: "?" + urlencode({"period": period.isoformat(), "kpi": kpi.code})
            for kpi in KPIS
        },
        "trend_is_per_store": ranking_kpi.aggregation == SUM,
        "trend_chart": line_chart_svg(
            labels=[point.period.strftime("%Y-%m") for point in trend],
            series=[
                # A summed KPI (GMV) is drawn per store, on the median's scale.
                Series(_("Store average"), [_per_store(p) for p in trend])
                if ranking_kpi.aggregation == SUM
                else Series(_("Network"), [_float(p.value) for p in trend]),
                Series(_("Store median"), [_float(p.peer_median) for p in trend], "series-peer"),
            ],
            title=str(ranking_kpi.label),
        ),
        "best_chart": bar_chart_svg(bars=bars(best, "bar-good"), title=_("Best stores")),
        "worst_chart": bar_chart_svg(bars=bars(worst, "bar-bad"), title=_("Stores at the bottom")),
        "has_ranking": bool(best),
        "attention": [
            {
                "row": row,
                "store_href": _store_href(request, row.store_id),
                "alerts_href": _changelist(
                    request, "devices", "devicealert", active="yes", q=row.code
                ),
                "overdue_href": _changelist(
                    request, "stores", "rectificationitem", overdue="yes", q=row.code
                ),
            }
            for row in attention
        ],
        "movers_chart": bar_chart_svg(
            bars=[
                Bar(
                    label=f"{row.code} {row.name}",
                    value=float(row.percentile_change),
                    href=_store_href(request, row.store_id),
                    css_class="bar-bad",
                )
                for row in movers
            ],
            title=_("Fall in mean percentile since last month"),
        ),
        "has_movers": bool(movers),
        "snapshots_href": _changelist(
            request, "stores", "kpisnapshot", period=period.isoformat(), scope="network"
        ),
    }
