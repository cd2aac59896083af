"""Store portal pages (owners, clerks, inspectors). Every view scopes through apps.stores.access."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET

from apps.campaigns.notifications.selectors import (
    notifications_for_user,
    notifications_unread_count,
)
from apps.devices.charts import ChartFrame
from apps.devices.selectors import alerts_open_for_user, store_live_cursor
from apps.procurement.access import VIEW_SUPPLIER, suppliers_for
from apps.procurement.selectors.aftersales import CASE_ORDER_STATUSES, refunds_by_day
from apps.procurement.selectors.purchase_orders import OnOrder, store_on_order
from apps.stores import selectors
from apps.stores.access import (
    AFTER_SALES,
    MEMBER_DATA,
    VIEW_DEVICES,
    VIEW_STOCK,
    VIEW_STORE,
    hq_may,
    may_at_every_store_listed,
    store_and_actions_or_403,
    store_or_403,
    user_is_hq,
)
from apps.stores.kpis import selectors as kpi_selectors
from apps.stores.kpis.charts import Series, line_chart_svg, percentile_svg
from apps.stores.models import StockMovement
from apps.stores.page_cache import store_figures
from linli.admin_helpers import member_notes_for_viewer
from linli.params import Paginator, text_param
from linli.realtime import session_ended_broadcast


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


class PortalLogoutView(auth_views.LogoutView):
    """Logging out also closes this session's websockets: they are told through the user's
    sessions group, find their session gone and close with 4403 (linli.realtime)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user_id = request.user.pk if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            session_ended_broadcast(user_id=user_id)
        return response


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the user's stores, and first what needs attention now: open device
    alerts at the stores where they may VIEW_DEVICES (newest 20) and their unread portal
    notifications (newest 20 of their latest). A user of one store goes straight to its page
    when nothing needs attention. Queries do not grow with stores, alerts or notifications."""
    stores = list(selectors.stores_visible(user=request.user)[:200])
    if not stores and suppliers_for(request.user, VIEW_SUPPLIER).exists():
        return redirect("supplier:home")
    open_alerts = alerts_open_for_user(user=request.user)
    unread_count = notifications_unread_count(user=request.user)
    unread = []
    if unread_count:
        latest = notifications_for_user(user=request.user, limit=20)
        unread = [notification for notification in latest if notification.read_at is None]
    is_hq = user_is_hq(request.user)
    # The stock link on every listed store (HQ without the stock permission get none: the
    # page would refuse them).
    with_stock_links = may_at_every_store_listed(request.user, VIEW_STOCK)
    if len(stores) == 1 and not is_hq and not open_alerts and not unread:
        return redirect("portal:store", store_id=stores[0].pk)
    return render(
        request,
        "portal/home.html",
        {
            "stores": stores,
            "is_hq": hq_may(request.user, VIEW_STORE),
            "with_stock_links": with_stock_links,
            "open_alerts": open_alerts,
            "unread_notifications": unread,
            "unread_count": unread_count,
        },
    )


@login_required
@require_GET
def store_detail(request: HttpRequest, store_id: int) -> HttpResponse:
    """The store's page. Each section and link shows only when the user may take its action
    (`allowed`): member names for MEMBER_DATA, low stock for VIEW_STOCK, and so on. Access is
    checked on every request (one query for store staff); the figures come from a short-lived
    cache (apps/stores/page_cache.py: new orders and stock moves at once, the rest within 30 s)."""
    store, allowed = store_and_actions_or_403(request.user, store_id, VIEW_STORE)
    # The live replay's cursor, before the figures' queries (devices.selectors.store_live_cursor);
    # only for readers the alert lines are for.
    live_cursor = store_live_cursor(store=store) if VIEW_DEVICES.name in allowed else None
    with_members = MEMBER_DATA.name in allowed
    with_stock = VIEW_STOCK.name in allowed

    def render_figures() -> str:
        return render_to_string(
            "portal/store_figures.html",
            {
                "kpis": selectors.store_recent_days(store=store, refunds=refunds_by_day),
                "orders": selectors.store_recent_orders(
                    store=store, limit=10, with_members=with_members
                ),
                "with_members": with_members,
                "low_stock": selectors.store_low_stock(store=store) if with_stock else None,
            },
        )

    figures = store_figures(
        store_id=store.pk,
        language=get_language(),
        with_members=with_members,
        with_stock=with_stock,
        render=render_figures,
    )
    return render(
        request,
        "portal/store_detail.html",
        {"store": store, "allowed": allowed, "figures": figures, "live_cursor": live_cursor},
    )


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@login_required
@require_GET
def store_kpis(request: HttpRequest, store_id: int) -> HttpResponse:
    """The owner's figures for a month (default: the newest complete one): each KPI with its
    trend against the network's store median and where the store stands among its peers
    (percentile). Reads the KPI snapshots only; VIEW_STORE, like the store page."""
    store = store_or_403(request.user, store_id, VIEW_STORE)
    periods = kpi_selectors.kpi_periods()
    period = None
    if raw := request.GET.get("period"):
        try:
            period = dt.date.fromisoformat(raw).replace(day=1)
        except ValueError:
            period = None
        if period not in periods:
            period = None
    figures = kpi_selectors.store_kpis(store, period=period)
    trends = kpi_selectors.store_trends(store=store, months=12)
    cards = []
    for code, figure in figures.items():
        points = [point for point in trends.get(code, []) if point.period <= figure.period]
        kpi = figure.definition
        cards.append(
            {
                "figure": figure,
                "value": kpi.display(figure.value),
                "change": kpi.display_change(figure.change),
                "peer_median": kpi.display(figure.peer_median),
                "peer_p25": kpi.display(figure.peer_p25),
                "network": kpi.display(figure.network_value),
                "is_weak": figure.percentile is not None and figure.percentile < 25,
                "percentile_chart": percentile_svg(
                    percentile=_float(figure.percentile), title=str(kpi.label)
                ),
                "trend_chart": line_chart_svg(
                    labels=[point.period.strftime("%Y-%m") for point in points],
                    series=[
                        Series(store.code, [_float(point.value) for point in points]),
                        Series(
                            gettext("Store median"),
                            [_float(point.peer_median) for point in points],
                            "series-peer",
                        ),
                    ],
                    title=str(kpi.label),
                    frame=ChartFrame(width=360, height=160, left=40, right=24),
                ),
            }
        )
    current = next(iter(figures.values()), None)
    return render(
        request,
        "portal/store_kpis.html",
        {
            "store": store,
            "cards": cards,
            "period": current.period if current else None,
            "is_complete": current.is_complete if current else False,
            "periods": [
                {"value": item.isoformat(), "label": item.strftime("%Y-%m")}
                for item in periods[:12]
            ],
        },
    )


NOTHING_ON_ORDER = OnOrder(shelf=0)
STOCK_PER_PAGE = 30
MOVEMENTS_PER_PAGE = 30
STOCK_QUERY_MAX_LENGTH = 60


@login_required
@require_GET
def store_stock(request: HttpRequest, store_id: int) -> HttpResponse:
    """The store's stock: every product it holds or has on order, with on-hand, the low-stock
    flag (the store page's rule), units on order (what open purchase orders bring to this
    store's shelf, as the decision engine counts them), apart from them the units coming for
    member orders (pre-orders, which go to the members, not the shelf), and the last ledger
    row; searchable by name, SKU or barcode, filtered to low stock or to what is coming
    (either kind), 30 a page. VIEW_STOCK, like the store page's low-stock list. Queries do
    not grow with rows."""
    store = store_or_403(request.user, store_id, VIEW_STOCK)
    query = text_param(request.GET, "q", max_length=STOCK_QUERY_MAX_LENGTH)
    low_only = request.GET.get("low") == "1"
    on_order_only = request.GET.get("on_order") == "1"
    on_order = store_on_order(store_id=store.pk, today=timezone.localdate())
    products = selectors.store_stock_products(
        store=store,
        on_order_ids=on_order,
        query=query,
        low_only=low_only,
        on_order_only=on_order_only,
    )
    page = Paginator(products, STOCK_PER_PAGE).get_page(request.GET.get("page"))
    kinds = dict(StockMovement.Kind.choices)
    rows = list(page.object_list)
    for product in rows:
        coming = on_order.get(product.pk, NOTHING_ON_ORDER)
        product.on_order = coming.shelf
        product.for_orders = coming.for_orders
        product.last_kind_label = kinds.get(product.last_kind, "")
    filters = {
        key: value
        for key, value in (("q", query), ("low", low_only), ("on_order", on_order_only))
        if value
    }
    return render(
        request,
        "portal/store_stock.html",
        {
            "store": store,
            "page": page,
            "rows": rows,
            "query": query,
            "low_only": low_only,
            "on_order_only": on_order_only,
            "filters": urlencode({key: int(v) if v is True else v for key, v in filters.items()}),
            "low_below": selectors.LOW_STOCK_BELOW,
        },
    )


@login_required
@require_GET
def store_stock_product(request: HttpRequest, store_id: int, product_id: int) -> HttpResponse:
    """One product's stock at the store: on-hand, on order (for the shelf), the units coming
    for member orders when there are any, and its ledger here, newest first,
    30 a page: time, kind, signed quantity, note, the order (linked to its after-sales page
    for whoever may open cases on it) and who. VIEW_STOCK; an unknown product is a 404.
    Notes are free text typed by the store's staff (a loss, a cancelled order's reason) and
    may name a member: shown to MEMBER_DATA only (the owner, HQ with customers.view_member);
    clerks, inspectors and other HQ see `MEMBER_TEXT_HIDDEN` in their place (docs/access.md)."""
    store, allowed = store_and_actions_or_403(request.user, store_id, VIEW_STOCK)
    level = selectors.store_stock_product(store=store, product_id=product_id)
    if level is None:
        raise Http404
    on_order = store_on_order(
        store_id=store.pk, today=timezone.localdate(), product_ids=[product_id]
    )
    page = Paginator(
        selectors.store_stock_movements(store=store, product_id=product_id), MOVEMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    movements = list(page.object_list)
    may_open_cases = AFTER_SALES.name in allowed
    member_notes_for_viewer(movements, member_data=MEMBER_DATA.name in allowed)
    case_new = reverse("supply:case_new", args=[store.pk])
    for movement in movements:
        order = movement.order
        movement.order_href = (
            f"{case_new}?{urlencode({'order': order.pk})}"
            if may_open_cases and order is not None and order.status in CASE_ORDER_STATUSES
            else ""
        )
    return render(
        request,
        "portal/store_stock_product.html",
        {
            "store": store,
            "level": level,
            "product": level.product,
            "is_low": level.pk is not None and level.on_hand < selectors.LOW_STOCK_BELOW,
            "on_order": on_order.get(product_id, NOTHING_ON_ORDER).shelf,
            "for_orders": on_order.get(product_id, NOTHING_ON_ORDER).for_orders,
            "page": page,
            "movements": movements,
        },
    )
