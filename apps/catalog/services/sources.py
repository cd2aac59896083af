"""What the decision engine reads from the parts above it (campaigns, procurement), handed in
by the caller instead of imported: the planned-promotion grid and the preferred suppliers'
terms.

The interfaces (the nightly task, the commands) pass `apps.catalog.sources.planning_sources()`,
the real readers; `NO_SOURCES`, the default, plans no promotion and knows no supplier, so the
settings' defaults apply (default lead time, packs of 1, minimum order 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

SUPPLIER_TERMS_COLUMNS = ["product_id", "lead_time_days", "pack_size", "min_order_qty"]


class PromotionGrid(Protocol):
    """Planned promotions per series and day: [len(store_ids), days] from `first_day`, 1.0
    where a planned promotion covers (store_ids[i], product_ids[i]) that day, else 0.0; or None
    (read as zeros) when none does."""

    def __call__(
        self, *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
    ) -> np.ndarray | None: ...


class SupplierTerms(Protocol):
    """At most one row per product: columns SUPPLIER_TERMS_COLUMNS (lead time, pack size and
    minimum order of its preferred supplier). A product without a row gets the defaults."""

    def __call__(self, *, product_ids: list[int]) -> pd.DataFrame: ...


@dataclass(frozen=True)
class PlanningSources:
    promotion_grid: PromotionGrid
    supplier_terms: SupplierTerms


def no_promotions(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> None:
    return None


def no_supplier_terms(*, product_ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in SUPPLIER_TERMS_COLUMNS}, dtype="int64")


NO_SOURCES = PlanningSources(promotion_grid=no_promotions, supplier_terms=no_supplier_terms)
