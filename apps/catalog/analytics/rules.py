"""Pairwise co-purchase (association) rules on a sparse basket × product matrix.

Pure functions on arrays: no ORM. A basket is one order; a product counts once per basket
however many units or lines it has. With X the binarised basket × product matrix (CSR), the
co-occurrence matrix is C = Xᵀ X: C[a, b] = baskets holding both a and b, C[a, a] = baskets
holding a. For a rule A → B over N baskets:

    support    = C[a, b] / N
    confidence = C[a, b] / C[a, a]
    lift       = C[a, b] · N / (C[a, a] · C[b, b])

All counts are integers and each ratio is one IEEE division of integers below 2**53, so the
figures equal those of a straightforward pure-Python pair count exactly.

Generalised rules (Srikant & Agrawal): with `with_categories`, every basket also holds the
categories of its products as items, so rules come out product → product, product → category
("低糖蓝莓 → 酸奶"), category → category ("婴儿奶粉 → 婴儿辅食") and category → product. A
category item is encoded as the negative of its id; a product and its own category are never
paired (that rule would say nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class BasketMatrix:
    """Binarised baskets × products. Row i is basket `basket_ids[i]`, column j is product
    `product_ids[j]`; both id arrays are sorted ascending."""

    matrix: sp.csr_matrix
    basket_ids: np.ndarray
    product_ids: np.ndarray

    @property
    def basket_count(self) -> int:
        return int(self.matrix.shape[0])


@dataclass(frozen=True)
class RuleTable:
    """Rules as parallel arrays (one entry per rule A → B)."""

    antecedent: np.ndarray  # product ids
    consequent: np.ndarray
    pair_count: np.ndarray
    antecedent_count: np.ndarray
    consequent_count: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray
    basket_count: int
    # Distinct members (see `member_counts`): with a basket holding both; holding A.
    member_pair_count: np.ndarray | None = None
    antecedent_member_count: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.antecedent.shape[0])


def basket_matrix_build(basket_ids: np.ndarray, product_ids: np.ndarray) -> BasketMatrix:
    """Build the binarised matrix from parallel (basket id, product id) arrays, one entry per
    order line. Duplicate lines of a product in a basket count once."""
    basket_ids = np.asarray(basket_ids, dtype=np.int64)
    product_ids = np.asarray(product_ids, dtype=np.int64)
    if basket_ids.shape != product_ids.shape:
        raise ValueError("basket_ids and product_ids must have the same length")
    baskets, rows = np.unique(basket_ids, return_inverse=True)
    products, cols = np.unique(product_ids, return_inverse=True)
    data = np.ones(rows.shape[0], dtype=np.int32)
    matrix = sp.csr_matrix(
        (data, (rows, cols)), shape=(baskets.shape[0], products.shape[0]), dtype=np.int32
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return BasketMatrix(matrix=matrix, basket_ids=baskets, product_ids=products)


def co_occurrence(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """C = Xᵀ X for a binarised basket matrix (int64 to be safe from overflow)."""
    x = matrix.astype(np.int64)
    return (x.T @ x).tocsr()


def with_categories(
    baskets: BasketMatrix, product_category: dict[int, int]
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Append one column per category (the basket holds any product of it).

    Returns (matrix, item ids, parent column of each column or -1). Item ids: product ids
    (positive) then −category id for each category, in ascending category id order.
    """
    products = baskets.product_ids
    categories_of_columns = np.array([product_category[int(p)] for p in products], dtype=np.int64)
    categories, category_col = np.unique(categories_of_columns, return_inverse=True)
    membership = sp.csr_matrix(
        (np.ones(products.shape[0], dtype=np.int32), (np.arange(products.shape[0]), category_col)),
        shape=(products.shape[0], categories.shape[0]),
    )
    category_matrix = (baskets.matrix @ membership).tocsr()
    category_matrix.data[:] = 1
    matrix = sp.hstack([baskets.matrix, category_matrix], format="csr", dtype=np.int32)
    items = np.concatenate([products, -categories])
    parent = np.concatenate(
        [products.shape[0] + category_col, np.full(categories.shape[0], -1)]
    ).astype(np.int64)
    return matrix, items, parent


def rules_from_baskets(
    baskets: BasketMatrix,
    *,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_pair_count: int = 1,
    max_rules_per_antecedent: int | None = None,
) -> RuleTable:
    """All rules A → B (A ≠ B) with support ≥ min_support, confidence ≥ min_confidence and
    at least `min_pair_count` baskets holding both.

    With `max_rules_per_antecedent`, only the strongest rules of each A are kept, ordered by
    confidence, then pair count, then consequent id (deterministic).
    """
    return rules_from_matrix(
        baskets.matrix,
        baskets.product_ids,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
        max_rules_per_antecedent=max_rules_per_antecedent,
    )


def rules_from_matrix(
    matrix: sp.csr_matrix,
    product_ids: np.ndarray,
    *,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_pair_count: int = 1,
    max_rules_per_antecedent: int | None = None,
    parent: np.ndarray | None = None,
) -> RuleTable:
    """As `rules_from_baskets`, for a matrix whose rows may be a slice of a bigger one (a
    store's or region's baskets); empty rows (no products) are not counted as baskets.

    `parent` (from `with_categories`) gives each column's category column, or -1: an item is
    never paired with its own category."""
    row_has_items = np.diff(matrix.indptr) > 0
    basket_count = int(row_has_items.sum())
    empty = _empty_rules(basket_count)
    if basket_count == 0:
        return empty
    counts = co_occurrence(matrix).tocoo()
    item_counts = np.asarray(matrix.sum(axis=0), dtype=np.int64).ravel()
    a, b, pair = counts.row, counts.col, counts.data.astype(np.int64)
    keep = (a != b) & (pair >= max(1, min_pair_count))
    if parent is not None:
        keep &= (parent[a] != b) & (parent[b] != a)
    a, b, pair = a[keep], b[keep], pair[keep]
    count_a = item_counts[a]
    count_b = item_counts[b]
    support = pair / basket_count
    confidence = pair / count_a
    lift = (pair * basket_count) / (count_a * count_b)
    keep = (support >= min_support) & (confidence >= min_confidence)
    a, b, pair, count_a, count_b = a[keep], b[keep], pair[keep], count_a[keep], count_b[keep]
    support, confidence, lift = support[keep], confidence[keep], lift[keep]
    if a.size == 0:
        return empty
    antecedent = np.asarray(product_ids)[a]
    consequent = np.asarray(product_ids)[b]
    # Order: antecedent item, then confidence desc, pair count desc, consequent item.
    order = np.lexsort((consequent, -pair, -confidence, antecedent))
    if max_rules_per_antecedent is not None:
        sorted_antecedents = antecedent[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_antecedents)) + 1]
        group_start = np.repeat(starts, np.diff(np.r_[starts, sorted_antecedents.size]))
        rank = np.arange(sorted_antecedents.size) - group_start
        order = order[rank < max_rules_per_antecedent]
    return RuleTable(
        antecedent=antecedent[order].astype(np.int64),
        consequent=consequent[order].astype(np.int64),
        pair_count=pair[order],
        antecedent_count=count_a[order],
        consequent_count=count_b[order],
        support=support[order],
        confidence=confidence[order],
        lift=lift[order],
        basket_count=basket_count,
    )


def _empty_rules(basket_count: int) -> RuleTable:
    ints = np.zeros(0, dtype=np.int64)
    floats = np.zeros(0, dtype=np.float64)
    return RuleTable(
        antecedent=ints,
        consequent=ints,
        pair_count=ints,
        antecedent_count=ints,
        consequent_count=ints,
        support=floats,
        confidence=floats,
        lift=floats,
        basket_count=basket_count,
    )


def rules_reference(
    baskets: list[set[int]] | list[list[int]],
    *,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_pair_count: int = 1,
    product_category: dict[int, int] | None = None,
) -> dict[tuple[int, int], tuple[int, int, int, float, float, float]]:
    """The straightforward pure-Python computation: count items and ordered pairs basket by
    basket. Returns {(a, b): (pair, count_a, count_b, support, confidence, lift)}.

    With `product_category`, each basket also holds −category of each product, and a product
    is not paired with its own category (as `with_categories`).
    Used by the tests as the reference and by the benchmark as the baseline.
    """
    item_counts: dict[int, int] = {}
    pair_counts: dict[tuple[int, int], int] = {}
    basket_count = 0
    for basket in baskets:
        items = set(basket)
        if not items:
            continue
        if product_category is not None:
            items |= {-product_category[p] for p in basket}
        items = sorted(items)
        basket_count += 1
        for position, a in enumerate(items):
            item_counts[a] = item_counts.get(a, 0) + 1
            for b in items[position + 1 :]:
                if product_category is not None and (
                    (a > 0 and -product_category[a] == b) or (b > 0 and -product_category[b] == a)
                ):
                    continue
                pair_counts[(a, b)] = pair_counts.get((a, b), 0) + 1
    rules: dict[tuple[int, int], tuple[int, int, int, float, float, float]] = {}
    for (a, b), pair in pair_counts.items():
        if pair < max(1, min_pair_count):
            continue
        for x, y in ((a, b), (b, a)):
            count_x, count_y = item_counts[x], item_counts[y]
            support = pair / basket_count
            confidence = pair / count_x
            if support < min_support or confidence < min_confidence:
                continue
            lift = (pair * basket_count) / (count_x * count_y)
            rules[(x, y)] = (pair, count_x, count_y, support, confidence, lift)
    return rules


def wilson_lower_bound(successes: np.ndarray, trials: np.ndarray, z: float = 1.96) -> np.ndarray:
    """Lower end of the Wilson score interval for successes / trials (0 where trials = 0):
    a proportion that rests on few trials is pulled down, so "2 of 2" ranks below "23 of 31"."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    safe = np.maximum(n, 1.0)
    p = k / safe
    centre = p + z * z / (2 * safe)
    margin = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe))
    bound = (centre - margin) / (1 + z * z / safe)
    return np.where(n > 0, np.maximum(bound, 0.0), 0.0)


def member_counts(
    matrix: sp.csr_matrix,
    basket_member: np.ndarray,
    antecedent_cols: np.ndarray,
    consequent_cols: np.ndarray,
    *,
    chunk_baskets: int = 200_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct members behind each rule A → B (given as matrix columns): (members with a
    basket holding both A and B, members with a basket holding A). Baskets without a member
    (−1) count for neither. Exact: every basket's item pairs are listed (in chunks of whole
    members) and (member, pair) is counted once."""
    basket_member = np.asarray(basket_member, dtype=np.int64)
    a = np.asarray(antecedent_cols, dtype=np.int64)
    b = np.asarray(consequent_cols, dtype=np.int64)
    columns = matrix.shape[1]
    both = np.zeros(a.shape[0], dtype=np.int64)
    rows = np.flatnonzero(basket_member >= 0)
    if a.size == 0 or rows.size == 0:
        return both, np.zeros(a.shape[0], dtype=np.int64)
    rows = rows[np.argsort(basket_member[rows], kind="stable")]
    members = basket_member[rows]
    # Members × items: whether the member has any basket holding the item.
    _, member_rows = np.unique(members, return_inverse=True)
    owner = sp.csr_matrix(
        (np.ones(rows.size), (member_rows, np.arange(rows.size))),
        shape=(int(member_rows.max()) + 1, rows.size),
    )
    by_member = (owner @ matrix[rows]).tocsc()
    holding = np.diff(by_member.indptr)  # members holding each item (nonzeros per column)
    rule_keys = a * columns + b
    order = np.argsort(rule_keys)
    sorted_keys = rule_keys[order]
    first = 0
    while first < rows.size:
        last = min(first + chunk_baskets, rows.size)
        while last < rows.size and members[last] == members[last - 1]:
            last += 1  # whole members per chunk: a (member, pair) never spans two chunks
        part = matrix[rows[first:last]]
        sizes = np.diff(part.indptr)
        per_basket = sizes * sizes
        total = int(per_basket.sum())
        if total:
            basket = np.repeat(np.arange(sizes.size), per_basket)
            offset = np.arange(total) - np.repeat(np.cumsum(per_basket) - per_basket, per_basket)
            size = sizes[basket]
            start = part.indptr[:-1][basket]
            left = part.indices[start + offset // size].astype(np.int64)
            right = part.indices[start + offset % size].astype(np.int64)
            keys = left * columns + right
            position = np.searchsorted(sorted_keys, keys)
            known = (position < sorted_keys.size) & (
                sorted_keys[np.minimum(position, sorted_keys.size - 1)] == keys
            )
            pairs = np.unique(np.c_[members[first:last][basket[known]], position[known]], axis=0)
            np.add.at(both, order[pairs[:, 1]], 1)
        first = last
    return both, holding[a].astype(np.int64)
