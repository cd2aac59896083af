"""The nightly decision run survives a killed worker: a dead run (its lease not renewed) is
taken over by the next attempt, which computes only the stores not done; a live run is refused;
exactly one of concurrent takers wins; the redelivered task completes the run."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DemandForecast,
    InsightCard,
    MemberSuggestion,
)
from apps.catalog.services import nightly
from apps.catalog.services.nightly import (
    DecisionRunAbandoned,
    DecisionRunBusy,
    DecisionRunLost,
    _claim,
    _renew,
    decisions_run,
)
from apps.catalog.tasks import decisions_nightly_task
from tests.catalog.decision_fixtures import decision_world


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so the run's error handling never sees it."""


def _killed_after(stores: str):
    def progress(message: str) -> None:
        if message.startswith(f"stores {stores} "):
            raise WorkerKilled

    return progress


def _stale() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.DECISION_RUN_LEASE_SECONDS + 60)


@pytest.fixture
def killed(db: None) -> dict:
    """A small network whose run was killed after its first store (chunks of one store), then
    left silent for longer than the lease."""
    world = decision_world()
    with pytest.raises(WorkerKilled):
        decisions_run(day=world["today"], chunk_size=1, progress=_killed_after("1/3"))
    run = DecisionRun.objects.get()
    assert run.status == DecisionRun.Status.RUNNING
    assert (run.stores_done, run.done_store_ids) == (1, [world["stores"][0].pk])
    stale = _stale()
    DecisionRun.objects.filter(pk=run.pk).update(heartbeat_at=stale, started_at=stale)
    return {**world, "run": run, "stale": stale}


def test_a_dead_run_is_taken_over_and_only_the_remaining_stores_are_computed(
    killed: dict,
) -> None:
    store_a, store_b, store_c = killed["stores"]
    # Erase what the dead attempt wrote for store A: a resumed run must not compute it again.
    for model in (DailyListEntry, InsightCard, DemandForecast):
        model.objects.filter(store=store_a).delete()
    said: list[str] = []

    run = decisions_run(day=killed["today"], chunk_size=1, progress=said.append)

    assert run.pk == killed["run"].pk
    assert run.status == DecisionRun.Status.DONE
    assert run.attempt == 2
    assert (run.stores_done, run.stores_total) == (3, 3)
    assert sorted(run.done_store_ids) == sorted(store.pk for store in killed["stores"])
    assert "resuming (attempt 2): 1/3 stores already done" in said
    stores_said = [message.split(" (")[0] for message in said if message.startswith("stores ")]
    assert stores_said == ["stores 2/3", "stores 3/3"]
    assert not DailyListEntry.objects.filter(store=store_a).exists()
    assert DailyListEntry.objects.filter(store=store_b).exists()
    assert DailyListEntry.objects.filter(store=store_c).exists()
    [taken_over] = run.events
    assert taken_over["code"] == "taken_over"
    assert {k: v for k, v in taken_over["params"].items() if k != "by"} == {
        "attempt": 1,
        "worker": killed["run"].worker,
        "heartbeat": killed["stale"].isoformat(),
        "stores_done": 1,
        "stores_total": 3,
    }
    assert taken_over["params"]["by"] == run.worker
    assert run.error == ""  # no traceback: nothing failed
    assert DecisionRun.objects.count() == 1
    # The totals cover the three stores: the same as a full run's.
    full = decisions_run(day=killed["today"], force=True)
    for key in ("forecasts", "hot", "new", "cards"):
        assert run.stats["counts"][key] == full.stats["counts"][key], key


def test_the_redelivered_task_after_a_kill_completes_the_run(killed: dict) -> None:
    day = killed["today"].isoformat()

    assert decisions_nightly_task.apply(args=[day]).get() == killed["run"].pk

    run = DecisionRun.objects.get()
    assert (run.status, run.attempt, run.stores_done, run.stores_total) == ("done", 2, 3, 3)
    assert DailyListEntry.objects.filter(store=killed["stores"][2]).exists()
    # A further delivery finds the finished run and changes nothing.
    assert decisions_nightly_task.apply(args=[day]).get() == run.pk
    assert DecisionRun.objects.count() == 1


def test_a_live_run_is_refused_even_when_it_started_long_ago(db: None) -> None:
    day = timezone.localdate()
    live = DecisionRun.objects.create(
        day=day,
        stores_total=3,
        started_at=timezone.now() - dt.timedelta(hours=3),
        heartbeat_at=timezone.now() - dt.timedelta(seconds=30),
        worker="other-host:42",
    )

    with pytest.raises(DecisionRunBusy, match="already running"):
        decisions_run(day=day, store_ids=[])
    with pytest.raises(DecisionRunBusy):
        decisions_run(day=day, store_ids=[], force=True)
    assert decisions_nightly_task(day.isoformat()) is None

    live.refresh_from_db()
    assert (live.status, live.attempt, live.worker) == ("running", 1, "other-host:42")
    assert DecisionRun.objects.count() == 1


def test_a_finished_run_analyses_the_tables_it_wrote_after_commit(
    db: None, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    # The admin counts forecasts, list entries and cards by PostgreSQL's estimate.
    analysed: list[tuple] = []
    monkeypatch.setattr(nightly, "tables_analyze", lambda models: analysed.append(tuple(models)))
    with django_capture_on_commit_callbacks() as callbacks:
        run = decisions_run(day=timezone.localdate(), store_ids=[])
    assert (run.status, analysed) == ("done", [])  # not before the commit
    for callback in callbacks:
        callback()
    assert analysed == [
        (DemandForecast, DailyListEntry, InsightCard, MemberSuggestion, CoPurchaseRule)
    ]


def test_a_worker_taken_over_can_no_longer_write(db: None) -> None:
    day = timezone.localdate()
    mine = _claim(day, [], "slow-host:1")
    DecisionRun.objects.filter(pk=mine.pk).update(heartbeat_at=_stale())
    theirs = _claim(day, [], "fast-host:2")
    assert (theirs.pk, theirs.attempt) == (mine.pk, 2)

    with pytest.raises(DecisionRunLost):
        _renew(mine, stores_done=0)
    _renew(theirs)


def test_a_run_that_died_too_often_is_marked_failed(db: None) -> None:
    day = timezone.localdate()
    DecisionRun.objects.create(day=day, attempt=3, heartbeat_at=_stale(), worker="oom-host:7")

    with pytest.raises(DecisionRunAbandoned):
        decisions_run(day=day, store_ids=[])

    run = DecisionRun.objects.get()
    assert run.status == DecisionRun.Status.FAILED
    assert [
        (event["code"], event["params"]["attempt"], event["params"]["worker"])
        for event in run.events
    ] == [("abandoned", 3, "oom-host:7")]
    with translation.override("en"):
        assert run.event_lines[0].startswith("Attempt 3 on oom-host:7 stopped renewing its lease")
        assert run.event_lines[0].endswith("abandoned after 3 attempts.")


def test_hq_sees_stalled_and_failed_runs_in_the_admin(client: object, hq_user: object) -> None:
    day = timezone.localdate()
    DecisionRun.objects.create(
        day=day, stores_total=3, stores_done=1, heartbeat_at=_stale(), worker="dead-host:9"
    )
    DecisionRun.objects.create(
        day=day - dt.timedelta(days=1),
        status=DecisionRun.Status.FAILED,
        error="Traceback (most recent call last):\n  ...\nValueError: no sales table",
    )
    client.force_login(hq_user)

    page = client.get(reverse("admin:catalog_decisionrun_changelist")).content.decode()

    assert "已停滞：自" in page
    assert "dead-host:9" in page
    assert "ValueError: no sales table" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_takers_exactly_one_wins() -> None:
    from tests.factories import StoreFactory

    store = StoreFactory()
    day = timezone.localdate()
    dead = DecisionRun.objects.create(
        day=day, stores_total=1, started_at=_stale(), heartbeat_at=_stale(), worker="gone:1"
    )
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def take_over() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(decisions_run(day=day, store_ids=[store.pk]))
        except DecisionRunBusy as busy:
            outcomes.append(busy)
        finally:
            connection.close()

    threads = [threading.Thread(target=take_over) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    winners = [outcome for outcome in outcomes if isinstance(outcome, DecisionRun)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, DecisionRunBusy)]
    assert (len(winners), len(losers)) == (1, 1), outcomes
    assert winners[0].pk == dead.pk
    run = DecisionRun.objects.get()
    assert (run.status, run.attempt, run.stores_done) == ("done", 2, 1)


def test_a_night_without_a_trained_model_is_done_with_a_visible_warning(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "trained on 0 rows" fallback is kept in the run for HQ, not only logged."""
    from apps.catalog.services import nightly
    from apps.catalog.services.forecasts import TrainedForecast

    world = decision_world()
    real_train = nightly.forecast_model_train

    def untrained(**kwargs: object) -> TrainedForecast:
        trained = real_train(**kwargs)
        return TrainedForecast(
            model=None,
            codes=trained.codes,
            methods=trained.methods,
            default_method=trained.default_method,
            calibration=trained.calibration,
        )

    monkeypatch.setattr(nightly, "forecast_model_train", untrained)
    run = decisions_run(day=world["today"])
    assert run.status == DecisionRun.Status.DONE
    assert run.stats["model"] == {"training_rows": 0, "trained": False}
    assert "model_untrained" in [warning["code"] for warning in run.stats["warnings"]]
    assert DemandForecast.objects.exists()  # the baselines still served every store


def test_a_failed_run_keeps_its_error_for_the_admin(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.catalog.services import nightly

    world = decision_world()

    def broken(**kwargs: object) -> None:
        raise KeyError("member_id")

    monkeypatch.setattr(nightly, "daily_lists_compute", broken)
    with pytest.raises(KeyError):
        decisions_run(day=world["today"])
    run = DecisionRun.objects.get(day=world["today"])
    assert run.status == DecisionRun.Status.FAILED
    assert "KeyError: 'member_id'" in run.error
    assert run.finished_at is not None


def _locked_once_at(stores_done: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The day's first attempt fails with "database is locked" after `stores_done` stores (one
    store per chunk); later attempts run normally."""
    from django.db import OperationalError

    from apps.catalog.services import nightly

    real = nightly.daily_lists_compute
    calls = {"count": 0}

    def locked_once(**kwargs: object) -> object:
        calls["count"] += 1
        if calls["count"] == stores_done + 1:
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(nightly, "daily_lists_compute", locked_once)


def test_a_retried_task_resumes_the_days_failed_run_and_skips_the_stores_done(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HQ's "run now" (force) fails with a transient error after one store; Celery's retry of
    the same task (eagerly here, as a worker does) resumes that run instead of starting one at
    0 stores."""
    from apps.catalog import tasks

    world = decision_world()
    store_a, store_b, store_c = world["stores"]
    _locked_once_at(1, monkeypatch)
    said: list[str] = []

    def in_chunks_of_one(**kwargs: object) -> DecisionRun:
        return decisions_run(**kwargs, chunk_size=1, progress=said.append)

    monkeypatch.setattr(tasks, "decisions_run", in_chunks_of_one)

    result = decisions_nightly_task.apply(kwargs={"day": world["today"].isoformat(), "force": True})

    run = DecisionRun.objects.get()
    assert result.get() == run.pk
    assert (run.status, run.attempt, run.stores_done, run.stores_total) == ("done", 2, 3, 3)
    assert sorted(run.done_store_ids) == sorted([store_a.pk, store_b.pk, store_c.pk])
    assert "OperationalError: database is locked" in run.error  # the traceback, for debugging
    assert [event["code"] for event in run.events] == ["failed", "resumed"]
    assert run.events[0]["params"] == {
        "attempt": 1,
        "exception": "django.db.utils.OperationalError: database is locked",
    }
    assert {k: v for k, v in run.events[1]["params"].items() if k != "by"} == {
        "attempt": 1,
        "stores_done": 1,
        "stores_total": 3,
    }
    stores_said = [m.split(" (")[0] for m in said if m.startswith("stores ")]
    assert stores_said == ["stores 1/3", "stores 2/3", "stores 3/3"]
    assert any(m.startswith("resuming (attempt 2): 1/3 stores already done") for m in said)
    # The totals cover the three stores once: the same as a full run's.
    full = decisions_run(day=world["today"], force=True)
    for key in ("forecasts", "hot", "new", "cards"):
        assert run.stats["counts"][key] == full.stats["counts"][key], key


def test_a_resumed_run_does_not_compute_the_stores_done_again(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = decision_world()
    store_a, store_b, store_c = world["stores"]
    _locked_once_at(1, monkeypatch)
    from django.db import OperationalError

    with pytest.raises(OperationalError):
        decisions_run(day=world["today"], chunk_size=1, force=True)
    failed = DecisionRun.objects.get()
    assert (failed.status, failed.done_store_ids) == ("failed", [store_a.pk])
    # Erase what the failed attempt wrote for store A: a resumed run must not compute it again.
    for model in (DailyListEntry, InsightCard, DemandForecast):
        model.objects.filter(store=store_a).delete()

    run = decisions_run(day=world["today"], chunk_size=1, force=True, resume=True)

    assert (run.pk, run.status, run.attempt, run.stores_done) == (failed.pk, "done", 2, 3)
    assert not DemandForecast.objects.filter(store=store_a).exists()
    assert DemandForecast.objects.filter(store=store_b).exists()
    assert DemandForecast.objects.filter(store=store_c).exists()
    assert DecisionRun.objects.count() == 1
    # Resuming a day that is done changes nothing.
    assert decisions_run(day=world["today"], resume=True).pk == run.pk
    assert DecisionRun.objects.count() == 1


def test_run_now_after_a_failed_run_starts_afresh(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first delivery with `force` (HQ's "run now") recomputes every store on a new run."""
    world = decision_world()
    _locked_once_at(1, monkeypatch)
    from django.db import OperationalError

    with pytest.raises(OperationalError):
        decisions_run(day=world["today"], chunk_size=1, force=True)

    run = decisions_run(day=world["today"], chunk_size=1, force=True)

    failed = DecisionRun.objects.exclude(pk=run.pk).get()
    assert (failed.status, failed.stores_done) == ("failed", 1)
    assert (run.status, run.attempt, run.stores_done) == ("done", 1, 3)
