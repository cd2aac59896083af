"""Store receiving: what arrived of a purchase order at one store goes into stock through the
ledger, and what did not reaches the member orders it was bought for
(docs/delivery-and-receiving.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Least
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.campaigns.notifications.services import NotificationDraft
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Receipt,
    ReceiptLine,
    Remedy,
    SupplierProduct,
)
from apps.procurement.selectors.receiving import RECEIVABLE_STATUSES, order_line_units_arrived
from apps.procurement.selectors.shelf import shelf_quantities_attach
from apps.procurement.services import pickup
from apps.procurement.services.aftersales import ShortageCompensation, shortage_cases_open
from apps.procurement.services.consolidation import SUPPLY_CHANNELS, SUPPLY_FULFILMENTS
from apps.stores.models import Order, OrderLine, StockMovement, Store
from apps.stores.services.stock import stock_move

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Only goods the supplier has confirmed (or shipped) can arrive.
# Member orders that no longer wait for goods bear no shortage.
_SETTLED_ORDER_STATUSES = (Order.Status.CANCELLED, Order.Status.REFUNDED)
SHORT_NOTIFICATION_KIND = "order_short"


class ReceiptRefused(Exception):
    """The receipt cannot be recorded. `code` is stable for callers (`not_receivable`,
    `no_allocation`, `unknown_allocation`, `missing_allocation`, `negative`, `sum_mismatch`,
    `already_received`); `message` is for people. Nothing was written."""

    def __init__(self, code: str, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # One message per wrong line (by product), for a page that lists them all.
        self.problems = problems or [message]


def receipt_notification_key(*, receipt_id: int, order_id: int) -> str:
    return f"receipt:{receipt_id}:order:{order_id}:short"


def _validated(
    *,
    allocations: dict[int, PurchaseOrderAllocation],
    lines: Mapping[int, tuple[int, int, int]],
) -> None:
    if not allocations:
        raise ReceiptRefused("no_allocation", _("This purchase order has no goods for this store."))
    unknown = sorted(set(lines) - set(allocations))
    if unknown:
        raise ReceiptRefused(
            "unknown_allocation",
            _("Line %(id)s is not part of this delivery to this store.") % {"id": unknown[0]},
        )
    # Every wrong line is named (products by SKU, as the receiving page lists them), not only
    # the first: the clerk fixes the whole form in one go.
    by_sku = sorted(allocations, key=lambda pk: (allocations[pk].line.product.sku, pk))
    missing = [allocations[pk].line.product.name for pk in by_sku if pk not in lines]
    if missing:
        problems = [_("Say what arrived of %(product)s.") % {"product": name} for name in missing]
        raise ReceiptRefused("missing_allocation", " ".join(problems), problems)
    negative = []
    mismatched = []
    for pk in by_sku:
        received, short, damaged = lines[pk]
        product = allocations[pk].line.product
        if min(received, short, damaged) < 0:
            negative.append(
                _("%(product)s: quantities cannot be negative.") % {"product": product.name}
            )
            continue
        allocation = allocations[pk]
        if received + short + damaged == allocation.receipt_quantity:
            continue
        if allocation.shelf_quantity:
            mismatched.append(
                _(
                    "%(product)s: received, short and damaged must add up to the %(expected)d "
                    "delivered (%(allocated)d allocated and %(shelf)d for the shelf; they add "
                    "up to %(total)d)."
                )
                % {
                    "product": product.name,
                    "expected": allocation.receipt_quantity,
                    "allocated": allocation.quantity,
                    "shelf": allocation.shelf_quantity,
                    "total": received + short + damaged,
                }
            )
        else:
            mismatched.append(
                _(
                    "%(product)s: received, short and damaged must add up to the %(allocated)d "
                    "allocated (they add up to %(total)d)."
                )
                % {
                    "product": product.name,
                    "allocated": allocation.quantity,
                    "total": received + short + damaged,
                }
            )
    if negative or mismatched:
        problems = negative + mismatched
        code = "negative" if negative else "sum_mismatch"
        raise ReceiptRefused(code, " ".join(problems), problems)


def receipt_record(
    *,
    purchase_order: PurchaseOrder,
    store: Store,
    lines: Mapping[int, tuple[int, int, int]],
    by: AbstractBaseUser | None,
    note: str = "",
) -> Receipt:
    """Record what arrived at `store` of `purchase_order`: `lines` maps each of the store's
    allocation ids to (received, short, damaged), which must add up to the allocated quantity.

    Refusals (`ReceiptRefused`, nothing written): the purchase order is not confirmed or
    shipped (`not_receivable`); it has nothing for this store (`no_allocation`); an id is not
    an allocation of this purchase order to this store (`unknown_allocation`) or one is left
    out (`missing_allocation`); a negative number (`negative`); the three do not add up
    (`sum_mismatch`); the store already received this purchase order (`already_received`: the
    unique (purchase order, store) of the receipt decides, so two submissions at once give one
    receipt).

    The store's shelf units of each line's rounding surplus (`selectors.shelf`) come with its
    allocation: received + short + damaged = allocated + shelf units, recorded on the line.

    One transaction: the receipt and a line per allocation; per product received, a RECEIPT
    movement through the stock ledger for the member orders' units and one for the shelf
    units (`_stock_receive`; damaged units never enter stock, they stay on the line); the
    shortage (short + damaged) falls on the shelf units first (no member order waits for
    them), then is spread over the member orders that fed the allocation, the LATEST orders
    first (the earliest orders were placed first and keep their goods), recorded on their
    source links; the purchase-order line's shortage grows only by
    the units beyond what the supplier reported for this store (its allocation's
    `reported_short_quantity`, which the line's shortage already counts); for each paid member
    order line found short, one "missing" after-sales case opened by the system
    (`aftersales.shortage_cases_open`: the short units, their value, the policy's remedy and
    cost bearer — a refund charged to the supplier by default). Then the store's
    member orders of this purchase order whose every supplied line has now arrived
    (`orders_arrived`): those of which nothing arrived (`orders_nothing_arrived`: every unit
    short) are cancelled as not delivered (`pickup.orders_not_delivered_cancel`: stock given
    back per the ledger, the member told once), the others are handed to pickup as ready
    (`pickup.fulfilments_ready`). Each other member order that came short gets one
    `order_short` notification on the member's channel (`_short_notify`), which says the
    refund of the short units is being arranged when a case was opened for them.
    """
    status = (
        PurchaseOrder.objects.filter(pk=purchase_order.pk).values_list("status", flat=True).first()
    )
    if status not in RECEIVABLE_STATUSES:
        raise ReceiptRefused(
            "not_receivable",
            _("Only a confirmed or shipped purchase order can be received."),
        )
    allocations = {
        allocation.pk: allocation
        for allocation in shelf_quantities_attach(
            PurchaseOrderAllocation.objects.filter(
                line__purchase_order=purchase_order, store=store
            ).select_related("line__product")
        )
    }
    _validated(allocations=allocations, lines=lines)
    with transaction.atomic():
        receipt = Receipt(
            purchase_order=purchase_order, store=store, received_by=by, note=note[:300]
        )
        try:
            with transaction.atomic():
                receipt.save(force_insert=True)
        except IntegrityError as error:
            raise ReceiptRefused(
                "already_received", _("This delivery has already been received at this store.")
            ) from error
        ReceiptLine.objects.bulk_create(
            [
                ReceiptLine(
                    receipt=receipt,
                    allocation=allocation,
                    allocated_quantity=allocation.quantity,
                    shelf_quantity=allocation.shelf_quantity,
                    received_quantity=lines[pk][0],
                    short_quantity=lines[pk][1],
                    damaged_quantity=lines[pk][2],
                )
                for pk, allocation in sorted(allocations.items())
            ]
        )
        for pk, allocation in sorted(allocations.items()):
            _stock_receive(
                store=store,
                allocation=allocation,
                counts=lines[pk],
                number=purchase_order.number,
                by=by,
            )
        missing = {
            allocation.line_id: lines[pk][1] + lines[pk][2]
            for pk, allocation in allocations.items()
            if lines[pk][1] + lines[pk][2] > 0
        }
        # The supplier's report already counts the units it announced for this store.
        found = {
            allocation.line_id: lines[pk][1] + lines[pk][2] - allocation.reported_short_quantity
            for pk, allocation in allocations.items()
            if lines[pk][1] + lines[pk][2] > allocation.reported_short_quantity
        }
        # The shelf units count with the store's units no member order asks for: they are
        # short first, so a shortage within them changes no member order.
        allocated = {
            allocation.line_id: allocation.receipt_quantity for allocation in allocations.values()
        }
        short_by_order, short_by_line = _shortage_spread(
            store=store, missing=missing, found=found, allocated=allocated
        )
        # Before the not-delivered cancellation below: their orders are still paid, and what
        # was paid for goods that did not come is to be refunded too (the not-delivered
        # notice promises it).
        compensation = shortage_cases_open(receipt=receipt, short_units=short_by_line)
        order_ids = sorted(
            set(
                PurchaseOrderSource.objects.filter(
                    line__purchase_order=purchase_order,
                    order_line__order__store=store,
                    cancelled_at__isnull=True,
                )
                .exclude(order_line__order__status__in=_SETTLED_ORDER_STATUSES)
                .values_list("order_line__order_id", flat=True)
            )
        )
        complete = orders_arrived(store_id=store.pk, order_ids=order_ids)
        nothing_arrived = orders_nothing_arrived(order_ids=complete)
        cancelled = set(
            pickup.orders_not_delivered_cancel(
                store_id=store.pk, order_ids=sorted(nothing_arrived), by=by
            )
        )
        # An order cancelled as not delivered is told that instead of what came short.
        _short_notify(
            receipt=receipt,
            store=store,
            short_by_order={
                order_id: items
                for order_id, items in short_by_order.items()
                if order_id not in cancelled
            },
            compensation=compensation,
        )
        ready = [order_id for order_id in complete if order_id not in nothing_arrived]
        if ready:
            pickup.fulfilments_ready(store_id=store.pk, order_ids=ready, by=by)
    return receipt


def _stock_receive(
    *,
    store: Store,
    allocation: PurchaseOrderAllocation,
    counts: tuple[int, int, int],
    number: str,
    by: AbstractBaseUser | None,
) -> None:
    """The received units of one allocation into the store's stock through the ledger: one
    RECEIPT movement for the member orders' units (note: the purchase order's number) and one
    for the shelf units of the rounding surplus (note: the number and "for the shelf"). The
    missing units (short + damaged) fall on the shelf units first, as at the shortage spread;
    damaged units never enter stock."""
    received, short, damaged = counts
    shelf_received = min(received, max(0, allocation.shelf_quantity - short - damaged))
    # Stored text, read by HQ and the store later: in the project's language.
    with translation.override(settings.LANGUAGE_CODE):
        shelf_note = _("%(number)s · for the shelf (rounding surplus)") % {"number": number}
    for quantity, note in ((received - shelf_received, number), (shelf_received, shelf_note)):
        if quantity > 0:
            stock_move(
                store=store,
                product=allocation.line.product,
                kind=StockMovement.Kind.RECEIPT,
                quantity=quantity,
                note=note[:200],
                by=by,
            )


def _shortage_spread(
    *,
    store: Store,
    missing: dict[int, int],
    found: dict[int, int],
    allocated: dict[int, int],
) -> tuple[dict[int, list[tuple[str, int]]], dict[int, int]]:
    """Spread each purchase-order line's missing units over the store's member order lines it
    was bought for. The store's units no waiting order accounts for (`allocated`, per line,
    beyond what its live member order lines ask: an order cancelled after the supplier
    confirmed) are missing first, as nobody waits for them; then the latest order first
    (placed time, then order id, newest first), each line bearing at most what it asked for.
    `found` (per line, the missing units beyond what the supplier reported for this store)
    is added to the line's shortage. Returns, per affected member order, the (product name,
    units) it came short, and per affected member order line, the units it came short."""
    if not missing:
        return {}, {}
    sources = list(
        PurchaseOrderSource.objects.select_for_update(of=("self",))
        .filter(
            line_id__in=list(missing),
            order_line__order__store=store,
            cancelled_at__isnull=True,
        )
        .exclude(order_line__order__status__in=_SETTLED_ORDER_STATUSES)
        .select_related("order_line__order", "order_line__product")
        .order_by("pk")
    )
    by_line: dict[int, list[PurchaseOrderSource]] = defaultdict(list)
    for source in sources:
        by_line[source.line_id].append(source)
    touched: list[PurchaseOrderSource] = []
    short_by_order: dict[int, list[tuple[str, int]]] = defaultdict(list)
    short_by_line: dict[int, int] = defaultdict(int)
    for line_id, units in sorted(missing.items()):
        asked = sum(source.quantity for source in by_line[line_id])
        remaining = max(0, units - max(0, allocated.get(line_id, 0) - asked))
        latest_first = sorted(
            by_line[line_id],
            key=lambda source: (source.order_line.order.placed_at, source.order_line.order_id),
            reverse=True,
        )
        for source in latest_first:
            if remaining == 0:
                break
            take = min(remaining, source.quantity - source.short_quantity)
            if take <= 0:
                continue
            source.short_quantity += take
            remaining -= take
            touched.append(source)
            short_by_line[source.order_line_id] += take
            short_by_order[source.order_line.order_id].append(
                (source.order_line.product.name, take)
            )
    PurchaseOrderSource.objects.bulk_update(touched, ["short_quantity"])
    for line_id, units in sorted(found.items()):
        # Bounded by what is ordered (the line's constraint), should the supplier have
        # changed its report after another store received.
        # What the line's shortage grows by is kept apart as found at receiving (the same
        # row's old values on both sides): the shelf units follow the supplier's report only.
        grown = Least(F("shortage_quantity") + units, F("ordered_quantity"))
        PurchaseOrderLine.objects.filter(pk=line_id).update(
            shortage_quantity=grown,
            receiving_short_quantity=F("receiving_short_quantity") + grown - F("shortage_quantity"),
        )
    return dict(short_by_order), dict(short_by_line)


def _short_notify(
    *,
    receipt: Receipt,
    store: Store,
    short_by_order: dict[int, list[tuple[str, int]]],
    compensation: Mapping[int, ShortageCompensation],
) -> None:
    """One `order_short` notification per member order that came short (guests and erased
    members get none), on the member's channel (SMS or WeChat, `pickup.member_channels`),
    with the dispatcher enqueued on commit (`pickup.members_notify`). When receiving opened
    after-sales cases for the order's short units (`compensation`), the same message says
    that their refund (or the remedy the policy proposes) is being arranged: one message."""
    if not short_by_order:
        return
    members = dict(
        Order.objects.filter(
            pk__in=list(short_by_order), member__isnull=False, member__is_erased=False
        ).values_list("pk", "member_id")
    )
    channels = pickup.member_channels(set(members.values()))
    # Members read the project's language, not the language of the clerk who received.
    with translation.override(settings.LANGUAGE_CODE):
        drafts = [
            _short_draft(
                receipt=receipt,
                store=store,
                order_id=order_id,
                member_id=members[order_id],
                channel=channels[members[order_id]],
                items=items,
                compensation=compensation.get(order_id),
            )
            for order_id, items in sorted(short_by_order.items())
            if order_id in members
        ]
    pickup.members_notify(drafts=drafts)


def _short_draft(
    *,
    receipt: Receipt,
    store: Store,
    order_id: int,
    member_id: int,
    channel: str,
    items: list[tuple[str, int]],
    compensation: ShortageCompensation | None,
) -> NotificationDraft:
    listed = pgettext("list separator", ", ").join(
        _("%(product)s × %(units)d") % {"product": name, "units": units} for name, units in items
    )
    body = _("Short in your order #%(order)s at %(store)s: %(items)s.") % {
        "order": order_id,
        "store": store.name,
        "items": listed,
    }
    if compensation is not None and compensation.remedy == Remedy.REFUND:
        body += " " + _(
            "A refund of %(amount)s yuan for them is being arranged: you do not pay for what "
            "did not come."
        ) % {"amount": compensation.amount}
    elif compensation is not None:
        body += " " + _("Compensation for them is being arranged; the store will contact you.")
    payload: dict[str, object] = {
        "order_id": order_id,
        "receipt_id": receipt.pk,
        "short": [{"product": name, "units": units} for name, units in items],
    }
    if compensation is not None:
        payload["compensation"] = {
            "amount": str(compensation.amount),
            "remedy": compensation.remedy,
        }
    return NotificationDraft(
        dedupe_key=receipt_notification_key(receipt_id=receipt.pk, order_id=order_id),
        kind=SHORT_NOTIFICATION_KIND,
        title=_("Part of your order did not arrive"),
        body=body,
        channel=channel,
        store_id=store.pk,
        member_id=member_id,
        payload=payload,
    )


def orders_still_awaiting(*, store_id: int, order_ids: list[int]) -> set[int]:
    """The orders among these with a line whose goods have not arrived at the store yet: a
    live source link on a purchase order that is not cancelled and not received at the store,
    or a line that consolidation has still to take (a supplied channel and fulfilment, paid,
    a product with a preferred offer of an active supplier, no source link yet). Two
    queries."""
    received_here = Receipt.objects.filter(
        purchase_order_id=OuterRef("line__purchase_order_id"), store_id=store_id
    )
    waiting_on_supplier = set(
        PurchaseOrderSource.objects.filter(
            order_line__order_id__in=order_ids, cancelled_at__isnull=True
        )
        .exclude(line__purchase_order__status=PurchaseOrder.Status.CANCELLED)
        .exclude(Exists(received_here))
        .values_list("order_line__order_id", flat=True)
    )
    offered = SupplierProduct.objects.filter(
        product_id=OuterRef("product_id"), is_preferred=True, supplier__is_active=True
    )
    not_consolidated = set(
        OrderLine.objects.filter(
            order_id__in=order_ids,
            order__status=Order.Status.PAID,
            order__channel__in=SUPPLY_CHANNELS,
            order__fulfilment__in=SUPPLY_FULFILMENTS,
            purchase_source__isnull=True,
        )
        .filter(Exists(offered))
        .values_list("order_id", flat=True)
    )
    return waiting_on_supplier | not_consolidated


def orders_arrived(*, store_id: int, order_ids: list[int]) -> list[int]:
    """The orders among these whose every supplied line has arrived (none of them
    `orders_still_awaiting`), in the given order: an order with goods from two suppliers
    waits for the second delivery (the receipt of that one settles it)."""
    awaiting = orders_still_awaiting(store_id=store_id, order_ids=order_ids)
    return [order_id for order_id in order_ids if order_id not in awaiting]


def orders_nothing_arrived(*, order_ids: list[int]) -> set[int]:
    """The orders among these of which nothing is there to hand over: every unit of every
    line came short at receiving (its live source link's `short_quantity` covers the line).
    A line without a live source link (goods from the shelf) counts as there. One query."""
    left: dict[int, int] = defaultdict(int)
    for line in OrderLine.objects.filter(order_id__in=order_ids).select_related("purchase_source"):
        left[line.order_id] += order_line_units_arrived(line)
    return {order_id for order_id, units in left.items() if units == 0}
