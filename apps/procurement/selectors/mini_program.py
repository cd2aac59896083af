"""Reads for the mini-program order API (`apps.stores.api.mini_program`)."""

from __future__ import annotations

from django.db.models import Prefetch

from apps.stores.models import Order, OrderLine


def mini_program_order(*, store_id: int, reference: str) -> Order | None:
    """The mini-program order of this store with this reference, with its member, fulfilment
    (pickup code, delivery status) and lines (product, purchase-order source for what came
    short), or None — also for another store's order. Three queries."""
    return (
        Order.objects.select_related("member", "fulfilment_record", "store")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related("product", "purchase_source").order_by(
                    "pk"
                ),
            )
        )
        .filter(store_id=store_id, channel=Order.Channel.MINI_PROGRAM, reference=reference)
        .first()
    )
