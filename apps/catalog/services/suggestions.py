"""Offline evaluation of the personal next-product suggestions (the blend of
`analytics.suggestions`, served by `selectors.member_next_products`) against both baselines:
popularity and "buy again"."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from django.utils import timezone

from apps.catalog.analytics.suggestions import (
    BlendWeights,
    Evaluation,
    evaluation_score,
    evaluation_setup,
)
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.forecasts import day_start
from apps.catalog.services.frames import int_column, queryset_frame
from apps.stores.selectors import order_lines_between


def suggestions_evaluate(
    *,
    day: dt.date | None = None,
    days: int | None = None,
    k: int = 10,
    weights: BlendWeights | None = None,
) -> Evaluation:
    """Hold out each member's last basket before `day` (default today) within the rules'
    window (or `days`); learn from the rest; report hit-rate@k and NDCG@k of the served blend,
    the k most popular products and "buy again". One set-wise read; writes nothing."""
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
    return evaluation_score(
        evaluation_setup(
            order_ids=int_column(frame, "order_id").to_numpy(),
            # Local wall-clock time: days are the store's calendar days, as served.
            order_times=pd.to_datetime(frame["placed_at"], utc=True)
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
        ),
        weights,
    )
