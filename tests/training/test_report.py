"""HQ's completion report: per store, enrolments and completed, and the KPI at enrolment
against the latest figure (direction-aware)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.stores.kpis.definitions import KPIS
from apps.training import selectors
from apps.training.models import Enrolment
from tests.factories import StoreFactory, UserFactory, clerk_of, owner_of
from tests.training.factories import EnrolmentFactory, TrainingPathFactory, kpi_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolments() -> dict:
    store_a, store_b = StoreFactory(code="A001"), StoreFactory(code="B001")
    owner_a, owner_b = owner_of(store_a), owner_of(store_b)
    live = TrainingPathFactory(name="直播带货", metric_code="live_conversion")
    loss = TrainingPathFactory(name="生鲜损耗", metric_code="loss_rate")
    now = timezone.now()
    EnrolmentFactory(
        user=owner_a,
        store=store_a,
        path=live,
        metric_code="live_conversion",
        metric_at_enrolment=Decimal("1.2000"),
        completed_at=now,
    )
    EnrolmentFactory(
        user=owner_a,
        store=store_a,
        path=loss,
        metric_code="loss_rate",
        metric_at_enrolment=Decimal("5.0000"),
        completed_at=now,
    )
    EnrolmentFactory(user=owner_b, store=store_b, path=live, metric_code="live_conversion")
    kpi_month(
        store_a,
        live_conversion=(Decimal("2.1000"), None),
        loss_rate=(Decimal("6.0000"), None),
    )
    return {"store_a": store_a, "store_b": store_b}


def test_completion_per_store_and_whether_the_metric_moved(enrolments: dict) -> None:
    report = selectors.completion_report()
    assert [(row.store.code, row.staff, row.enrolments, row.completed) for row in report] == [
        ("A001", 1, 2, 2),
        ("B001", 1, 1, 0),
    ]
    assert report[0].completion_percent == 100
    assert report[1].completion_percent == 0
    moves = {
        move.path: (move.before, move.after, selectors.metric_moved(move.metric_code, *pair))
        for move in report[0].moves
        for pair in [(move.before, move.after)]
    }
    assert moves == {
        "直播带货": (Decimal("1.2000"), Decimal("2.1000"), "better"),
        "生鲜损耗": (Decimal("5.0000"), Decimal("6.0000"), "worse"),  # loss went up
    }
    assert report[1].moves == []


def test_metric_moved_is_unknown_without_both_figures() -> None:
    assert selectors.metric_moved("live_conversion", None, Decimal(1)) == ""
    assert selectors.metric_moved("loss_rate", Decimal(1), Decimal(1)) == "same"


def test_the_admin_report_shows_each_store_to_hq_with_the_permission(enrolments: dict) -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get("/admin/training/enrolment/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-store="A001"' in page
    assert 'data-store="B001"' in page
    assert 'data-moved="better"' in page
    assert 'data-moved="worse"' in page
    assert "2.1%" in page  # latest live conversion


def test_the_admin_report_refuses_staff_without_the_permission(enrolments: dict) -> None:
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/training/enrolment/report/").status_code == 403


def test_metric_moved_follows_each_kpi_direction_from_the_pack() -> None:
    for kpi in KPIS:
        up = selectors.metric_moved(kpi.code, Decimal(1), Decimal(2))
        assert up == ("better" if kpi.higher_is_better else "worse"), kpi.code
        down = selectors.metric_moved(kpi.code, Decimal(2), Decimal(1))
        assert down == ("worse" if kpi.higher_is_better else "better"), kpi.code
    assert any(not kpi.higher_is_better for kpi in KPIS)


def test_the_enrolment_page_names_its_kpi_and_shows_its_figure_in_the_kpis_format(admin_client):
    from decimal import Decimal

    enrolment = EnrolmentFactory(
        metric_code="live_conversion", metric_at_enrolment=Decimal("12.34")
    )
    page = admin_client.get(f"/admin/training/enrolment/{enrolment.pk}/change/").content.decode()
    assert "live_conversion" not in page
    assert '<div class="readonly">直播转化率</div>' in page
    assert '<div class="readonly">12.3%</div>' in page
    assert 'name="metric_code"' not in page


def test_the_report_names_who_completed_each_path(enrolments: dict) -> None:
    """Two people at one store completing the same path made two identical lines ("生鲜损耗 ·
    损耗率：5.0% → 6.0%"): HQ could not tell whose they were."""
    store_a = enrolments["store_a"]
    owner_a = store_a.staff.get(role="owner").user
    owner_a.first_name, owner_a.last_name = "王丽华", ""
    owner_a.save()
    clerk = clerk_of(store_a, first_name="周小红", last_name="")
    EnrolmentFactory(
        user=clerk,
        store=store_a,
        path=Enrolment.objects.get(user=owner_a, path__name="生鲜损耗").path,
        metric_code="loss_rate",
        metric_at_enrolment=Decimal("7.0000"),
        completed_at=timezone.now(),
    )
    report = selectors.completion_report()
    assert [(move.person, move.path) for move in report[0].moves] == [
        ("周小红", "生鲜损耗"),
        ("王丽华", "生鲜损耗"),
        ("王丽华", "直播带货"),
    ]
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/training/enrolment/report/").content.decode()
    assert '<div data-moved="better">周小红 · 生鲜损耗 · ' in page
    assert '<div data-moved="worse">王丽华 · 生鲜损耗 · ' in page
