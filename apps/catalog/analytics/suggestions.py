"""Personal next-product suggestions (item-to-item from co-purchase rules) and their offline
evaluation against a popularity baseline. Pure numpy / SciPy.

A member's score for product B is Σ_A n(A) · w(A → B) over the products A in their history
(n = baskets of theirs holding A), where w = confidence × (1 − 1/lift) = confidence − P(B) for
rules with lift > 1, else 0: how much buying A adds to the chance of B. Plain confidence would
favour staples that every basket holds anyway (their confidence is just their popularity).
Products come out best first, with popularity only breaking ties and filling the list when the
rules have fewer than k products to offer.

Evaluation: hold out each member's last basket; learn rules and popularity from every other
basket; a member is a hit when any held-out product is among their top k. hit-rate@k is the
share of members who are hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from apps.catalog.analytics.rules import basket_matrix_build, rules_from_matrix

POPULARITY_WEIGHT = 1e-6  # popularity in [0, 1] × this: a tie-break, never above a rule


def rule_weight(confidence: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """confidence × (1 − 1/lift) where lift > 1, else 0 (the "added value" of the rule)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    lift = np.asarray(lift, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(lift > 1, confidence * (1 - 1 / np.where(lift > 0, lift, 1)), 0.0)


def rule_matrix(
    antecedent: np.ndarray, consequent: np.ndarray, weight: np.ndarray, product_ids: np.ndarray
) -> sp.csr_matrix:
    """Products × products sparse matrix R[a, b] = weight(a → b), indexed like
    `product_ids` (sorted); rules naming other products are ignored."""
    size = product_ids.shape[0]
    rows = np.searchsorted(product_ids, antecedent)
    cols = np.searchsorted(product_ids, consequent)
    known = (rows < size) & (cols < size)
    known &= product_ids[np.minimum(rows, size - 1)] == antecedent
    known &= product_ids[np.minimum(cols, size - 1)] == consequent
    return sp.csr_matrix(
        (weight[known], (rows[known], cols[known])), shape=(size, size), dtype=np.float64
    )


def top_k(
    history: sp.csr_matrix, rules: sp.csr_matrix, popularity: np.ndarray, k: int
) -> np.ndarray:
    """Top-k product columns per member row: rule score plus a popularity tie-break.

    history: members × products counts; rules: products × products confidences;
    popularity: per product, any scale (normalised here). Returns [members, k] column indexes.
    """
    members, products = history.shape
    k = min(k, products)
    if members == 0 or k == 0:
        return np.zeros((members, k), dtype=np.int64)
    pop = popularity / popularity.max() if popularity.max() > 0 else popularity
    result = np.zeros((members, k), dtype=np.int64)
    block = max(1, 2_000_000 // max(products, 1))
    for first in range(0, members, block):
        scores = (history[first : first + block] @ rules).toarray()
        scores += POPULARITY_WEIGHT * pop[None, :]
        # Order by score desc, then column asc: argsort of -score is stable on ties.
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        result[first : first + block] = np.take_along_axis(part, order, axis=1)
    return result


@dataclass(frozen=True)
class HitRates:
    members: int
    k: int
    rules_hit_rate: float
    popularity_hit_rate: float
    rule_count: int

    @property
    def lift_over_popularity(self) -> float | None:
        if self.popularity_hit_rate == 0:
            return None
        return self.rules_hit_rate / self.popularity_hit_rate


def hit_rate_evaluation(
    *,
    order_ids: np.ndarray,
    order_times: np.ndarray,
    member_ids: np.ndarray,
    product_ids: np.ndarray,
    k: int = 10,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_pair_count: int = 2,
) -> HitRates:
    """hit-rate@k of rule-based suggestions vs the k most popular products, holding out each
    member's last basket (members with at least two baskets are evaluated).

    Inputs are parallel arrays, one entry per order line. Orders are ordered by time, then id.
    """
    order_ids = np.asarray(order_ids, dtype=np.int64)
    member_ids = np.asarray(member_ids, dtype=np.int64)
    product_ids = np.asarray(product_ids, dtype=np.int64)
    times = np.asarray(order_times).astype("datetime64[us]").astype(np.int64)
    # One row per order: its member and time; the last order of each member is held out.
    orders, first_line = np.unique(order_ids, return_index=True)
    order_member = member_ids[first_line]
    order_time = times[first_line]
    ranking = np.lexsort((orders, order_time, order_member))
    sorted_members = order_member[ranking]
    is_last = np.r_[sorted_members[1:] != sorted_members[:-1], True]
    basket_counts = np.bincount(np.unique(sorted_members, return_inverse=True)[1])
    evaluated = np.repeat(basket_counts >= 2, basket_counts)
    held_out_orders = orders[ranking][is_last & evaluated]
    line_held_out = np.isin(order_ids, held_out_orders)

    catalog = np.unique(product_ids)
    train = basket_matrix_build(order_ids[~line_held_out], product_ids[~line_held_out])
    table = rules_from_matrix(
        train.matrix,
        train.product_ids,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
    )
    rules = rule_matrix(
        table.antecedent, table.consequent, rule_weight(table.confidence, table.lift), catalog
    )
    train_columns = np.searchsorted(catalog, train.product_ids)
    popularity = np.zeros(catalog.shape[0])
    popularity[train_columns] = np.asarray(train.matrix.sum(axis=0)).ravel()

    members = np.unique(order_member[np.isin(orders, held_out_orders)])
    member_row = {int(m): i for i, m in enumerate(members)}
    train_lines = ~line_held_out & np.isin(member_ids, members)
    # History counts baskets, not lines: deduplicate (order, product) first.
    pairs = np.unique(np.c_[order_ids[train_lines], product_ids[train_lines]], axis=0)
    pair_member = order_member[np.searchsorted(orders, pairs[:, 0])]
    history = sp.csr_matrix(
        (
            np.ones(pairs.shape[0]),
            ([member_row[int(m)] for m in pair_member], np.searchsorted(catalog, pairs[:, 1])),
        ),
        shape=(members.shape[0], catalog.shape[0]),
    )
    suggested = top_k(history, rules, popularity, k)
    popular = np.argsort(-popularity, kind="stable")[:k]

    held = np.isin(order_ids, held_out_orders)
    held_member_rows = np.array([member_row[int(m)] for m in member_ids[held]], dtype=np.int64)
    held_columns = np.searchsorted(catalog, product_ids[held])
    truth = sp.csr_matrix(
        (np.ones(held_columns.shape[0]), (held_member_rows, held_columns)),
        shape=(members.shape[0], catalog.shape[0]),
    )
    truth.data[:] = 1
    shown = sp.csr_matrix(
        (
            np.ones(suggested.size),
            (np.repeat(np.arange(members.shape[0]), suggested.shape[1]), suggested.ravel()),
        ),
        shape=truth.shape,
    )
    rule_hits = np.asarray(truth.multiply(shown).sum(axis=1)).ravel() > 0
    popular_hits = np.asarray(truth[:, popular].sum(axis=1)).ravel() > 0
    count = members.shape[0]
    return HitRates(
        members=int(count),
        k=k,
        rules_hit_rate=float(rule_hits.mean()) if count else 0.0,
        popularity_hit_rate=float(popular_hits.mean()) if count else 0.0,
        rule_count=len(table),
    )
