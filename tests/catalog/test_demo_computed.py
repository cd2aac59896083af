"""`seed_demo` computes what the nightly jobs would, so the first login shows computed pages;
its output is English (README "Languages")."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from apps.campaigns.notifications.services import DISPATCH_TASK_NAME
from apps.catalog.models import (
    DailyListEntry,
    DecisionRun,
    DemandForecast,
    InsightCard,
    RuleRun,
)
from apps.customers.models import Member, MemberProfile, MemberTag
from apps.ops.demo.derived import DEMO_MODEL_MAX_ROWS
from apps.stores.models import Store, StoreStaff
from tests.celery_support import wait_until, worker_running

pytestmark = pytest.mark.django_db

DECISIONS_TASK = "apps.catalog.tasks.decisions_nightly_task"
NOTIFY_TASK = DISPATCH_TASK_NAME
END_DAY = dt.date(2026, 11, 30)
TODAY = END_DAY + dt.timedelta(days=1)


def _seed(*extra: str, stores: int = 3, members: int = 200) -> str:
    out = StringIO()
    call_command(
        "seed_demo",
        "--stores",
        str(stores),
        "--members",
        str(members),
        "--days",
        "35",
        "--seed",
        "7",
        "--end-day",
        END_DAY.isoformat(),
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_seed_computes_profiles_and_decisions_and_prints_english() -> None:
    output = _seed()  # three stores, all seen by demo logins: the whole run computed at once

    run = DecisionRun.objects.get(day=TODAY)
    assert run.status == DecisionRun.Status.DONE
    assert run.stores_done == run.stores_total == 3
    assert MemberProfile.objects.count() == Member.objects.filter(is_erased=False).count() == 200
    assert MemberProfile.objects.filter(orders_lifetime__gt=0).exists()
    assert MemberTag.objects.exists()
    assert RuleRun.objects.exists()
    owner_store = StoreStaff.objects.get(user__username="owner").store
    assert DailyListEntry.objects.filter(store=owner_store, day=TODAY).exists()

    # English operator output, the demo's data still in Chinese.
    assert "Demo data loaded in" in output
    assert "Member profiles computed as the nightly job would: 200" in output
    assert "Today's decision run: done" in output
    assert "演示数据已加载" not in output
    assert "orders:" in output
    assert "订单:" not in output

    # The owner's first login: a computed decisions page, no empty-state line.
    client = Client()
    client.force_login(get_user_model().objects.get(username="owner"))
    with override("en"):
        response = client.get(reverse("decisions:store", args=[owner_store.pk]))
    assert response.status_code == 200
    assert response.context["day"] == TODAY
    assert response.context["state"].status == "done"
    assert response.context["hot"]
    assert 'id="decisions-state"' not in response.content.decode()


def _lists(store_ids: list[int]) -> list[tuple]:
    """What an owner is shown of the day's decisions: the lists, the forecasts behind the
    order suggestions and the insight cards (with their stock quantities)."""
    entries = list(
        DailyListEntry.objects.filter(store_id__in=store_ids, day=TODAY)
        .order_by("store_id", "list_kind", "rank")
        .values_list("store_id", "list_kind", "rank", "product_id", "suggested_qty", "velocity")
    )
    forecasts = list(
        DemandForecast.objects.filter(store_id__in=store_ids, issued_on=TODAY)
        .order_by("store_id", "product_id")
        .values_list("store_id", "product_id", "method", "total", "safety_stock")
    )
    cards = list(
        InsightCard.objects.filter(store_id__in=store_ids, day=TODAY)
        .order_by("store_id", "rank")
        .values_list("store_id", "rank", "product_id", "stock_qty", "suggested_qty")
    )
    return [*entries, *forecasts, *cards]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_split_computes_the_login_stores_now_and_the_worker_run_equals_them(
    broker_queue,
) -> None:
    output = _seed(stores=12, members=300)  # the default, "split"; the inspector sees stores 1-10

    # The whole run went to the real broker for the worker.
    sent = broker_queue.sent()
    # The demo's member notifications (orders ready, short at receiving) wake the dispatcher
    # as in production; the decisions are one task.
    sent = [task for task in sent if task[0] != NOTIFY_TASK]
    assert sent == [
        (
            DECISIONS_TASK,
            [],
            {"day": TODAY.isoformat(), "force": True, "max_rows": DEMO_MODEL_MAX_ROWS},
        )
    ]
    login_ids = sorted(set(StoreStaff.objects.values_list("store_id", flat=True)))
    other_ids = sorted(set(Store.objects.values_list("pk", flat=True)) - set(login_ids))
    assert len(login_ids) == 10
    assert len(other_ids) == 2
    run = DecisionRun.objects.get(day=TODAY)
    assert run.status == DecisionRun.Status.DONE
    assert sorted(run.done_store_ids) == login_ids
    assert "Today's decisions for the demo logins' 10 stores: done" in output
    assert "decision run for all 12 stores was sent to the Celery worker" in output
    assert MemberProfile.objects.count() == 300
    first = _lists(login_ids)
    assert {row[0] for row in first} == set(login_ids)
    assert not _lists(other_ids)

    # Another store's page says the next run computes it (HQ sees every store).
    client = Client()
    client.force_login(get_user_model().objects.get(username="hq"))
    response = client.get(reverse("decisions:store", args=[other_ids[0]]))
    assert response.context["state"].status == "not_in_run"
    assert "先计算了其他 10 家门店" in response.content.decode()  # Chinese by default
    response = client.get(
        reverse("decisions:store", args=[other_ids[0]]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "computed 10 other stores first" in response.content.decode()

    # A real worker runs that message (read above, so it is sent again as it was): every
    # store, the login stores' lists unchanged.
    from linli.celery import app

    [(task, args, kwargs)] = sent
    app.send_task(task, args=args, kwargs=kwargs)

    def whole_run() -> DecisionRun | None:
        return DecisionRun.objects.filter(day=TODAY, stores_total=12).order_by("-pk").first()

    with worker_running():
        assert wait_until(
            lambda: (run := whole_run()) is not None and run.status == DecisionRun.Status.DONE,
            timeout=240,
        )
    whole = whole_run()
    assert whole.stores_done == whole.stores_total == 12
    assert _lists(login_ids) == first
    assert {row[0] for row in _lists(other_ids)} == set(other_ids)


def test_no_compute_leaves_the_nightly_work_to_the_night() -> None:
    output = _seed("--no-compute")
    assert "Demo data loaded in" in output
    assert not DecisionRun.objects.exists()
    assert not MemberProfile.objects.exists()


def test_the_decision_run_can_go_to_the_worker_with_profiles_computed(broker_queue) -> None:
    output = _seed("--decisions", "worker")
    sent = [task for task in broker_queue.sent() if task[0] != NOTIFY_TASK]
    assert sent == [(DECISIONS_TASK, [], {"day": TODAY.isoformat(), "force": True})]
    assert "sent to the Celery worker" in output
    assert MemberProfile.objects.count() == 200
    assert not DecisionRun.objects.exists()  # the worker will make it


def test_a_broker_that_cannot_be_reached_is_reported() -> None:
    # A fault injected where the real broker would fail: the one stand-in in this module.
    from apps.catalog.tasks import decisions_nightly_task

    with mock.patch.object(
        decisions_nightly_task, "apply_async", side_effect=ConnectionError("no broker")
    ):
        output = _seed("--decisions", "worker")
    assert "could not be sent to the worker" in output
    assert MemberProfile.objects.count() == 200
