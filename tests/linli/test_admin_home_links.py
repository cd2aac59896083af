"""The admin's home (`/admin/`) carries HQ's links — the live overview, the loss report — and
the notice of receipt disputes awaiting an answer, above the KPI dashboard. Django's app pages
(`/admin/<app>/`) extend the same template (templates/admin/index.html): they list their
models only, except that the stores app's page links its loss report."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.procurement.factories import ReceiptDisputeFactory

pytestmark = pytest.mark.django_db

HOME_ONLY = ['id="live-overview-link"', 'id="receipt-disputes-open"', 'id="hq-dashboard"']


@pytest.fixture
def superuser_client() -> Client:
    ReceiptDisputeFactory()
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_home_has_the_links_the_disputes_notice_and_the_dashboard(
    superuser_client: Client,
) -> None:
    home = _page(superuser_client, reverse("admin:index"))
    assert [marker in home for marker in HOME_ONLY] == [True, True, True]
    assert f'href="{reverse("campaigns:live-overview")}"' in home
    assert f'href="{reverse("admin:stores_stockmovement_loss_report")}"' in home


@pytest.mark.parametrize("app_label", ["stores", "procurement", "campaigns", "customers"])
def test_an_app_page_has_no_home_links_nor_disputes_notice(
    superuser_client: Client, app_label: str
) -> None:
    page = _page(superuser_client, reverse("admin:app_list", args=[app_label]))
    assert [marker in page for marker in HOME_ONLY] == [False, False, False]
    assert f'href="{reverse("campaigns:live-overview")}"' not in page
    assert f'href="/admin/{app_label}/' in page  # the app's models are still listed


def test_the_stores_app_page_links_the_loss_report_and_no_other_app_page_does(
    superuser_client: Client,
) -> None:
    report = f'href="{reverse("admin:stores_stockmovement_loss_report")}"'
    assert report in _page(superuser_client, reverse("admin:app_list", args=["stores"]))
    assert report not in _page(superuser_client, reverse("admin:app_list", args=["procurement"]))


def test_staff_the_loss_report_refuses_see_no_link_to_it(roles: None) -> None:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_store"]))
    client = Client()
    client.force_login(user)
    report = reverse("admin:stores_stockmovement_loss_report")
    assert client.get(report).status_code == 403
    assert f'href="{report}"' not in _page(client, reverse("admin:index"))
    assert f'href="{report}"' not in _page(client, reverse("admin:app_list", args=["stores"]))


def test_an_admin_page_is_viewable_only_through_a_registered_admin_that_says_so(
    rf: object, roles: None
) -> None:
    from apps.stores.models import StockMovement
    from linli.admin_helpers import admin_may_view

    request = rf.get("/admin/")
    request.user = UserFactory(is_staff=True)
    request.user.user_permissions.set(Permission.objects.filter(codename="view_stockmovement"))
    assert admin_may_view(request, StockMovement) is True
    request.user = UserFactory(is_staff=True)
    assert admin_may_view(request, StockMovement) is False
    request.user = UserFactory(is_staff=True, is_superuser=True)
    assert admin_may_view(request, StockMovement) is True
    assert admin_may_view(request, Permission) is False  # no admin of its own
