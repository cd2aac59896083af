"""What the decision engine reads from the parts above it (campaigns, procurement), handed in
by the caller instead of imported: the planned-promotion grid, the preferred suppliers'
terms and what is on order from suppliers; the promotion plan by kind and depth; and the
planned promotions as spans (the suggestion ranker's "promoted" feature).

The interfaces (the nightly task, the commands) pass `apps.catalog.sources.planning_sources()`,
the real readers; `NO_SOURCES`, the default, plans no promotion and knows no supplier, so the
settings' defaults apply (default lead time, packs of 1, minimum order 1), and nothing is on
order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

SUPPLIER_TERMS_COLUMNS = ["product_id", "lead_time_days", "pack_size", "min_order_qty"]
ON_ORDER_COLUMNS = ["store_id", "product_id", "on_order"]


class PromotionGrid(Protocol):
    """Planned promotions per series and day: [len(store_ids), days] from `first_day`, 1.0
    where a planned promotion covers (store_ids[i], product_ids[i]) that day, else 0.0; or None
    (read as zeros) when none does."""

    def __call__(
        self, *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
    ) -> np.ndarray | None: ...


@dataclass(frozen=True)
class PromotionPlan:
    """Planned promotions per series and day, by kind and depth: `kinds` [len(kinds), S, days]
    is 1.0 where a promotion of `kind_names[k]` covers the series that day; `discount` [S, days]
    the deepest planned discount (0.2 = 20 % off; 0 without a price)."""

    kind_names: tuple[str, ...]
    kinds: np.ndarray
    discount: np.ndarray


class PromotionPlanReader(Protocol):
    """Like PromotionGrid, with each promotion's kind and discount; None when none covers
    the series in the window."""

    def __call__(
        self, *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
    ) -> PromotionPlan | None: ...


class PromotionSpansReader(Protocol):
    """Planned promotions as spans: a frame (row, start, end) per promotion covering the series
    (store_ids[row], product_ids[row]) over the day columns [start, end) of the window from
    `first_day`; None when none does."""

    def __call__(
        self, *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
    ) -> pd.DataFrame | None: ...


class SupplierTerms(Protocol):
    """At most one row per product: columns SUPPLIER_TERMS_COLUMNS (lead time, pack size and
    minimum order of its preferred supplier). A product without a row gets the defaults."""

    def __call__(self, *, product_ids: list[int]) -> pd.DataFrame: ...


class OnOrder(Protocol):
    """Units on order from suppliers and not yet delivered, as of `today`: columns
    ON_ORDER_COLUMNS, at most one row per (store, product); a pair without a row has none."""

    def __call__(self, *, product_ids: list[int], today: dt.date) -> pd.DataFrame: ...


def no_on_order(*, product_ids: list[int], today: dt.date) -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in ON_ORDER_COLUMNS}, dtype="int64")


def no_promotion_plan(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> None:
    return None


def no_promotion_spans(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> None:
    return None


@dataclass(frozen=True)
class PlanningSources:
    promotion_grid: PromotionGrid
    supplier_terms: SupplierTerms
    on_order: OnOrder = no_on_order
    promotion_plan: PromotionPlanReader = no_promotion_plan
    promotion_spans: PromotionSpansReader = no_promotion_spans


def no_promotions(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> None:
    return None


def no_supplier_terms(*, product_ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in SUPPLIER_TERMS_COLUMNS}, dtype="int64")


NO_SOURCES = PlanningSources(promotion_grid=no_promotions, supplier_terms=no_supplier_terms)
