"""The nightly decision run: co-purchase rules, the forecast model, then per chunk of stores
the forecasts with order suggestions, the hot and new lists and the insight cards; finally
lists older than 180 days are pruned.

Idempotent: every table is written by upsert on its natural key (rules: a scope whose window
is already computed is skipped), so a rerun of the same day changes nothing. Each chunk commits
on its own, so progress survives a crash and a rerun redoes only what it must.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.catalog.models import CoPurchaseRule, DailyListEntry, DecisionRun, InsightCard, RuleRun
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.forecasts import (
    demand_forecasts_compute,
    forecast_model_train,
    open_store_ids,
)
from apps.catalog.services.lists import daily_lists_compute, daily_lists_store, night_context_load
from apps.catalog.services.rules import co_purchase_rules_compute

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]
STALE_RUN = dt.timedelta(hours=2)
KEEP_DAYS = 180


def decisions_prune(*, day: dt.date, keep_days: int = KEEP_DAYS) -> dict[str, int]:
    """Delete list entries and unaccepted insight cards older than `keep_days`, and rule runs
    as old whose rules were replaced since (set-wise; rerunning deletes nothing more)."""
    cutoff = day - dt.timedelta(days=keep_days)
    entries, _detail = DailyListEntry.objects.filter(day__lt=cutoff).delete()
    cards, _detail = InsightCard.objects.filter(day__lt=cutoff, accepted_at__isnull=True).delete()
    runs, _detail = (
        RuleRun.objects.filter(
            created_at__lt=timezone.make_aware(dt.datetime.combine(cutoff, dt.time.min))
        )
        .exclude(pk__in=CoPurchaseRule.objects.values("run_id"))
        .delete()
    )
    return {"entries": entries, "cards": cards, "rule_runs": runs}


class DecisionRunBusy(Exception):
    """Another run of the same day is in progress."""


def _claim(day: dt.date, stores_total: int) -> DecisionRun:
    """Create the day's running run; the partial unique constraint lets only one exist. A run
    left running for over two hours (a killed worker) is marked failed first."""
    DecisionRun.objects.filter(
        day=day, status=DecisionRun.Status.RUNNING, started_at__lt=timezone.now() - STALE_RUN
    ).update(status=DecisionRun.Status.FAILED, error="abandoned", finished_at=timezone.now())
    try:
        with transaction.atomic():
            return DecisionRun.objects.create(day=day, stores_total=stores_total)
    except IntegrityError as error:
        raise DecisionRunBusy(f"a decision run for {day} is already running") from error


def decisions_run(
    *,
    day: dt.date | None = None,
    store_ids: list[int] | None = None,
    chunk_size: int = 20,
    force: bool = False,
    sample_stores: int = 40,
    max_rows: int = 200_000,
    progress: Progress | None = None,
) -> DecisionRun:
    """Run the whole night for `day` (default today: lists of today from sales up to
    yesterday) over the open stores (or `store_ids`).

    Without `force`, a day that already has a finished run returns that run untouched (a second
    beat or a redelivered task does nothing). With `force` everything is recomputed; the
    results equal the first run's when the data did not change.
    """
    day = day or timezone.localdate()
    if not force:
        done = DecisionRun.objects.filter(day=day, status=DecisionRun.Status.DONE).first()
        if done is not None:
            return done
    stores = sorted(store_ids) if store_ids is not None else open_store_ids()
    run = _claim(day, len(stores))
    say = progress or (lambda message: logger.info("decisions %s: %s", day, message))
    timings: dict[str, float] = {}
    counts = {"forecasts": 0, "hot": 0, "new": 0, "cards": 0, "rule_runs": 0, "pruned": 0}
    try:
        settings = decision_settings_get()
        started = time.perf_counter()
        rule_runs = co_purchase_rules_compute(
            end=timezone.make_aware(dt.datetime.combine(day, dt.time.min)),
            store_ids=stores,
            progress=say,
        )
        counts["rule_runs"] = len(rule_runs)
        timings["rules"] = time.perf_counter() - started
        say(f"rules: {len(rule_runs)} scopes computed in {timings['rules']:.1f} s")

        started = time.perf_counter()
        trained = forecast_model_train(
            day=day, store_ids=stores, sample_stores=sample_stores, max_rows=max_rows, progress=say
        )
        context = night_context_load(day=day, settings=settings)
        timings["model"] = time.perf_counter() - started
        say(f"model and network facts ready in {timings['model']:.1f} s")

        started = time.perf_counter()
        for first in range(0, len(stores), chunk_size):
            chunk_ids = stores[first : first + chunk_size]
            with transaction.atomic():
                chunk = demand_forecasts_compute(day=day, store_ids=chunk_ids, trained=trained)
                lists = daily_lists_compute(
                    context=context, chunk=chunk, store_ids=chunk_ids, settings=settings
                )
                written = daily_lists_store(lists=lists, day=day, store_ids=chunk_ids)
                DecisionRun.objects.filter(pk=run.pk).update(
                    stores_done=F("stores_done") + len(chunk_ids)
                )
            counts["forecasts"] += chunk.stored
            for key in ("hot", "new", "cards"):
                counts[key] += written[key]
            say(
                f"stores {min(first + chunk_size, len(stores))}/{len(stores)} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        timings["stores"] = time.perf_counter() - started
        counts["pruned"] = sum(decisions_prune(day=day).values())
    except Exception:
        DecisionRun.objects.filter(pk=run.pk).update(
            status=DecisionRun.Status.FAILED,
            error=traceback.format_exc()[-4000:],
            finished_at=timezone.now(),
            stats={"timings": timings, "counts": counts},
        )
        raise
    DecisionRun.objects.filter(pk=run.pk).update(
        status=DecisionRun.Status.DONE,
        finished_at=timezone.now(),
        stats={"timings": {k: round(v, 2) for k, v in timings.items()}, "counts": counts},
    )
    run.refresh_from_db()
    return run
