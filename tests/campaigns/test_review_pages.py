from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.stores.models import StoreStaff
from tests.campaigns.test_reviews import planted  # noqa: F401 - the shared planted data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STORE_ROUTES = ("campaigns:review", "campaigns:review-xlsx", "campaigns:review-pdf")
HQ_ROUTES = (
    "campaigns:campaign-review",
    "campaigns:campaign-review-xlsx",
    "campaigns:campaign-review-pdf",
)


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_owner_sees_their_stores_review_only(planted, owner, store, other_store):  # noqa: F811
    response = client_for(owner).get(reverse("campaigns:review", args=[planted["sc_a"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "夏季水果季 七月" in page
    assert "云南蓝莓" in page
    assert other_store.name not in page
    # The first store's joined value (接龙金额, as on the live dashboard), not the campaign's.
    assert "<b>99.50</b>" in page
    assert "<b>199.00</b>" not in page
    assert "接龙金额（元）" in page
    assert "已达成团数" in page
    assert "GMV" not in page
    assert "style=" not in page
    assert "<script>" not in page


def test_clerk_may_see_the_review(planted, store):  # noqa: F811
    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    response = client_for(clerk).get(reverse("campaigns:review", args=[planted["sc_a"].pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("route", STORE_ROUTES)
def test_other_owner_supplier_and_inspector_are_refused(
    planted,  # noqa: F811
    route,
    other_owner,
    supplier_user,
    inspector,
):
    url = reverse(route, args=[planted["sc_a"].pk])
    for user in (other_owner, supplier_user, inspector):
        response = client_for(user).get(url)
        assert response.status_code == 403, user
        assert "云南蓝莓".encode() not in response.content


@pytest.mark.parametrize("route", STORE_ROUTES + HQ_ROUTES)
def test_anonymous_is_sent_to_login(planted, route):  # noqa: F811
    arg = planted["campaign"].pk if route in HQ_ROUTES else planted["sc_a"].pk
    response = client_for(None).get(reverse(route, args=[arg]))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_unknown_store_campaign_answers_like_a_foreign_one(owner):
    response = client_for(owner).get(reverse("campaigns:review", args=[999_999]))
    assert response.status_code == 403


def test_owners_xlsx_holds_only_their_store(planted, owner, store, other_store):  # noqa: F811
    response = client_for(owner).get(reverse("campaigns:review-xlsx", args=[planted["sc_a"].pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[1]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [store.code]
    assert other_store.code not in str(list(sheet.iter_rows(values_only=True)))


def test_owners_pdf_holds_only_their_store(planted, owner, store, other_store):  # noqa: F811
    response = client_for(owner).get(reverse("campaigns:review-pdf", args=[planted["sc_a"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert store.name in text
    assert other_store.name not in text


def test_hq_sees_the_whole_campaign(planted, hq_user, store, other_store):  # noqa: F811
    with translation.override("en"):
        response = client_for(hq_user).get(
            reverse("campaigns:campaign-review", args=[planted["campaign"].pk])
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert store.name in page
    assert other_store.name in page
    assert "<b>199.00</b>" in page
    # The live dashboard's terms (the page is in the default language).
    assert "接龙金额（元）" in page
    assert "其中已达成团数的接龙金额（元）" in page
    assert "已达成团数的团购" in page
    assert "成团率（已成团 / 已结算）" in page
    assert "<b>2/4</b>" in page
    assert "GMV" not in page
    for route in ("campaigns:campaign-review-xlsx", "campaigns:campaign-review-pdf"):
        download = client_for(hq_user).get(reverse(route, args=[planted["campaign"].pk]))
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("route", HQ_ROUTES)
def test_hq_review_refuses_owners_suppliers_and_staff_without_permission(
    planted,  # noqa: F811
    route,
    owner,
    supplier_user,
):
    staff_without_permission = UserFactory(is_staff=True)
    url = reverse(route, args=[planted["campaign"].pk])
    for user in (owner, supplier_user, staff_without_permission):
        response = client_for(user).get(url)
        assert response.status_code == 403, user
        assert "云南蓝莓".encode() not in response.content
