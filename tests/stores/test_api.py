"""GET /api/v1/stores/: scoped by apps.stores.access for sessions and tokens alike."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.stores.models import Store
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

STORES = "/api/v1/stores/"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _detail(store: Store) -> str:
    return f"{STORES}{store.pk}/"


def test_owner_lists_only_own_store(api, owner, store, other_store):
    api.force_authenticate(owner)
    response = api.get(STORES)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [store.pk]
    assert body["results"][0] == {
        "id": store.pk,
        "code": store.code,
        "name": store.name,
        "region": store.region.name,
        "address": store.address,
        "status": "open",
        "opened_on": None,
    }


def test_owner_gets_own_store_detail(api, owner, store):
    api.force_authenticate(owner)
    response = api.get(_detail(store))
    assert response.status_code == 200
    assert response.json()["code"] == store.code


def test_owner_gets_404_for_another_stores_detail(api, owner, other_store):
    api.force_authenticate(owner)
    response = api.get(_detail(other_store))
    assert response.status_code == 404
    assert other_store.name not in response.content.decode()


def test_inspector_lists_only_assigned_store(api, inspector, store, other_store):
    api.force_authenticate(inspector)
    body = api.get(STORES).json()
    assert [row["id"] for row in body["results"]] == [store.pk]
    assert api.get(_detail(other_store)).status_code == 404


def test_supplier_user_lists_no_store(api, supplier_user, store):
    api.force_authenticate(supplier_user)
    response = api.get(STORES)
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert api.get(_detail(store)).status_code == 404


def test_anonymous_is_refused_list_and_detail(api, store):
    list_response = api.get(STORES, HTTP_ACCEPT_LANGUAGE="en")
    assert list_response.status_code == 401
    assert list_response["WWW-Authenticate"] == "Token"
    assert list_response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "errors": [],
    }
    assert api.get(_detail(store)).status_code == 401


def test_hq_lists_every_store_and_can_filter_by_status(api, hq_user, store, other_store):
    other_store.status = Store.Status.CLOSED
    other_store.save(update_fields=["status"])
    api.force_authenticate(hq_user)
    assert api.get(STORES).json()["count"] == 2
    closed = api.get(STORES, {"status": "closed"}).json()
    assert [row["id"] for row in closed["results"]] == [other_store.pk]


def test_owner_token_sees_only_own_store(api, owner, store, other_store):
    token = Token.objects.create(user=owner)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = api.get(STORES).json()
    assert [row["id"] for row in body["results"]] == [store.pk]
    assert api.get(_detail(other_store)).status_code == 404


def test_invalid_token_is_refused(api, store):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get(STORES, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid token.",
        "code": "authentication_failed",
        "errors": [],
    }


def test_api_refuses_writes(api, owner, store):
    api.force_authenticate(owner)
    assert api.post(STORES, {"code": "X1", "name": "x"}).status_code == 405
    assert api.delete(_detail(store)).status_code == 405
    assert Store.objects.filter(code="X1").exists() is False


def test_list_query_count_does_not_grow_with_stores(api, hq_user):
    api.force_authenticate(hq_user)
    StoreFactory()
    with CaptureQueriesContext(connection) as one:
        api.get(STORES)
    for _ in range(10):
        StoreFactory()
    with CaptureQueriesContext(connection) as eleven:
        assert api.get(STORES).json()["count"] == 11
    assert len(eleven.captured_queries) == len(one.captured_queries)


def test_schema_is_served_to_an_authenticated_user(api, owner):
    api.force_authenticate(owner)
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Linli API"
    assert "/api/v1/stores/" in schema["paths"]
    assert "/api/v1/stores/{id}/" in schema["paths"]


def test_schema_is_refused_to_anonymous(api):
    assert api.get("/api/schema/").status_code == 401
