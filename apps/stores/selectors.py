"""Reads for stores. Other apps read orders and stock through these functions."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Min, QuerySet, Sum
from django.db.models.functions import ExtractHour, TruncDate

from apps.stores.access import VIEW_STORE, stores_for
from apps.stores.models import Order, OrderLine, StockLevel, Store, StoreKpiSnapshot


def stores_visible(*, user: object) -> QuerySet[Store]:
    return stores_for(user, VIEW_STORE).select_related("region").order_by("code")


def store_recent_kpis(*, store: Store, days: int = 7) -> list[StoreKpiSnapshot]:
    return list(StoreKpiSnapshot.objects.filter(store=store).order_by("-day")[:days])


def store_recent_orders(*, store: Store, limit: int = 20, with_members: bool = True) -> list[Order]:
    """The store's latest orders; with their members only when the viewer may see member data
    (`order.member_id` still tells an order had a member)."""
    orders = Order.objects.filter(store=store).order_by("-placed_at")
    if with_members:
        orders = orders.select_related("member")
    return list(orders[:limit])


def store_low_stock(*, store: Store, below: int = 5, limit: int = 20) -> list[StockLevel]:
    return list(
        StockLevel.objects.filter(store=store, on_hand__lt=below)
        .select_related("product")
        .order_by("on_hand", "product__sku")[:limit]
    )


def order_lines_between(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet[OrderLine]:
    """Order lines of counted orders placed in [start, end), for analytics in other apps."""
    lines = OrderLine.objects.filter(order__placed_at__gte=start, order__placed_at__lt=end).exclude(
        order__status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED]
    )
    if store_ids is not None:
        lines = lines.filter(order__store_id__in=store_ids)
    return lines


def member_order_line_facts_between(*, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """Set-wise facts for member profiles: one tuple per line of a counted member order placed
    in [start, end): (member_id, order_id, placed_at, category_id, line_total, discount).

    A values_list queryset, so callers can stream it (`.iterator()`) or hand its SQL to COPY.
    """
    return (
        order_lines_between(start=start, end=end)
        .filter(order__member__isnull=False)
        .order_by()
        .values_list(
            "order__member_id",
            "order_id",
            "order__placed_at",
            "product__category_id",
            "line_total",
            "discount",
        )
    )


def member_last_order_times(*, before: dt.datetime) -> QuerySet:
    """(member_id, placed_at of the member's latest counted order before `before`), one per
    member who ever bought; aggregated in SQL."""
    return (
        Order.objects.filter(member__isnull=False, placed_at__lt=before)
        .exclude(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])
        .order_by()
        .values("member_id")
        .annotate(last_order_at=Max("placed_at"))
        .values_list("member_id", "last_order_at")
    )


# --- Reads for the decision engine (apps.catalog): set-wise values, never model instances. ---


def basket_lines_between(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet:
    """(order_id, store_id, member_id or None, product_id) per counted order line placed in
    [start, end): the baskets behind co-purchase rules. A values_list to stream."""
    return (
        order_lines_between(start=start, end=end, store_ids=store_ids)
        .order_by()
        .values_list("order_id", "order__store_id", "order__member_id", "product_id")
    )


def daily_product_sales(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet:
    """(store_id, product_id, local day, units) of counted orders placed in [start, end),
    summed in SQL; days with no sale have no row."""
    return (
        order_lines_between(start=start, end=end, store_ids=store_ids)
        .order_by()
        .annotate(day=TruncDate("order__placed_at"))
        .values("order__store_id", "product_id", "day")
        .annotate(units=Sum("quantity"))
        .values_list("order__store_id", "product_id", "day", "units")
    )


def store_order_hours(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet:
    """(store_id, local hour 0–23, counted orders) placed in [start, end)."""
    orders = Order.objects.filter(placed_at__gte=start, placed_at__lt=end).exclude(
        status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED]
    )
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    return (
        orders.order_by()
        .annotate(hour=ExtractHour("placed_at"))
        .values("store_id", "hour")
        .annotate(orders=Count("id"))
        .values_list("store_id", "hour", "orders")
    )


def stock_on_hand(*, store_ids: list[int] | None = None) -> QuerySet:
    """(store_id, product_id, on_hand) of the stores' stock levels."""
    levels = StockLevel.objects.order_by()
    if store_ids is not None:
        levels = levels.filter(store_id__in=store_ids)
    return levels.values_list("store_id", "product_id", "on_hand")


def product_first_sale_times(*, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """(product_id, first counted sale in [start, end)) per product sold in the window,
    aggregated in SQL."""
    return (
        order_lines_between(start=start, end=end)
        .order_by()
        .values("product_id")
        .annotate(first_sold_at=Min("order__placed_at"))
        .values_list("product_id", "first_sold_at")
    )


def member_basket_lines_between(
    *, start: dt.datetime, end: dt.datetime, member_ids: list[int] | None = None
) -> QuerySet:
    """(order_id, placed_at, member_id, product_id) per counted order line of members' orders
    placed in [start, end): the purchase histories behind personal suggestions."""
    lines = order_lines_between(start=start, end=end).filter(order__member__isnull=False)
    if member_ids is not None:
        lines = lines.filter(order__member_id__in=member_ids)
    return lines.order_by().values_list(
        "order_id", "order__placed_at", "order__member_id", "product_id"
    )
