"""Enqueue a Celery task after the surrounding transaction commits, without ever failing then.

`transaction.on_commit(partial(task.delay, ...), robust=True)` looks equivalent but is not: on a
broker error Django logs the hook's `__qualname__`, which a `partial` lacks, so the logging itself
raises and the request answers 500 after its data was committed. Here the hook is a named
closure and the error is caught and logged as one line (task, arguments, error) without a
traceback. A lost enqueue is not retried in the request (the broker is down; retrying would only
make the request slow): every task enqueued this way must be covered by a periodic sweep that
finds the work left undone — name the sweep in the caller.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """`task.delay(*args, **kwargs)` once the current transaction commits (at once outside one).
    Never raises after commit: a broker that cannot be reached is logged as a warning."""

    def enqueue() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        # Any failure to reach the broker; the caller's change is already committed.
        except Exception as error:
            logger.warning(
                "enqueue: %s%r dropped, broker unreachable: %s: %s",
                task.name,
                args,
                type(error).__name__,
                error,
            )

    transaction.on_commit(enqueue)
