from __future__ import annotations

from apps.procurement.models.aftersales import (
    AfterSalesCase,
    AfterSalesPhoto,
    CaseKind,
    ChargedTo,
    CompensationPolicy,
    Remedy,
)
from apps.procurement.models.core import (
    ConsolidationRun,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Supplier,
    SupplierProduct,
    SupplierUser,
)
from apps.procurement.models.delivery import (
    DeliveryPlan,
    DeliveryStop,
    Receipt,
    ReceiptDispute,
    ReceiptLine,
)

__all__ = [
    "AfterSalesCase",
    "AfterSalesPhoto",
    "CaseKind",
    "ChargedTo",
    "CompensationPolicy",
    "ConsolidationRun",
    "DeliveryPlan",
    "DeliveryStop",
    "PurchaseOrder",
    "PurchaseOrderAllocation",
    "PurchaseOrderException",
    "PurchaseOrderLine",
    "PurchaseOrderSource",
    "Receipt",
    "ReceiptDispute",
    "ReceiptLine",
    "Remedy",
    "Supplier",
    "SupplierProduct",
    "SupplierUser",
]
