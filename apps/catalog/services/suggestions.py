"""Offline evaluation of personal next-product suggestions (hit-rate@k vs popularity)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from django.utils import timezone

from apps.catalog.analytics.suggestions import HitRates, hit_rate_evaluation
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.forecasts import day_start
from apps.catalog.services.frames import int_column, queryset_frame
from apps.stores.selectors import member_basket_lines_between


def suggestions_evaluate(
    *, day: dt.date | None = None, days: int | None = None, k: int = 10
) -> HitRates:
    """Hold out each member's last basket before `day` (default today) within the rules'
    window (or `days`), learn rules and popularity from the rest, and report hit-rate@k of
    both. Reads everything in one set-wise query; writes nothing."""
    settings = decision_settings_get()
    end = day_start(day or timezone.localdate())
    start = end - dt.timedelta(days=days or settings.rules_window_days)
    frame = queryset_frame(
        member_basket_lines_between(start=start, end=end),
        ["order_id", "placed_at", "member_id", "product_id"],
    )
    if frame.empty:
        return HitRates(members=0, k=k, rules_hit_rate=0.0, popularity_hit_rate=0.0, rule_count=0)
    return hit_rate_evaluation(
        order_ids=int_column(frame, "order_id").to_numpy(),
        order_times=pd.to_datetime(frame["placed_at"], utc=True).dt.tz_localize(None).to_numpy(),
        member_ids=int_column(frame, "member_id").to_numpy(),
        product_ids=int_column(frame, "product_id").to_numpy(),
        k=k,
        min_support=settings.rules_min_support,
        min_confidence=settings.rules_min_confidence,
        min_pair_count=settings.rules_min_pair_count,
    )
