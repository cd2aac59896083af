"""The supplier's reconciliation (对账) of a purchase order once stores have received it: per
line and per store what was allocated, received, short and damaged and when, the amount the
supplier can invoice, the after-sales cases charged to the supplier on the order, and the
supplier's disputes of receipt lines (docs/purchasing.md, "Received").

Pure reads of an `OrderSheet` (`purchase_order_sheet`, which the page and the downloads have
already built) and of the receipts; callers check access first. Each figure has one rule,
here or on the model it reads: what arrived and what was to be shipped on `ReceiptLine`
(`arrived_quantity`, `shipped_quantity`), the amount to invoice on `ReceivedRow`, the
after-sales charges in `selectors.aftersales` (`CHARGED_TO_SUPPLIER`), the dispute window in
`receipt_dispute_deadline`.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Prefetch

from apps.procurement.access import ACT_ON_PURCHASE_ORDERS, SupplierAction
from apps.procurement.models import (
    AfterSalesCase,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    ReceiptDispute,
    ReceiptLine,
)
from apps.procurement.selectors.aftersales import purchase_order_supplier_charges
from apps.procurement.selectors.purchase_orders import OrderSheet, purchase_orders_visible

if TYPE_CHECKING:
    from collections.abc import Iterable

    from apps.stores.access import UserLike

CENT = Decimal("0.01")


def receipt_dispute_deadline(*, received_at: dt.datetime) -> dt.datetime:
    """Until when the supplier may dispute a receipt received at `received_at`: that time plus
    `RECEIPT_DISPUTE_DAYS` days (7 by default). The page offers the form, and the service
    accepts a dispute, up to this instant (included)."""
    return received_at + dt.timedelta(days=settings.RECEIPT_DISPUTE_DAYS)


@dataclass
class ReceivedRow:
    """One store's part of one purchase-order line: its allocation and, once the store
    received, its receipt line (the quantities as the store recorded them), with the
    supplier's disputes of it, newest first."""

    allocation: PurchaseOrderAllocation  # with `store` and `shelf_quantity`
    unit_cost: Decimal
    receipt_line: ReceiptLine | None = None  # with `receipt` and `allocation`
    disputes: list[ReceiptDispute] = field(default_factory=list)
    # the window is open, no dispute of the line is open and the store recorded fewer than shipped
    may_dispute: bool = False

    @property
    def received(self) -> bool:
        return self.receipt_line is not None

    @property
    def allocated(self) -> int:
        """The member orders' units: recorded on the receipt line once received."""
        if self.receipt_line is not None:
            return self.receipt_line.allocated_quantity
        return self.allocation.quantity

    @property
    def shelf(self) -> int:
        """The store's shelf units of the rounding surplus (as they stood when received)."""
        if self.receipt_line is not None:
            return self.receipt_line.shelf_quantity
        return self.allocation.shelf_quantity

    @property
    def received_quantity(self) -> int:
        return self.receipt_line.received_quantity if self.receipt_line else 0

    @property
    def short_quantity(self) -> int:
        return self.receipt_line.short_quantity if self.receipt_line else 0

    @property
    def damaged_quantity(self) -> int:
        return self.receipt_line.damaged_quantity if self.receipt_line else 0

    @property
    def received_at(self) -> dt.datetime | None:
        return self.receipt_line.receipt.received_at if self.receipt_line else None

    @property
    def invoice_amount(self) -> Decimal:
        """What the supplier can invoice for this store's part of the line: the units received
        in good order (damaged units are apart: received + short + damaged = allocated +
        shelf) × unit cost. 0 until the store has received."""
        return (self.received_quantity * self.unit_cost).quantize(CENT)

    @property
    def open_dispute(self) -> ReceiptDispute | None:
        return next(
            (dispute for dispute in self.disputes if dispute.status == ReceiptDispute.Status.OPEN),
            None,
        )


class _ReceivedTotals(ABC):
    """The quantity and amount totals of received parts, one rule for both levels: a
    `ReceivedLine` over its received stores' rows, the `Reconciliation` over its lines."""

    @abstractmethod
    def _parts(self) -> Iterable[ReceivedRow | ReceivedLine]:
        """What the totals add up."""

    def _sum(self, name: str) -> int:
        return sum(getattr(part, name) for part in self._parts())

    @property
    def allocated(self) -> int:
        return self._sum("allocated")

    @property
    def shelf(self) -> int:
        return self._sum("shelf")

    @property
    def received_quantity(self) -> int:
        return self._sum("received_quantity")

    @property
    def short_quantity(self) -> int:
        return self._sum("short_quantity")

    @property
    def damaged_quantity(self) -> int:
        return self._sum("damaged_quantity")

    @property
    def invoice_amount(self) -> Decimal:
        return sum((part.invoice_amount for part in self._parts()), Decimal("0.00"))


@dataclass
class ReceivedLine(_ReceivedTotals):
    line: PurchaseOrderLine  # with `product`
    rows: list[ReceivedRow]

    def _parts(self) -> list[ReceivedRow]:
        return [row for row in self.rows if row.received]


@dataclass
class Reconciliation(_ReceivedTotals):
    """The purchase order as the stores received it. Totals count received stores only;
    `stores_waiting` is how many of the order's stores have not received yet."""

    lines: list[ReceivedLine]
    charges: list[AfterSalesCase]  # charged to the supplier: with `store`, `order_line__product`
    stores_received: int
    stores_waiting: int

    def _parts(self) -> list[ReceivedLine]:
        return self.lines

    @property
    def charged_amount(self) -> Decimal:
        return sum((case.amount for case in self.charges), Decimal("0.00"))

    @property
    def rows(self) -> list[ReceivedRow]:
        return [row for line in self.lines for row in line.rows]


def purchase_order_reconciliation(*, sheet: OrderSheet, now: dt.datetime) -> Reconciliation | None:
    """The reconciliation of the sheet's purchase order, or None while no store has received
    it. Lines in the sheet's order (by SKU), stores by code (those not yet received
    included, without figures); each received row with its disputes and whether a dispute
    may be opened at `now` (`receipt_dispute_deadline`, no open dispute). Three queries:
    the receipt lines, their disputes, the charged cases."""
    allocation_ids = [
        allocation.pk for line in sheet.lines for allocation in line.allocations.all()
    ]
    receipt_lines = {
        receipt_line.allocation_id: receipt_line
        for receipt_line in ReceiptLine.objects.filter(allocation_id__in=allocation_ids)
        .select_related("receipt", "allocation")
        .prefetch_related(
            Prefetch(
                "disputes",
                queryset=ReceiptDispute.objects.order_by("-created_at", "-pk"),
            )
        )
    }
    if not receipt_lines:
        return None
    lines = []
    stores_received: set[int] = set()
    stores_waiting: set[int] = set()
    for line in sheet.lines:
        rows = []
        for allocation in line.allocations.all():
            receipt_line = receipt_lines.get(allocation.pk)
            row = ReceivedRow(allocation=allocation, unit_cost=line.unit_cost)
            if receipt_line is None:
                stores_waiting.add(allocation.store_id)
            else:
                stores_received.add(allocation.store_id)
                row.receipt_line = receipt_line
                row.disputes = list(receipt_line.disputes.all())
                deadline = receipt_dispute_deadline(received_at=receipt_line.receipt.received_at)
                row.may_dispute = (
                    row.open_dispute is None and receipt_line.may_be_disputed and now <= deadline
                )
            rows.append(row)
        lines.append(ReceivedLine(line=line, rows=rows))
    return Reconciliation(
        lines=lines,
        charges=purchase_order_supplier_charges(purchase_order=sheet.purchase_order),
        stores_received=len(stores_received),
        stores_waiting=len(stores_waiting - stores_received),
    )


def receipt_line_for_user(
    *, user: UserLike, pk: int, action: SupplierAction = ACT_ON_PURCHASE_ORDERS
) -> ReceiptLine | None:
    """The receipt line if it is on a purchase order the user may take `action` on
    (`purchase_orders_visible`), with its receipt, purchase order and supplier, allocation
    and product; None otherwise (the caller answers 404, so ids cannot be probed). One
    query."""
    return (
        ReceiptLine.objects.filter(
            pk=pk, receipt__purchase_order__in=purchase_orders_visible(user=user, action=action)
        )
        .select_related(
            "receipt__purchase_order__supplier", "receipt__store", "allocation__line__product"
        )
        .first()
    )


def receipt_disputes_open_count() -> int:
    """How many suppliers' disputes of receipts await HQ's answer (the HQ dashboard's link to
    the admin list). One query."""
    return ReceiptDispute.objects.filter(status=ReceiptDispute.Status.OPEN).count()
