"""Store receiving: what arrived of a purchase order at one store goes into stock through the
ledger, and what did not reaches the member orders it was bought for
(docs/delivery-and-receiving.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
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
    CaseKind,
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
from apps.stores.models import (
    Order,
    OrderFulfilment,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
)
from apps.stores.services.stock import orders_stock_taken, stock_move

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

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
    receipt). The status is checked and the allocations read under the purchase order's row
    lock, which the supplier's shortage report takes too (`purchase_order_report_shortage`
    refuses once a receipt exists): receipts of one purchase order take turns. Then, before
    any source link or stock row, the store's paid member orders it feeds and their
    fulfilments are locked (`_fed_orders_lock`), then the store's stock rows of the
    products received, in product order: the lock order of docs/purchasing.md, which a
    member order's cancellation follows too (purchase orders, then the order, then stock),
    so the two take turns instead of deadlocking.

    The store's shelf units of each line's rounding surplus (`selectors.shelf`) come with its
    allocation: received + short + damaged = allocated + shelf units, recorded on the line.

    One transaction: the receipt and a line per allocation; per product received, a RECEIPT
    movement through the stock ledger for the member orders' units and one for the shelf
    units (`_stock_receive`; damaged units never enter stock, they stay on the line); the
    shortage (short + damaged) falls on the shelf units first (no member order waits for
    them), then is spread over the member orders that fed the allocation, the LATEST orders
    first (the earliest orders were placed first and keep their
    goods), the short units before the damaged ones, recorded on their source links
    (`short_quantity`, of which `damaged_quantity`: `_shortage_spread`); the purchase-order
    line's shortage grows only by the short units beyond what the supplier reported for this
    store (its allocation's `reported_short_quantity`, which the line's shortage already
    counts) and its `damaged_quantity` by the damaged units the report does not cover
    (`_found_beyond_report`: each unit counted once); for each paid member order line found
    short, one after-sales case per kind opened by the system
    (`aftersales.shortage_cases_open`): "missing" for the units that did not arrive (a refund
    charged to the supplier by default), "damaged" for those that arrived damaged (the damaged
    policy: a replacement at HQ's cost up to ¥50, a refund at the supplier's above, by
    default). Then the store's member orders of this purchase order whose every supplied line
    has now arrived (`orders_arrived`): those of which nothing arrived
    (`orders_nothing_arrived`: every unit short or damaged) are cancelled as not delivered
    (`pickup.orders_not_delivered_cancel`: stock given back per the ledger, the member told
    once), the others are handed to pickup as ready (`pickup.fulfilments_ready`). Each other
    member order that came short gets one `order_short` notification on the member's channel
    (`_short_notify`), which says what was not delivered and what was damaged in delivery,
    and that their compensation is being arranged when a case was opened for them. What the
    orders still waiting for these goods took from stock for their short units goes back on
    the shelf (`_short_stock_return`): they hand over only what came.
    """
    with transaction.atomic():
        # The purchase order's row lock, which the supplier's shortage report holds: a receipt
        # is recorded either before a report (which is then refused) or after it, on the
        # allocations the report left, never in the middle of one. (No-key: it does not wait
        # for nor block what only references the order.)
        status = (
            PurchaseOrder.objects.select_for_update(no_key=True)
            .filter(pk=purchase_order.pk)
            .values_list("status", flat=True)
            .first()
        )
        if status not in RECEIVABLE_STATUSES:
            raise ReceiptRefused(
                "not_receivable",
                _("Only a confirmed or shipped purchase order can be received."),
            )
        _fed_orders_lock(purchase_order=purchase_order, store=store)
        allocations = {
            allocation.pk: allocation
            for allocation in shelf_quantities_attach(
                PurchaseOrderAllocation.objects.filter(
                    line__purchase_order=purchase_order, store=store
                ).select_related("line__product")
            )
        }
        _validated(allocations=allocations, lines=lines)
        # The store's stock rows of these products, in product order (the ledger's order, as
        # an order's lines take them), before the moves below go allocation by allocation.
        list(
            StockLevel.objects.select_for_update()
            .filter(
                store=store,
                product_id__in={allocation.line.product_id for allocation in allocations.values()},
            )
            .order_by("product_id")
            .values_list("pk", flat=True)
        )
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
        # Per purchase-order line, the units that did not arrive and those that arrived
        # damaged: both leave the member orders short, each kind with its own case.
        bad = {
            allocation.line_id: (lines[pk][1], lines[pk][2])
            for pk, allocation in allocations.items()
            if lines[pk][1] + lines[pk][2] > 0
        }
        # The shelf units count with the store's units no member order asks for: they are
        # short first, so a shortage within them changes no member order.
        allocated = {
            allocation.line_id: allocation.receipt_quantity for allocation in allocations.values()
        }
        spread = _shortage_spread(store=store, bad=bad, allocated=allocated)
        _line_shortage_add(
            found={
                allocation.line_id: _found_beyond_report(
                    short=lines[pk][1],
                    damaged=lines[pk][2],
                    reported=allocation.reported_short_quantity,
                )
                for pk, allocation in allocations.items()
            }
        )
        # Before the not-delivered cancellation below: their orders are still paid, and what
        # was paid for goods that did not come (or came damaged) is to be refunded too (the
        # not-delivered notice promises it).
        compensation = shortage_cases_open(
            receipt=receipt,
            short_units=spread.missing_by_line,
            damaged_units=spread.damaged_by_line,
        )
        order_ids = sorted(
            set(
                PurchaseOrderSource.objects.filter(
                    line__purchase_order=purchase_order,
                    order_line__order__store=store,
                    cancelled_at__isnull=True,
                )
                .exclude(order_line__order__status__in=Order.SETTLED_STATUSES)
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
                for order_id, items in spread.by_order.items()
                if order_id not in cancelled
            },
            compensation=compensation,
        )
        # The orders still waiting for these goods hand over only what came: what they took
        # from stock for the units that will not come goes back on the shelf now (an order
        # cancelled as not delivered got everything back above).
        _short_stock_return(
            store=store,
            purchase_order=purchase_order,
            short_by_line={
                line_id: units
                for line_id, units in spread.short_by_line.items()
                if spread.order_of_line[line_id] not in cancelled
            },
            by=by,
        )
        ready = [order_id for order_id in complete if order_id not in nothing_arrived]
        if ready:
            pickup.fulfilments_ready(store_id=store.pk, order_ids=ready, by=by)
    return receipt


def _fed_orders_lock(*, purchase_order: PurchaseOrder, store: Store) -> None:
    """Lock the orders a receipt may change — the store's paid member orders with a live
    source link on this purchase order (made ready, or cancelled as not delivered) — then
    their fulfilments, each in primary-key order: after the purchase order's lock and before
    the source links and stock rows (docs/purchasing.md, "Lock order"). Orders already ready
    or collected are not changed by a receipt and are not locked (the pickup counter hands
    them over meanwhile). The purchase order's lock keeps the set of links still: whoever
    adds or cancels one holds it."""
    fed = PurchaseOrderSource.objects.filter(
        line__purchase_order=purchase_order, cancelled_at__isnull=True
    ).values("order_line__order_id")
    order_ids = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=fed, store=store, status=Order.Status.PAID)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        OrderFulfilment.objects.select_for_update()
        .filter(order_id__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class ShortageSpread:
    """What a receipt's shortage did to the store's member orders.

    `by_order`: per affected order, (product name, units not delivered, units damaged) per
    line it came short; per affected order line, `missing_by_line` (units that did not
    arrive), `damaged_by_line` (units that arrived damaged), `short_by_line` (both) and
    `order_of_line` (its order)."""

    by_order: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)
    missing_by_line: dict[int, int] = field(default_factory=dict)
    damaged_by_line: dict[int, int] = field(default_factory=dict)
    short_by_line: dict[int, int] = field(default_factory=dict)
    order_of_line: dict[int, int] = field(default_factory=dict)


def _found_beyond_report(*, short: int, damaged: int, reported: int) -> tuple[int, int]:
    """(units short, units damaged) of one allocation that the purchase-order line does not
    count yet. The line's shortage already counts what the supplier reported short for the
    store, so the short units beyond the report are new; should fewer be short than reported
    (the supplier sent some after all and they came damaged), the report covers those damaged
    units first. Each unit is counted once: the two add up to max(0, short + damaged −
    reported)."""
    reported_left = max(0, reported - short)
    return max(0, short - reported), max(0, damaged - reported_left)


def _line_shortage_add(*, found: Mapping[int, tuple[int, int]]) -> None:
    """Add to each purchase-order line the units short and damaged that receiving found
    beyond the supplier's report, each bounded by what is ordered (the line's constraints),
    should the supplier have changed its report after another store received."""
    for line_id, (short, damaged) in sorted(found.items()):
        changes = {}
        if short > 0:
            grown = Least(F("shortage_quantity") + short, F("ordered_quantity"))
            changes["shortage_quantity"] = grown
            # Kept apart as found at receiving (the row's old values on both sides): the
            # shelf units follow the supplier's report only (`selectors.shelf`).
            changes["receiving_short_quantity"] = (
                F("receiving_short_quantity") + grown - F("shortage_quantity")
            )
        if damaged > 0:
            changes["damaged_quantity"] = Least(
                F("damaged_quantity") + damaged, F("ordered_quantity")
            )
        if changes:
            PurchaseOrderLine.objects.filter(pk=line_id).update(**changes)


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
    bad: dict[int, tuple[int, int]],
    allocated: dict[int, int],
) -> ShortageSpread:
    """Spread each purchase-order line's (short, damaged) units over the store's member order
    lines it was bought for. The store's units no waiting order accounts for (`allocated`,
    per line, beyond what its live member order lines ask: an order cancelled after the
    supplier confirmed) are missing first, as nobody waits for them; then the latest order
    first (placed time, then order id, newest first), each line bearing at most what it
    asked for. Of a line's bad units the short ones are spread first, then the damaged ones
    (so the latest orders bear the units that did not come, the next ones the damaged
    units). Each source link's `short_quantity` grows by both, its `damaged_quantity` by
    the damaged ones."""
    spread = ShortageSpread()
    if not bad:
        return spread
    sources = list(
        PurchaseOrderSource.objects.select_for_update(of=("self",))
        .filter(
            line_id__in=list(bad),
            order_line__order__store=store,
            cancelled_at__isnull=True,
        )
        .exclude(order_line__order__status__in=Order.SETTLED_STATUSES)
        .select_related("order_line__order", "order_line__product")
        .order_by("pk")
    )
    by_line: dict[int, list[PurchaseOrderSource]] = defaultdict(list)
    for source in sources:
        by_line[source.line_id].append(source)
    touched: list[PurchaseOrderSource] = []
    by_order: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for line_id, (short, damaged) in sorted(bad.items()):
        asked = sum(source.quantity for source in by_line[line_id])
        unclaimed = min(short + damaged, max(0, allocated.get(line_id, 0) - asked))
        # Nobody waits for the unclaimed units: they absorb short units first, then damaged.
        short_left = short - min(short, unclaimed)
        damaged_left = damaged - (unclaimed - min(short, unclaimed))
        latest_first = sorted(
            by_line[line_id],
            key=lambda source: (source.order_line.order.placed_at, source.order_line.order_id),
            reverse=True,
        )
        for source in latest_first:
            if short_left + damaged_left == 0:
                break
            room = source.quantity - source.short_quantity
            take_short = min(short_left, max(0, room))
            take_damaged = min(damaged_left, max(0, room - take_short))
            if take_short + take_damaged == 0:
                continue
            short_left -= take_short
            damaged_left -= take_damaged
            source.short_quantity += take_short + take_damaged
            source.damaged_quantity += take_damaged
            touched.append(source)
            order_line = source.order_line
            spread.order_of_line[order_line.pk] = order_line.order_id
            spread.short_by_line[order_line.pk] = (
                spread.short_by_line.get(order_line.pk, 0) + take_short + take_damaged
            )
            if take_short:
                spread.missing_by_line[order_line.pk] = (
                    spread.missing_by_line.get(order_line.pk, 0) + take_short
                )
            if take_damaged:
                spread.damaged_by_line[order_line.pk] = (
                    spread.damaged_by_line.get(order_line.pk, 0) + take_damaged
                )
            by_order[order_line.order_id].append(
                (order_line.product.name, take_short, take_damaged)
            )
    PurchaseOrderSource.objects.bulk_update(touched, ["short_quantity", "damaged_quantity"])
    spread.by_order = dict(by_order)
    return spread


def _short_stock_return(
    *,
    store: Store,
    purchase_order: PurchaseOrder,
    short_by_line: Mapping[int, int],
    by: AbstractBaseUser | None,
) -> None:
    """Give back to stock what the member orders still waiting for this delivery took for
    the units that came short (missing or damaged): they will hand over only what came
    (`order_line_units_arrived`), so without this the shelf's on-hand would stay low by the
    short units after pickup. Per order and product, at most what the order still holds
    (`orders_stock_taken`: its `sale` less its `return` movements, one query): a
    pre-order took nothing yet (it takes what arrived when it becomes ready), an order that
    took nothing gets nothing. Only orders still paid and waiting (fulfilment waiting or not
    opened): an order already ready (marked ready from the shelf), collected or cancelled is
    left alone. One `return` movement per (order, product), in that order, noted with the
    purchase order."""
    if not short_by_line:
        return
    lines = list(
        OrderLine.objects.filter(
            pk__in=list(short_by_line),
            order__store=store,
            order__status=Order.Status.PAID,
        )
        # An order whose fulfilment is past waiting has its goods already (marked ready from
        # the shelf), was handed over or cancelled: the shortage gives its stock back no more.
        .exclude(order__fulfilment_record__status__in=pickup.NOT_WAITING_STATUSES)
        .select_related("order", "product")
        .order_by("order_id", "product_id", "pk")
    )
    if not lines:
        return
    held = orders_stock_taken(order_ids={line.order_id for line in lines})
    owed: dict[tuple[int, int], int] = {}
    for line in lines:
        key = (line.order_id, line.product_id)
        units = min(short_by_line[line.pk], held.get(key, 0) - owed.get(key, 0))
        if units > 0:
            owed[key] = owed.get(key, 0) + units
    user = by if by is not None and by.is_authenticated else None
    products = {line.product_id: line.product for line in lines}
    orders = {line.order_id: line.order for line in lines}
    for (order_id, product_id), units in sorted(owed.items()):
        stock_move(
            store=store,
            product=products[product_id],
            kind=StockMovement.Kind.RETURN,
            quantity=units,
            order=orders[order_id],
            note=_("Short at receiving of %(purchase_order)s: order %(order)d")
            % {"purchase_order": purchase_order.number, "order": order_id},
            by=user,
        )


def _short_notify(
    *,
    receipt: Receipt,
    store: Store,
    short_by_order: dict[int, list[tuple[str, int, int]]],
    compensation: Mapping[int, Mapping[str, ShortageCompensation]],
) -> None:
    """One `order_short` notification per member order that came short (guests and erased
    members get none), on the member's channel (SMS or WeChat, `pickup.member_channels`),
    with the dispatcher enqueued on commit (`pickup.members_notify`). It says which units
    were not delivered and which were damaged in delivery, and, when receiving opened
    after-sales cases for them (`compensation`, per kind), that their refund (or the remedy
    the policy proposes) is being arranged: one message."""
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
                compensation=compensation.get(order_id, {}),
            )
            for order_id, items in sorted(short_by_order.items())
            if order_id in members
        ]
    pickup.members_notify(drafts=drafts)


def _listed(items: list[tuple[str, int]]) -> str:
    return pgettext("list separator", ", ").join(
        _("%(product)s × %(units)d") % {"product": name, "units": units} for name, units in items
    )


def _compensation_sentence(*, kind: str, compensation: ShortageCompensation | None) -> str:
    if compensation is None:
        return ""
    if compensation.remedy == Remedy.REFUND and kind == CaseKind.DAMAGED:
        return _(
            "A refund of %(amount)s yuan for them is being arranged: you do not pay for "
            "damaged goods."
        ) % {"amount": compensation.amount}
    if compensation.remedy == Remedy.REFUND:
        return _(
            "A refund of %(amount)s yuan for them is being arranged: you do not pay for what "
            "did not come."
        ) % {"amount": compensation.amount}
    if compensation.remedy == Remedy.REPLACEMENT:
        return _("A replacement for them is being arranged; the store will contact you.")
    return _("Compensation for them is being arranged; the store will contact you.")


def _short_draft(
    *,
    receipt: Receipt,
    store: Store,
    order_id: int,
    member_id: int,
    channel: str,
    items: list[tuple[str, int, int]],
    compensation: Mapping[str, ShortageCompensation],
) -> NotificationDraft:
    missing = [(name, units) for name, units, _damaged in items if units]
    damaged = [(name, units) for name, _missing, units in items if units]
    where = {"order": order_id, "store": store.name}
    sentences = []
    if missing:
        sentences.append(
            _("Not delivered from your order #%(order)s at %(store)s: %(items)s.")
            % {**where, "items": _listed(missing)}
        )
        sentences.append(
            _compensation_sentence(
                kind=CaseKind.MISSING, compensation=compensation.get(CaseKind.MISSING)
            )
        )
    if damaged:
        sentences.append(
            _("Damaged in delivery, from your order #%(order)s at %(store)s: %(items)s.")
            % {**where, "items": _listed(damaged)}
        )
        sentences.append(
            _compensation_sentence(
                kind=CaseKind.DAMAGED, compensation=compensation.get(CaseKind.DAMAGED)
            )
        )
    if missing and damaged:
        title = _("Part of your order did not arrive or arrived damaged")
    elif damaged:
        title = _("Part of your order arrived damaged")
    else:
        title = _("Part of your order did not arrive")
    payload: dict[str, object] = {
        "order_id": order_id,
        "receipt_id": receipt.pk,
        "short": [{"product": name, "units": units} for name, units in missing],
        "damaged": [{"product": name, "units": units} for name, units in damaged],
    }
    if compensation:
        remedies = {part.remedy for part in compensation.values()}
        payload["compensation"] = {
            "amount": str(sum((part.amount for part in compensation.values()), Decimal("0.00"))),
            "remedy": remedies.pop() if len(remedies) == 1 else "",
        }
        payload["compensation_by_kind"] = {
            kind: {"amount": str(part.amount), "remedy": part.remedy}
            for kind, part in sorted(compensation.items())
        }
    return NotificationDraft(
        dedupe_key=receipt_notification_key(receipt_id=receipt.pk, order_id=order_id),
        kind=SHORT_NOTIFICATION_KIND,
        title=title,
        body=" ".join(sentence for sentence in sentences if sentence),
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
