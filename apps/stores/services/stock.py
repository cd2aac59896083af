"""The stock ledger. Every stock change is a movement row; on-hand never goes below zero."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.stores.models import (
    Order,
    StockLevel,
    StockMovement,
    Store,
)
from apps.stores.page_cache import store_figures_forget


class InsufficientStock(ValidationError):
    """Fewer units on hand than a removal asks for. The message names the store and the
    product by their names (it is shown to people); `available` is what was on hand when the
    removal was refused, `requested` what it asked for."""

    def __init__(
        self, message: str, *, code: str | None = None, available: int = 0, requested: int = 0
    ) -> None:
        super().__init__(message, code=code)
        self.available = available
        self.requested = requested


def stock_move(
    *,
    store: Store,
    product: Product,
    kind: str,
    quantity: int,
    order: Order | None = None,
    note: str = "",
    reason: str = "",
    by: settings.AUTH_USER_MODEL | None = None,
    at: dt.datetime | None = None,
) -> StockMovement:
    """Record one ledger row and apply it to on-hand in the same transaction.

    Removals use a conditional UPDATE (`on_hand >= n`), so two concurrent sales can never take
    on-hand below zero: the loser gets InsufficientStock and writes nothing. `reason` (a
    `LossReason`) is for loss rows only; the database refuses it on any other kind. The store
    page's cached figures (low stock) are dropped when the transaction commits.
    """
    if quantity == 0:
        raise ValidationError(_("A stock movement needs a non-zero quantity."))
    with transaction.atomic():
        if quantity > 0:
            level, _created = StockLevel.objects.get_or_create(store=store, product=product)
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") + quantity, updated_at=timezone.now()
            )
        else:
            changed = StockLevel.objects.filter(
                store=store, product=product, on_hand__gte=-quantity
            ).update(on_hand=F("on_hand") + quantity, updated_at=timezone.now())
            if changed != 1:
                available = (
                    StockLevel.objects.filter(store=store, product=product)
                    .values_list("on_hand", flat=True)
                    .first()
                ) or 0
                raise InsufficientStock(
                    _(
                        "Not enough stock of %(product)s at %(store)s: %(available)d in stock, "
                        "%(quantity)d needed."
                    )
                    % {
                        "product": product.name,
                        "store": store.name,
                        "available": available,
                        "quantity": -quantity,
                    },
                    available=available,
                    requested=-quantity,
                )
        store_figures_forget(store_id=store.pk)
        return StockMovement.objects.create(
            store=store,
            product=product,
            kind=kind,
            quantity=quantity,
            order=order,
            note=note,
            reason=reason,
            created_by=by,
            created_at=at or timezone.now(),
        )


def orders_stock_taken(
    *, order_ids: Iterable[int] | QuerySet[Any, int]
) -> dict[tuple[int, int], int]:
    """What these orders hold of their store's stock, per (order id, product id): the units
    of their `sale` movements less those of their `return` movements (the ledger rows linked
    to each order); what an order holds nothing of is left out. One query (`order_ids` may
    be a queryset of ids: then it is a subquery of it)."""
    rows = (
        StockMovement.objects.filter(
            order_id__in=order_ids if isinstance(order_ids, QuerySet) else list(order_ids),
            kind__in=(StockMovement.Kind.SALE, StockMovement.Kind.RETURN),
        )
        .values("order_id", "product_id")
        .annotate(net=Sum("quantity"))
        .filter(net__lt=0)
        .order_by("order_id", "product_id")
    )
    return {(row["order_id"], row["product_id"]): -row["net"] for row in rows}


def order_stock_taken(*, order: Order) -> dict[int, int]:
    """What this order holds of the store's stock, per product id (`orders_stock_taken`)."""
    return {
        product_id: units
        for (_order_id, product_id), units in orders_stock_taken(order_ids=[order.pk]).items()
    }


def order_stock_return(
    *,
    order: Order,
    store: Store,
    note: str,
    by: settings.AUTH_USER_MODEL | None,
    at: dt.datetime | None = None,
) -> None:
    """Give back to stock what this order took from it and has not got back
    (`order_stock_taken`), as one `return` movement per product, in product order.

    The ledger, not the order's status, says what is owed: a group-buy join from stock or a
    paid order takes its units when it is placed; a pre-order (以销定产) takes them only when
    its goods are handed to pickup (`procurement.services.pickup.fulfilments_ready`);
    receiving writes receipts for the store, and gives back (as `return` rows of the order)
    what a waiting order took for units that came short, so those are not owed twice. An
    order that took nothing
    gets nothing back, and what was already returned is not returned twice, so calling this
    again writes nothing.
    """
    owed_units = order_stock_taken(order=order)
    if not owed_units:
        return
    products = Product.objects.in_bulk(list(owed_units))
    for product_id, units in owed_units.items():
        stock_move(
            store=store,
            product=products[product_id],
            kind=StockMovement.Kind.RETURN,
            quantity=units,
            order=order,
            note=note,
            by=by,
            at=at,
        )
