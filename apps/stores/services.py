"""Writes for stores: the stock ledger, orders, KPI snapshots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.customers.models import Member
from apps.stores.models import (
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
)

CENT = Decimal("0.01")


class InsufficientStock(ValidationError):
    pass


def stock_move(
    *,
    store: Store,
    product: Product,
    kind: str,
    quantity: int,
    order: Order | None = None,
    note: str = "",
    by: settings.AUTH_USER_MODEL | None = None,
    at: dt.datetime | None = None,
) -> StockMovement:
    """Record one ledger row and apply it to on-hand in the same transaction.

    Removals use a conditional UPDATE (`on_hand >= n`), so two concurrent sales can never take
    on-hand below zero: the loser gets InsufficientStock and writes nothing.
    """
    if quantity == 0:
        raise ValidationError(_("A stock movement needs a non-zero quantity."))
    with transaction.atomic():
        if quantity > 0:
            level, _created = StockLevel.objects.get_or_create(store=store, product=product)
            StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + quantity)
        else:
            changed = StockLevel.objects.filter(
                store=store, product=product, on_hand__gte=-quantity
            ).update(on_hand=F("on_hand") + quantity, updated_at=timezone.now())
            if changed != 1:
                raise InsufficientStock(
                    _("Not enough stock of %(sku)s in %(store)s for %(quantity)d.")
                    % {"sku": product.sku, "store": store.code, "quantity": -quantity}
                )
        return StockMovement.objects.create(
            store=store,
            product=product,
            kind=kind,
            quantity=quantity,
            order=order,
            note=note,
            created_by=by,
            created_at=at or timezone.now(),
        )


@dataclass(frozen=True)
class LineInput:
    product: Product
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")


def order_create(
    *,
    store: Store,
    channel: str,
    idempotency_key: str,
    lines: list[LineInput],
    member: Member | None = None,
    fulfilment: str = Order.Fulfilment.IN_STORE,
    status: str = Order.Status.PAID,
    reference: str = "",
    placed_at: dt.datetime | None = None,
    take_stock: bool = True,
) -> tuple[Order, bool]:
    """Create an order with its lines and stock movements, or return the one already made
    with this store's idempotency key. Returns `(order, created)`.

    All-or-nothing: a bad line or missing stock leaves no order, no line, no ledger row.
    """
    if not idempotency_key:
        raise ValidationError({"idempotency_key": _("An idempotency key is required.")})
    existing = Order.objects.filter(store=store, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")})
    for number, line in enumerate(lines, start=1):
        if line.quantity <= 0:
            raise ValidationError(
                {"lines": _("Line %(n)d: quantity must be positive.") % {"n": number}}
            )
        if line.unit_price < 0 or line.discount < 0:
            raise ValidationError(
                {"lines": _("Line %(n)d: price and discount cannot be negative.") % {"n": number}}
            )
        if line.discount > line.unit_price * line.quantity:
            raise ValidationError(
                {"lines": _("Line %(n)d: discount exceeds the line amount.") % {"n": number}}
            )
    placed = placed_at or timezone.now()
    try:
        with transaction.atomic():
            order = Order.objects.create(
                store=store,
                member=member,
                channel=channel,
                fulfilment=fulfilment,
                status=status,
                idempotency_key=idempotency_key,
                reference=reference,
                placed_at=placed,
            )
            rows = []
            total = Decimal("0.00")
            discount_total = Decimal("0.00")
            for line in lines:
                line_total = (line.unit_price * line.quantity - line.discount).quantize(CENT)
                total += line_total
                discount_total += line.discount
                rows.append(
                    OrderLine(
                        order=order,
                        product=line.product,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        discount=line.discount,
                        line_total=line_total,
                    )
                )
            OrderLine.objects.bulk_create(rows)
            order.total = total
            order.discount_total = discount_total
            order.save(update_fields=["total", "discount_total"])
            if take_stock:
                # Fixed order (by product id) so concurrent orders lock rows the same way.
                for line in sorted(lines, key=lambda item: item.product.pk):
                    stock_move(
                        store=store,
                        product=line.product,
                        kind=StockMovement.Kind.SALE,
                        quantity=-line.quantity,
                        order=order,
                        at=placed,
                    )
    except IntegrityError:
        # A concurrent retry with the same key won the race: return its order.
        existing = Order.objects.filter(store=store, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return order, True


def store_kpi_snapshots_compute(*, day: dt.date) -> int:
    """Compute every store's KPI row for `day` (local time) set-wise and upsert it.

    Idempotent: rerunning for the same day rewrites the same numbers. Returns rows written.
    """
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    counted = Order.objects.exclude(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])
    figures = (
        counted.filter(placed_at__gte=start, placed_at__lt=end)
        .values("store_id")
        .annotate(
            order_count=Count("id"),
            revenue=Sum("total"),
            member_count=Count("member_id", distinct=True),
        )
    )
    now = timezone.now()
    rows = []
    for item in figures:
        revenue = item["revenue"] or Decimal("0")
        rows.append(
            StoreKpiSnapshot(
                store_id=item["store_id"],
                day=day,
                order_count=item["order_count"],
                revenue=revenue,
                member_count=item["member_count"],
                average_basket=(revenue / item["order_count"]).quantize(CENT),
                computed_at=now,
            )
        )
    with transaction.atomic():
        StoreKpiSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["store", "day"],
            update_fields=[
                "order_count",
                "revenue",
                "member_count",
                "average_basket",
                "computed_at",
            ],
            batch_size=1000,
        )
    return len(rows)
