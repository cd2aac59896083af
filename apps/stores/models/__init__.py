from __future__ import annotations

from apps.stores.models.core import (
    IMPORTED_ORDER_KEY_PREFIX,
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
from apps.stores.models.inspections import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    RectificationItem,
)

__all__ = [
    "IMPORTED_ORDER_KEY_PREFIX",
    "ChecklistItem",
    "ChecklistTemplate",
    "Inspection",
    "InspectionItemResult",
    "InspectionPhoto",
    "RectificationItem",
    "Order",
    "OrderLine",
    "Region",
    "StockLevel",
    "StockMovement",
    "Store",
    "StoreKpiSnapshot",
    "StoreStaff",
    "StoreTerminal",
]
