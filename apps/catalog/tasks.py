"""Celery tasks of the decision engine: thin wrappers around services."""

from __future__ import annotations

import datetime as dt

from celery import Task, shared_task
from django.db import OperationalError

from apps.catalog.services.nightly import (
    DecisionRunAbandoned,
    DecisionRunBusy,
    DecisionRunLost,
    decisions_run,
)
from apps.catalog.sources import planning_sources

# A busy day is retried until the live run's lease would have expired: at most the task's time
# limit over the shortest sensible lease, plus the transient retries.
BUSY_RETRIES = 12


@shared_task(
    bind=True,
    time_limit=60 * 60,
    soft_time_limit=55 * 60,
    autoretry_for=(OperationalError,),
    retry_backoff=60,
    max_retries=2,
    acks_late=True,
    reject_on_worker_lost=True,
)
def decisions_nightly_task(
    self: Task, day: str | None = None, force: bool = False, max_rows: int | None = None
) -> int | None:
    """The nightly decision run for `day` (ISO date; default today, local time). `force`
    (HQ's "run now" in the admin) recomputes a day that already has a finished run.
    `max_rows`: the forecast model's training row budget (default: `decisions_run`'s); the
    demo's first run passes the smaller budget its first stores were computed with.

    Idempotent: a day that already has a finished run returns at once, and a run already in
    progress (a second delivery) makes this one do nothing now (see below). A transient
    database error (a lost connection, "database is locked") retries: the failed run is marked
    failed, and the retry resumes it, computing only the stores it had not done. A first
    delivery with `force` starts a new run over every store; one without resumes the day's
    failed run too.
    Planned promotions and supplier terms come from `planning_sources()`.

    Worker death: the message is acknowledged only when the task returns (`acks_late`), and
    `reject_on_worker_lost` requeues it when the worker process running it dies (SIGKILL, OOM)
    instead of acknowledging it as failed, so a killed run is always redelivered (at once to
    another worker process, or after the broker's visibility timeout when the whole worker
    died). While the dead run's lease has not expired the delivery is "busy": in a worker it
    retries when the lease would have expired (then it takes the dead run over and resumes with
    the stores not done); called directly or eagerly it returns None. A run that died
    `MAX_ATTEMPTS` times is marked failed and the message dropped (returns None).
    """
    try:
        run = decisions_run(
            day=dt.date.fromisoformat(day) if day else None,
            force=force,
            resume=not force or self.request.retries > 0,
            sources=planning_sources(),
            **({} if max_rows is None else {"max_rows": max_rows}),
        )
    except (DecisionRunAbandoned, DecisionRunLost):
        return None
    except DecisionRunBusy as busy:
        if self.request.called_directly or self.request.is_eager:
            return None
        raise self.retry(exc=busy, countdown=busy.retry_in + 5, max_retries=BUSY_RETRIES) from busy
    return run.pk
