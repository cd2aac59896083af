"""HQ enrols a store's staff member in the admin as the portal does: only the store's owner or
a clerk, on a path still offered, with the path's KPI recorded at enrolment (the service)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from apps.training.models import Enrolment
from tests.factories import StoreFactory, UserFactory, owner_of
from tests.training.factories import TrainingPathFactory, kpi_month

pytestmark = pytest.mark.django_db

ADD = reverse("admin:training_enrolment_add")


@pytest.fixture
def hq() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, username="hq-admin"))
    return client


def _add(client: Client, *, user: object, store: object, path: object):
    with override("en"):
        return client.post(
            ADD,
            {"user": user.pk, "store": store.pk, "path": path.pk, "reason": "weak conversion"},
            HTTP_ACCEPT_LANGUAGE="en",
        )


def test_hq_enrols_the_owner_and_the_kpi_at_enrolment_is_recorded(hq: Client) -> None:
    store = StoreFactory(code="A001")
    owner = owner_of(store)
    path = TrainingPathFactory(name="直播带货", metric_code="live_conversion")
    kpi_month(store, live_conversion=(Decimal("1.2000"), None))
    response = _add(hq, user=owner, store=store, path=path)
    assert response.status_code == 302
    enrolment = Enrolment.objects.get()
    assert (enrolment.user, enrolment.store, enrolment.path) == (owner, store, path)
    assert enrolment.reason == "weak conversion"
    assert enrolment.metric_code == "live_conversion"
    assert enrolment.metric_at_enrolment == Decimal("1.2000")


def test_hq_cannot_enrol_someone_who_is_not_staff_of_the_store(hq: Client) -> None:
    store, other = StoreFactory(code="A001"), StoreFactory(code="B001")
    owner_of_other = owner_of(other)
    outsider = UserFactory(username="farm-user")
    path = TrainingPathFactory(name="冷链")
    for user in (owner_of_other, outsider):
        response = _add(hq, user=user, store=store, path=path)
        assert response.status_code == 200
        assert "is not the owner or a clerk of" in response.content.decode()
    with override("zh-hans"):
        response = hq.post(
            ADD,
            {"user": outsider.pk, "store": store.pk, "path": path.pk},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert "不是" in response.content.decode()
    assert not Enrolment.objects.exists()


def test_hq_cannot_enrol_on_a_path_no_longer_offered(hq: Client) -> None:
    store = StoreFactory(code="A001")
    path = TrainingPathFactory(name="旧路径", is_active=False)
    response = _add(hq, user=owner_of(store), store=store, path=path)
    assert response.status_code == 200
    assert "This training path is not offered any more." in response.content.decode()
    assert not Enrolment.objects.exists()
