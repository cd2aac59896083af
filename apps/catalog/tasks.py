"""Celery tasks of the decision engine: thin wrappers around services."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from apps.catalog.services.nightly import DecisionRunBusy, decisions_run


@shared_task(
    time_limit=60 * 60,
    soft_time_limit=55 * 60,
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=2,
)
def decisions_nightly_task(day: str | None = None) -> int | None:
    """The nightly decision run for `day` (ISO date; default today, local time).

    Idempotent: a day that already has a finished run returns at once, and a run already in
    progress (a second beat) makes this one return None without doing anything. A lost
    database connection retries (the failed run is marked failed; the retry starts afresh).
    """
    try:
        run = decisions_run(day=dt.date.fromisoformat(day) if day else None)
    except DecisionRunBusy:
        return None
    return run.pk
