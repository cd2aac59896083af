"""Mini-program orders: a member orders from their store in the brand's WeChat mini-program,
for pickup or same-city delivery, and pays in WeChat Pay; the mini-program backend posts the
paid order here (`apps.stores.api.mini_program`, docs/pickup.md "Mini-program orders").

The contract every writer here keeps:

- **Prices are the server's.** Each line is the product's list price less the deepest planned
  price promotion or broadcast covering it at this store today
  (`campaigns.selectors.promotions.store_discounts_on`), rounded as every campaign price is
  (`campaign_price`: down to a whole jiao). The client sends the total the member saw and
  paid (`expected_total`); another total is refused (`price_changed`, with the current lines
  and total) and nothing is written.
- **Only what supply can buy.** A line's product must be active and have a preferred offer of
  an active supplier (`selectors.suppliers.supplier_terms`, consolidation's own choice of
  offer), so consolidation can put it on a purchase order: 以销定产, the order takes nothing
  from the shelf when placed. Its goods leave stock when it becomes ready
  (`pickup.fulfilments_ready`, as a pre-order's do).
- **One transaction**: the order (paid), its lines and its pickup code (`order_create` →
  `fulfilments_open`), its reference and its delivery details; consolidation's next run (a
  settlement's, HQ's or the daily 22:00 one) picks the paid order up.
- **Idempotent by key** (unique per store, kept apart from the tills' keys by a derived order
  key): the same key and request returns the first order and writes nothing, also when two
  retries race (the order's unique key decides; the loser's writes are rolled back); the
  same key with another request is refused (`idempotency_key_reused`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.campaigns.selectors.promotions import store_discounts_on
from apps.campaigns.services.packs import campaign_price
from apps.catalog.models import Product
from apps.customers.models import Member
from apps.procurement.selectors.suppliers import supplier_terms
from apps.procurement.services.pickup import PickupRefused, order_cancel_before_pickup
from apps.stores.models import Order, OrderFulfilment, Store
from apps.stores.services.orders import CENT, LineInput, order_create

KEY_MAX_LENGTH = 64
# One line's units: a household's order, not a shop's restocking.
QUANTITY_MAX = 99
LINES_MAX = 50
NOTE_MAX_LENGTH = 200
ADDRESS_MAX_LENGTH = 200
CONTACT_MAX_LENGTH = 60
REASON_MAX_LENGTH = 150
# Order.reference of a mini-program order: "MP", the local day, the order id (the demo's form).
REFERENCE_PREFIX = "MP"

# Refusal codes a caller (the API) can act on.
# The terminal API's own code for a store not open for trade (`apps.stores.terminal_auth`).
STORE_CLOSED = "store_closed"
UNKNOWN_SKU = "unknown_sku"
NOT_AVAILABLE = "not_available"
PRICE_CHANGED = "price_changed"
KEY_REUSED = "idempotency_key_reused"
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class DeliveryDetails:
    """Where a same-city delivery goes: the address, whom to ask for and their phone
    (normalised, +86…)."""

    address: str
    contact: str
    phone: str


NO_DELIVERY = DeliveryDetails(address="", contact="", phone="")


@dataclass(frozen=True)
class PricedLine:
    """A line at today's price: the list price, the promotion's per cent off (0 without one)
    and the price the member pays per unit."""

    product: Product
    quantity: int
    list_price: Decimal
    discount_percent: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT)

    @property
    def discount(self) -> Decimal:
        return (self.list_price * self.quantity - self.line_total).quantize(CENT)


@dataclass(frozen=True)
class Quote:
    lines: list[PricedLine]

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))


class MiniProgramOrderRefused(ValidationError):
    """The order was refused and nothing was written; `code` says why: `store_closed`,
    `unknown_sku` / `not_available` (`lines` lists the (0-based index, sku) of each line to
    blame), `price_changed` (`quote` holds the current lines and total),
    `idempotency_key_reused`, `not_found`."""

    lines: list[tuple[int, str]]
    quote: Quote | None

    def __init__(
        self,
        message: str,
        *,
        code: str,
        lines: list[tuple[int, str]] | None = None,
        quote: Quote | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.lines = lines or []
        self.quote = quote


@dataclass(frozen=True)
class PlaceResult:
    order: Order
    created: bool


class _RaceLost(Exception):  # noqa: N818 - control flow, never leaves this module
    """A concurrent request with the same key committed its order first."""


def mini_program_order_key(*, idempotency_key: str) -> str:
    """The order's idempotency key (unique per store): derived from the client's key, so a
    mini-program key never meets a till's key of the same store, and within 64 characters."""
    digest = hashlib.sha256(f"mini_program:{idempotency_key}".encode()).hexdigest()
    return f"mp-{digest[:40]}"


def _sku_list(lines: list[tuple[int, str]]) -> str:
    return pgettext("list separator", ", ").join(sku for _index, sku in lines)


def mini_program_quote(*, store: Store, lines: list[LineRequest], day: dt.date) -> Quote:
    """Today's price of each line at this store (see the module docstring). Refuses, naming
    every line to blame: SKUs not in the catalogue (`unknown_sku`), then products that are
    inactive or that no active supplier offers (`not_available`). Reads only."""
    products = Product.objects.in_bulk({line.sku for line in lines}, field_name="sku")
    unknown = [(index, line.sku) for index, line in enumerate(lines) if line.sku not in products]
    if unknown:
        raise MiniProgramOrderRefused(
            _("Unknown SKU: %(skus)s.") % {"skus": _sku_list(unknown)},
            code=UNKNOWN_SKU,
            lines=unknown,
        )
    supplied = set(
        supplier_terms(product_ids=[product.pk for product in products.values()])["product_id"]
    )
    unavailable = [
        (index, line.sku)
        for index, line in enumerate(lines)
        if not products[line.sku].is_active or products[line.sku].pk not in supplied
    ]
    if unavailable:
        raise MiniProgramOrderRefused(
            _("Not available to order from the mini-program: %(skus)s.")
            % {"skus": _sku_list(unavailable)},
            code=NOT_AVAILABLE,
            lines=unavailable,
        )
    discounts = store_discounts_on(
        store_id=store.pk, product_ids=[products[line.sku].pk for line in lines], day=day
    )
    priced = []
    for line in lines:
        product = products[line.sku]
        percent = discounts.get(product.pk, 0)
        unit_price = (
            campaign_price(list_price=product.price, price=None, discount_percent=percent)
            if percent
            else product.price
        )
        priced.append(
            PricedLine(
                product=product,
                quantity=line.quantity,
                list_price=product.price,
                discount_percent=percent,
                unit_price=unit_price,
            )
        )
    return Quote(lines=priced)


def mini_program_order_for_key(*, store: Store, idempotency_key: str) -> Order | None:
    return (
        Order.objects.select_related("member", "fulfilment_record")
        .filter(
            store=store,
            idempotency_key=mini_program_order_key(idempotency_key=idempotency_key),
        )
        .first()
    )


def _retry_of(
    order: Order,
    *,
    member: Member,
    lines: list[LineRequest],
    fulfilment: str,
    expected_total: Decimal,
    delivery: DeliveryDetails,
    note: str,
) -> PlaceResult:
    """The order made earlier under this key when the request is the same one again (the
    member, the lines in any order, the fulfilment, the total, the delivery details and the
    note); `idempotency_key_reused` otherwise. Writes nothing."""
    recorded = sorted(order.lines.values_list("product__sku", "quantity"))
    asked = sorted((line.sku, line.quantity) for line in lines)
    record = getattr(order, "fulfilment_record", None)
    recorded_details = (
        (
            record.delivery_address,
            record.delivery_contact,
            record.delivery_phone,
            record.member_note,
        )
        if record is not None
        else ("", "", "", "")
    )
    same = (
        order.channel == Order.Channel.MINI_PROGRAM
        and order.member_id == member.pk
        and recorded == asked
        and order.fulfilment == fulfilment
        and order.total == expected_total
        and recorded_details == (delivery.address, delivery.contact, delivery.phone, note)
    )
    if not same:
        raise MiniProgramOrderRefused(
            _(
                "This idempotency key was already used at this store for a different order "
                "(%(reference)s: other member, lines, fulfilment, total or address): retry with "
                "the same request, or use a new key for a new order."
            )
            % {"reference": order.reference or order.pk},
            code=KEY_REUSED,
        )
    return PlaceResult(order=order, created=False)


def mini_program_order_place(
    *,
    store: Store,
    member: Member,
    idempotency_key: str,
    lines: list[LineRequest],
    fulfilment: str,
    expected_total: Decimal,
    delivery: DeliveryDetails = NO_DELIVERY,
    note: str = "",
    now: dt.datetime | None = None,
) -> PlaceResult:
    """Write a member's paid mini-program order at this store: channel `mini_program`,
    fulfilment `pickup` or `delivery`, status paid, its lines at today's prices, its pickup
    code, reference `MP<yyyymmdd><order id>` and delivery details, in one transaction
    (a savepoint inside the caller's, which should also hold the member's resolution).

    - Idempotent: a key already used at this store returns that order (`created=False`) when
      the request is the same; `idempotency_key_reused` otherwise. Looked up first, so a
      retry is answered even once the store has closed or prices have changed.
    - Refusals (`MiniProgramOrderRefused`) write nothing: `store_closed` (the store is not
      open for trade, `Store.is_trading`; the API refuses it before, in `IsStoreTerminal`),
      `unknown_sku`, `not_available`, `price_changed` (the total at today's prices is not
      `expected_total`).
    - Takes no stock (以销定产: consolidation buys its goods; they leave stock when the
      order becomes ready). Lines and quantities are bounded by the caller (the API).
    """
    now = now or timezone.now()
    delivery = delivery if fulfilment == Order.Fulfilment.DELIVERY else NO_DELIVERY
    request = {
        "member": member,
        "lines": lines,
        "fulfilment": fulfilment,
        "expected_total": expected_total,
        "delivery": delivery,
        "note": note,
    }
    existing = mini_program_order_for_key(store=store, idempotency_key=idempotency_key)
    if existing is not None:
        return _retry_of(existing, **request)
    if not store.is_trading:
        raise MiniProgramOrderRefused(
            _("%(store)s is not taking orders now (%(status)s).")
            % {"store": store.name, "status": store.get_status_display()},
            code=STORE_CLOSED,
        )
    quote = mini_program_quote(store=store, lines=lines, day=timezone.localdate(now))
    if quote.total != expected_total:
        raise MiniProgramOrderRefused(
            _(
                "The prices have changed: the order comes to ¥%(total)s today, not "
                "¥%(expected)s. Show the member the new prices and ask again."
            )
            % {"total": quote.total, "expected": expected_total},
            code=PRICE_CHANGED,
            quote=quote,
        )
    try:
        with transaction.atomic():
            order, created = order_create(
                store=store,
                channel=Order.Channel.MINI_PROGRAM,
                idempotency_key=mini_program_order_key(idempotency_key=idempotency_key),
                lines=[
                    LineInput(
                        product=line.product,
                        quantity=line.quantity,
                        unit_price=line.list_price,
                        discount=line.discount,
                    )
                    for line in quote.lines
                ],
                member=member,
                fulfilment=fulfilment,
                status=Order.Status.PAID,
                placed_at=now,
                take_stock=False,
            )
            if not created:
                raise _RaceLost
            order.reference = f"{REFERENCE_PREFIX}{timezone.localdate(now):%Y%m%d}{order.pk:08d}"
            Order.objects.filter(pk=order.pk).update(reference=order.reference)
            # `order_create` opened the fulfilment (a paid pickup / delivery order).
            OrderFulfilment.objects.filter(pk=order.pk).update(
                delivery_address=delivery.address,
                delivery_contact=delivery.contact,
                delivery_phone=delivery.phone,
                member_note=note,
            )
    except _RaceLost:
        existing = mini_program_order_for_key(store=store, idempotency_key=idempotency_key)
        if existing is None:  # pragma: no cover - the winner's order is committed
            raise
        return _retry_of(existing, **request)
    return PlaceResult(order=order, created=True)


def mini_program_order_cancel(*, store: Store, reference: str, reason: str = "") -> Order:
    """The member cancels their mini-program order from the mini-program, through the counter's
    own service (`pickup.order_cancel_before_pickup`, as a member's request): before
    consolidation the order is simply cancelled; once on a purchase order, supply is adjusted
    (a purchase order not yet confirmed is reduced, a confirmed one gets an exception); what
    the order holds of stock goes back; the member is told. Returns the order, reloaded.

    Idempotent for the caller: an order already cancelled is returned as it is. Refused
    (`PickupRefused`): `not_cancellable` once collected or delivered, `out_for_delivery`
    while the rider has it; `MiniProgramOrderRefused(not_found)` for a reference that is not
    a mini-program order of this store."""
    order = (
        Order.objects.filter(store=store, channel=Order.Channel.MINI_PROGRAM, reference=reference)
        .only("pk", "status")
        .first()
    )
    if order is None:
        raise MiniProgramOrderRefused(
            _("No such mini-program order at this store."), code=NOT_FOUND
        )
    if order.status != Order.Status.CANCELLED:
        reason = reason.strip()[:REASON_MAX_LENGTH]
        if not reason:
            # Stored with the order (the counter reads it): in the project's language.
            with translation.override(settings.LANGUAGE_CODE):
                reason = _("Cancelled by the member in the mini-program.")
        try:
            order_cancel_before_pickup(
                store=store, order_id=order.pk, by=None, reason=reason, by_member=True
            )
        except PickupRefused:
            # A cancellation that crossed this one (the counter's, a retry) already did it.
            if not Order.objects.filter(pk=order.pk, status=Order.Status.CANCELLED).exists():
                raise
    return Order.objects.get(pk=order.pk)
