"""Reads for the mini-program order API (`apps.stores.api.mini_program`)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch
from django.utils import timezone

from apps.procurement.selectors.suppliers import daily_cutoff_after, supply_delivery_date
from apps.stores.models import Order, OrderLine


def mini_program_order(*, store_id: int, reference: str) -> Order | None:
    """The mini-program order of this store with this reference, with its member, fulfilment
    (pickup code, delivery status) and lines (product, purchase-order source for what came
    short, and its purchase order for the delivery date), or None — also for another store's
    order. Three queries; none for a reference with a NUL character (no reference has one,
    and PostgreSQL text cannot hold it: the query would fail, a 500)."""
    if "\x00" in reference:
        return None
    return (
        Order.objects.select_related("member", "fulfilment_record", "store")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related(
                    "product", "purchase_source__line__purchase_order"
                ).order_by("pk"),
            )
        )
        .filter(store_id=store_id, channel=Order.Channel.MINI_PROGRAM, reference=reference)
        .first()
    )


def mini_program_expected_ready_on(
    *, order: Order, now: dt.datetime | None = None
) -> dt.date | None:
    """The day the member can expect the order ready (`order` from `mini_program_order`): the
    latest over its lines of — for a line on a purchase order, that purchase order's delivery
    date; for a line still waiting, the delivery date consolidation will give it
    (`supply_delivery_date`: the daily cut-off after the order was paid, `daily_cutoff_after`,
    plus the longest lead time among the waiting lines' preferred offers). A line still
    waiting after that cut-off has passed (a run that failed, a product with no offer until
    now) is counted from the next cut-off after `now`, never from one past. None for a
    cancelled order, or when no waiting line has an offer and none is on a purchase order.
    At most one query beyond `mini_program_order`'s (none once every line is on one)."""
    now = now or timezone.now()
    if order.status == Order.Status.CANCELLED:
        return None
    dates: list[dt.date] = []
    waiting: list[int] = []
    for line in order.lines.all():
        source = getattr(line, "purchase_source", None)
        if source is not None:
            dates.append(source.line.purchase_order.delivery_date)
        else:
            waiting.append(line.product_id)
    if waiting:
        supplied = supply_delivery_date(
            product_ids=waiting, cutoff=daily_cutoff_after(moment=max(order.placed_at, now))
        )
        if supplied is not None:
            dates.append(supplied)
    return max(dates, default=None)
