"""Writes of procurement. Modules: `imports` (supplier and supplier-product CSV imports),
`consolidation` (member orders → purchase orders, cancellations), `purchase_orders` (sending,
the supplier's confirm / ship / shortage, cancelling), `replenishment` (the decision engine's
suggestions → draft purchase orders). docs/purchasing.md has the rules."""

from apps.procurement.services.consolidation import (
    CancellationOutcome,
    consolidation_cutoff,
    order_cancelled_for_supply,
    order_quantity_rounded,
    purchase_orders_consolidate,
)
from apps.procurement.services.imports import supplier_products_import, suppliers_import
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_cancel,
    purchase_order_confirm,
    purchase_order_report_shortage,
    purchase_order_send,
    purchase_order_ship,
)
from apps.procurement.services.replenishment import (
    ReplenishmentResult,
    purchase_order_line_edit,
    purchase_orders_replenish,
)

__all__ = [
    "CancellationOutcome",
    "PurchaseOrderRefused",
    "ReplenishmentResult",
    "consolidation_cutoff",
    "order_cancelled_for_supply",
    "order_quantity_rounded",
    "purchase_order_cancel",
    "purchase_order_confirm",
    "purchase_order_line_edit",
    "purchase_order_report_shortage",
    "purchase_order_send",
    "purchase_order_ship",
    "purchase_orders_consolidate",
    "purchase_orders_replenish",
    "supplier_products_import",
    "suppliers_import",
]
