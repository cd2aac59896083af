"""Personal next-product suggestions and their offline evaluation. Pure numpy / SciPy.

A member's score for product B blends three signals, all on the scale of "chance that B is in
the next basket":

    score(B) = repeat(B) + α · co-purchase(B) + β · popularity(B)

- repeat: the member's own history. share(B) = Σ over their baskets holding B of
  0.5^(age / half-life) ÷ the same sum over all their baskets (a recency-weighted share of
  baskets holding B), times a "due" factor (1 − γ) + γ · min(1, days since they last bought B ÷
  B's usual repurchase interval): a product bought yesterday that people re-buy monthly is
  not due yet. A product's usual interval is the median, over members who bought it at least
  twice, of (last − first purchase) / (purchases − 1).
- co-purchase: Σ_A share(A) · w(A → B) over product → product rules, where
  w = confidence × (1 − 1/lift) = confidence − P(B) for lift > 1, else 0 (how much buying A
  adds to the chance of B; plain confidence would favour staples every basket holds anyway).
- popularity: P(B), the share of all baskets holding B.

Only products the store sells (`allowed`) are suggested when that is given.

Evaluation: hold out each member's last basket; learn everything from the baskets before it;
a member is a hit when a held-out product is among their top k (hit-rate@k); NDCG@k with
binary relevance. Two baselines in the same run: the k most popular products, and "buy
again" (the member's own most-bought products: most baskets, then most recent, then most
popular).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from apps.catalog.analytics.rules import basket_matrix_build, rules_from_matrix

POPULARITY_WEIGHT = 1e-6  # a tie-break only, for the rules-only ranking (`top_k`)
DAY_US = 86_400 * 1_000_000
# What a store sells, and how often: its baskets of the last 365 days before the day of the
# suggestion (that day excluded). The served path and the evaluation both use it. Chosen on
# the tuning half of the real panel from {28, 91, 365} days: 28 days lost 1.7 points of
# hit-rate@10 there and 91 days 0.6 (small stores' windows are thin).
STORE_POPULARITY_DAYS = 365


@dataclass(frozen=True)
class BlendWeights:
    """The blend's knobs. Defaults were tuned on the demo data and one half of the real panel
    (docs/decisions.md, "Personal next-product suggestions")."""

    half_life_days: float = 120.0
    due_weight: float = 0.1  # γ
    copurchase_weight: float = 0.02  # α
    popularity_weight: float = 0.0  # β
    prior_baskets: float = 20.0  # m: pseudo-baskets of popularity in the member's own share


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
    antecedent = np.asarray(antecedent, dtype=np.int64)
    consequent = np.asarray(consequent, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    if size == 0:
        return sp.csr_matrix((0, 0), dtype=np.float64)
    rows = np.searchsorted(product_ids, antecedent)
    cols = np.searchsorted(product_ids, consequent)
    known = (rows < size) & (cols < size)
    known &= product_ids[np.minimum(rows, size - 1)] == antecedent
    known &= product_ids[np.minimum(cols, size - 1)] == consequent
    return sp.csr_matrix(
        (weight[known], (rows[known], cols[known])), shape=(size, size), dtype=np.float64
    )


def basket_rules_and_popularity(
    order_ids: np.ndarray,
    product_ids: np.ndarray,
    catalog: np.ndarray,
    *,
    min_support: float,
    min_confidence: float,
    min_pair_count: int,
) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """From order lines (one basket per order id): the weighted co-purchase rule matrix over
    `catalog` (sorted product ids; `rule_matrix`, `rule_weight`), each catalogue product's
    share of baskets (0 for products in no basket) and the number of rules found."""
    matrix = basket_matrix_build(order_ids, product_ids)
    table = rules_from_matrix(
        matrix.matrix,
        matrix.product_ids,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
    )
    rules = rule_matrix(
        table.antecedent, table.consequent, rule_weight(table.confidence, table.lift), catalog
    )
    popularity = np.zeros(catalog.shape[0])
    if matrix.basket_count:
        popularity[np.searchsorted(catalog, matrix.product_ids)] = (
            np.asarray(matrix.matrix.sum(axis=0)).ravel() / matrix.basket_count
        )
    return rules, popularity, len(table)


def top_k(
    history: sp.csr_matrix, rules: sp.csr_matrix, popularity: np.ndarray, k: int
) -> np.ndarray:
    """Top-k product columns per member row by rules alone (popularity breaks ties): the
    co-purchase component on its own. Returns [members, k] column indexes."""
    members, products = history.shape
    pop = popularity / popularity.max() if popularity.size and popularity.max() > 0 else popularity
    return _ranked(
        members,
        products,
        k,
        lambda rows: (history[rows] @ rules).toarray() + POPULARITY_WEIGHT * pop[None, :],
    )


def _ranked(members: int, products: int, k: int, block_scores) -> np.ndarray:
    """Top-k columns of the score rows, best first, column ascending on ties; scored in blocks
    of rows so memory stays bounded. `block_scores(slice)` returns a dense block; −inf marks a
    column that must not be suggested (it then never appears)."""
    k = min(k, products)
    result = np.full((members, k), -1, dtype=np.int64)
    if members == 0 or k == 0:
        return result
    block = max(1, 2_000_000 // max(products, 1))
    for first in range(0, members, block):
        rows = slice(first, min(first + block, members))
        scores = block_scores(rows)
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        chosen = np.take_along_axis(part, order, axis=1)
        chosen_scores = np.take_along_axis(part_scores, order, axis=1)
        # argpartition picks arbitrarily among columns tied with the k-th score; a row with
        # such a tie is ranked again in full so that the lowest columns win (deterministic).
        kth = chosen_scores[:, -1:]
        tied = ((scores == kth).sum(axis=1) > (chosen_scores == kth).sum(axis=1)) & np.isfinite(
            kth[:, 0]
        )
        for row in np.flatnonzero(tied):
            full = np.lexsort((np.arange(products), -scores[row]))[:k]
            chosen[row], chosen_scores[row] = full, scores[row, full]
        chosen[~np.isfinite(chosen_scores)] = -1
        result[rows] = chosen
    return result


@dataclass(frozen=True)
class MemberHistory:
    """Members × products, from the baskets before `as_of`: `baskets` = baskets holding the
    product, `decayed` = Σ 0.5^(age / half-life) over those baskets, `last_day` = day number
    of the last basket holding it (+1, so that day 0 stays a stored entry); `total` per member
    = Σ 0.5^(age / half-life) over all their baskets."""

    baskets: sp.csr_matrix
    decayed: sp.csr_matrix
    last_day: sp.csr_matrix
    total: np.ndarray
    as_of_day: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.baskets.shape

    def share(self) -> sp.csr_matrix:
        """Recency-weighted share of each member's baskets holding each product."""
        inverse = np.divide(1.0, self.total, out=np.zeros_like(self.total), where=self.total > 0)
        return sp.diags(inverse) @ self.decayed


def member_history(
    *,
    member_rows: np.ndarray,
    product_cols: np.ndarray,
    basket_ids: np.ndarray,
    basket_days: np.ndarray,
    shape: tuple[int, int],
    as_of_day: float,
    half_life_days: float,
) -> MemberHistory:
    """Build a MemberHistory from parallel arrays, one entry per order line (a product counts
    once per basket). `basket_days` is each line's basket time in (fractional) days."""
    member_rows = np.asarray(member_rows, dtype=np.int64)
    product_cols = np.asarray(product_cols, dtype=np.int64)
    basket_ids = np.asarray(basket_ids, dtype=np.int64)
    basket_days = np.asarray(basket_days, dtype=np.float64)
    _, first = np.unique(np.c_[basket_ids, product_cols], axis=0, return_index=True)
    rows, cols, days = member_rows[first], product_cols[first], basket_days[first]
    decay = np.power(0.5, np.maximum(as_of_day - days, 0.0) / half_life_days)
    ones = np.ones(rows.shape[0])
    baskets = sp.csr_matrix((ones, (rows, cols)), shape=shape)
    decayed = sp.csr_matrix((decay, (rows, cols)), shape=shape)
    last = _max_duplicates(rows, cols, days + 1.0, shape)
    _, basket_first = np.unique(basket_ids, return_index=True)
    total = np.bincount(
        member_rows[basket_first],
        weights=np.power(
            0.5, np.maximum(as_of_day - basket_days[basket_first], 0.0) / half_life_days
        ),
        minlength=shape[0],
    ).astype(np.float64, copy=False)  # bincount of no entries is int64, weights or not
    return MemberHistory(
        baskets=baskets, decayed=decayed, last_day=last, total=total, as_of_day=as_of_day
    )


def _max_duplicates(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A CSR matrix holding, per (row, col), the largest of its values."""
    order = np.lexsort((-values, cols, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    # The first entry of each (row, col) run; built without np.r_[True, ...], which gave one
    # flag for no entries at all (a member without a bought line).
    keep = np.ones(rows.shape[0], dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sp.csr_matrix((values[keep], (rows[keep], cols[keep])), shape=shape)


def repurchase_intervals(
    *,
    member_rows: np.ndarray,
    product_cols: np.ndarray,
    basket_days: np.ndarray,
    products: int,
) -> np.ndarray:
    """Each product's usual repurchase interval in days: the median over members who bought
    it on at least two different days of (last − first) / (purchase days − 1); NaN when
    nobody did. Parallel arrays, one entry per order line."""
    days = np.floor(np.asarray(basket_days, dtype=np.float64)).astype(np.int64)
    triples = np.unique(np.c_[member_rows, product_cols, days], axis=0)
    result = np.full(products, np.nan)
    if triples.shape[0] == 0:
        return result
    key = triples[:, 0] * products + triples[:, 1]
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    ends = np.r_[starts[1:], key.shape[0]]
    count = ends - starts
    repeat = count >= 2
    span = triples[ends - 1, 2] - triples[starts, 2]
    interval = span[repeat] / (count[repeat] - 1)
    product = triples[starts[repeat], 1]
    if product.size == 0:
        return result
    order = np.lexsort((interval, product))
    product, interval = product[order], interval[order]
    first = np.r_[0, np.flatnonzero(np.diff(product)) + 1]
    last = np.r_[first[1:], product.shape[0]]
    lower = interval[first + (last - first - 1) // 2]
    upper = interval[first + (last - first) // 2]
    result[product[first]] = (lower + upper) / 2
    return result


def blend_scores(
    history: MemberHistory,
    rows: slice,
    *,
    intervals: np.ndarray,
    rules: sp.csr_matrix,
    popularity: np.ndarray | sp.csr_matrix,
    weights: BlendWeights,
) -> np.ndarray:
    """The blended score of every product for the members `rows` (dense block).

    `popularity` is P(product) for everyone (1-D) or per member (sparse, e.g. the member's
    store)."""
    total = history.total[rows]
    inverse = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    share = sp.diags(inverse) @ history.decayed[rows]
    if sp.issparse(popularity):
        prior = popularity[rows].toarray()
    else:
        prior = np.broadcast_to(popularity[None, :], share.shape)
    # The member's own recency-weighted share, shrunk towards popularity by `prior_baskets`
    # pseudo-baskets: a member with two baskets says less than one with two hundred.
    m = weights.prior_baskets
    repeat = (
        (history.decayed[rows].toarray() + m * prior) / (total[:, None] + m)
        if m
        else (share.toarray())
    )
    if weights.due_weight:
        last = history.last_day[rows].toarray()
        bought = last > 0
        age = np.where(bought, history.as_of_day - (last - 1.0), 0.0)
        # "Due": closeness of the days since the member last bought it to the product's usual
        # repurchase interval, on a log scale (1 when equal, 0.6 at half or double).
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log((age + 0.5) / (intervals[None, :] + 0.5))
        due = np.where(bought & np.isfinite(ratio), np.exp(-0.5 * ratio**2), 0.0)
        repeat *= 1 + weights.due_weight * due
    scores = repeat
    if weights.copurchase_weight and rules.nnz:
        scores += weights.copurchase_weight * (share @ rules).toarray()
    if weights.popularity_weight:
        scores += weights.popularity_weight * prior
    return scores


def blend_top_k(
    history: MemberHistory,
    *,
    intervals: np.ndarray,
    rules: sp.csr_matrix,
    popularity: np.ndarray,
    k: int,
    weights: BlendWeights = BlendWeights(),
    allowed: sp.csr_matrix | None = None,
) -> np.ndarray:
    """Top-k product columns per member by the blended score, best first (−1 pads a row
    with fewer than k allowed products). `allowed` (members × products, nonzero = the
    member's store sells it) limits the suggestions; `popularity` is P(product)."""
    members, products = history.shape

    def scores_of(rows: slice) -> np.ndarray:
        scores = blend_scores(
            history,
            rows,
            intervals=intervals,
            rules=rules,
            popularity=popularity,
            weights=weights,
        )
        if allowed is not None:
            scores[allowed[rows].toarray() == 0] = -np.inf
        return scores

    return _ranked(members, products, k, scores_of)


def buy_again_top_k(history: MemberHistory, popularity: np.ndarray, k: int) -> np.ndarray:
    """The "buy again" baseline: the member's own most-bought products (most baskets, then
    the most recently bought, then the most popular), filled up with the most popular."""
    members, products = history.shape
    pop = popularity / popularity.max() if popularity.size and popularity.max() > 0 else popularity
    horizon = history.as_of_day + 2.0

    def scores_of(rows: slice) -> np.ndarray:
        counts = history.baskets[rows].toarray()
        recency = history.last_day[rows].toarray() / horizon  # in [0, 1)
        return counts + 0.5 * recency + 1e-3 * pop[None, :]

    return _ranked(members, products, k, scores_of)


@dataclass(frozen=True)
class MethodScore:
    name: str
    hit_rate: float
    ndcg: float


@dataclass(frozen=True)
class Evaluation:
    """`blend` is the served method (the ranker's evaluation puts it there, the blend then in
    `extra` as the fallback)."""

    members: int
    k: int
    rule_count: int
    blend: MethodScore
    popularity: MethodScore
    buy_again: MethodScore
    extra: dict[str, MethodScore] = field(default_factory=dict)

    def improvement_over_buy_again(self) -> float | None:
        """Relative hit-rate gain of the blend over "buy again" (0.12 = 12 % better)."""
        if self.buy_again.hit_rate == 0:
            return None
        return self.blend.hit_rate / self.buy_again.hit_rate - 1

    def lines(self) -> list[str]:
        """The report: one line per method with its hit-rate and NDCG, then the gain."""
        methods = (self.blend, self.popularity, self.buy_again, *self.extra.values())
        width = max(len(m.name) for m in methods)
        lines = [f"members evaluated: {self.members} · rules learnt: {self.rule_count}"]
        for method in methods:
            lines.append(
                f"{method.name:<{width}}  hit-rate@{self.k} {method.hit_rate:.3f}  "
                f"NDCG@{self.k} {method.ndcg:.3f}"
            )
        gain = self.improvement_over_buy_again()
        if gain is not None:
            served = self.blend.name.split(" (")[0]
            lines.append(f"{served} vs buy again: {gain * 100:+.1f}% hit-rate@{self.k}")
        return lines


def ranking_quality(suggested: np.ndarray, truth: sp.csr_matrix, k: int) -> tuple[float, float]:
    """(hit-rate@k, NDCG@k) of [members, k] column lists (−1 = nothing) against a members ×
    products 0/1 truth matrix; binary relevance."""
    members = suggested.shape[0]
    if members == 0:
        return 0.0, 0.0
    truth = truth.tocsr()
    valid = suggested >= 0
    columns = np.where(valid, suggested, 0)
    rows = np.repeat(np.arange(members), suggested.shape[1]).reshape(suggested.shape)
    relevant = np.asarray(truth[rows.ravel(), columns.ravel()]).reshape(suggested.shape) > 0
    relevant &= valid
    discounts = 1 / np.log2(np.arange(2, suggested.shape[1] + 2))
    dcg = (relevant * discounts[None, :]).sum(axis=1)
    sizes = np.minimum(np.diff(truth.indptr), suggested.shape[1])
    ideal = np.r_[0.0, np.cumsum(discounts)][sizes]
    ndcg = np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)
    return float(relevant.any(axis=1).mean()), float(ndcg.mean())


@dataclass(frozen=True)
class PromotionSpans:
    """Planned promotions, as spans: parallel arrays, one entry per (store, product) covered
    from `first_days` to `last_days` (datetime64[D], both inclusive). Spans may overlap."""

    store_ids: np.ndarray
    product_ids: np.ndarray
    first_days: np.ndarray
    last_days: np.ndarray


# Keys of the lookup: (store index × products + product column) × _DAY_SPAN + day + _DAY_OFFSET,
# the store index being the store's place among the spans' stores (so any store ids fit in
# int64: stores × products stays far below 2**63 / _DAY_SPAN).
_DAY_OFFSET = 1 << 20
_DAY_SPAN = 1 << 21


@dataclass(frozen=True)
class PromotedLookup:
    """Which (store, product column, day) a planned promotion covers, for point queries: the
    spans merged into disjoint ranges per (store, product), sorted by `keys` (the pair and the
    range's first day), each with its last day. Days are day numbers of the caller's lines."""

    products: int
    stores: np.ndarray
    keys: np.ndarray
    last_days: np.ndarray

    @classmethod
    def build(
        cls, spans: PromotionSpans, *, catalog: np.ndarray, origin_day: np.datetime64
    ) -> PromotedLookup:
        """From spans of any products (those outside `catalog` are dropped); day numbers count
        from `origin_day` (day 0)."""
        products = catalog.shape[0]
        product_ids = np.asarray(spans.product_ids, dtype=np.int64)
        cols = np.searchsorted(catalog, product_ids)
        known = cols < products
        known[known] = catalog[cols[known]] == product_ids[known]
        origin = np.datetime64(origin_day, "D")
        first = (np.asarray(spans.first_days, dtype="datetime64[D]") - origin).astype(np.int64)
        last = (np.asarray(spans.last_days, dtype="datetime64[D]") - origin).astype(np.int64)
        keep = known & (last >= first) & (last >= -_DAY_OFFSET) & (first < _DAY_OFFSET)
        stores, store_index = np.unique(
            np.asarray(spans.store_ids, dtype=np.int64)[keep], return_inverse=True
        )
        pair = store_index.astype(np.int64) * products + cols[keep]
        first = np.maximum(first[keep], -_DAY_OFFSET) + _DAY_OFFSET
        last = np.minimum(last[keep], _DAY_OFFSET - 1) + _DAY_OFFSET
        order = np.lexsort((first, pair))
        pair, first, last = pair[order], first[order], last[order]
        if pair.size == 0:
            return cls(products=products, stores=stores, keys=pair, last_days=last)
        # Merge overlapping or adjacent spans of a pair: a range starts where a span begins
        # after the running latest last day of the pair's spans before it.
        reach = np.maximum.accumulate(pair * _DAY_SPAN + last) - pair * _DAY_SPAN
        starts = np.r_[True, (pair[1:] != pair[:-1]) | (first[1:] > reach[:-1] + 1)]
        ends = np.r_[starts[1:], True]
        return cls(
            products=products,
            stores=stores,
            keys=pair[starts] * _DAY_SPAN + first[starts],
            last_days=reach[ends],
        )

    def covered(self, stores: np.ndarray, days: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """True where a promotion covers (stores[i], cols[i]) on whole day floor(days[i])."""
        stores = np.asarray(stores, dtype=np.int64)
        day = np.floor(np.asarray(days, dtype=np.float64)).astype(np.int64) + _DAY_OFFSET
        if self.keys.size == 0:
            return np.zeros(stores.shape[0], dtype=bool)
        index = np.minimum(np.searchsorted(self.stores, stores), self.stores.size - 1)
        known = self.stores[index] == stores
        pair = index * self.products + np.asarray(cols, np.int64)
        at = np.searchsorted(self.keys, pair * _DAY_SPAN + day, side="right") - 1
        safe = np.maximum(at, 0)
        same_pair = self.keys[safe] // _DAY_SPAN == pair
        return known & (at >= 0) & same_pair & (day <= self.last_days[safe])


@dataclass(frozen=True)
class EvaluationSetup:
    """Everything an evaluation learns from the training baskets, so that several weightings
    can be scored on one split (`evaluation_score`)."""

    k: int
    members: np.ndarray
    catalog: np.ndarray
    rule_count: int
    rules: sp.csr_matrix
    popularity: np.ndarray
    intervals: np.ndarray
    allowed: sp.csr_matrix | None
    store_popularity: sp.csr_matrix | None
    truth: sp.csr_matrix
    member_rows: np.ndarray
    product_cols: np.ndarray
    basket_ids: np.ndarray
    basket_days: np.ndarray
    as_of_day: float
    # The training lines, for the learned ranker (`analytics.ranker`): every member's
    # (member ≥ 0), and every line's for the store popularity of its training snapshots.
    training: TrainingLines | None = None
    # Planned promotions (the ranker's "promoted" feature) and, per member, the store and
    # day number of their held-out basket (the moment they are scored for).
    promoted: PromotedLookup | None = None
    held_stores: np.ndarray | None = None
    held_days: np.ndarray | None = None

    def history(self, half_life_days: float) -> MemberHistory:
        return member_history(
            member_rows=self.member_rows,
            product_cols=self.product_cols,
            basket_ids=self.basket_ids,
            basket_days=self.basket_days,
            shape=(self.members.shape[0], self.catalog.shape[0]),
            as_of_day=self.as_of_day,
            half_life_days=half_life_days,
        )


@dataclass(frozen=True)
class TrainingLines:
    """The evaluation's training lines (parallel arrays, days from the evaluation's origin;
    member −1 = no member; `product_cols` index the catalog)."""

    member_ids: np.ndarray
    product_cols: np.ndarray
    basket_ids: np.ndarray
    days: np.ndarray
    store_ids: np.ndarray | None

    def store_popularity(self, at_stores: np.ndarray, at_days: np.ndarray, products: int):
        """`store_popularity_before` at (store, day) requests, from these lines."""
        return store_popularity_before(
            store_ids=self.store_ids,
            order_ids=self.basket_ids,
            product_cols=self.product_cols,
            days=self.days,
            products=products,
            at_stores=at_stores,
            at_days=at_days,
        )


def suggestion_evaluation(
    *, weights: BlendWeights = BlendWeights(), **arguments: object
) -> Evaluation:
    """`evaluation_setup(**arguments)` scored with `weights`."""
    return evaluation_score(evaluation_setup(**arguments), weights)


def evaluation_setup(
    *,
    order_ids: np.ndarray,
    order_times: np.ndarray,
    member_ids: np.ndarray,
    product_ids: np.ndarray,
    store_ids: np.ndarray | None = None,
    k: int = 10,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_pair_count: int = 2,
    evaluate_members: np.ndarray | None = None,
    hold_out_members: np.ndarray | None = None,
    promotions: PromotionSpans | None = None,
) -> EvaluationSetup:
    """Hold out each member's last basket (members with at least two baskets; only those in
    `evaluate_members` when given) and learn rules, popularity, repurchase intervals and each
    member's history from the rest.

    Parallel arrays, one entry per order line (`order_times` as local wall-clock times);
    lines without a member (−1) count for the rules and popularity only. With `store_ids`,
    the blend's popularity prior is the held-out basket's store's popularity in the
    `STORE_POPULARITY_DAYS` before the held-out day (`store_popularity_before`, as served),
    and it suggests only products that store sold then ("what the store sells"): nothing
    from the held-out day or later reaches a member's store popularity. (The rules, the
    global popularity and the repurchase intervals are learnt from all training baskets,
    other members' later ones included; the baselines see the same.)

    `hold_out_members`: members whose last basket is also kept out of everything learnt
    although they are not evaluated (the evaluated members' always are), e.g. every member,
    so that no part's held-out basket reaches the fit of another part's evaluation.

    `promotions`: the planned promotions, for the ranker's "promoted" feature (at the held-out
    basket's store and day, as served for the day ranked for; needs `store_ids`).
    """
    order_ids = np.asarray(order_ids, dtype=np.int64)
    member_ids = np.asarray(member_ids, dtype=np.int64)
    product_ids = np.asarray(product_ids, dtype=np.int64)
    times = np.asarray(order_times).astype("datetime64[us]").astype(np.int64)
    # Day numbers count calendar days of the wall-clock times given (the caller passes local
    # time): the origin is the midnight before the first line, so that "the held-out day" and
    # the store-popularity window are the calendar days the served path uses.
    origin = (times.min() // DAY_US) * DAY_US if times.size else 0
    days = (times - origin) / DAY_US

    orders, first_line = np.unique(order_ids, return_index=True)
    order_member = member_ids[first_line]
    order_time = times[first_line]
    ranking = np.lexsort((orders, order_time, order_member))
    sorted_members = order_member[ranking]
    is_last = np.r_[sorted_members[1:] != sorted_members[:-1], True]
    _, group = np.unique(sorted_members, return_inverse=True)
    basket_counts = np.bincount(group)
    eligible = (basket_counts >= 2)[group] & (sorted_members >= 0)
    evaluated = eligible.copy()
    if evaluate_members is not None:
        evaluated &= np.isin(sorted_members, evaluate_members)
    held = evaluated
    if hold_out_members is not None:
        held = evaluated | (eligible & np.isin(sorted_members, hold_out_members))
    held_out_orders = orders[ranking][is_last & evaluated]
    line_held_out = np.isin(order_ids, held_out_orders)
    train = ~np.isin(order_ids, orders[ranking][is_last & held])

    catalog = np.unique(product_ids)
    rules, popularity, rule_count = basket_rules_and_popularity(
        order_ids[train],
        product_ids[train],
        catalog,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
    )

    held_first = np.isin(orders, held_out_orders)
    members = np.unique(order_member[held_first])
    shape = (members.shape[0], catalog.shape[0])
    member_train = train & np.isin(member_ids, members)
    member_rows = np.searchsorted(members, member_ids[member_train])
    # Each member is scored as of their held-out basket: shift their days so that it falls
    # on the common `as_of` day (only ages matter).
    held_time = np.zeros(members.shape[0])
    held_rows = np.searchsorted(members, order_member[held_first])
    held_time[held_rows] = (order_time[held_first] - origin) / DAY_US
    as_of = float(held_time.max()) if held_time.size else 0.0
    intervals = repurchase_intervals(
        member_rows=member_ids[train],
        product_cols=np.searchsorted(catalog, product_ids[train]),
        basket_days=days[train],
        products=catalog.shape[0],
    )
    allowed = None
    store_popularity = None
    held_store = None
    promoted = None
    if store_ids is not None:
        held_store = np.zeros(members.shape[0], dtype=np.int64)
        held_store[held_rows] = np.asarray(store_ids, dtype=np.int64)[first_line[held_first]]
        if promotions is not None:
            promoted = PromotedLookup.build(
                promotions,
                catalog=catalog,
                origin_day=np.datetime64(int(origin), "us").astype("datetime64[D]"),
            )
        store_popularity = store_popularity_before(
            store_ids=np.asarray(store_ids, dtype=np.int64)[train],
            order_ids=order_ids[train],
            product_cols=np.searchsorted(catalog, product_ids[train]),
            days=days[train],
            products=catalog.shape[0],
            at_stores=held_store,
            at_days=np.floor(held_time),
            window_days=STORE_POPULARITY_DAYS,
        )
        allowed = store_popularity.copy()
        allowed.data[:] = 1
    truth = sp.csr_matrix(
        (
            np.ones(int(line_held_out.sum())),
            (
                np.searchsorted(members, member_ids[line_held_out]),
                np.searchsorted(catalog, product_ids[line_held_out]),
            ),
        ),
        shape=shape,
    )
    truth.sum_duplicates()
    truth.data[:] = 1
    return EvaluationSetup(
        k=k,
        members=members,
        catalog=catalog,
        rule_count=rule_count,
        rules=rules,
        popularity=popularity,
        intervals=intervals,
        allowed=allowed,
        store_popularity=store_popularity,
        truth=truth,
        member_rows=member_rows,
        product_cols=np.searchsorted(catalog, product_ids[member_train]),
        basket_ids=order_ids[member_train],
        basket_days=days[member_train] + (as_of - held_time[member_rows]),
        as_of_day=as_of,
        training=TrainingLines(
            member_ids=member_ids[train],
            product_cols=np.searchsorted(catalog, product_ids[train]),
            basket_ids=order_ids[train],
            days=days[train],
            store_ids=None if store_ids is None else np.asarray(store_ids, dtype=np.int64)[train],
        ),
        promoted=promoted,
        held_stores=held_store,
        held_days=np.floor(held_time),
    )


def store_popularity_before(
    *,
    store_ids: np.ndarray,
    order_ids: np.ndarray,
    product_cols: np.ndarray,
    days: np.ndarray,
    products: int,
    at_stores: np.ndarray,
    at_days: np.ndarray,
    window_days: float = STORE_POPULARITY_DAYS,
) -> sp.csr_matrix:
    """P(product | store, recent): for each (store, whole day) asked for, the share of that
    store's baskets in the `window_days` before that day (the day itself excluded) holding each
    product. A row per request, products as columns; an empty row when the store sold nothing
    in the window. The served path asks for today at the member's store; the evaluation asks
    for each member's held-out day at its store, so nothing from that day or later leaks in.

    Parallel arrays, one entry per order line (`days` fractional, from any origin)."""
    store_ids = np.asarray(store_ids, dtype=np.int64)
    order_ids = np.asarray(order_ids, dtype=np.int64)
    product_cols = np.asarray(product_cols, dtype=np.int64)
    line_day = np.floor(np.asarray(days, dtype=np.float64)).astype(np.int64)
    at_stores = np.asarray(at_stores, dtype=np.int64)
    at_days = np.floor(np.asarray(at_days, dtype=np.float64)).astype(np.int64)
    requests = at_stores.shape[0]
    if requests == 0 or order_ids.size == 0:
        return sp.csr_matrix((requests, products), dtype=np.float64)
    # Baskets (store, day), sorted, and basket × product incidence.
    baskets, first, basket_of_line = np.unique(order_ids, return_index=True, return_inverse=True)
    basket_store, basket_day = store_ids[first], line_day[first]
    order = np.lexsort((basket_day, basket_store))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    incidence = sp.csr_matrix(
        (np.ones(order_ids.shape[0]), (rank[basket_of_line], product_cols)),
        shape=(baskets.shape[0], products),
    )
    incidence.sum_duplicates()
    incidence.data[:] = 1
    sorted_store, sorted_day = basket_store[order], basket_day[order]
    # One row per distinct (store, day) asked for; each is a contiguous range of baskets.
    keys, key_of_request = np.unique(np.c_[at_stores, at_days], axis=0, return_inverse=True)
    key_of_request = key_of_request.ravel()
    composite = sorted_store * (1 << 32) + sorted_day
    low = np.searchsorted(composite, keys[:, 0] * (1 << 32) + keys[:, 1] - window_days, "left")
    high = np.searchsorted(composite, keys[:, 0] * (1 << 32) + keys[:, 1], "left")
    sizes = high - low
    # Selection matrix keys × baskets, built from the ranges without a Python loop.
    columns = np.repeat(low - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
    select = sp.csr_matrix(
        (np.ones(columns.shape[0]), columns, np.r_[0, np.cumsum(sizes)]),
        shape=(keys.shape[0], baskets.shape[0]),
    )
    per_key = sp.diags(1.0 / np.maximum(sizes, 1)) @ (select @ incidence)
    return sp.csr_matrix(per_key)[key_of_request]


def evaluation_score(setup: EvaluationSetup, weights: BlendWeights = BlendWeights()) -> Evaluation:
    """hit-rate@k and NDCG@k of the blend, the k most popular products and "buy again"."""
    k = setup.k
    history = setup.history(weights.half_life_days)
    blend = blend_top_k(
        history,
        intervals=setup.intervals,
        rules=setup.rules,
        popularity=setup.popularity if setup.store_popularity is None else setup.store_popularity,
        k=k,
        weights=weights,
        allowed=setup.allowed,
    )
    again = buy_again_top_k(history, setup.popularity, k)
    popular = np.tile(np.argsort(-setup.popularity, kind="stable")[:k], (setup.members.shape[0], 1))
    scores = {
        name: MethodScore(name, *ranking_quality(suggested, setup.truth, k))
        for name, suggested in (
            ("blend (served)", blend),
            ("most popular", popular),
            ("buy again", again),
        )
    }
    return Evaluation(
        members=int(setup.members.shape[0]),
        k=k,
        rule_count=setup.rule_count,
        blend=scores["blend (served)"],
        popularity=scores["most popular"],
        buy_again=scores["buy again"],
    )
