"""Reads for stores. Other apps read orders and stock through these functions."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from apps.stores.models import Order, OrderLine, StockLevel, Store, StoreKpiSnapshot
from linli.access import stores_for


def stores_visible(*, user: object) -> QuerySet[Store]:
    return stores_for(user).select_related("region").order_by("code")


def store_recent_kpis(*, store: Store, days: int = 7) -> list[StoreKpiSnapshot]:
    return list(StoreKpiSnapshot.objects.filter(store=store).order_by("-day")[:days])


def store_recent_orders(*, store: Store, limit: int = 20) -> list[Order]:
    return list(
        Order.objects.filter(store=store).select_related("member").order_by("-placed_at")[:limit]
    )


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
