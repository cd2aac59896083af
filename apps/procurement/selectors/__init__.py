"""Reads of procurement: suppliers and their terms, purchase orders, and the files suppliers
download. Modules: `suppliers` (supplier pages, the engine's supplier terms), `purchase_orders`
(lists, detail, pick lists), `files` (CSV / XLSX / PDF renderings)."""

from apps.procurement.selectors.suppliers import (
    SUPPLIER_TERMS_COLUMNS,
    supplier_terms,
    suppliers_visible,
)

__all__ = ["SUPPLIER_TERMS_COLUMNS", "supplier_terms", "suppliers_visible"]
