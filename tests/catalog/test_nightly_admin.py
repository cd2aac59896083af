"""HQ's "run now" for the nightly jobs, and what the decision-run admin shows (progress,
failures, a forecast model trained on 0 rows). Starting a job needs its permission."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from apps.catalog.admin import decisions as decisions_admin
from apps.catalog.models import DecisionRun, run_warning_text
from apps.catalog.services.forecasts import CategoryCodes, TrainedForecast
from apps.catalog.services.nightly import _model_facts
from apps.customers.models import MemberProfile
from apps.stores.models import Order
from linli.roles import HQ_INSPECTION, HQ_OPERATIONS, HQ_PROCUREMENT
from linli.schedules import SCHEDULES
from tests.celery_support import wait_until, worker_running
from tests.factories import PASSWORD, MemberFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

NIGHTLY = reverse("admin:catalog_decisionrun_nightly")
RUNS = reverse("admin:catalog_decisionrun_changelist")
DECISIONS_TASK = "apps.catalog.tasks.decisions_nightly_task"
PROFILES_TASK = "apps.customers.tasks.member_profiles_recompute_task"
REPLENISH_TASK = "apps.procurement.tasks.purchase_orders_replenish_task"


def _staff(group: str | None, username: str) -> object:
    user = UserFactory(is_staff=True, username=username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def _client(user: object) -> Client:
    client = Client()
    client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    return client


def test_every_fixed_hour_schedule_can_be_run_now() -> None:
    fixed = {s.task for s in SCHEDULES if s.hour.isdigit() and s.minute.isdigit()}
    assert {job.task for job, _time in decisions_admin.nightly_jobs()} == fixed
    assert {DECISIONS_TASK, PROFILES_TASK} <= fixed


def test_hq_operations_runs_the_decisions_and_profiles_now(roles: None, broker_queue) -> None:
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    page = client.get(NIGHTLY)
    assert page.status_code == 200
    allowed = {row["job"].task for row in page.context["jobs"] if row["allowed"]}
    assert {DECISIONS_TASK, PROFILES_TASK} <= allowed
    assert REPLENISH_TASK not in allowed  # procurement's job, not operations'

    response = client.post(NIGHTLY, {"task": DECISIONS_TASK})
    assert response.status_code == 302
    assert response["Location"] == RUNS
    client.post(NIGHTLY, {"task": PROFILES_TASK})
    # On the real broker, for the worker:
    assert broker_queue.sent() == [
        (DECISIONS_TASK, [], {"force": True}),
        (PROFILES_TASK, [], {}),
    ]


def test_only_the_decisions_job_points_to_the_run_list_for_its_progress(
    roles: None, broker_queue
) -> None:
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with override("en"):
        profiles = client.post(NIGHTLY, {"task": PROFILES_TASK}, follow=True)
        decisions = client.post(NIGHTLY, {"task": DECISIONS_TASK}, follow=True)
    said = [str(message) for message in profiles.context["messages"]]
    assert len(said) == 1
    assert "progress below" not in said[0]  # profiles are no decision run: nothing below
    assert "Its results appear in" in said[0]
    assert "/admin/customers/memberprofile/" in said[0]
    assert (
        "Decision runs show their progress below."
        in [str(message) for message in decisions.context["messages"]][0]
    )


def test_a_user_without_the_permission_cannot_run_a_job(roles: None, broker_queue) -> None:
    buyer = _client(_staff(HQ_PROCUREMENT, "buyer"))  # sees catalog, may not start decisions
    assert buyer.get(NIGHTLY).status_code == 200
    assert buyer.post(NIGHTLY, {"task": DECISIONS_TASK}).status_code == 403
    assert buyer.post(NIGHTLY, {"task": PROFILES_TASK}).status_code == 403
    assert buyer.post(NIGHTLY, {"task": REPLENISH_TASK}).status_code == 302  # their own job
    assert broker_queue.sent() == [(REPLENISH_TASK, [], {})]

    inspector = _client(_staff(HQ_INSPECTION, "insp"))  # no catalog permission at all
    assert inspector.get(NIGHTLY).status_code == 403
    assert inspector.post(NIGHTLY, {"task": DECISIONS_TASK}).status_code == 403
    # An unknown task name is refused, never sent.
    ops = _client(_staff(HQ_OPERATIONS, "ops2"))
    assert ops.post(NIGHTLY, {"task": "celery.backend_cleanup"}).status_code == 403
    assert broker_queue.sent() == []


def test_a_started_job_other_than_the_decisions_says_where_its_results_appear(
    roles: None, broker_queue
) -> None:
    """Replenishment has no decision run: the message points at the purchase orders (linked),
    not at "decision runs below", and HQ stays on the run-now page."""
    buyer = _client(_staff(HQ_PROCUREMENT, "buyer"))
    buyer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with override("en"):
        response = buyer.post(NIGHTLY, {"task": REPLENISH_TASK})
        assert response.status_code == 302
        assert response["Location"] == NIGHTLY
        page = buyer.get(NIGHTLY).content.decode()
    assert "Decision runs show their progress" not in page
    orders = reverse("admin:procurement_purchaseorder_changelist")
    assert f'Its results appear in <a href="{orders}">Purchase orders</a>' in page
    with override("zh-hans"):
        buyer.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        buyer.post(NIGHTLY, {"task": REPLENISH_TASK})
        page = buyer.get(NIGHTLY).content.decode()
    assert f'<a href="{orders}">采购单</a>' in page
    assert "决策运行的进度见下方列表" not in page
    assert "结果将显示在" in page
    assert broker_queue.sent() == [(REPLENISH_TASK, [], {}), (REPLENISH_TASK, [], {})]


def test_the_runs_list_reloads_itself_right_after_the_decisions_are_started(
    roles: None, broker_queue
) -> None:
    """The worker makes the run's row a moment after the click: until then the list (showing
    only last night's finished run) reloads itself, so the new run appears without a click."""
    DecisionRun.objects.create(
        day=timezone.localdate(),
        status="done",
        stores_total=3,
        stores_done=3,
        finished_at=timezone.now(),
    )
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    assert 'http-equiv="refresh"' not in client.get(RUNS).content.decode()
    response = client.post(NIGHTLY, {"task": DECISIONS_TASK}, follow=True)
    assert response.redirect_chain == [(RUNS, 302)]
    assert 'http-equiv="refresh"' in response.content.decode()
    # Long after the click, with no run in progress, the list stays still again.
    session = client.session
    session[decisions_admin.RUN_STARTED_SESSION_KEY] -= decisions_admin.RUN_STARTED_REFRESH_SECONDS
    session.save()
    assert 'http-equiv="refresh"' not in client.get(RUNS).content.decode()


def test_store_owner_and_anonymous_are_sent_to_the_admin_login(owner: object, broker_queue) -> None:
    for client in (_client(owner), Client()):
        response = client.post(NIGHTLY, {"task": DECISIONS_TASK})
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    assert broker_queue.sent() == []


def test_a_broker_error_is_reported_not_swallowed(roles: None) -> None:
    # A fault injected where the real broker would fail: the one stand-in in this module.
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    with (
        mock.patch.object(
            decisions_admin.celery_app, "send_task", side_effect=ConnectionError("broker down")
        ),
        override("en"),
    ):
        response = client.post(NIGHTLY, {"task": DECISIONS_TASK}, follow=True)
    assert "broker down" in response.content.decode()


def test_run_list_shows_progress_failure_and_a_model_trained_on_zero_rows(roles: None) -> None:
    day = timezone.localdate()
    DecisionRun.objects.create(
        day=day - dt.timedelta(days=2),
        status="failed",
        error="Traceback …\nKeyError: 'member_id'",
        finished_at=timezone.now(),
    )
    DecisionRun.objects.create(
        day=day - dt.timedelta(days=1),
        status="done",
        stores_total=3,
        stores_done=3,
        finished_at=timezone.now(),
        stats={
            "model": {"training_rows": 0, "trained": False},
            "warnings": ["forecast model trained on 0 rows: every product is forecast by a …"],
        },
    )
    running = DecisionRun.objects.create(
        day=day, status="running", stores_total=200, stores_done=40, stats={"phase": "stores"}
    )
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the admin in English
    with override("en"):
        html = client.get(RUNS).content.decode()
        detail = client.get(reverse("admin:catalog_decisionrun_change", args=[running.pk]))
    assert "KeyError: &#x27;member_id&#x27;" in html or "KeyError: 'member_id'" in html
    assert "trained on 0 rows" in html
    assert "with warnings" in html
    assert '<progress value="40" max="200">' in html
    # The phase is in the list too: the model phase alone may last minutes at 0 stores done.
    assert "forecasts and lists, store by store" in html
    assert "40 / 200 (20%)" in html
    assert 'http-equiv="refresh"' in html  # a run is in progress: the list refreshes itself
    assert "Run the nightly jobs now" in html
    assert detail.status_code == 200
    assert "forecasts and lists, store by store" in detail.content.decode()


def test_run_list_names_the_phase_of_a_run_that_has_no_store_done_yet(roles: None) -> None:
    """Training the model takes minutes before the first store is done: the list says so
    beside "0 / 200", not only the run's own page."""
    DecisionRun.objects.create(
        day=timezone.localdate(),
        status="running",
        stores_total=200,
        stores_done=0,
        stats={"phase": "model"},
    )
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with override("en"):
        html = client.get(RUNS).content.decode()
    assert "0 / 200 (0%)" in html
    assert "training the forecast model" in html


def test_a_night_without_a_trained_model_carries_a_warning() -> None:
    untrained = TrainedForecast(
        model=None, codes=CategoryCodes({}), methods={}, default_method="moving_average_28"
    )
    facts, warnings = _model_facts(untrained)
    assert facts == {"training_rows": 0, "trained": False}
    assert warnings == [{"code": "model_untrained", "params": {}}]
    with override("en"):
        assert "trained on 0 rows" in run_warning_text(warnings[0])


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_run_now_is_carried_out_by_a_real_worker(roles: None, broker_queue) -> None:
    """HQ's click goes through the real broker to a real worker, which computes the profiles."""
    store = StoreFactory()
    member = MemberFactory()
    Order.objects.create(
        store=store,
        member=member,
        channel=Order.Channel.POS,
        idempotency_key="run-now-1",
        total=Decimal("18.00"),
        status=Order.Status.PAID,
        placed_at=timezone.now() - dt.timedelta(days=3),
    )
    client = _client(_staff(HQ_OPERATIONS, "ops"))
    assert client.post(NIGHTLY, {"task": PROFILES_TASK}).status_code == 302
    assert not MemberProfile.objects.exists()  # sent, not run in the request

    with worker_running():
        assert wait_until(lambda: MemberProfile.objects.filter(member=member).exists())
    profile = MemberProfile.objects.get(member=member)
    assert profile.orders_lifetime == 1
    assert broker_queue.sent() == []  # the worker took the message


def test_the_replenishment_job_at_six_is_not_named_for_tonight(roles: None) -> None:
    """It runs at 06:00, from the suggestions the nightly decisions made: "tonight's" misled."""
    buyer = _client(_staff(HQ_PROCUREMENT, "buyer"))
    buyer.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with override("zh-hans"):
        page = buyer.get(NIGHTLY).content.decode()
    assert "根据最新的订货建议生成补货草稿" in page
    assert "今晚" not in page
    buyer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with override("en"):
        page = buyer.get(NIGHTLY).content.decode()
    assert "Replenishment drafts from the latest suggested order quantities" in page
    assert "tonight" not in page
