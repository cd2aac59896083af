"""Celery tasks for members (thin: parse arguments, call one service, return something small)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from apps.customers.services.profiles import member_profiles_recompute


@shared_task(time_limit=30 * 60, soft_time_limit=25 * 60)
def member_profiles_recompute_task(as_of: str | None = None) -> dict[str, object]:
    """Recompute all member profiles and automatic tags (nightly).

    `as_of` is an ISO datetime with offset; by default local midnight today, so a rerun, a
    second beat or a redelivered message on the same day writes identical rows.
    """
    moment = dt.datetime.fromisoformat(as_of) if as_of else None
    return member_profiles_recompute(as_of=moment).as_dict()
