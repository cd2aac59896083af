"""Writes for stores: the stock ledger, orders, KPI snapshots."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.customers.models import Member
from apps.customers.services.identity import IdentityConflict, IdentityInput, member_resolve
from apps.stores.models import (
    IMPORTED_ORDER_KEY_PREFIX,
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
    StoreTerminal,
)
from linli.tokens import token_generate, token_hash, token_prefix

CENT = Decimal("0.01")

logger = logging.getLogger(__name__)


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
            StockLevel.objects.filter(pk=level.pk).update(
                on_hand=F("on_hand") + quantity, updated_at=timezone.now()
            )
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


def reserved_key_message() -> str:
    return _("Idempotency keys beginning with “%(prefix)s” are reserved for imported orders.") % {
        "prefix": IMPORTED_ORDER_KEY_PREFIX
    }


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
    if idempotency_key.startswith(IMPORTED_ORDER_KEY_PREFIX):
        raise ValidationError({"idempotency_key": reserved_key_message()})
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
        # A store whose every order of the day was cancelled since the last run has no figures
        # now: drop its stale row so a rerun always leaves exactly the current numbers.
        StoreKpiSnapshot.objects.filter(day=day).exclude(
            store_id__in=[row.store_id for row in rows]
        ).delete()
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


# --- store terminals (POS tills): tokens shown once, stored hashed ----------------------------


def terminal_issue(*, store: Store, name: str) -> tuple[StoreTerminal, str]:
    """Create a terminal for `store` and return it with its token.

    The token is returned here and nowhere else: only its SHA-256 hash and an 8-character
    prefix are stored, so it must be shown to the person installing the till right away.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A terminal needs a name.")})
    token = token_generate()
    terminal = StoreTerminal.objects.create(
        store=store, name=name, token_hash=token_hash(token), token_prefix=token_prefix(token)
    )
    return terminal, token


def terminal_revoke(*, terminal: StoreTerminal, by: settings.AUTH_USER_MODEL | None) -> bool:
    """Revoke the terminal's token; from now on it authenticates nothing.

    Idempotent: revoking a revoked terminal changes nothing and returns False (the first
    revocation time is kept). `by` is logged; the admin log records the action too.
    """
    revoked = StoreTerminal.objects.filter(pk=terminal.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info(
            "store terminal %s (%s…) revoked by %s",
            terminal.pk,
            terminal.token_prefix,
            getattr(by, "pk", None),
        )
    terminal.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


# --- POS ingestion ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PosLine:
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class PosOrderResult:
    order: Order
    created: bool
    # Things the till should know but that did not stop the sale (e.g. an identity conflict).
    warnings: list[dict[str, object]] = field(default_factory=list)


class UnknownSkus(ValidationError):
    """Lines whose SKU is not in the catalogue: `lines` is a list of (index, sku), 0-based."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        super().__init__(
            _("Unknown SKU on line %(lines)s.")
            % {"lines": ", ".join(f"{index} ({sku})" for index, sku in lines)},
            code="unknown_sku",
        )


class PosInsufficientStock(InsufficientStock):
    """Not enough stock for the order: `shortages` lists sku, requested and on-hand."""

    def __init__(self, shortages: list[dict[str, object]]) -> None:
        self.shortages = shortages
        super().__init__(
            _("Not enough stock for %(skus)s.")
            % {"skus": ", ".join(str(item["sku"]) for item in shortages)},
            code="insufficient_stock",
        )


def _pos_shortages(*, store: Store, lines: list[LineInput]) -> list[dict[str, object]]:
    requested: dict[int, int] = {}
    products: dict[int, Product] = {}
    for line in lines:
        requested[line.product.pk] = requested.get(line.product.pk, 0) + line.quantity
        products[line.product.pk] = line.product
    on_hand = dict(
        StockLevel.objects.filter(store=store, product_id__in=list(requested)).values_list(
            "product_id", "on_hand"
        )
    )
    return [
        {"sku": products[pk].sku, "requested": quantity, "on_hand": on_hand.get(pk, 0)}
        for pk, quantity in requested.items()
        if on_hand.get(pk, 0) < quantity
    ]


def pos_order_record(
    *,
    store: Store,
    idempotency_key: str,
    lines: list[PosLine],
    identities: list[IdentityInput] | None = None,
    placed_at: dt.datetime | None = None,
    channel: str = Order.Channel.POS,
) -> PosOrderResult:
    """Record a till's sale: resolve the member, create the order, take the stock.

    - Idempotent per store: an order already made with this key is returned as it is
      (`created=False`) and nothing is written — not even a member.
    - Unknown SKUs raise `UnknownSkus` naming every bad line; missing stock raises
      `PosInsufficientStock` naming the SKUs; either way nothing is written.
    - The member comes from `member_resolve` (created if new, home store = this store). When
      the identities belong to two members the sale is still recorded — a till cannot un-sell —
      on the member owning the highest-priority identity (phone first), nothing is merged or
      attached, and a warning names both member numbers so HQ can merge them.
    """
    existing = Order.objects.filter(store=store, idempotency_key=idempotency_key).first()
    if existing is not None:
        return PosOrderResult(order=existing, created=False)
    products = Product.objects.in_bulk({line.sku for line in lines}, field_name="sku")
    unknown = [(index, line.sku) for index, line in enumerate(lines) if line.sku not in products]
    if unknown:
        raise UnknownSkus(unknown)
    order_lines = [
        LineInput(
            product=products[line.sku],
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
        )
        for line in lines
    ]
    warnings: list[dict[str, object]] = []
    try:
        with transaction.atomic():
            member = None
            if identities:
                try:
                    member = member_resolve(identities=identities, home_store=store).member
                except IdentityConflict as conflict:
                    member = conflict.first_member
                    warnings.append(
                        {
                            "code": "identity_conflict",
                            "detail": str(conflict),
                            "member_numbers": conflict.member_numbers,
                        }
                    )
            order, created = order_create(
                store=store,
                channel=channel,
                idempotency_key=idempotency_key,
                lines=order_lines,
                member=member,
                placed_at=placed_at,
            )
    except InsufficientStock as error:
        shortages = _pos_shortages(store=store, lines=order_lines)
        if not shortages:
            raise
        raise PosInsufficientStock(shortages) from error
    return PosOrderResult(order=order, created=created, warnings=warnings if created else [])
