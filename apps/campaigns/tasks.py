"""Celery tasks of campaigns (thin: ids in, one service call, something small out)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from apps.campaigns.services.group_buys import group_buy_offers_settle
from apps.campaigns.services.live import live_viewers_went_stale
from apps.campaigns.sources import settle_sources


@shared_task(time_limit=300, soft_time_limit=270)
def group_buy_offers_settle_task() -> dict[str, int]:
    """Settle every group-buy offer past its deadline (every minute, linli/schedules.py).

    Idempotent: each offer is claimed with a skip-locked row lock on a still-open row, so a
    rerun, a second beat or a redelivered message settles nothing twice."""
    result = group_buy_offers_settle(sources=settle_sources(), now=timezone.now())
    return {"formed": len(result.formed), "failed": len(result.failed)}


@shared_task(time_limit=60, soft_time_limit=50)
def live_viewers_stale_task() -> dict[str, int]:
    """Show as stale, on the open live dashboards, the viewers counts no longer reported
    (every minute, linli/schedules.py). Idempotent: a dashboard already showing it changes
    nothing."""
    return {"stale": live_viewers_went_stale(now=timezone.now())}
