"""Nightly per-store KPI snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.stores.models import (
    Order,
    StoreKpiSnapshot,
)

CENT = Decimal("0.01")


def store_kpi_snapshots_compute(*, day: dt.date) -> int:
    """Compute every store's KPI row for `day` (local time) set-wise and upsert it.

    Idempotent: rerunning for the same day rewrites the same numbers. Returns rows written.
    """
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=1)
    counted = Order.objects.exclude(status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED])
    figures = (
        counted.filter(placed_at__gte=start, placed_at__lt=end)
        .values("store_id")
        .annotate(
            order_count=Count("id"),
            revenue=Sum("total"),
            member_count=Count("member_id", distinct=True),
        )
    )
    now = timezone.now()
    rows = []
    for item in figures:
        revenue = item["revenue"] or Decimal("0")
        rows.append(
            StoreKpiSnapshot(
                store_id=item["store_id"],
                day=day,
                order_count=item["order_count"],
                revenue=revenue,
                member_count=item["member_count"],
                average_basket=(revenue / item["order_count"]).quantize(CENT),
                computed_at=now,
            )
        )
    with transaction.atomic():
        # A store whose every order of the day was cancelled since the last run has no figures
        # now: drop its stale row so a rerun always leaves exactly the current numbers.
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
                "computed_at",
            ],
            batch_size=1000,
        )
    return len(rows)
