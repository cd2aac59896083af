"""The campaigns' composition root: the one module of `apps.campaigns` that may import
`apps.procurement` (the import contract allows it, and only it; procurement imports campaigns'
notifications, so campaigns' services may not import procurement back).

It sits at the interface level: the portal views (confirm, make a missing pack) and the admin's
"regenerate" action call `pack_sources()`, the settlement task (and the demo) call
`settle_sources()`, the review pages, downloads and admin actions call `review_sources()`,
and pass the result down as the services' and selectors' `sources` argument. No service
imports this module.
"""

from __future__ import annotations

import datetime as dt

from apps.campaigns.selectors.reviews import ReviewSources
from apps.campaigns.services.group_buys import SettleSources
from apps.campaigns.services.packs import PackSources
from apps.procurement.selectors.aftersales import refunds_by_order
from apps.procurement.selectors.receiving import orders_units_short
from apps.procurement.selectors.suppliers import supply_delivery_date
from apps.procurement.services.pickup import fulfilments_ready

# The broadcast page's join list shows what came short of each join's order at receiving
# (docs/group-buys.md): the view reads it here and passes it down.
__all__ = ["orders_units_short", "pack_sources", "review_sources", "settle_sources"]


def pack_sources() -> PackSources:
    """The real readers: the delivery date consolidation gives the campaign's products
    (the 接龙 copy's pickup day)."""
    return PackSources(supply_date=supply_delivery_date)


def _orders_ready(*, store_id: int, order_ids: list[int], now: dt.datetime) -> int:
    return fulfilments_ready(store_id=store_id, order_ids=order_ids, by=None, now=now)


def settle_sources() -> SettleSources:
    """The real readiness: a formed offer that sold from stock has its orders marked ready
    at settlement by the pickup service (fulfilments ready, each member told the pickup code
    once), so consolidation, which takes paid orders only, does not buy them again."""
    return SettleSources(orders_ready=_orders_ready)


def review_sources() -> ReviewSources:
    """The real refunds: procurement's `refunds_by_order`, the refunds given (approved or
    resolved after-sales cases with a refund as remedy) as the KPI pack's GMV counts them, so
    a review's "sold after refunds" and GMV take off the same refunds."""
    return ReviewSources(refunds=refunds_by_order)
