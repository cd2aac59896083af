"""Orders (one per idempotency key, stock taken in the same transaction) and the POS API's
order recording."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.catalog.models import Product
from apps.customers.models import Member
from apps.customers.services.identity import (
    IdentityConflict,
    IdentityInput,
    member_for_identities,
    member_resolve,
)
from apps.stores.models import (
    IMPORTED_ORDER_KEY_PREFIX,
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
)
from apps.stores.page_cache import store_figures_forget
from apps.stores.selectors import store_knows_member
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.stock import InsufficientStock, stock_move

CENT = Decimal("0.01")


logger = logging.getLogger(__name__)


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
    A paid (or ready) pickup or delivery order gets its pickup code (`fulfilments_open`) in the
    same transaction. The store page's cached figures are dropped when the transaction commits.
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
            if fulfilment in (Order.Fulfilment.PICKUP, Order.Fulfilment.DELIVERY):
                fulfilments_open(order_ids=[order.pk])  # paid orders only: their pickup code
            store_figures_forget(store_id=store.pk)
    except IntegrityError:
        # A concurrent retry with the same key won the race: return its order.
        existing = Order.objects.filter(store=store, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return order, True


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
    """Lines whose SKU is not in the catalogue: `lines` is a list of (index, sku), 0-based
    (the API's `errors[].index`); the message numbers lines from 1, as the other line errors
    ("Line 1: …") and the person reading it do."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        super().__init__(
            _("Unknown SKU on line %(lines)s.")
            % {
                "lines": pgettext("list separator", ", ").join(
                    f"{index + 1} ({sku})" for index, sku in lines
                )
            },
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


class OrderKeyReused(ValidationError):
    """The idempotency key names an order made from a different request (lines, channel or
    member): a retry must repeat the request, a new sale needs a new key."""

    def __init__(self, order: Order) -> None:
        self.order = order
        super().__init__(
            _(
                "This idempotency key was already used in this store for a different order "
                "(order %(number)s: other lines, channel or member): retry with the same request, "
                "or use a new key for a new sale."
            )
            % {"number": order.pk},
            code="idempotency_key_reused",
        )


def _pos_retry_of(
    order: Order,
    *,
    lines: list[PosLine],
    identities: list[IdentityInput] | None,
    channel: str,
) -> PosOrderResult:
    """The order made earlier under this key when the request is the same one again (the same
    lines in any order, channel and member; `placed_at` is not compared: a till that omits it
    gets "now", which moves between retries). `OrderKeyReused` otherwise. Writes nothing."""
    recorded = sorted(
        (line.product.sku, line.quantity, line.unit_price, line.discount)
        for line in order.lines.select_related("product")
    )
    asked = sorted((line.sku, line.quantity, line.unit_price, line.discount) for line in lines)
    try:
        member = member_for_identities(identities or [])
    except ValidationError:
        member = None
    same_member = (member.pk if member is not None else None) == order.member_id
    if recorded != asked or order.channel != channel or not same_member:
        raise OrderKeyReused(order)
    return PosOrderResult(order=order, created=False)


def _identity_conflict_warning(conflict: IdentityConflict, *, store: Store) -> dict[str, object]:
    """The till's warning: the member numbers this store knew before the sale, no others."""
    logger.warning(
        "POS identity conflict at store %s: members %s; the sale goes to the first, "
        "merge them in the admin",
        store.code,
        ", ".join(conflict.member_numbers),
    )
    known = [
        member.member_no
        for member in conflict.members
        if store_knows_member(store=store, member=member)
    ]
    return {
        "code": "identity_conflict",
        "detail": _(
            "The identities the till saw belong to %(count)d different members; the sale is "
            "recorded on the owner of the first (phone first). Head office merges them."
        )
        % {"count": len(conflict.members)},
        "member_numbers": known,
    }


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
      (`created=False`) and nothing is written — not even a member — when the request is the
      same (lines, channel, member); a different request under the key raises
      `OrderKeyReused` (code `idempotency_key_reused`), also writing nothing.
    - Unknown SKUs raise `UnknownSkus` naming every bad line; missing stock raises
      `PosInsufficientStock` naming the SKUs; either way nothing is written.
    - The member comes from `member_resolve` (created if new, home store = this store). When
      the identities belong to two members the sale is still recorded — a till cannot un-sell —
      on the member owning the highest-priority identity (phone first), nothing is merged or
      attached, and a warning tells the till; it names only the members this store already
      knew (`store_knows_member`: a till learns nothing of another store's members), and the
      log names them all so HQ can merge them.
    """
    existing = Order.objects.filter(store=store, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _pos_retry_of(existing, lines=lines, identities=identities, channel=channel)
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
                    warnings.append(_identity_conflict_warning(conflict, store=store))
            order, created = order_create(
                store=store,
                channel=channel,
                idempotency_key=idempotency_key,
                lines=order_lines,
                member=member,
                placed_at=placed_at,
            )
            if not created:
                # A concurrent request with this key won: the same request gets its order,
                # another is refused, and the member made above (if any) is rolled back.
                _pos_retry_of(order, lines=lines, identities=identities, channel=channel)
    except InsufficientStock as error:
        shortages = _pos_shortages(store=store, lines=order_lines)
        if not shortages:
            raise
        raise PosInsufficientStock(shortages) from error
    return PosOrderResult(order=order, created=created, warnings=warnings if created else [])
