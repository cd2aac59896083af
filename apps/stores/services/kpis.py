"""Nightly per-store KPI snapshots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.stores.models import (
    Order,
    StoreKpiSnapshot,
)
from apps.stores.selectors import store_loss_values

CENT = Decimal("0.01")
# A backfill (an imported history, HQ's "run now" with a date range) covers at most this many
# days: each day is a few grouped queries, so 400 days is minutes, not hours, in one task.
BACKFILL_MAX_DAYS = 400


class RefundsByStore(Protocol):
    def __call__(self, *, start: dt.datetime, end: dt.datetime) -> dict[int, Decimal]: ...


def store_kpi_snapshots_compute(*, day: dt.date, refunds: RefundsByStore) -> int:
    """Compute every store's KPI row for `day` (local time) set-wise and upsert it.

    A store gets a row when it had a counted order or a loss that day. `revenue` is what the
    day's counted orders sold, as the KPI pack's GMV counts it: their totals less the refunds
    given on them, whatever day decided; `refunds` reads those (procurement's
    `refunds_by_store`, handed in by the caller: the sales ledger does not import
    procurement). `average_basket` is that revenue per order. `loss_value` is the day's loss
    movements valued at the product's price (`store_loss_values`).
    Idempotent: rerunning for the same day rewrites the same numbers. Returns rows written.
    """
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    counted = Order.objects.exclude(status__in=Order.VOID_STATUSES)
    figures = (
        counted.filter(placed_at__gte=start, placed_at__lt=end)
        .values("store_id")
        .annotate(
            order_count=Count("id"),
            revenue=Sum("total"),
            member_count=Count("member_id", distinct=True),
        )
    )
    losses = store_loss_values(start=start, end=end)
    refunded = refunds(start=start, end=end)
    now = timezone.now()
    rows = []
    for item in figures:
        revenue = (item["revenue"] or Decimal("0")) - refunded.get(item["store_id"], Decimal(0))
        rows.append(
            StoreKpiSnapshot(
                store_id=item["store_id"],
                day=day,
                order_count=item["order_count"],
                revenue=revenue,
                member_count=item["member_count"],
                average_basket=(revenue / item["order_count"]).quantize(CENT),
                loss_value=losses.pop(item["store_id"], Decimal("0.00")),
                computed_at=now,
            )
        )
    # Stores that lost stock but sold nothing that day.
    rows.extend(
        StoreKpiSnapshot(store_id=store_id, day=day, loss_value=value, computed_at=now)
        for store_id, value in sorted(losses.items())
    )
    with transaction.atomic():
        # A store whose every order of the day was cancelled (and that lost nothing) since the
        # last run has no figures now: drop its stale row so a rerun always leaves exactly the
        # current numbers.
        StoreKpiSnapshot.objects.filter(day=day).exclude(
            store_id__in=[row.store_id for row in rows]
        ).delete()
        StoreKpiSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["store", "day"],
            update_fields=[
                "order_count",
                "revenue",
                "member_count",
                "average_basket",
                "loss_value",
                "computed_at",
            ],
            batch_size=1000,
        )
    return len(rows)


def kpi_backfill_range_check(*, first_day: dt.date, last_day: dt.date, today: dt.date) -> int:
    """The number of days first_day … last_day; ValueError (a sentence for the user) when the
    range is reversed, ends after `today` or is longer than BACKFILL_MAX_DAYS."""
    if first_day > last_day:
        raise ValueError(
            _("The first day (%(first)s) is after the last day (%(last)s).")
            % {"first": first_day.isoformat(), "last": last_day.isoformat()}
        )
    if last_day > today:
        raise ValueError(
            _("The last day (%(last)s) is in the future.") % {"last": last_day.isoformat()}
        )
    days = (last_day - first_day).days + 1
    if days > BACKFILL_MAX_DAYS:
        raise ValueError(
            _("%(days)d days asked for; at most %(max)d days can be computed at once.")
            % {"days": days, "max": BACKFILL_MAX_DAYS}
        )
    return days


def store_kpi_snapshots_backfill(
    *,
    first_day: dt.date,
    last_day: dt.date,
    refunds: RefundsByStore,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Compute every store's KPI rows for each local day first_day … last_day (an imported
    history: the hourly job covers only yesterday and today), oldest first, each day as
    `store_kpi_snapshots_compute` does (its own transaction, an upsert on the unique (store,
    day)), so a rerun or an overlapping range rewrites the same rows and never adds one.
    `progress` hears of each finished month and of the last day. At most BACKFILL_MAX_DAYS
    days, the last not after today (ValueError otherwise, nothing written). Returns rows
    written."""
    days = kpi_backfill_range_check(
        first_day=first_day, last_day=last_day, today=timezone.localdate()
    )
    written = 0
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        written += store_kpi_snapshots_compute(day=day, refunds=refunds)
        month_end = (day + dt.timedelta(days=1)).day == 1
        if progress is not None and (month_end or day == last_day):
            progress(f"daily KPIs: {offset + 1}/{days} days, up to {day.isoformat()}")
    return written


def store_kpi_loss_values_refresh(*, first_day: dt.date, last_day: dt.date) -> int:
    """Rewrite the loss value of every store's snapshots for the local days first_day …
    last_day from the ledger: one grouped query per day (a range scan of the ledger's time
    index; grouping by local day in SQL would run SQLite's per-row date function) and one
    upsert, for loss movements written in bulk (the demo) without recomputing each day's
    order figures.

    Leaves the rows exactly as `store_kpi_snapshots_compute` would for those days, provided the
    order figures are current: a store-day with a loss but no snapshot gets a row with zero
    order figures, and a row left with neither orders nor loss is dropped. Idempotent.
    Returns the number of store-days with a loss.
    """
    tz = timezone.get_current_timezone()
    losses: dict[tuple[int, dt.date], Decimal] = {}
    day = first_day
    while day <= last_day:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
        values = store_loss_values(start=start, end=start + dt.timedelta(days=1))
        losses.update({(store_id, day): value for store_id, value in values.items()})
        day += dt.timedelta(days=1)
    now = timezone.now()
    in_range = StoreKpiSnapshot.objects.filter(day__gte=first_day, day__lte=last_day)
    with transaction.atomic():
        in_range.exclude(loss_value=0).update(loss_value=Decimal("0.00"))
        StoreKpiSnapshot.objects.bulk_create(
            [
                StoreKpiSnapshot(store_id=store_id, day=day, loss_value=value, computed_at=now)
                for (store_id, day), value in sorted(losses.items())
            ],
            update_conflicts=True,
            unique_fields=["store", "day"],
            update_fields=["loss_value", "computed_at"],
            batch_size=1000,
        )
        in_range.filter(order_count=0, loss_value=0).delete()
    return len(losses)
