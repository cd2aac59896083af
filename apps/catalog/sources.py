"""The decision engine's composition root: the one module of `apps.catalog` that may import
`apps.campaigns` and `apps.procurement` (the import contract allows it, and only it).

It sits at the interface level: the nightly task and the `decisions_run` / `forecast_backtest`
commands call `planning_sources()` and pass the result down as the services' `sources`
argument. No service imports this module.
"""

from __future__ import annotations

from apps.campaigns.selectors.promotions import promotion_grid, promotion_plan, promotion_spans
from apps.catalog.services.sources import PlanningSources
from apps.procurement.selectors.purchase_orders import on_order_quantities
from apps.procurement.selectors.suppliers import supplier_terms


def planning_sources() -> PlanningSources:
    """The real readers: HQ's planned promotions and broadcasts (with their kind and discount),
    the preferred active
    supplier's lead time, pack size and minimum order, and the open purchase orders' per-store
    allocations (on order)."""
    return PlanningSources(
        promotion_grid=promotion_grid,
        supplier_terms=supplier_terms,
        on_order=on_order_quantities,
        promotion_plan=promotion_plan,
        promotion_spans=promotion_spans,
    )
