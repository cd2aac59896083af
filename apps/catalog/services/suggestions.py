"""Personal next-product suggestions: the nightly ranking by the learned ranker
(`analytics.ranker`, stored in `MemberSuggestion`, served by `selectors.member_suggestions`
with the blend of `analytics.suggestions` as the fallback) and their offline evaluation
against both baselines: popularity and "buy again"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from apps.catalog.analytics.ranker import ranker_evaluation_score, ranking_serve
from apps.catalog.analytics.suggestions import (
    BlendWeights,
    Evaluation,
    PromotionSpans,
    evaluation_score,
    evaluation_setup,
    repurchase_intervals,
)
from apps.catalog.models import MemberSuggestion, ProductRepurchaseInterval
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.forecasts import day_start
from apps.catalog.services.frames import datetime_column, frame_insert, int_column, queryset_frame
from apps.catalog.services.sources import NO_SOURCES, PlanningSources
from apps.stores.selectors import order_lines_between


def suggestions_evaluate(
    *,
    day: dt.date | None = None,
    days: int | None = None,
    k: int = 10,
    weights: BlendWeights | None = None,
    ranker: bool = True,
    sources: PlanningSources = NO_SOURCES,
) -> Evaluation:
    """Hold out each member's last basket before `day` (default today) within the rules'
    window (or `days`); learn from the rest; report hit-rate@k and NDCG@k of the served
    method (the ranker, trained on the rest only; `ranker=False`: the blend), the k most
    popular products, "buy again" and the blend as the ranker's fallback. One set-wise read
    (and the planned promotions of the window from `sources`, as served); writes nothing."""
    settings = decision_settings_get()
    weights = weights or BlendWeights()
    end = day_start(day or timezone.localdate())
    start = end - dt.timedelta(days=days or settings.rules_window_days)
    frame = queryset_frame(
        order_lines_between(start=start, end=end)
        .order_by()
        .values_list(
            "order_id", "order__placed_at", "order__store_id", "order__member_id", "product_id"
        ),
        ["order_id", "placed_at", "store_id", "member_id", "product_id"],
    )
    setup = evaluation_setup(
        order_ids=int_column(frame, "order_id").to_numpy(),
        # Local wall-clock time: days are the store's calendar days, as served.
        order_times=datetime_column(frame, "placed_at")
        .dt.tz_convert(timezone.get_current_timezone_name())
        .dt.tz_localize(None)
        .to_numpy(),
        member_ids=int_column(frame, "member_id").to_numpy(),
        product_ids=int_column(frame, "product_id").to_numpy(),
        store_ids=int_column(frame, "store_id").to_numpy(),
        k=k,
        min_support=settings.rules_min_support,
        min_confidence=settings.rules_min_confidence,
        min_pair_count=settings.rules_min_pair_count,
        promotions=_promotion_spans(sources, frame, first_day=start.date(), last_day=end.date()),
    )
    if ranker:
        return ranker_evaluation_score(setup, weights, max_members=MAX_TRAINING_MEMBERS)
    return evaluation_score(setup, weights)


# --- The learned ranker, served from the nightly run.

STORED_PER_MEMBER = 20
RANKER_HISTORY_DAYS = 365  # the lines the ranker learns from and ranks with
# The fit's cost grows with its rows (≈ members × training targets × candidates); a seeded
# sample of this many members bounds it (the real panel's 2,469 households fit in about a
# minute on a quiet core; every member is still ranked, only the fit is sampled).
MAX_TRAINING_MEMBERS = 3000


def member_suggestions_rank(
    *,
    day: dt.date | None = None,
    max_members: int = MAX_TRAINING_MEMBERS,
    sources: PlanningSources = NO_SOURCES,
    heartbeat: Callable[[], None] = lambda: None,
) -> dict[str, int]:
    """Train the ranker on the members' baskets of the `RANKER_HISTORY_DAYS` before `day`
    (default today) and store each member's `STORED_PER_MEMBER` best products as of `day`'s
    start (`analytics.ranker.ranking_serve`), and every product's repurchase interval over
    the same lines (`ProductRepurchaseInterval`, what the member page's "buy again" reads),
    replacing the previous ranking (`member_suggestions_replace`: in short transactions of
    `MEMBERS_PER_WRITE` members, each member's rows old or new, never a mix) and the
    intervals (one short transaction). Members left out (fewer
    than two baskets) and everyone when no ranker could be trained are served the blend
    (`selectors.member_suggestions`). The planned promotions of the history and of `day`
    come from `sources` (the ranker's "promoted" feature; the nightly run passes the real
    reader).

    Idempotent: the fit is seeded and deterministic, so a rerun on the same data stores the
    same rows. `heartbeat` is called between the steps (lines loaded, intervals, the fit and
    ranking, each block written): the nightly run renews its lease there."""
    settings = decision_settings_get()
    end = day_start(day or timezone.localdate())
    frame = queryset_frame(
        order_lines_between(start=end - dt.timedelta(days=RANKER_HISTORY_DAYS), end=end)
        .order_by()
        .values_list(
            "order_id", "order__placed_at", "order__store_id", "order__member_id", "product_id"
        ),
        ["order_id", "placed_at", "store_id", "member_id", "product_id"],
    )
    zone = timezone.get_current_timezone_name()
    order_times = datetime_column(frame, "placed_at").dt.tz_convert(zone).dt.tz_localize(None)
    member_ids = int_column(frame, "member_id").to_numpy()
    heartbeat()
    intervals = _repurchase_interval_rows(
        member_ids=member_ids,
        product_ids=int_column(frame, "product_id").to_numpy(),
        local_days=order_times.dt.normalize().to_numpy(),
        day=end.date(),
    )
    heartbeat()
    ranking = ranking_serve(
        order_ids=int_column(frame, "order_id").to_numpy(),
        order_times=order_times.to_numpy(),
        member_ids=member_ids,
        product_ids=int_column(frame, "product_id").to_numpy(),
        store_ids=int_column(frame, "store_id").to_numpy(),
        as_of=np.datetime64(end.replace(tzinfo=None), "us"),
        top=STORED_PER_MEMBER,
        min_support=settings.rules_min_support,
        min_confidence=settings.rules_min_confidence,
        min_pair_count=settings.rules_min_pair_count,
        max_members=max_members,
        promotions=_promotion_spans(
            sources,
            frame,
            first_day=(end - dt.timedelta(days=RANKER_HISTORY_DAYS)).date(),
            last_day=end.date(),
        ),
    )
    heartbeat()
    with transaction.atomic():  # one row per product: a few thousand rows, a moment
        ProductRepurchaseInterval.objects.all().delete()
        ProductRepurchaseInterval.objects.bulk_create(intervals, batch_size=2000)
    if ranking is None:
        member_suggestions_replace(
            rows=_suggestion_frame(member_ids=np.zeros(0, np.int64)), heartbeat=heartbeat
        )
        return {"members": 0, "rows": 0, "training_rows": 0}
    member_suggestions_replace(
        rows=_suggestion_frame(
            member_ids=ranking.member_ids,
            product_ids=ranking.product_ids,
            ranks=ranking.ranks,
            scores=ranking.scores,
            day=end.date(),
        ),
        heartbeat=heartbeat,
    )
    return {
        "members": ranking.members_ranked,
        "rows": int(ranking.member_ids.shape[0]),
        "training_rows": ranking.training_rows,
    }


# Members whose stored suggestions are replaced in one transaction (about 20 rows each). On
# the embedded SQLite default the web, the worker and beat share one write lock, which a
# login waits for at most 20 s (`SQLITE_OPTIONS["timeout"]`): the night's ~370k rows written
# in one transaction held it longer. A block of members is written in well under a second.
MEMBERS_PER_WRITE = 2000


def _suggestion_frame(
    *,
    member_ids: np.ndarray,
    product_ids: np.ndarray | None = None,
    ranks: np.ndarray | None = None,
    scores: np.ndarray | None = None,
    day: dt.date | None = None,
) -> pd.DataFrame:
    empty = np.zeros(len(member_ids), dtype=np.int64)
    return pd.DataFrame(
        {
            "member_id": member_ids.astype(np.int64),
            "product_id": (empty if product_ids is None else product_ids).astype(np.int64),
            "day": day,
            "rank": (empty if ranks is None else ranks).astype(np.int64),
            "score": (empty if scores is None else scores).astype(np.float64),
        }
    )


def member_suggestions_replace(
    *,
    rows: pd.DataFrame,
    members_per_write: int | None = None,
    heartbeat: Callable[[], None] = lambda: None,
) -> int:
    """Make `rows` (columns member_id, product_id, day, rank, score) the stored suggestions:
    every member's rows are replaced by theirs, and members without rows lose theirs.

    Block by block of members, in member-id order: each block is a range of member ids (the
    first open below, the last open above, so every stored member falls in exactly one) whose
    stored rows are deleted and the block's new rows inserted (COPY on PostgreSQL) in one
    short transaction. A reader therefore sees each member's complete old or complete new
    suggestions, never a mix or none in between; while the replacement runs, members of the
    blocks already written have the new ones. Each transaction holds SQLite's one write lock
    for a moment, not for the whole night's rows. Returns the rows written.

    Idempotent: the same `rows` again write the same table. A run that dies between blocks
    leaves the earlier blocks new and the rest old (each member consistent); the next run
    replaces them all. `members_per_write` defaults to `MEMBERS_PER_WRITE`; `heartbeat` is
    called after each block.
    """
    members_per_write = members_per_write or MEMBERS_PER_WRITE
    rows = rows.sort_values(["member_id", "rank"], kind="stable")
    new_members = rows["member_id"].to_numpy(dtype=np.int64)
    stored_members = np.fromiter(
        MemberSuggestion.objects.order_by().values_list("member_id", flat=True).distinct(),
        dtype=np.int64,
    )
    members = np.union1d(np.unique(new_members), stored_members)
    # Block boundaries: the first member id of every block but the first.
    bounds = members[members_per_write::members_per_write].tolist()
    lows: list[int | None] = [None, *bounds]
    highs: list[int | None] = [*bounds, None]
    written = 0
    for low, high in zip(lows, highs, strict=True):
        start = 0 if low is None else int(np.searchsorted(new_members, low, side="left"))
        stop = len(rows) if high is None else int(np.searchsorted(new_members, high, side="left"))
        stale = MemberSuggestion.objects.all()
        if low is not None:
            stale = stale.filter(member_id__gte=low)
        if high is not None:
            stale = stale.filter(member_id__lt=high)
        with transaction.atomic():
            stale.delete()
            # COPY on PostgreSQL: a night stores ~20 rows for each of tens of thousands of
            # members.
            written += frame_insert(MemberSuggestion, rows.iloc[start:stop].astype(object))
        heartbeat()
    return written


def _repurchase_interval_rows(
    *, member_ids: np.ndarray, product_ids: np.ndarray, local_days: np.ndarray, day: dt.date
) -> list[ProductRepurchaseInterval]:
    """Each product's repurchase interval over these lines (one per order line; member -1:
    no member), on the lines' local calendar days, as `ProductRepurchaseInterval` rows."""
    member = member_ids >= 0
    products, columns = np.unique(product_ids[member], return_inverse=True)
    days = (local_days[member] - np.datetime64(day, "D")).astype("timedelta64[D]").astype(float)
    intervals = repurchase_intervals(
        member_rows=member_ids[member],
        product_cols=columns,
        basket_days=days,
        products=products.shape[0],
    )
    return [
        ProductRepurchaseInterval(product_id=int(product), day=day, interval_days=float(value))
        for product, value in zip(products, intervals, strict=True)
        if not np.isnan(value)
    ]


def _promotion_spans(
    sources: PlanningSources, frame: pd.DataFrame, *, first_day: dt.date, last_day: dt.date
) -> PromotionSpans | None:
    """The planned promotions covering the frame's stores × products from `first_day` to
    `last_day` (inclusive), as spans; None when there is none."""
    if frame.empty:
        return None
    stores = np.unique(int_column(frame, "store_id").to_numpy())
    products = np.unique(int_column(frame, "product_id").to_numpy())
    store_ids, product_ids = np.repeat(stores, products.size), np.tile(products, stores.size)
    spans = sources.promotion_spans(
        store_ids=store_ids,
        product_ids=product_ids,
        first_day=first_day,
        days=(last_day - first_day).days + 1,
    )
    if spans is None or spans.empty:
        return None
    origin = np.datetime64(first_day, "D")
    rows = spans["row"].to_numpy(dtype=np.int64)
    return PromotionSpans(
        store_ids=store_ids[rows],
        product_ids=product_ids[rows],
        first_days=origin + spans["start"].to_numpy(dtype=np.int64),
        last_days=origin + spans["end"].to_numpy(dtype=np.int64) - 1,
    )
