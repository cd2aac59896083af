"""Pickup codes: every member order that is not settled at the till gets an `OrderFulfilment`
with a random 6-digit code, unique among the store's open fulfilments (docs/pickup.md).

Ledger level: no campaign or procurement imports. Marking orders ready, handing them over and
the delivery status live in `apps.procurement.services.pickup` (they notify members).
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.stores.models import Order, OrderFulfilment

# Orders that reach the member through pickup or delivery (the consolidation's definition).
MEMBER_CHANNELS = (Order.Channel.GROUP_BUY, Order.Channel.MINI_PROGRAM)
MEMBER_FULFILMENTS = (Order.Fulfilment.PICKUP, Order.Fulfilment.DELIVERY)
# Only paid orders get a code: a group-buy join stays PENDING until its offer forms.
CODE_STATUSES = (Order.Status.PAID, Order.Status.READY)
# A million codes per store and a few hundred open orders: a second collision in a row is
# already rare; this many rounds without a free code means something else is wrong.
MAX_ROUNDS = 20


class PickupCodesExhausted(RuntimeError):
    """No free code was found for some orders after `MAX_ROUNDS` attempts."""


def pickup_code_new() -> str:
    """A fresh random 6-digit code (leading zeros kept). Tests monkeypatch this."""
    return f"{secrets.randbelow(1_000_000):06d}"


def fulfilments_open(*, order_ids: list[int]) -> int:
    """Give each of these orders that is a member order (channel group buy / mini-program, or
    fulfilment pickup / delivery), paid or ready, and has no fulfilment yet, an
    `OrderFulfilment` (status waiting) with a fresh pickup code. Returns how many were created.

    Race-safe and idempotent without check-then-act: rows are bulk-inserted with
    `ignore_conflicts`, so the order's primary key (a concurrent twin already opened it) and
    the store's open-code unique constraint (a collision) decide; orders still without a row
    afterwards get new codes and are tried again, up to `MAX_ROUNDS` rounds.
    Orders not eligible (POS in store, pending, cancelled, completed…) are ignored. Raises
    PickupCodesExhausted (and writes nothing) when some order found no free code.
    """
    if not order_ids:
        return 0
    eligible = Order.objects.filter(pk__in=order_ids, status__in=CODE_STATUSES).filter(
        Q(channel__in=MEMBER_CHANNELS) | Q(fulfilment__in=MEMBER_FULFILMENTS)
    )
    stores = dict(
        eligible.filter(fulfilment_record__isnull=True).order_by("pk").values_list("pk", "store_id")
    )
    created = 0
    with transaction.atomic():
        for _round in range(MAX_ROUNDS):
            if not stores:
                return created
            now = timezone.now()
            OrderFulfilment.objects.bulk_create(
                [
                    OrderFulfilment(
                        order_id=order_id,
                        store_id=store_id,
                        pickup_code=pickup_code_new(),
                        updated_at=now,
                    )
                    for order_id, store_id in stores.items()
                ],
                ignore_conflicts=True,
            )
            present = dict(
                OrderFulfilment.objects.filter(order_id__in=list(stores)).values_list(
                    "order_id", "updated_at"
                )
            )
            # Rows stamped with this round's time are ours; older ones a concurrent twin wrote.
            created += sum(1 for stamp in present.values() if stamp == now)
            stores = {key: value for key, value in stores.items() if key not in present}
        if stores:
            # All or nothing: the codes this call did hand out are rolled back with it.
            raise PickupCodesExhausted(f"no free pickup code for orders {sorted(stores)}")
    return created
