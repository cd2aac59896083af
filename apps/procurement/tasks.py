"""Celery tasks of procurement (thin: parse, call one service, return something small)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from apps.procurement.services.consolidation import (
    consolidation_cutoff,
    purchase_orders_consolidate,
)
from apps.procurement.services.delivery import delivery_plans_build
from apps.procurement.services.replenishment import purchase_orders_replenish


@shared_task(
    time_limit=900,
    soft_time_limit=840,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def purchase_orders_consolidate_task(cutoff: str | None = None) -> dict[str, object]:
    """Consolidate paid supply orders placed before `cutoff` (ISO datetime with offset), by
    default before the current local hour (the daily 22:00 beat: every order of the day).

    Idempotent: the run is unique per cut-off and each order line is linked once, so a second
    beat, a redelivered message or a retry after a crash gives the same purchase orders.
    """
    moment = dt.datetime.fromisoformat(cutoff) if cutoff else consolidation_cutoff()
    run = purchase_orders_consolidate(cutoff=moment)
    return {
        "run": run.pk,
        "status": run.status,
        "purchase_orders": run.purchase_order_count,
        "purchase_orders_updated": run.purchase_order_updated_count,
        "lines": run.source_line_count,
    }


@shared_task(time_limit=600, soft_time_limit=540)
def purchase_orders_replenish_task(issued_on: str | None = None) -> dict[str, int]:
    """Draft purchase orders from the suggestions of the forecasts issued on `issued_on` (ISO
    date; default today), for HQ to approve in the admin. Idempotent per issue day."""
    day = dt.date.fromisoformat(issued_on) if issued_on else timezone.localdate()
    result = purchase_orders_replenish(issued_on=day)
    return {"purchase_orders": result.purchase_orders, "lines": result.lines}


@shared_task(
    time_limit=300,
    soft_time_limit=270,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def delivery_plans_build_task(day: str | None = None) -> dict[str, int]:
    """Make or refresh the regional delivery plans of `day` (ISO date; default tomorrow in the
    project's time zone). Idempotent: plans are unique per region and day, planned plans are
    brought in line with the allocations, dispatched ones are left as they are."""
    when = dt.date.fromisoformat(day) if day else timezone.localdate() + dt.timedelta(days=1)
    built = delivery_plans_build(day=when)
    return {
        "plans": built.plans,
        "created": built.created,
        "frozen": built.frozen,
        "stops": built.stops,
    }
