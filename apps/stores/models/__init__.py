from __future__ import annotations

from apps.stores.inspections.models import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    InspectionSave,
    RectificationItem,
)
from apps.stores.models.core import (
    IMPORTED_ORDER_KEY_PREFIX,
    LossBatch,
    LossReason,
    Order,
    OrderLine,
    Region,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
    StoreStaff,
    StoreTerminal,
)
from apps.stores.models.fulfilment import OrderFulfilment
from apps.stores.models.kpis import KpiSnapshot

__all__ = [
    "IMPORTED_ORDER_KEY_PREFIX",
    "ChecklistItem",
    "ChecklistTemplate",
    "Inspection",
    "InspectionItemResult",
    "InspectionPhoto",
    "InspectionSave",
    "KpiSnapshot",
    "RectificationItem",
    "LossBatch",
    "LossReason",
    "Order",
    "OrderFulfilment",
    "OrderLine",
    "Region",
    "StockLevel",
    "StockMovement",
    "Store",
    "StoreKpiSnapshot",
    "StoreStaff",
    "StoreTerminal",
]
