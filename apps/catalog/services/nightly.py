"""The nightly decision run: co-purchase rules, the forecast model, then per chunk of stores
the forecasts with order suggestions, the hot and new lists and the insight cards; finally
lists older than 180 days are pruned.

Idempotent: every table is written by upsert on its natural key (rules: a scope whose window
is already computed is skipped), so a rerun of the same day changes nothing. Each chunk commits
on its own, so progress survives a crash and a rerun redoes only what it must. A chunk reads and
computes outside any transaction and then writes in one short transaction: on SQLite that
transaction holds the file's one write lock, which the web process, beat and the other worker
processes wait for.

Fault tolerance: a running run holds a lease. Its worker renews `heartbeat_at` after each phase
and each chunk of stores, and inside the long phases at each progress message and at every
training and backtest origin of the forecast model (at most every 1/20 of the lease, so a phase
longer than the lease keeps the run owned), by an UPDATE conditional on its `attempt` (the
fencing token) that also records the chunk's stores in `done_store_ids`, in the chunk's
transaction. A run whose heartbeat is older than the lease
(`settings.DECISION_RUN_LEASE_SECONDS`) is dead: the next attempt (a rerun, `--force`, the
redelivered or retried task) takes it over by one conditional UPDATE (exactly one taker wins),
recomputes the rules (skipped when done) and the model, and computes only the stores not done. A
worker that wakes after being taken over cannot write: its next renewal finds another attempt
and rolls its chunk back (`DecisionRunLost`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from functools import partial

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation

from apps.catalog.models import (
    RUN_EVENT_ABANDONED,
    RUN_EVENT_FAILED,
    RUN_EVENT_RESUMED,
    RUN_EVENT_TAKEN_OVER,
    RUN_WARNING_MODEL_UNTRAINED,
    RUN_WARNING_WEATHER_MISSING,
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DemandForecast,
    InsightCard,
    MemberSuggestion,
    RuleRun,
    run_event,
    run_event_text,
    run_warning,
    run_warning_text,
)
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.forecasts import (
    demand_forecasts_forecast,
    demand_forecasts_store,
    forecast_model_train,
    open_store_ids,
    weather_missing,
)
from apps.catalog.services.lists import daily_lists_compute, daily_lists_store, night_context_load
from apps.catalog.services.rules import co_purchase_rules_compute
from apps.catalog.services.sources import NO_SOURCES, PlanningSources
from apps.catalog.services.suggestions import member_suggestions_rank
from linli.table_statistics import tables_analyze

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]
KEEP_DAYS = 180
# A run taken over this many times (each attempt's worker died) is marked failed instead: a
# chunk that kills its worker every time must not be redelivered for ever.
MAX_ATTEMPTS = 3
# The big tables a run writes, analysed when it is done (`tables_analyze`).
NIGHTLY_WRITTEN_MODELS = (
    DemandForecast,
    DailyListEntry,
    InsightCard,
    MemberSuggestion,
    CoPurchaseRule,
)


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
    """Another run of the same day is in progress (its lease is live). `retry_in`: seconds
    until that lease would expire if its worker stopped now."""

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = max(retry_in, 1.0)


class DecisionRunAbandoned(DecisionRunBusy):
    """The day's run died `MAX_ATTEMPTS` times; it is marked failed, not taken over again."""


class DecisionRunLost(Exception):
    """This worker's run was taken over by another attempt (its lease had expired)."""


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=django_settings.DECISION_RUN_LEASE_SECONDS)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _event_logged(day: dt.date, event: dict[str, object]) -> dict[str, object]:
    """Log one event of the run's attempts (the operators' log, in English) and answer it."""
    with translation.override("en"):
        logger.warning("decisions %s: %s", day, run_event_text(event))
    return event


def _resume_failed(day: dt.date, stores: list[int], worker: str) -> DecisionRun | None:
    """Reopen the day's latest run if it failed (and has attempts left): one conditional UPDATE
    on its status and attempt makes it running again with `attempt` + 1, keeping its done stores
    that are among `stores`. None when the latest run did not fail (or there is none); a run of
    the day running meanwhile, or another resumer that won, makes this raise DecisionRunBusy."""
    latest = DecisionRun.objects.filter(day=day).order_by("-started_at", "-pk").first()
    if (
        latest is None
        or latest.status != DecisionRun.Status.FAILED
        or latest.attempt >= MAX_ATTEMPTS
    ):
        return None
    wanted = set(stores)
    done = [pk for pk in latest.done_store_ids if pk in wanted]
    event = run_event(
        RUN_EVENT_RESUMED,
        attempt=latest.attempt,
        by=worker,
        stores_done=len(done),
        stores_total=len(stores),
    )
    busy = DecisionRunBusy(
        f"the failed decision run for {day} is being resumed by another attempt",
        retry_in=_lease().total_seconds(),
    )
    try:
        with transaction.atomic():
            reopened = DecisionRun.objects.filter(
                pk=latest.pk, status=DecisionRun.Status.FAILED, attempt=latest.attempt
            ).update(
                status=DecisionRun.Status.RUNNING,
                attempt=F("attempt") + 1,
                heartbeat_at=timezone.now(),
                finished_at=None,
                worker=worker,
                stores_total=len(stores),
                stores_done=len(done),
                done_store_ids=done,
                events=[*latest.events, event],
            )
    except IntegrityError as error:  # another run of the day is running
        raise busy from error
    if not reopened:
        raise busy
    _event_logged(day, event)
    latest.refresh_from_db()
    return latest


def _claim(day: dt.date, stores: list[int], worker: str, *, resume: bool = False) -> DecisionRun:
    """The day's run for this worker: a new one, the dead one taken over, or (with `resume`)
    the day's failed run reopened.

    The partial unique constraint lets one running run exist per day. If it is live (heartbeat
    within the lease), DecisionRunBusy; if it is dead, one conditional UPDATE (on its attempt and
    stale heartbeat) takes it over: exactly one of concurrent takers matches the row.
    """
    now = timezone.now()
    lease = _lease()
    current = DecisionRun.objects.filter(day=day, status=DecisionRun.Status.RUNNING).first()
    if current is None and resume:
        resumed = _resume_failed(day, stores, worker)
        if resumed is not None:
            return resumed
    if current is None:
        try:
            with transaction.atomic():
                return DecisionRun.objects.create(
                    day=day,
                    stores_total=len(stores),
                    started_at=now,
                    heartbeat_at=now,
                    worker=worker,
                )
        except IntegrityError as error:
            raise DecisionRunBusy(
                f"a decision run for {day} is already running", retry_in=lease.total_seconds()
            ) from error
    if current.heartbeat_at >= now - lease:
        heartbeat = timezone.localtime(current.heartbeat_at)
        raise DecisionRunBusy(
            f"a decision run for {day} is already running (attempt {current.attempt} on "
            f"{current.worker or '?'}, last heartbeat {heartbeat:%H:%M:%S})",
            retry_in=(current.heartbeat_at + lease - now).total_seconds(),
        )
    dead = DecisionRun.objects.filter(
        pk=current.pk,
        status=DecisionRun.Status.RUNNING,
        attempt=current.attempt,
        heartbeat_at__lt=now - lease,
    )
    lapse = {
        "attempt": current.attempt,
        "worker": current.worker,
        "heartbeat": current.heartbeat_at.isoformat(),
        "stores_done": current.stores_done,
        "stores_total": current.stores_total,
    }
    if current.attempt >= MAX_ATTEMPTS:
        event = run_event(RUN_EVENT_ABANDONED, **lapse)
        if dead.update(
            status=DecisionRun.Status.FAILED,
            finished_at=now,
            events=[*current.events, event],
        ):
            _event_logged(day, event)
        raise DecisionRunAbandoned(
            f"the decision run for {day} died {current.attempt} times; marked failed",
            retry_in=lease.total_seconds(),
        )
    wanted = set(stores)
    done = [pk for pk in current.done_store_ids if pk in wanted]
    event = run_event(RUN_EVENT_TAKEN_OVER, **lapse, by=worker)
    taken = dead.update(
        attempt=F("attempt") + 1,
        heartbeat_at=now,
        worker=worker,
        stores_total=len(stores),
        stores_done=len(done),
        done_store_ids=done,
        events=[*current.events, event],
    )
    if not taken:
        raise DecisionRunBusy(
            f"another attempt took over the decision run for {day}",
            retry_in=lease.total_seconds(),
        )
    _event_logged(day, event)
    current.refresh_from_db()
    return current


def _renew(run: DecisionRun, **fields: object) -> None:
    """Renew the run's lease (and write `fields`) if this attempt still holds it; otherwise
    raise DecisionRunLost (inside a chunk's transaction this rolls the chunk back)."""
    renewed = DecisionRun.objects.filter(
        pk=run.pk, status=DecisionRun.Status.RUNNING, attempt=run.attempt
    ).update(heartbeat_at=timezone.now(), **fields)
    if not renewed:
        raise DecisionRunLost(f"decision run #{run.pk} was taken over by another attempt")


def _model_facts(trained: object) -> tuple[dict[str, object], list[dict[str, object]]]:
    """What HQ must see about the night's forecast model: its training rows, and a warning when
    no model was trained (every category then falls back to a baseline such as the 28-day
    moving average), with why when the training said so; kept in the run's stats and shown in
    the admin, never only logged."""
    model = getattr(trained, "model", None)
    rows = int(getattr(model, "training_rows", 0) or 0) if model is not None else 0
    facts: dict[str, object] = {"training_rows": rows, "trained": model is not None}
    warnings = []
    if model is None or rows == 0:
        report = getattr(trained, "report", None) or {}
        warnings.append(
            run_warning(RUN_WARNING_MODEL_UNTRAINED, **(report.get("fallback_reason") or {}))
        )
    return facts, warnings


def _weather_warnings(missing: list[dict]) -> list[dict[str, object]]:
    """One warning per city with no weather rows (`weather_missing`), kept with the run's
    other warnings: its stores are forecast without weather, which is right, but HQ must
    know."""
    return [
        run_warning(
            RUN_WARNING_WEATHER_MISSING,
            city=city["city"],
            stores=city["stores"],
            history=city["history"],
            horizon=city["horizon"],
        )
        for city in missing
    ]


def decisions_pools(
    stores: list[int], *, chunk_size: int, network: list[int]
) -> list[tuple[list[int], list[int]]]:
    """The run's chunks as (stores to compute, stores their forecast panel pools), in order.

    A store's pool is its block of `network` (the open stores in id order, `chunk_size` each),
    whichever of them the run computes: the forecasts' pooled features are taken across a
    panel's stores, so a run over a few stores (the demo's login stores, `--stores`, a resumed
    run's remainder) gives each the very figures the whole network's run gives it. A store
    outside `network` pools with the run's other such stores, `chunk_size` at a time."""
    block_of = {store: index // chunk_size for index, store in enumerate(network)}
    wanted = set(stores)
    chunks: list[tuple[list[int], list[int]]] = []
    for first in range(0, len(network), chunk_size):
        block = network[first : first + chunk_size]
        chosen = [store for store in block if store in wanted]
        if chosen:
            chunks.append((chosen, block))
    outside = [store for store in stores if store not in block_of]
    for first in range(0, len(outside), chunk_size):
        block = outside[first : first + chunk_size]
        chunks.append((block, block))
    return chunks


def decisions_run(
    *,
    day: dt.date | None = None,
    store_ids: list[int] | None = None,
    chunk_size: int = 20,
    force: bool = False,
    sample_stores: int = 40,
    max_rows: int = 200_000,
    progress: Progress | None = None,
    sources: PlanningSources = NO_SOURCES,
    model_store_ids: list[int] | None = None,
    resume: bool = False,
) -> DecisionRun:
    """Run the whole night for `day` (default today: lists of today from sales up to
    yesterday) over the open stores (or `store_ids`), with planned promotions and supplier
    terms from `sources` (the interfaces pass `apps.catalog.sources.planning_sources()`; the
    default, NO_SOURCES, plans none and applies the settings' defaults).

    `model_store_ids`: the stores the forecast model and its backtest sample from (default:
    the run's stores). A run over a few stores that passes the open stores here (with the
    same `max_rows`) trains the very model (and backtest) the whole network's run trains, and
    each store is forecast within its fixed pool of stores (`decisions_pools`, by
    `chunk_size`), so the few stores' forecasts, lists and cards equal what the whole run
    computes for them (`demo_derived_compute` does this for the demo logins' stores before
    the worker runs the rest, so an owner's figures do not change when the worker reaches
    their store).

    Without `force`, a day that already has a finished run returns that run untouched (a second
    beat or a redelivered task does nothing). With `force` everything is recomputed; the
    results equal the first run's when the data did not change.

    A live run of the day (lease renewed within `DECISION_RUN_LEASE_SECONDS`) makes this raise
    DecisionRunBusy; a dead one is taken over and only its remaining stores are computed.

    `resume` (a retry of the same day's run): when the day's latest run failed (a transient
    error such as a lost connection), that run is reopened (`attempt` + 1) and only the stores
    not in its `done_store_ids` are computed, so retries converge instead of each starting at
    0 stores on a new run; with `force` too. Without `resume`, a failed run is left as it is
    and a new run computes every store.
    """
    day = day or timezone.localdate()
    if not force:
        done = DecisionRun.objects.filter(day=day, status=DecisionRun.Status.DONE).first()
        if done is not None:
            return done
    stores = sorted(store_ids) if store_ids is not None else open_store_ids()
    run = _claim(day, stores, _worker_name(), resume=resume)
    log = progress or (lambda message: logger.info("decisions %s: %s", day, message))
    renewed = time.monotonic()

    def heartbeat() -> None:
        """Renew the lease when 1/20 of it has passed since the last renewal. The long phases
        call this between their steps (the rules at each progress message, the member
        ranking between its steps and after each block it writes, the model and its backtest
        at every training and backtest origin): a phase may take longer than the
        lease, a step may not."""
        nonlocal renewed
        if time.monotonic() - renewed > _lease().total_seconds() / 20:
            _renew(run)
            renewed = time.monotonic()

    def say(message: str) -> None:
        log(message)
        heartbeat()

    done_ids = list(run.done_store_ids)
    skip = set(done_ids)
    remaining = [pk for pk in stores if pk not in skip]
    timings: dict[str, float] = {}
    model_facts: dict[str, object] = {}
    warnings: list[dict[str, object]] = []
    no_weather: list[dict] = []
    counts = {
        "forecasts": 0,
        "hot": 0,
        "new": 0,
        "cards": 0,
        "rule_runs": 0,
        "pruned": 0,
        "member_suggestions": 0,
    }
    forecast_report: dict = {}
    if run.attempt > 1:
        # A taken-over or resumed run: the stores done by earlier attempts keep their counts.
        counts.update({k: v for k, v in run.stats.get("counts", {}).items() if k in counts})
        say(f"resuming (attempt {run.attempt}): {len(done_ids)}/{len(stores)} stores already done")
    try:
        settings = decision_settings_get()
        started = time.perf_counter()
        rule_runs = co_purchase_rules_compute(
            end=timezone.make_aware(dt.datetime.combine(day, dt.time.min)),
            store_ids=stores,
            progress=say,
        )
        counts["rule_runs"] += len(rule_runs)
        timings["rules"] = time.perf_counter() - started
        _renew(run, stats={"counts": counts, "phase": "model"})
        say(f"rules: {len(rule_runs)} scopes computed in {timings['rules']:.1f} s")

        if store_ids is None or set(stores) >= set(open_store_ids()):
            started = time.perf_counter()
            ranked = member_suggestions_rank(day=day, sources=sources, heartbeat=heartbeat)
            counts["member_suggestions"] = ranked["rows"]
            timings["member_suggestions"] = time.perf_counter() - started
            say(
                f"member suggestions: {ranked['members']} members ranked "
                f"({ranked['training_rows']} training rows) in "
                f"{timings['member_suggestions']:.1f} s"
            )
        else:
            # The ranking is the network's (members shop in several stores): a run for some
            # stores leaves the stored one, and members without it are served the blend.
            say("member suggestions: left to the whole network's run")

        started = time.perf_counter()
        trained = forecast_model_train(
            day=day,
            store_ids=stores if model_store_ids is None else sorted(model_store_ids),
            sample_stores=sample_stores,
            max_rows=max_rows,
            progress=say,
            sources=sources,
            heartbeat=heartbeat,
        )
        context = night_context_load(day=day, settings=settings)
        timings["model"] = time.perf_counter() - started
        # Rows trained on, and why the model or its backtest fell back: kept in the run.
        forecast_report = trained.report
        model_facts, warnings = _model_facts(trained)
        no_weather = weather_missing(store_ids=stores, day=day, history_days=settings.history_days)
        warnings += _weather_warnings(no_weather)
        with translation.override("en"):  # the log is the operators', in English
            for warning in warnings:
                logger.warning("decisions %s: %s", day, run_warning_text(warning))
        _renew(
            run,
            stats={
                "counts": counts,
                "phase": "stores",
                "model": model_facts,
                "warnings": warnings,
                "weather_missing": no_weather,
                "forecast": forecast_report,
            },
        )
        say(f"model and network facts ready in {timings['model']:.1f} s")

        started = time.perf_counter()
        for chunk_ids, pool_ids in decisions_pools(
            remaining, chunk_size=chunk_size, network=open_store_ids()
        ):
            # Read and compute first, outside any transaction; then write in one short one.
            # On SQLite the write transaction holds the database's one write lock (other
            # processes' writes wait for it): seconds of reading inside it made every other
            # writer wait, and, begun DEFERRED, made the chunk fail ("database is locked")
            # whenever another process wrote during its reads.
            chunk = demand_forecasts_forecast(
                day=day,
                store_ids=chunk_ids,
                pool_store_ids=pool_ids,
                trained=trained,
                sources=sources,
                settings=settings,
            )
            lists = daily_lists_compute(
                context=context,
                chunk=chunk,
                store_ids=chunk_ids,
                settings=settings,
                sources=sources,
            )
            with transaction.atomic():
                stored = demand_forecasts_store(
                    batch=chunk.batch, day=day, store_ids=chunk_ids, settings=settings
                )
                written = daily_lists_store(lists=lists, day=day, store_ids=chunk_ids)
                chunk_counts = {**counts, "forecasts": counts["forecasts"] + stored}
                for key in ("hot", "new", "cards"):
                    chunk_counts[key] += written[key]
                # The lease renewal, the done stores and their counts commit with the chunk's
                # outputs, or not at all (a taken-over worker's chunk rolls back here).
                _renew(
                    run,
                    done_store_ids=done_ids + chunk_ids,
                    stores_done=len(done_ids) + len(chunk_ids),
                    stats={
                        "counts": chunk_counts,
                        "phase": "stores",
                        "model": model_facts,
                        "warnings": warnings,
                        "weather_missing": no_weather,
                    },
                )
            done_ids += chunk_ids
            counts = chunk_counts
            renewed = time.monotonic()
            say(f"stores {len(done_ids)}/{len(stores)} ({time.perf_counter() - started:.1f} s)")
        timings["stores"] = time.perf_counter() - started
        counts["pruned"] += sum(decisions_prune(day=day).values())
    except DecisionRunLost:
        raise  # the run belongs to the attempt that took it over
    except Exception:
        trace = traceback.format_exc()
        lines = [line for line in trace.strip().splitlines() if line.strip()]
        failed = run_event(RUN_EVENT_FAILED, attempt=run.attempt, exception=lines[-1][:300])
        DecisionRun.objects.filter(
            pk=run.pk, status=DecisionRun.Status.RUNNING, attempt=run.attempt
        ).update(
            status=DecisionRun.Status.FAILED,
            error=((f"{run.error}\n" if run.error else "") + trace)[-4000:],
            events=[*run.events, failed],
            finished_at=timezone.now(),
            stats={
                "timings": timings,
                "counts": counts,
                "model": model_facts,
                "warnings": warnings,
                "weather_missing": no_weather,
                "forecast": forecast_report,
            },
        )
        raise
    finished = DecisionRun.objects.filter(
        pk=run.pk, status=DecisionRun.Status.RUNNING, attempt=run.attempt
    ).update(
        status=DecisionRun.Status.DONE,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        stats={
            "timings": {k: round(v, 2) for k, v in timings.items()},
            "counts": counts,
            "model": model_facts,
            "warnings": warnings,
            "weather_missing": no_weather,
            "forecast": forecast_report,
        },
    )
    if not finished:
        raise DecisionRunLost(f"decision run #{run.pk} was taken over by another attempt")
    # The admin counts these lists by PostgreSQL's estimate: bring it up to date now rather
    # than when autovacuum gets to it (on commit: a caller may hold a transaction).
    transaction.on_commit(partial(tables_analyze, NIGHTLY_WRITTEN_MODELS))
    run.refresh_from_db()
    return run
