from __future__ import annotations

from apps.stores.models.core import (
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

__all__ = [
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
