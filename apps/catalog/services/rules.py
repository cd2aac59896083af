"""Co-purchase rules: read baskets set-wise, compute on a sparse matrix, store set-wise."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from django.db import transaction
from django.utils import timezone

from apps.catalog.analytics.rules import (
    BasketMatrix,
    RuleTable,
    basket_matrix_build,
    member_counts,
    rules_from_matrix,
    wilson_lower_bound,
    with_categories,
)
from apps.catalog.models import CoPurchaseRule, DecisionSettings, Product, RuleRun, RuleScope
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.frames import frame_insert, int_column, queryset_frame
from apps.stores.models import Store
from apps.stores.selectors import basket_lines_between

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Baskets:
    """All baskets of a window, as one matrix with rows sorted by store (so a store's or a
    region's baskets are row slices) plus each row's store. `items` holds the matrix's column
    keys (product ids, then −category ids) and `parent` each column's category column."""

    baskets: BasketMatrix
    row_store: np.ndarray
    window_start: dt.datetime
    window_end: dt.datetime
    matrix: sp.csr_matrix | None = None
    items: np.ndarray | None = None
    parent: np.ndarray | None = None
    row_member: np.ndarray | None = None  # each row's member, −1 for an anonymous basket


def baskets_load(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> Baskets:
    """Read the counted order lines of [start, end) in one set-wise query."""
    frame = queryset_frame(
        basket_lines_between(start=start, end=end, store_ids=store_ids),
        ["order_id", "store_id", "member_id", "product_id"],
    )
    order_ids = int_column(frame, "order_id").to_numpy()
    product_ids = int_column(frame, "product_id").to_numpy()
    store_of_line = int_column(frame, "store_id").to_numpy()
    # Order ids grow over time but not by store: renumber baskets so that rows are grouped by
    # store, then by order id.
    key = store_of_line.astype(np.int64) * (1 << 40) + order_ids.astype(np.int64)
    baskets = basket_matrix_build(key, product_ids)
    _, first_line = np.unique(key, return_index=True)
    row_member = int_column(frame, "member_id").to_numpy()[first_line]
    row_store = (baskets.basket_ids >> 40).astype(np.int64)
    real_ids = baskets.basket_ids & ((1 << 40) - 1)
    baskets = BasketMatrix(
        matrix=baskets.matrix, basket_ids=real_ids, product_ids=baskets.product_ids
    )
    product_category = dict(
        Product.objects.filter(pk__in=baskets.product_ids.tolist()).values_list("pk", "category_id")
    )
    matrix, items, parent = with_categories(baskets, product_category)
    return Baskets(
        baskets=baskets,
        row_store=row_store,
        window_start=start,
        window_end=end,
        matrix=matrix,
        items=items,
        parent=parent,
        row_member=row_member,
    )


def _rules_for_rows(
    rows: np.ndarray | slice, baskets: Baskets, settings: DecisionSettings
) -> RuleTable:
    matrix = baskets.matrix[rows]
    table = rules_from_matrix(
        matrix,
        baskets.items,
        min_support=settings.rules_min_support,
        min_confidence=settings.rules_min_confidence,
        min_pair_count=settings.rules_min_pair_count,
        max_rules_per_antecedent=settings.rules_per_product,
        parent=baskets.parent,
    )
    if baskets.row_member is None or len(table) == 0:
        return table
    # Which members carry each rule (evidence for owners): columns of the rules' items.
    order = np.argsort(baskets.items)
    column_of = lambda items: order[np.searchsorted(baskets.items, items, sorter=order)]  # noqa: E731
    both, holding = member_counts(
        matrix,
        baskets.row_member[rows],
        column_of(table.antecedent),
        column_of(table.consequent),
    )
    return dataclasses.replace(table, member_pair_count=both, antecedent_member_count=holding)


def co_purchase_rules_store(
    *,
    table: RuleTable,
    scope: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    settings: DecisionSettings,
    region_id: int | None = None,
    store_id: int | None = None,
    product_count: int = 0,
    duration_ms: int = 0,
) -> RuleRun:
    """Replace the rules of one scope with `table`, recording a RuleRun (in one transaction:
    readers see the old rules or the new ones, never a mix)."""
    with transaction.atomic():
        run = RuleRun.objects.create(
            scope=scope,
            region_id=region_id,
            store_id=store_id,
            window_start=window_start,
            window_end=window_end,
            min_support=settings.rules_min_support,
            min_confidence=settings.rules_min_confidence,
            min_pair_count=settings.rules_min_pair_count,
            basket_count=table.basket_count,
            product_count=product_count,
            rule_count=len(table),
            duration_ms=duration_ms,
        )
        CoPurchaseRule.objects.filter(scope=scope, region_id=region_id, store_id=store_id).exclude(
            run=run
        ).delete()
        none = np.zeros(len(table), dtype=np.int64)
        members = none if table.member_pair_count is None else table.member_pair_count
        members_a = none if table.antecedent_member_count is None else table.antecedent_member_count
        items_a = table.antecedent.astype(np.int64)
        items_b = table.consequent.astype(np.int64)
        frame = pd.DataFrame(
            {
                "run_id": run.pk,
                "scope": scope,
                "region_id": region_id,
                "store_id": store_id,
                "antecedent_item": items_a,
                "antecedent_id": _side(items_a, products=True),
                "antecedent_category_id": _side(items_a, products=False),
                "consequent_item": items_b,
                "consequent_id": _side(items_b, products=True),
                "consequent_category_id": _side(items_b, products=False),
                "pair_count": table.pair_count.astype(np.int64),
                "antecedent_count": table.antecedent_count.astype(np.int64),
                "consequent_count": table.consequent_count.astype(np.int64),
                "basket_count": table.basket_count,
                "support": table.support,
                "confidence": table.confidence,
                "lift": table.lift,
                "member_count": members,
                "antecedent_member_count": members_a,
                "confidence_lower": wilson_lower_bound(members, members_a),
            }
        )
        frame_insert(CoPurchaseRule, frame.astype(object).where(frame.notna(), None))
    return run


def _side(items: np.ndarray, *, products: bool) -> pd.Series:
    """A product item (id > 0) fills the side's product, a category item (−id) its category;
    the other column is NULL."""
    values = items if products else -items
    return pd.Series(values, dtype="Int64").where(values > 0)


def co_purchase_rules_compute(
    *,
    end: dt.datetime | None = None,
    scopes: tuple[str, ...] = (RuleScope.NETWORK, RuleScope.REGION, RuleScope.STORE),
    store_ids: list[int] | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> list[RuleRun]:
    """Compute and store the rules of every scope from the baskets of the settings' window
    ending at `end` (default: the start of today, local time).

    Idempotent: a scope whose latest run already covers the same window is skipped unless
    `force`, so a rerun of the same night changes nothing. `store_ids` limits the store scopes
    to those stores and the region scopes to their regions (a region's rules, like the
    network's, always come from all its stores).
    """
    settings = decision_settings_get()
    if end is None:
        end = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    start = end - dt.timedelta(days=settings.rules_window_days)
    if not settings.rules_store_scope:
        scopes = tuple(scope for scope in scopes if scope != RuleScope.STORE)
    done = set() if force else _scopes_already_computed(start=start, end=end, settings=settings)
    # A region's rules come from all its stores' baskets, also when `store_ids` names only a
    # few of them (the region scope is then computed, and marked done, for the whole region).
    all_store_region = dict(Store.objects.order_by("pk").values_list("pk", "region_id"))
    chosen = set(all_store_region if store_ids is None else store_ids)
    store_region = {pk: region for pk, region in all_store_region.items() if pk in chosen}
    wanted: list[tuple[str, int | None, int | None]] = []
    if RuleScope.NETWORK in scopes:
        wanted.append((RuleScope.NETWORK, None, None))
    if RuleScope.REGION in scopes:
        wanted += [(RuleScope.REGION, r, None) for r in sorted(set(store_region.values()))]
    if RuleScope.STORE in scopes:
        wanted += [(RuleScope.STORE, None, s) for s in sorted(store_region)]
    if all(key in done for key in wanted):
        return []  # a rerun of the same window: nothing to read or write
    baskets = baskets_load(start=start, end=end)
    product_count = int(baskets.baskets.product_ids.shape[0])
    row_region = pd.Series(baskets.row_store).map(all_store_region).fillna(-1).to_numpy(np.int64)
    bounds = _row_bounds(baskets.row_store)

    def rows_of(scope: str, region_id: int | None, store_id: int | None) -> np.ndarray | slice:
        if scope == RuleScope.NETWORK:
            return slice(None)
        if scope == RuleScope.REGION:
            return np.flatnonzero(row_region == region_id)
        first, last = bounds.get(store_id, (0, 0))
        return slice(first, last)

    jobs = [
        (scope, region_id, store_id, rows_of(scope, region_id, store_id))
        for scope, region_id, store_id in wanted
    ]

    runs = []
    for number, (scope, region_id, store_id, rows) in enumerate(jobs, start=1):
        if (scope, region_id, store_id) in done:
            continue
        started = time.perf_counter()
        table = _rules_for_rows(rows, baskets, settings)
        duration_ms = int((time.perf_counter() - started) * 1000)
        runs.append(
            co_purchase_rules_store(
                table=table,
                scope=scope,
                region_id=region_id,
                store_id=store_id,
                window_start=start,
                window_end=end,
                settings=settings,
                product_count=product_count,
                duration_ms=duration_ms,
            )
        )
        if progress is not None and (number % 20 == 0 or number == len(jobs)):
            progress(f"rules: {number}/{len(jobs)} scopes")
    return runs


def _row_bounds(row_store: np.ndarray) -> dict[int, tuple[int, int]]:
    """First and past-the-last row of each store (rows are sorted by store)."""
    if row_store.size == 0:
        return {}
    stores, first = np.unique(row_store, return_index=True)
    last = np.r_[first[1:], row_store.size]
    return {int(s): (int(f), int(e)) for s, f, e in zip(stores, first, last, strict=True)}


def _scopes_already_computed(
    *, start: dt.datetime, end: dt.datetime, settings: DecisionSettings
) -> set[tuple[str, int | None, int | None]]:
    """Scopes that already have a run over exactly [start, end) with the current thresholds."""
    return set(
        RuleRun.objects.filter(
            window_start=start,
            window_end=end,
            min_support=settings.rules_min_support,
            min_confidence=settings.rules_min_confidence,
            min_pair_count=settings.rules_min_pair_count,
        ).values_list("scope", "region_id", "store_id")
    )
