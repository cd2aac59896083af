"""Notification background work: the SMS / WeChat dispatcher. Thin; idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.campaigns.notifications.dispatch import notifications_dispatch
from apps.campaigns.notifications.services import DISPATCH_TASK_NAME


@shared_task(name=DISPATCH_TASK_NAME, time_limit=300, soft_time_limit=270)
def notifications_dispatch_task() -> dict[str, int]:
    """Every minute (linli/schedules.py) and on commit after a campaign enqueue: send the due
    SMS / WeChat rows. Runs concurrently and repeatedly without sending any row twice; returns
    the run's counts."""
    return notifications_dispatch().as_dict()
