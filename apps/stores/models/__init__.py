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
]
