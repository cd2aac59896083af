"""Demo supply at the stores, after purchasing: loss (waste and expiry) for every store over
the last 60 history days, so that the loss page, the loss rates and the KPI snapshots' loss
value have something to show (docs/loss.md).

Set-wise and deterministic (its own random stream, not one of the seeder's nine, so adding it
changed no other part of the demo): the lost units of each store × product and day are drawn
as Poisson counts from the store's recent sales of the product, with a much higher share for
fresh categories; rows go in with `rows_insert`. The demo's opening receipt is the stock held
throughout and each month's restocking covers only what it sold, so the lost units are first
received in one receipt per store × product at the start of the loss window: the ledger's
running balance never goes below zero, and on-hand (the opening stock) stays equal to the
ledger's sum.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from apps.catalog.models import Product
from apps.ops.demo.bulk import rows_insert, timestamps_adapt
from apps.ops.demo.orders import TZ
from apps.stores.models import LossReason, StockMovement, Store
from apps.stores.services.kpis import store_kpi_loss_values_refresh

LOSS_DAYS = 60
RECENT_SALES_DAYS = 14  # what `units_recent` counts (seed.RECENT_DAYS_FOR_STOCK)
# Lost units per unit sold: fresh fruit and dairy lose a few percent, shelf goods almost none.
LOSS_SHARE_FRESH = 0.05
LOSS_SHARE_SHELF = 0.006
REASONS_FRESH = (
    (LossReason.EXPIRED, 0.45),
    (LossReason.SPOILED, 0.40),
    (LossReason.DAMAGED, 0.10),
    (LossReason.OTHER, 0.05),
)
REASONS_SHELF = (
    (LossReason.EXPIRED, 0.50),
    (LossReason.DAMAGED, 0.32),
    (LossReason.THEFT, 0.13),
    (LossReason.OTHER, 0.05),
)
FIRST_HOUR, LAST_HOUR = 8, 21  # losses are counted while the store is open
RECEIPT_NOTE = "演示数据：后来损耗的到货"
STREAM = 4_104  # "loss": the stream of this part, mixed with the demo's seed


def demo_supply_seed(
    *,
    stores: list[Store],
    products: list[Product],
    units_recent: np.ndarray,
    days: list[dt.date],
    seed: int,
) -> dict[str, int]:
    """Write the demo's loss movements (and the receipts they came in with) for the last
    `LOSS_DAYS` of `days`, then the loss value of those days' KPI snapshots; returns row counts.

    `units_recent` holds the units each store sold of each product over the last 14 history
    days (stores × products, in the order of `stores` and `products`). Only active products
    (the ones with stock) lose stock. Deterministic for the same arguments.
    """
    window = days[-LOSS_DAYS:]
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM]))
    active = np.array([product.is_active for product in products])
    fresh = np.array([product.category.is_fresh for product in products])
    share = np.where(fresh, LOSS_SHARE_FRESH, LOSS_SHARE_SHELF)
    daily_loss = units_recent / RECENT_SALES_DAYS * share[None, :] * active[None, :]
    lost = rng.poisson(daily_loss[:, :, None], size=(*daily_loss.shape, len(window)))
    store_index, product_index, day_index = np.nonzero(lost)
    quantity = lost[store_index, product_index, day_index]
    reasons = np.empty(len(quantity), dtype=object)
    for is_fresh, table in ((True, REASONS_FRESH), (False, REASONS_SHELF)):
        picked = fresh[product_index] == is_fresh
        values, weights = zip(*table, strict=True)
        reasons[picked] = rng.choice(np.array(values, dtype=object), picked.sum(), p=weights)
    midnight = np.array(
        [dt.datetime.combine(day, dt.time(), tzinfo=TZ).timestamp() for day in window],
        dtype=np.int64,
    )
    seconds = midnight[day_index] + rng.integers(FIRST_HOUR * 3600, LAST_HOUR * 3600, len(quantity))
    store_ids = np.array([store.pk for store in stores], dtype=np.int64)
    product_ids = np.array([product.pk for product in products], dtype=np.int64)
    loss_rows = zip(
        store_ids[store_index].tolist(),
        product_ids[product_index].tolist(),
        [StockMovement.Kind.LOSS.value] * len(quantity),
        (-quantity).tolist(),
        reasons.tolist(),
        timestamps_adapt(seconds),
        strict=True,
    )
    received = lost.sum(axis=2)
    receipt_store, receipt_product = np.nonzero(received)
    receipt_at = dt.datetime.combine(window[0], dt.time(6), tzinfo=TZ)
    receipt_rows = (
        (
            store_id,
            product_id,
            StockMovement.Kind.RECEIPT.value,
            int(units),
            RECEIPT_NOTE,
            receipt_at,
        )
        for store_id, product_id, units in zip(
            store_ids[receipt_store].tolist(),
            product_ids[receipt_product].tolist(),
            received[receipt_store, receipt_product].tolist(),
            strict=True,
        )
    )
    receipts = rows_insert(
        StockMovement,
        ("store_id", "product_id", "kind", "quantity", "note", "created_at"),
        receipt_rows,
    )
    losses = rows_insert(
        StockMovement,
        ("store_id", "product_id", "kind", "quantity", "reason", "created_at"),
        loss_rows,
        ready=("created_at",),
    )
    store_kpi_loss_values_refresh(first_day=window[0], last_day=window[-1])
    return {"loss movements": losses, "receipts of lost goods": receipts}
