from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from apps.procurement.selectors.aftersales import refunded_order_days, refunds_by_store
from apps.stores.kpis.services import (
    kpi_history_backfill,
    kpi_snapshots_compute,
    kpi_snapshots_refresh,
)
from apps.stores.services.kpis import store_kpi_snapshots_compute


@shared_task(time_limit=600, soft_time_limit=540)
def store_kpi_snapshots_task(day: str | None = None) -> int:
    """Recompute KPI snapshots for `day` (ISO date), or for yesterday and today and the days
    whose orders got a refund decided since yesterday began (their revenue, less refunds as
    GMV counts it, changed: a box refunded days after its order).

    Idempotent: an upsert per (store, day), so a rerun or a second beat changes nothing.
    """
    if day is not None:
        return store_kpi_snapshots_compute(day=dt.date.fromisoformat(day), refunds=refunds_by_store)
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    since = dt.datetime.combine(yesterday, dt.time.min, tzinfo=timezone.get_current_timezone())
    days = {yesterday, today} | refunded_order_days(decided_since=since)
    return sum(
        store_kpi_snapshots_compute(day=each, refunds=refunds_by_store)
        for each in sorted(days)
        if each <= today
    )


@shared_task(time_limit=1800, soft_time_limit=1740)
def kpi_snapshots_task(
    month: str | None = None, first_day: str | None = None, last_day: str | None = None
) -> int:
    """The KPI pack's monthly snapshots (docs/kpis.md): for `month` (ISO date of any day in
    it), or the previous and the current month and any earlier one with an order refunded
    since yesterday began (`kpi_snapshots_refresh`). With `first_day` and `last_day` (ISO dates,
    HQ's "run now" with a range after importing a history): the stores' daily KPI rows of
    every day in between and the pack of every month it touches (`kpi_history_backfill`, at
    most 400 days). Idempotent: each month's rows are replaced in one transaction and each
    day's are upserted, so a rerun or a second beat changes nothing. Returns rows written."""
    if first_day is not None and last_day is not None:
        done = kpi_history_backfill(
            first_day=dt.date.fromisoformat(first_day), last_day=dt.date.fromisoformat(last_day)
        )
        return done["daily_rows"] + done["monthly_rows"]
    if month is not None:
        return kpi_snapshots_compute(month=dt.date.fromisoformat(month))
    return kpi_snapshots_refresh()
