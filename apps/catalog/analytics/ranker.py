"""A learned ranker for personal next-product suggestions. Pure numpy / SciPy / scikit-learn.

The blend (`analytics.suggestions`) is a hand-set formula; this learns how its signals combine
from the members' own earlier baskets (the standard way past "buy again" on grocery repeat
data). For each (member, candidate product) as of a moment, features from the member's
baskets before that moment; the label is whether the product is in the member's next basket.

- Candidates: every product the member bought before ∪ the `POPULAR_CANDIDATES` most popular
  products of their store (what a new member is likely to buy).
- Training: one snapshot per member, as of their `TRAIN_TARGET_BACK`-th basket before the
  last one known (its products are the labels; only baskets before it are features), so the
  basket that is evaluated or served for is never seen by the fit.
- Scoring: the same features as of the moment of the suggestion; the gradient-boosted
  classifier's probability ranks the candidates.

Features are documented at `FEATURES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import HistGradientBoostingClassifier

from apps.catalog.analytics.suggestions import (
    DAY_US,
    BlendWeights,
    Evaluation,
    EvaluationSetup,
    MemberHistory,
    MethodScore,
    PromotedLookup,
    PromotionSpans,
    _max_duplicates,
    basket_rules_and_popularity,
    blend_scores,
    blend_top_k,
    evaluation_score,
    member_history,
    ranking_quality,
    repurchase_intervals,
    store_popularity_before,
)

DEFAULT_WEIGHTS = BlendWeights()
POPULAR_CANDIDATES = 30
RECENT_BASKETS = 5
FEATURES = (
    "baskets",  # the member's baskets holding the product
    "share",  # ... ÷ the member's baskets
    "decayed_share",  # recency-weighted share (the blend's half-life)
    "baskets_since",  # the member's baskets since they last bought it (0 = in the last one)
    "days_since",  # days since they last bought it
    "days_since_over_interval",  # ... ÷ the product's usual repurchase interval
    "days_since_over_own_interval",  # ... ÷ the member's own mean interval for it
    "recent_baskets",  # of the member's last RECENT_BASKETS baskets, those holding it
    "first_bought_days",  # days since they first bought it
    "member_baskets",
    "member_basket_size",  # mean distinct products per basket
    "member_days_since_last_basket",
    "member_mean_gap",  # mean days between the member's baskets
    "popularity",  # P(product) over all baskets
    "store_popularity",  # P(product) at the member's store (window before the moment)
    "product_interval",  # the product's usual repurchase interval
    "product_repeat_rate",  # its buyers' repeat baskets ÷ their baskets holding it
    "product_buyers",
    "copurchase",  # Σ_A share(A) · w(A → B)
    "blend",  # the served blend's score
    "promoted",  # a planned promotion covers it at the member's store on the day ranked for
)


@dataclass(frozen=True)
class ProductStats:
    """Network-wide per-product figures, indexed by product column."""

    popularity: np.ndarray
    intervals: np.ndarray
    repeat_rate: np.ndarray
    buyers: np.ndarray


def product_stats(
    *,
    member_ids: np.ndarray,
    product_cols: np.ndarray,
    basket_ids: np.ndarray,
    products: int,
    popularity: np.ndarray,
    intervals: np.ndarray,
) -> ProductStats:
    """Repeat rate = Σ over buyers of (their baskets holding it − 1) ÷ Σ their baskets holding
    it (0 when nobody re-bought it), and the number of distinct buyers. Parallel arrays, one
    entry per order line (lines without a member, −1, are skipped)."""
    member_ids = np.asarray(member_ids, dtype=np.int64)
    keep = member_ids >= 0
    pairs = np.unique(
        np.c_[member_ids[keep], np.asarray(product_cols)[keep], np.asarray(basket_ids)[keep]],
        axis=0,
    )
    member_product, counts = np.unique(pairs[:, :2], axis=0, return_counts=True)
    product = member_product[:, 1]
    bought = np.bincount(product, weights=counts, minlength=products)
    buyers = np.bincount(product, minlength=products).astype(np.float64)
    repeat = np.bincount(product, weights=counts - 1, minlength=products)
    rate = np.divide(repeat, bought, out=np.zeros(products), where=bought > 0)
    return ProductStats(popularity=popularity, intervals=intervals, repeat_rate=rate, buyers=buyers)


@dataclass(frozen=True)
class Snapshot:
    """Members × products as of one moment per member (their days shifted so that every
    member's moment falls on `history.as_of_day`)."""

    history: MemberHistory
    first_day: sp.csr_matrix  # day of the first basket holding it, +1
    last_rank: sp.csr_matrix  # the member's basket number of the last basket holding it, +1
    recent: sp.csr_matrix
    basket_count: np.ndarray
    basket_size: np.ndarray
    last_basket_day: np.ndarray
    first_basket_day: np.ndarray


def snapshot_build(
    *,
    member_rows: np.ndarray,
    product_cols: np.ndarray,
    basket_ids: np.ndarray,
    basket_days: np.ndarray,
    shape: tuple[int, int],
    as_of_day: float,
    half_life_days: float,
) -> Snapshot:
    """From the lines before each member's moment (parallel arrays, days shifted)."""
    member_rows = np.asarray(member_rows, dtype=np.int64)
    product_cols = np.asarray(product_cols, dtype=np.int64)
    basket_ids = np.asarray(basket_ids, dtype=np.int64)
    basket_days = np.asarray(basket_days, dtype=np.float64)
    history = member_history(
        member_rows=member_rows,
        product_cols=product_cols,
        basket_ids=basket_ids,
        basket_days=basket_days,
        shape=shape,
        as_of_day=as_of_day,
        half_life_days=half_life_days,
    )
    members = shape[0]
    _, first = np.unique(np.c_[basket_ids, product_cols], axis=0, return_index=True)
    rows, cols, days, baskets = (
        member_rows[first],
        product_cols[first],
        basket_days[first],
        basket_ids[first],
    )
    # Number each member's baskets in time order (0 = the first).
    unique_baskets, basket_first = np.unique(basket_ids, return_index=True)
    basket_member = member_rows[basket_first]
    basket_day = basket_days[basket_first]
    order = np.lexsort((unique_baskets, basket_day, basket_member))
    sorted_member = basket_member[order]
    starts = (
        np.r_[0, np.flatnonzero(np.diff(sorted_member)) + 1]
        if order.size
        else np.zeros(0, dtype=np.int64)
    )
    counts = np.bincount(sorted_member, minlength=members)
    position = np.arange(order.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = position
    line_rank = rank[np.searchsorted(unique_baskets, baskets)]
    last_rank = _max_duplicates(rows, cols, line_rank + 1.0, shape)
    first_day = -_max_duplicates(rows, cols, -(days + 1.0), shape)
    recent_mask = line_rank >= counts[rows] - RECENT_BASKETS
    recent = sp.csr_matrix(
        (np.ones(int(recent_mask.sum())), (rows[recent_mask], cols[recent_mask])), shape=shape
    )
    size = np.bincount(rows, minlength=members).astype(np.float64)
    last_basket_day = np.full(members, np.nan)
    first_basket_day = np.full(members, np.nan)
    if order.size:
        last_basket_day = _reduce(basket_member, basket_day, members, np.fmax)
        first_basket_day = _reduce(basket_member, basket_day, members, np.fmin)
    return Snapshot(
        history=history,
        first_day=first_day,
        last_rank=last_rank,
        recent=recent,
        basket_count=counts.astype(np.float64),
        basket_size=np.divide(size, counts, out=np.zeros(members), where=counts > 0),
        last_basket_day=last_basket_day,
        first_basket_day=first_basket_day,
    )


def _reduce(index: np.ndarray, values: np.ndarray, size: int, ufunc: np.ufunc) -> np.ndarray:
    result = np.full(size, np.nan)
    ufunc.at(result, index, values)
    return result


def candidates(
    snapshot: Snapshot, store_popularity: sp.csr_matrix | None, popularity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of every member's candidates: their own products ∪ the most popular of
    their store (of the network without a store), sorted by row then column."""
    members, products = snapshot.history.shape
    own = snapshot.history.baskets.tocoo()
    rows, cols = [own.row], [own.col]
    top = min(POPULAR_CANDIDATES, products)
    if store_popularity is not None:
        store_popularity = sp.csr_matrix(store_popularity)
        for member in range(members):
            start, end = store_popularity.indptr[member], store_popularity.indptr[member + 1]
            values = store_popularity.data[start:end]
            pick = store_popularity.indices[start:end][np.argsort(-values, kind="stable")[:top]]
            rows.append(np.full(pick.shape[0], member))
            cols.append(pick)
    else:
        pick = np.argsort(-popularity, kind="stable")[:top]
        rows.append(np.repeat(np.arange(members), pick.shape[0]))
        cols.append(np.tile(pick, members))
    pairs = np.unique(np.c_[np.concatenate(rows), np.concatenate(cols)].astype(np.int64), axis=0)
    return pairs[:, 0], pairs[:, 1]


def features(
    snapshot: Snapshot,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    stats: ProductStats,
    store_popularity: sp.csr_matrix | None,
    rules: sp.csr_matrix,
    weights: BlendWeights,
    promoted: np.ndarray | None = None,
) -> np.ndarray:
    """The `FEATURES` matrix, one row per (rows[i], cols[i]) candidate. `promoted`: whether a
    planned promotion covers each candidate (none when not given)."""
    history = snapshot.history
    as_of = history.as_of_day

    def at(matrix: sp.csr_matrix) -> np.ndarray:
        return np.asarray(matrix[rows, cols]).ravel()

    baskets = at(history.baskets)
    decayed = at(history.decayed)
    last_day = at(history.last_day)
    first_day = at(snapshot.first_day)
    last_rank = at(snapshot.last_rank)
    recent = at(snapshot.recent)
    bought = baskets > 0
    count = snapshot.basket_count[rows]
    days_since = np.where(bought, as_of - (last_day - 1.0), np.nan)
    first_days = np.where(bought, as_of - (first_day - 1.0), np.nan)
    interval = stats.intervals[cols]
    own_interval = np.where(
        baskets >= 2, (first_days - days_since) / np.maximum(baskets - 1, 1), np.nan
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        blocks = [
            baskets,
            np.divide(baskets, count, out=np.zeros_like(baskets), where=count > 0),
            np.divide(
                decayed,
                history.total[rows],
                out=np.zeros_like(decayed),
                where=history.total[rows] > 0,
            ),
            np.where(bought, count - last_rank, np.nan),
            days_since,
            days_since / interval,
            days_since / own_interval,
            recent,
            first_days,
            count,
            snapshot.basket_size[rows],
            as_of - snapshot.last_basket_day[rows],
            np.divide(
                snapshot.last_basket_day[rows] - snapshot.first_basket_day[rows],
                count - 1,
                out=np.full(rows.shape[0], np.nan),
                where=count > 1,
            ),
            stats.popularity[cols],
            at(store_popularity) if store_popularity is not None else stats.popularity[cols],
            interval,
            stats.repeat_rate[cols],
            stats.buyers[cols],
        ]
    copurchase = np.zeros(rows.shape[0])
    blend = np.zeros(rows.shape[0])
    members, products = history.shape
    block = max(1, 1_000_000 // max(products, 1))
    share = history.share()
    for first in range(0, members, block):
        span = slice(first, min(first + block, members))
        chosen = (rows >= span.start) & (rows < span.stop)
        if not chosen.any():
            continue
        local = rows[chosen] - span.start
        if rules.nnz:
            copurchase[chosen] = np.asarray((share[span] @ rules)[local, cols[chosen]]).ravel()
        scores = blend_scores(
            history,
            span,
            intervals=stats.intervals,
            rules=rules,
            popularity=stats.popularity if store_popularity is None else store_popularity,
            weights=weights,
        )
        blend[chosen] = scores[local, cols[chosen]]
    flags = np.zeros(rows.shape[0]) if promoted is None else np.asarray(promoted, np.float64)
    blocks += [copurchase, blend, flags]
    return np.column_stack(blocks).astype(np.float32)


def ranker_fit(x: np.ndarray, y: np.ndarray, *, seed: int = 0) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees on the candidate rows; deterministic (seeded, no early stop)."""
    model = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=100,
        early_stopping=False,
        random_state=seed,
    )
    model.fit(x, y)
    return model


# --- Training and scoring from order lines.

MIN_HISTORY_BASKETS = 2  # fewer baskets before the moment: the blend serves the member
TRAINING_TARGETS = 4  # snapshots per member: their last 4 known baskets, each as a target
NEGATIVE_SHARE = 0.2  # of the non-bought candidates kept for the fit (all bought ones kept)
MIN_POSITIVES = 50  # fewer bought candidates in the training rows: no ranker, the blend serves


@dataclass(frozen=True)
class MemberLines:
    """Order lines of members (parallel arrays, one entry per line): member id, product
    column, basket id, basket time in fractional days, store id."""

    member_ids: np.ndarray
    product_cols: np.ndarray
    basket_ids: np.ndarray
    days: np.ndarray
    store_ids: np.ndarray

    def basket_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Per line: the position of its basket among its member's baskets in time order
        (0 = the first), and the member's basket count."""
        baskets, first, inverse = np.unique(self.basket_ids, return_index=True, return_inverse=True)
        member, day = self.member_ids[first], self.days[first]
        order = np.lexsort((baskets, day, member))
        sorted_member = member[order]
        if order.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_member)) + 1]
        sizes = np.diff(np.r_[starts, order.size])
        position = np.empty(order.size, dtype=np.int64)
        position[order] = np.arange(order.size) - np.repeat(starts, sizes)
        count = np.empty(order.size, dtype=np.int64)
        count[order] = np.repeat(sizes, sizes)
        inverse = inverse.ravel()
        return position[inverse], count[inverse]


@dataclass(frozen=True)
class TrainedRanker:
    model: HistGradientBoostingClassifier
    stats: ProductStats
    weights: BlendWeights
    training_rows: int
    positives: int


def _snapshot_of(
    lines: MemberLines,
    history: np.ndarray,
    members: np.ndarray,
    moments: np.ndarray,
    products: int,
    weights: BlendWeights,
) -> tuple[Snapshot, float]:
    """The snapshot of `members` (sorted) from the lines `history` (mask), each member's days
    shifted so that their moment falls on one common day."""
    rows = np.searchsorted(members, lines.member_ids[history])
    as_of = float(moments.max()) if moments.size else 0.0
    snapshot = snapshot_build(
        member_rows=rows,
        product_cols=lines.product_cols[history],
        basket_ids=lines.basket_ids[history],
        basket_days=lines.days[history] + (as_of - moments[rows]),
        shape=(members.shape[0], products),
        as_of_day=as_of,
        half_life_days=weights.half_life_days,
    )
    return snapshot, as_of


def ranker_train(
    lines: MemberLines,
    *,
    products: int,
    stats: ProductStats,
    rules: sp.csr_matrix,
    weights: BlendWeights = DEFAULT_WEIGHTS,
    store_popularity_of: Callable[[np.ndarray, np.ndarray], sp.csr_matrix] | None = None,
    promoted: PromotedLookup | None = None,
    targets: int = TRAINING_TARGETS,
    max_members: int | None = None,
    seed: int = 0,
) -> TrainedRanker | None:
    """Fit the ranker on snapshots of the members' own past: for each of a member's last
    `targets` baskets in `lines` (with at least one basket before it), the candidates as of
    that basket's time, from the baskets before it only, labelled by that basket's products.
    Nothing after a target basket reaches its features, and nothing outside `lines` is seen
    (the caller leaves out the baskets to be evaluated).

    `store_popularity_of(stores, days)` → sparse rows of P(product | store, the window
    before that day) (the served `store_popularity_before`); without it, network popularity.
    `promoted`: the planned promotions, looked up at the target basket's store and day.
    `max_members`: a seeded sample of members, to bound the fit's cost. Returns None when the
    rows hold fewer than `MIN_POSITIVES` bought candidates (too little history to learn)."""
    position, count = lines.basket_positions()
    members_all = np.unique(lines.member_ids)
    if max_members is not None and members_all.size > max_members:
        rng = np.random.default_rng(seed)
        members_all = np.sort(rng.choice(members_all, size=max_members, replace=False))
    sampled = np.isin(lines.member_ids, members_all)
    rng = np.random.default_rng(seed)
    blocks_x, blocks_y = [], []
    for back in range(targets):
        target_position = count - 1 - back
        target = sampled & (position == target_position) & (target_position >= 1)
        if not target.any():
            continue
        members = np.unique(lines.member_ids[target])
        target_rows = np.searchsorted(members, lines.member_ids[target])
        moments = np.zeros(members.shape[0])
        moments[target_rows] = lines.days[target]
        history = sampled & (position < target_position) & np.isin(lines.member_ids, members)
        snapshot, _ = _snapshot_of(lines, history, members, moments, products, weights)
        stores = np.zeros(members.shape[0], dtype=np.int64)
        stores[target_rows] = lines.store_ids[target]
        store_popularity = (
            store_popularity_of(stores, np.floor(moments)) if store_popularity_of else None
        )
        rows, cols = candidates(snapshot, store_popularity, stats.popularity)
        truth = sp.csr_matrix(
            (np.ones(int(target.sum())), (target_rows, lines.product_cols[target])),
            shape=snapshot.history.shape,
        )
        label = np.asarray(truth[rows, cols]).ravel() > 0
        keep = label | (rng.random(label.shape[0]) < NEGATIVE_SHARE)
        rows, cols, label = rows[keep], cols[keep], label[keep]
        blocks_x.append(
            features(
                snapshot,
                rows,
                cols,
                stats=stats,
                store_popularity=store_popularity,
                rules=rules,
                weights=weights,
                promoted=(
                    promoted.covered(stores[rows], np.floor(moments[rows]), cols)
                    if promoted is not None
                    else None
                ),
            )
        )
        blocks_y.append(label)
    if not blocks_y:
        return None
    x, y = np.vstack(blocks_x), np.concatenate(blocks_y)
    if int(y.sum()) < MIN_POSITIVES or y.all():
        return None
    return TrainedRanker(
        model=ranker_fit(x, y, seed=seed),
        stats=stats,
        weights=weights,
        training_rows=int(y.shape[0]),
        positives=int(y.sum()),
    )


def ranker_scores(
    ranker: TrainedRanker,
    snapshot: Snapshot,
    *,
    rules: sp.csr_matrix,
    store_popularity: sp.csr_matrix | None,
    promoted: PromotedLookup | None = None,
    at_stores: np.ndarray | None = None,
    at_days: np.ndarray | None = None,
) -> sp.csr_matrix:
    """Members × products: the ranker's probability for each candidate (no entry elsewhere).
    Members with fewer than `MIN_HISTORY_BASKETS` baskets get an empty row (the caller serves
    them the blend). `promoted` is looked up at each member's `at_stores` and `at_days`."""
    rows, cols = candidates(snapshot, store_popularity, ranker.stats.popularity)
    enough = snapshot.basket_count[rows] >= MIN_HISTORY_BASKETS
    rows, cols = rows[enough], cols[enough]
    shape = snapshot.history.shape
    if rows.size == 0:
        return sp.csr_matrix(shape, dtype=np.float64)
    x = features(
        snapshot,
        rows,
        cols,
        stats=ranker.stats,
        store_popularity=store_popularity,
        rules=rules,
        weights=ranker.weights,
        promoted=(
            promoted.covered(at_stores[rows], at_days[rows], cols)
            if promoted is not None and at_stores is not None and at_days is not None
            else None
        ),
    )
    # Probabilities are > 0; a tiny floor keeps every candidate a stored entry.
    probability = np.maximum(ranker.model.predict_proba(x)[:, 1], 1e-12)
    return sp.csr_matrix((probability, (rows, cols)), shape=shape)


def ranked_top_k(
    scores: sp.csr_matrix,
    k: int,
    *,
    allowed: sp.csr_matrix | None = None,
    fallback: np.ndarray | None = None,
) -> np.ndarray:
    """Top-k columns per row of sparse scores, best first, lowest column on ties (−1 pads).
    A row with no (allowed) entry takes `fallback`'s row ([members, k] columns) instead, and
    one with fewer than k is filled up from it."""
    scores = sp.csr_matrix(scores)
    members = scores.shape[0]
    result = np.full((members, k), -1, dtype=np.int64)
    for member in range(members):
        start, end = scores.indptr[member], scores.indptr[member + 1]
        columns, values = scores.indices[start:end], scores.data[start:end]
        if allowed is not None and columns.size:
            sells = np.asarray(allowed[member, columns].todense()).ravel() != 0
            columns, values = columns[sells], values[sells]
        if columns.size == 0:
            if fallback is not None:
                result[member] = fallback[member]
            continue
        best = columns[np.lexsort((columns, -values))[:k]]
        if best.shape[0] < k and fallback is not None:
            # Fewer candidates than k: the fallback's own order fills the rest.
            extra = fallback[member][(fallback[member] >= 0) & ~np.isin(fallback[member], best)]
            best = np.r_[best, extra][:k]
        result[member, : best.shape[0]] = best
    return result


def ranker_evaluation_top_k(
    setup: EvaluationSetup,
    weights: BlendWeights = DEFAULT_WEIGHTS,
    *,
    max_members: int | None = None,
    train_members: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, TrainedRanker | None]:
    """(the served top-k, the blend's top-k, the ranker) for the setup's members: the
    ranker trained on the setup's training lines only (the held-out baskets are not among
    them) and scored as of each member's held-out basket; members with too little history
    (or all, when no ranker could be trained) get the blend. `train_members`: only these
    members' training lines are fitted on (default: every member's, as the nightly run)."""
    training = setup.training
    if training is None:
        raise ValueError("the setup holds no training lines")
    products = setup.catalog.shape[0]
    members = training.member_ids >= 0
    if train_members is not None:
        members &= np.isin(training.member_ids, train_members)
    stores = (
        training.store_ids[members]
        if training.store_ids is not None
        else np.zeros(int(members.sum()), dtype=np.int64)
    )
    lines = MemberLines(
        member_ids=training.member_ids[members],
        product_cols=training.product_cols[members],
        basket_ids=training.basket_ids[members],
        days=training.days[members],
        store_ids=stores,
    )
    stats = product_stats(
        member_ids=lines.member_ids,
        product_cols=lines.product_cols,
        basket_ids=lines.basket_ids,
        products=products,
        popularity=setup.popularity,
        intervals=setup.intervals,
    )
    ranker = ranker_train(
        lines,
        products=products,
        stats=stats,
        rules=setup.rules,
        weights=weights,
        store_popularity_of=(
            (lambda at, days: training.store_popularity(at, days, products))
            if training.store_ids is not None
            else None
        ),
        promoted=setup.promoted,
        max_members=max_members,
        seed=seed,
    )
    blend = blend_top_k(
        setup.history(weights.half_life_days),
        intervals=setup.intervals,
        rules=setup.rules,
        popularity=setup.popularity if setup.store_popularity is None else setup.store_popularity,
        k=setup.k,
        weights=weights,
        allowed=setup.allowed,
    )
    if ranker is None:
        return blend, blend, None
    snapshot = snapshot_build(
        member_rows=setup.member_rows,
        product_cols=setup.product_cols,
        basket_ids=setup.basket_ids,
        basket_days=setup.basket_days,
        shape=(setup.members.shape[0], products),
        as_of_day=setup.as_of_day,
        half_life_days=weights.half_life_days,
    )
    scores = ranker_scores(
        ranker,
        snapshot,
        rules=setup.rules,
        store_popularity=setup.store_popularity,
        promoted=setup.promoted,
        at_stores=setup.held_stores,
        at_days=setup.held_days,
    )
    return ranked_top_k(scores, setup.k, allowed=setup.allowed, fallback=blend), blend, ranker


def ranker_evaluation_score(
    setup: EvaluationSetup,
    weights: BlendWeights = DEFAULT_WEIGHTS,
    *,
    max_members: int | None = None,
    train_members: np.ndarray | None = None,
    seed: int = 0,
) -> Evaluation:
    """`evaluation_score` with the ranker served (`ranker_evaluation_top_k`). Lines: the
    ranker (served), popularity, buy again, the blend (its fallback)."""
    base = evaluation_score(setup, weights)
    served, _blend, _ranker = ranker_evaluation_top_k(
        setup, weights, max_members=max_members, train_members=train_members, seed=seed
    )
    hit_rate, ndcg = ranking_quality(served, setup.truth, setup.k)
    return Evaluation(
        members=base.members,
        k=base.k,
        rule_count=base.rule_count,
        blend=MethodScore("ranker (served)", hit_rate, ndcg),
        popularity=base.popularity,
        buy_again=base.buy_again,
        extra={"blend": MethodScore("blend (fallback)", base.blend.hit_rate, base.blend.ndcg)},
    )


@dataclass(frozen=True)
class ServedRanking:
    """The nightly ranking: parallel arrays, one entry per (member, product), best first per
    member (rank 1 = best)."""

    member_ids: np.ndarray
    product_ids: np.ndarray
    ranks: np.ndarray
    scores: np.ndarray
    training_rows: int
    positives: int
    members_ranked: int


def ranking_serve(
    *,
    order_ids: np.ndarray,
    order_times: np.ndarray,
    member_ids: np.ndarray,
    product_ids: np.ndarray,
    store_ids: np.ndarray,
    as_of: np.datetime64,
    top: int,
    min_support: float = 0.0,
    min_confidence: float = 0.0,
    min_pair_count: int = 2,
    weights: BlendWeights = DEFAULT_WEIGHTS,
    promotions: PromotionSpans | None = None,
    max_members: int | None = None,
    seed: int = 0,
) -> ServedRanking | None:
    """Train the ranker on all the lines given (every line is before `as_of`) and rank, as
    of `as_of`, the candidates of every member with at least `MIN_HISTORY_BASKETS` baskets,
    limited to what their last basket's store sold in the `STORE_POPULARITY_DAYS` before
    `as_of`'s day: the `top` best per member. The same pieces as `ranker_evaluation_score`
    (rules, popularity and intervals learnt from the lines; `store_popularity_before`).
    None when no ranker could be trained (too little history: the blend serves everyone).
    `promotions`: the planned promotions of the history and of `as_of`'s day (the "promoted"
    feature, at each member's store).

    Parallel arrays, one entry per order line (`order_times` local wall-clock times; member
    −1 = no member)."""
    order_ids = np.asarray(order_ids, dtype=np.int64)
    member_ids = np.asarray(member_ids, dtype=np.int64)
    product_ids = np.asarray(product_ids, dtype=np.int64)
    store_ids = np.asarray(store_ids, dtype=np.int64)
    times = np.asarray(order_times).astype("datetime64[us]").astype(np.int64)
    if times.size == 0:
        return None
    origin = (times.min() // DAY_US) * DAY_US
    days = (times - origin) / DAY_US
    moment = (np.datetime64(as_of, "us").astype(np.int64) - origin) / DAY_US
    catalog = np.unique(product_ids)
    cols = np.searchsorted(catalog, product_ids)
    products = catalog.shape[0]
    promoted = (
        PromotedLookup.build(
            promotions,
            catalog=catalog,
            origin_day=np.datetime64(int(origin), "us").astype("datetime64[D]"),
        )
        if promotions is not None
        else None
    )
    rules, popularity, _rule_count = basket_rules_and_popularity(
        order_ids,
        product_ids,
        catalog,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
    )
    member = member_ids >= 0
    lines = MemberLines(
        member_ids=member_ids[member],
        product_cols=cols[member],
        basket_ids=order_ids[member],
        days=days[member],
        store_ids=store_ids[member],
    )
    intervals = repurchase_intervals(
        member_rows=lines.member_ids,
        product_cols=lines.product_cols,
        basket_days=lines.days,
        products=products,
    )
    stats = product_stats(
        member_ids=lines.member_ids,
        product_cols=lines.product_cols,
        basket_ids=lines.basket_ids,
        products=products,
        popularity=popularity,
        intervals=intervals,
    )

    def store_popularity_of(at_stores: np.ndarray, at_days: np.ndarray) -> sp.csr_matrix:
        return store_popularity_before(
            store_ids=store_ids,
            order_ids=order_ids,
            product_cols=cols,
            days=days,
            products=products,
            at_stores=at_stores,
            at_days=at_days,
        )

    ranker = ranker_train(
        lines,
        products=products,
        stats=stats,
        rules=rules,
        weights=weights,
        store_popularity_of=store_popularity_of,
        promoted=promoted,
        max_members=max_members,
        seed=seed,
    )
    if ranker is None:
        return None
    position, count = lines.basket_positions()
    enough = count >= MIN_HISTORY_BASKETS
    members = np.unique(lines.member_ids[enough])
    history = enough & np.isin(lines.member_ids, members)
    snapshot, _ = _snapshot_of(
        lines, history, members, np.full(members.shape[0], moment), products, weights
    )
    last = history & (position == count - 1)
    stores = np.zeros(members.shape[0], dtype=np.int64)
    stores[np.searchsorted(members, lines.member_ids[last])] = lines.store_ids[last]
    store_popularity = store_popularity_of(stores, np.full(members.shape[0], np.floor(moment)))
    scores = ranker_scores(
        ranker,
        snapshot,
        rules=rules,
        store_popularity=store_popularity,
        promoted=promoted,
        at_stores=stores,
        at_days=np.full(members.shape[0], np.floor(moment)),
    )
    chosen = ranked_top_k(scores, top, allowed=store_popularity)
    row, rank = np.nonzero(chosen >= 0)
    column = chosen[row, rank]
    return ServedRanking(
        member_ids=members[row],
        product_ids=catalog[column],
        ranks=rank + 1,
        scores=np.asarray(scores[row, column]).ravel(),
        training_rows=ranker.training_rows,
        positives=ranker.positives,
        members_ranked=int(members.shape[0]),
    )
