"""Reads for campaigns: planned promotions (notifications: `notifications.selectors`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from django.db.models import Q

from apps.campaigns.models import Promotion
from apps.catalog.models import Category, Product
from apps.catalog.services.sources import PromotionPlan
from apps.stores.models import Store

if TYPE_CHECKING:
    pass


PROMOTION_COLUMNS = [
    "promotion_id",
    "kind",
    "discount_percent",
    "product_id",
    "category_id",
    "region_id",
    "starts_on",
    "ends_on",
]


UPCOMING_DAYS = 7  # the owner's view of HQ's plan: today and the six days after
UPCOMING_SHOWN = 50


def store_promotions_upcoming(
    *, store: Store, first_day: dt.date, days: int = UPCOMING_DAYS, limit: int = UPCOMING_SHOWN
) -> tuple[list[Promotion], int]:
    """The planned promotions and broadcasts in which `store` takes part on any day of
    `first_day` … `first_day + days − 1` (listed for it, for its region, or for the whole
    network; cancelled ones left out), soonest first: at most `limit` of them, and how many
    there are."""
    last_day = first_day + dt.timedelta(days=days - 1)
    scope = Q(stores=store) | Q(stores__isnull=True, region__isnull=True)
    if store.region_id is not None:
        scope |= Q(region_id=store.region_id)
    covering = Promotion.objects.filter(
        Q(status=Promotion.Status.PLANNED, starts_on__lte=last_day, ends_on__gte=first_day) & scope
    ).values("pk")
    promotions = Promotion.objects.filter(pk__in=covering)
    shown = list(
        promotions.select_related("product", "category").order_by("starts_on", "kind", "pk")[:limit]
    )
    return shown, promotions.count()


def promotion_grid(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> np.ndarray | None:
    """Which series are on promotion on which day: for the series (store_ids[i],
    product_ids[i]) a float array [len, days] with 1.0 on day `first_day + d` where a planned
    promotion or broadcast covers that store, product and day, else 0.0.

    A promotion covers its product, or every product of its category and the categories below
    it; and the stores listed, every store of its region, or (with neither) the whole network.
    Cancelled promotions are ignored.

    Returns None when no planned promotion touches the window, or none covers these series
    (read as all zeros). At most five queries, whatever the number of series.
    """
    pairs = _covering_pairs(
        store_ids=store_ids, product_ids=product_ids, first_day=first_day, days=days
    )
    if pairs is None:
        return None
    return (_mark_days(pairs, len(store_ids), days) > 0).astype(np.float64)


def promotion_plan(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> PromotionPlan | None:
    """`promotion_grid` with each promotion's kind and depth: a PromotionPlan whose `kinds`
    [4, len, days] marks the days each kind (Promotion.Kind: price, feature, broadcast,
    group_buy, in that order) covers, and `discount` [len, days] the deepest planned discount
    (discount_percent / 100; 0 where none names one). None when nothing covers the series."""
    pairs = _covering_pairs(
        store_ids=store_ids, product_ids=product_ids, first_day=first_day, days=days
    )
    if pairs is None:
        return None
    names = tuple(Promotion.Kind.values)
    count = len(store_ids)
    kinds = np.stack(
        [_mark_days(pairs[pairs["kind"] == kind], count, days) > 0 for kind in names]
    ).astype(np.float64)
    discount = np.zeros((count, days))
    priced = pairs[pairs["discount_percent"].notna()]
    for row, start, end, percent in priced[["row", "start", "end", "discount_percent"]].itertuples(
        index=False, name=None
    ):
        span = discount[int(row), int(start) : int(end)]
        np.maximum(span, float(percent) / 100, out=span)
    return PromotionPlan(kind_names=names, kinds=kinds, discount=discount)


def promotion_spans(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> pd.DataFrame | None:
    """`promotion_grid` as spans: a row (`row`, `start`, `end`) for each planned promotion or
    broadcast covering the series (store_ids[row], product_ids[row]), over the day columns
    [start, end) of the window from `first_day` (clipped to it). None when none covers the
    series. Memory grows with the promotions, not with series × days."""
    pairs = _covering_pairs(
        store_ids=store_ids, product_ids=product_ids, first_day=first_day, days=days
    )
    if pairs is None:
        return None
    return pairs[["row", "start", "end"]].astype("int64").reset_index(drop=True)


# The kinds whose discount is the price anyone pays that day: a price promotion, and a live
# broadcast's price. A group-buy promotion's price is its offer's, for the members who join it.
SHELF_PRICE_KINDS = (Promotion.Kind.PRICE, Promotion.Kind.BROADCAST)


def store_discounts_on(*, store_id: int, product_ids: list[int], day: dt.date) -> dict[int, int]:
    """{product id: per cent off} for the products a planned price promotion or broadcast
    (`SHELF_PRICE_KINDS`, with a discount) covers at this store on `day` — the deepest one when
    several do; a product without one is left out. Coverage is `promotion_grid`'s (product or
    category below, listed stores, region, network; cancelled ones ignored). At most five
    queries, whatever the number of products."""
    if not product_ids:
        return {}
    pairs = _covering_pairs(
        store_ids=np.full(len(product_ids), store_id, dtype=np.int64),
        product_ids=np.asarray(product_ids, dtype=np.int64),
        first_day=day,
        days=1,
    )
    if pairs is None:
        return {}
    priced = pairs[pairs["kind"].isin(SHELF_PRICE_KINDS) & pairs["discount_percent"].notna()]
    discounts: dict[int, int] = {}
    for row, percent in priced[["row", "discount_percent"]].itertuples(index=False, name=None):
        product_id = product_ids[int(row)]
        discounts[product_id] = max(discounts.get(product_id, 0), int(percent))
    return discounts


def _mark_days(pairs: pd.DataFrame, count: int, days: int) -> np.ndarray:
    """How many of the (series, promotion) pairs cover each series and day [count, days]:
    +1 at each start, −1 after each end, and a running sum along the days."""
    rows = pairs["row"].to_numpy(dtype=np.int64)
    marks = np.zeros((count, days + 1), dtype=np.int32)
    np.add.at(marks, (rows, pairs["start"].to_numpy(dtype=np.int64)), 1)
    np.add.at(marks, (rows, pairs["end"].to_numpy(dtype=np.int64)), -1)
    return np.cumsum(marks, axis=1)[:, :days]


def _covering_pairs(
    *, store_ids: np.ndarray, product_ids: np.ndarray, first_day: dt.date, days: int
) -> pd.DataFrame | None:
    """(series row, promotion, kind, discount, first and end day column) for every planned
    promotion covering a series in the window; None when there is none."""
    store_ids = np.asarray(store_ids, dtype=np.int64)
    product_ids = np.asarray(product_ids, dtype=np.int64)
    if days <= 0 or store_ids.size == 0:
        return None
    last_day = first_day + dt.timedelta(days=days - 1)
    promotions = pd.DataFrame.from_records(
        list(
            Promotion.objects.filter(
                status=Promotion.Status.PLANNED, starts_on__lte=last_day, ends_on__gte=first_day
            ).values_list(
                "pk",
                "kind",
                "discount_percent",
                "product_id",
                "category_id",
                "region_id",
                "starts_on",
                "ends_on",
            )
        ),
        columns=PROMOTION_COLUMNS,
    )
    if promotions.empty:
        return None
    # Day columns of the window, [start, end): a promotion's days clipped to the window.
    promotions["start"] = [max((day - first_day).days, 0) for day in promotions["starts_on"]]
    promotions["end"] = [min((day - first_day).days + 1, days) for day in promotions["ends_on"]]
    promotions = promotions.drop(columns=["starts_on", "ends_on"])
    series = pd.DataFrame({"row": np.arange(store_ids.size), "product_id": product_ids})
    series["store_id"] = store_ids
    by_product = promotions[promotions["product_id"].notna()]
    by_category = promotions[promotions["category_id"].notna()]
    parts = []
    if len(by_product):
        parts.append(
            series.merge(
                by_product.drop(columns="category_id").astype({"product_id": "int64"}),
                on="product_id",
            )
        )
    if len(by_category):
        parts.append(_category_pairs(series, by_category))
    pairs = _in_scope(pd.concat(parts, ignore_index=True))
    if pairs.empty:
        return None
    return pairs


def _category_pairs(series: pd.DataFrame, promotions: pd.DataFrame) -> pd.DataFrame:
    """(series, promotion) pairs where the series' product sits in the promotion's category or
    a category below it."""
    product_category = dict(
        Product.objects.filter(pk__in=np.unique(series["product_id"]).tolist()).values_list(
            "pk", "category_id"
        )
    )
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    ancestry = pd.DataFrame(
        [
            (category_id, ancestor)
            for category_id in set(product_category.values())
            for ancestor in _ancestors_and_self(category_id, parents)
        ],
        columns=["own_category_id", "category_id"],
    )
    series = series.assign(own_category_id=series["product_id"].map(product_category))
    series = series.dropna(subset=["own_category_id"]).astype({"own_category_id": "int64"})
    covered = series.merge(ancestry, on="own_category_id").merge(
        promotions.drop(columns="product_id").astype({"category_id": "int64"}), on="category_id"
    )
    return covered.drop(columns=["own_category_id", "category_id"])


def _ancestors_and_self(category_id: int, parents: dict[int, int | None]) -> list[int]:
    chain = [category_id]
    parent = parents.get(category_id)
    while parent is not None and parent not in chain:  # a cycle in bad data ends the walk
        chain.append(parent)
        parent = parents.get(parent)
    return chain


def _in_scope(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs whose store takes part: listed, in the promotion's region, or the promotion
    names neither (the whole network)."""
    if pairs.empty:
        return pairs
    promotion_ids = np.unique(pairs["promotion_id"]).tolist()
    listed = pd.DataFrame.from_records(
        list(
            Promotion.stores.through.objects.filter(promotion_id__in=promotion_ids).values_list(
                "promotion_id", "store_id"
            )
        ),
        columns=["promotion_id", "store_id"],
    )
    has_list = pairs["promotion_id"].isin(listed["promotion_id"]).to_numpy()
    has_region = pairs["region_id"].notna().to_numpy()
    in_list = (
        pd.MultiIndex.from_frame(pairs[["promotion_id", "store_id"]].astype("int64")).isin(
            pd.MultiIndex.from_frame(listed.astype("int64"))
        )
        if len(listed)
        else np.zeros(len(pairs), dtype=bool)
    )
    in_region = np.zeros(len(pairs), dtype=bool)
    if has_region.any():
        region_of = dict(
            Store.objects.filter(pk__in=np.unique(pairs["store_id"]).tolist()).values_list(
                "pk", "region_id"
            )
        )
        store_region = pairs["store_id"].map(region_of).to_numpy(dtype=np.float64)
        in_region = has_region & (store_region == pairs["region_id"].to_numpy(dtype=np.float64))
    network = ~has_list & ~has_region
    return pairs[network | in_list | in_region]
