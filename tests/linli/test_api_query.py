"""Numbers read from a query string count only in ASCII digits: `int()` and `Decimal()` read
"١٢" (Arabic-Indic) or "１２" (full-width) as 12. The API refuses them with a 400 `invalid`
naming the parameter (linli/api_query.py: the filter backend, the base FilterSet and the
pagination every list view gets); a portal page reads such a `?page=` like "abc", as the
first page (linli/params.py's Paginator)."""

from __future__ import annotations

from pathlib import Path

import django_filters
import pytest
from django.urls import URLResolver, get_resolver
from django_filters.rest_framework import DjangoFilterBackend as PlainFilterBackend
from rest_framework import pagination
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

import apps
from apps.stores.models import Region, Store
from linli import api_query
from tests.factories import ProductFactory, RegionFactory, StockLevelFactory, StoreFactory

FULL_WIDTH = {ord(str(digit)): chr(0xFF10 + digit) for digit in range(10)}
ARABIC_INDIC = {ord(str(digit)): chr(0x0660 + digit) for digit in range(10)}


def _api_views(patterns: list | None = None, prefix: str = "/") -> list[tuple[str, type]]:
    views: list[tuple[str, type]] = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            views += _api_views(entry.url_patterns, route)
        elif route.startswith("/api/v1/"):
            view = getattr(entry.callback, "cls", None)
            if view is not None and issubclass(view, GenericAPIView):
                views.append((route, view))
    return views


def _queryset(view: type[GenericAPIView]):
    if view.queryset is not None:
        return view.queryset.none()
    return view.serializer_class.Meta.model._default_manager.none()


def test_every_api_list_reads_its_query_numbers_through_linli_api_query():
    views = _api_views()
    lists = {route for route, view in views if view.pagination_class is not None}
    assert {"/api/v1/stores/", "/api/v1/stores/<id:store_id>/decisions/rules/"} <= lists
    plain = []
    filtersets = []
    for route, view in views:
        paginator = view.pagination_class
        if paginator is not None and issubclass(paginator, pagination.BasePagination):
            if not issubclass(paginator, api_query.LimitOffsetPagination):
                plain.append(f"{route}: {paginator.__qualname__}")
        for backend in view.filter_backends:
            if not issubclass(backend, PlainFilterBackend):
                continue
            if not issubclass(backend, api_query.DjangoFilterBackend):
                plain.append(f"{route}: {backend.__qualname__}")
                continue
            filterset = backend().get_filterset_class(view(), _queryset(view))
            if filterset is not None:
                filtersets.append(route)
                if not issubclass(filterset, api_query.FilterSet):
                    plain.append(f"{route}: {filterset.__qualname__}")
    assert plain == [], "use linli.api_query's pagination, filter backend and FilterSet"
    assert "/api/v1/stores/" in filtersets


class _Everything(api_query.FilterSet):
    """One filter of each kind that reads a number, and two that read text."""

    region = django_filters.ModelChoiceFilter(queryset=Region.objects.all())
    regions = django_filters.ModelMultipleChoiceFilter(
        field_name="region", queryset=Region.objects.all()
    )
    region_code = django_filters.ModelChoiceFilter(
        field_name="region", queryset=Region.objects.all(), to_field_name="code"
    )
    id_in = django_filters.BaseInFilter(field_name="id")
    name = django_filters.CharFilter()

    class Meta:
        model = Store
        fields = {"id": ["exact", "gte", "in", "range"], "latitude": ["lt"]}


@pytest.mark.django_db
@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC])
def test_every_number_filter_refuses_other_scripts_digits(digits):
    region = RegionFactory(code="华东")
    number = str(region.pk)
    other = number.translate(digits)
    data = {
        "region": other,
        "regions": [number, other],
        "id": other,
        "id__gte": other,
        "id__in": f"{number},{other}",
        "id__range": f"1,{other}",
        "latitude__lt": f"{other}.5",
    }
    filterset = _Everything(data, queryset=Store.objects.all())
    assert not filterset.is_valid()
    assert sorted(filterset.errors) == sorted(data)
    codes = {
        name: [error.code for error in errors]
        for name, errors in filterset.errors.as_data().items()
    }
    # Django's multiple choice compares the text with the ids it found: refused already.
    assert codes == {name: ["invalid_choice" if name == "regions" else "invalid"] for name in data}


@pytest.mark.django_db
def test_text_filters_and_ascii_numbers_are_read_as_before():
    region = RegionFactory(code="华东")
    store = StoreFactory(region=region, name="邻里一店")
    data = {
        "region": str(region.pk),
        "regions": [str(region.pk)],
        "region_code": "华东",
        "id__in": f"{store.pk}",
        "name": "邻里一店",
    }
    filterset = _Everything(data, queryset=Store.objects.all())
    assert filterset.is_valid(), filterset.errors
    assert list(filterset.qs) == [store]


@pytest.fixture
def hq_api(hq_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(hq_user)
    return client


def _errors(response) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in response.json()["errors"]]


@pytest.mark.django_db
@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC])
def test_a_region_id_in_other_scripts_digits_is_a_400_naming_region(hq_api, store, digits):
    response = hq_api.get("/api/v1/stores/", {"region": str(store.region_id).translate(digits)})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    # A read stores nothing: its sentence does not say "nothing was stored".
    assert response.json()["detail"] == "请求中有 1 个问题。"
    assert _errors(response) == [("region", "invalid")]
    ascii_answer = hq_api.get("/api/v1/stores/", {"region": str(store.region_id)})
    assert [row["id"] for row in ascii_answer.json()["results"]] == [store.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("parameter", ["limit", "offset"])
@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC])
def test_limit_and_offset_in_other_scripts_digits_are_a_400(hq_api, store, parameter, digits):
    response = hq_api.get("/api/v1/stores/", {"limit": "1", parameter: "1".translate(digits)})
    assert response.status_code == 400
    assert _errors(response) == [(parameter, "invalid")]


@pytest.mark.django_db
def test_ascii_limit_and_offset_still_page(hq_api, store, other_store):
    first = hq_api.get("/api/v1/stores/", {"limit": "1"}).json()
    second = hq_api.get("/api/v1/stores/", {"limit": "1", "offset": "1"}).json()
    assert (first["count"], len(first["results"]), len(second["results"])) == (2, 1, 1)
    assert first["results"][0]["id"] != second["results"][0]["id"]
    # An empty one is as if absent: the default page.
    assert len(hq_api.get("/api/v1/stores/", {"limit": "", "offset": ""}).json()["results"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", "abc"), ("limit", "0"), ("limit", "-1"), ("limit", "2.5"), ("offset", "abc")]
    + [("offset", "-1")],
)
def test_a_limit_or_offset_that_is_not_a_whole_number_is_a_400_naming_it(
    hq_api, store, parameter, value
):
    """DRF read `?limit=abc` as the default page size (and `?offset=abc` as 0): the caller's
    mistake went unnoticed."""
    response = hq_api.get("/api/v1/stores/", {parameter: value})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert _errors(response) == [(parameter, "invalid")]


@pytest.mark.django_db
def test_a_limit_beyond_bigint_is_cut_to_the_maximum_not_a_500(hq_api, store):
    # 10^20 is beyond PostgreSQL's bigint: it reached the query's LIMIT (a 500).
    response = hq_api.get("/api/v1/stores/", {"limit": "99999999999999999999"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [store.pk]


@pytest.mark.django_db
def test_a_limit_of_thousands_of_digits_is_cut_to_the_maximum_not_a_500(hq_api, store):
    # Python's int() refuses text of more than 4300 digits (a ValueError, so a 500).
    response = hq_api.get("/api/v1/stores/", {"limit": "9" * 5000})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [store.pk]
    assert hq_api.get("/api/v1/stores/", {"limit": "0" * 5000}).status_code == 400


@pytest.mark.django_db
def test_an_offset_of_thousands_of_digits_is_an_empty_page_not_a_500(hq_api, store):
    response = hq_api.get("/api/v1/stores/", {"offset": "9" * 5000})
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (1, [])
    # Leading zeros do not make a number huge.
    zeros = hq_api.get("/api/v1/stores/", {"offset": "0" * 5000})
    assert [row["id"] for row in zeros.json()["results"]] == [store.pk]


@pytest.mark.parametrize(
    ("limit", "read"),
    [("1000", 1000), ("1001", 1000), ("9" * 20, 1000), ("9" * 5000, 1000), ("0" * 5000 + "7", 7)],
)
def test_the_pagination_reads_a_limit_up_to_the_maximum(limit, read):
    request = Request(APIRequestFactory().get("/", {"limit": limit}))
    assert api_query.MAX_LIMIT == 1000
    assert api_query.LimitOffsetPagination().get_limit(request) == read


@pytest.mark.django_db
def test_the_schema_documents_the_400_of_a_list_with_query_parameters(hq_api):
    schema = hq_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = schema["paths"]["/api/v1/stores/"]["get"]["responses"]
    assert listing["400"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
    }
    assert "400" not in schema["paths"]["/api/v1/stores/{id}/"]["get"]["responses"]
    limit = next(
        parameter
        for parameter in schema["paths"]["/api/v1/stores/"]["get"]["parameters"]
        if parameter["name"] == "limit"
    )
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    offset = next(
        parameter
        for parameter in schema["paths"]["/api/v1/stores/"]["get"]["parameters"]
        if parameter["name"] == "offset"
    )
    assert offset["schema"] == {"type": "integer", "minimum": 0}


# --- portal pages ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "shown"),
    [("2", 2), ("2".translate(FULL_WIDTH), 1), ("2".translate(ARABIC_INDIC), 1), ("abc", 1)],
)
def test_a_portal_page_number_in_other_scripts_digits_is_read_like_abc(
    client, owner, store, page, shown
):
    for _ in range(31):  # STOCK_PER_PAGE is 30: two pages
        StockLevelFactory(store=store, product=ProductFactory(), on_hand=5)
    client.force_login(owner)
    response = client.get(f"/portal/stores/{store.pk}/stock/", {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == shown


def test_portal_lists_are_cut_by_linli_params_paginator():
    apps_root = Path(apps.__file__).parent
    direct = [
        str(path.relative_to(apps_root))
        for path in apps_root.rglob("*.py")
        if "django.core.paginator import" in path.read_text(encoding="utf-8")
        and "admin" not in path.parts
    ]
    assert direct == [], "cut portal lists with linli.params.Paginator"


@pytest.mark.django_db
def test_an_offset_beyond_bigint_is_an_empty_page_not_a_500(hq_api, store):
    # 10^20 is beyond PostgreSQL's bigint: as the query's OFFSET it failed there (a 500).
    response = hq_api.get("/api/v1/stores/", {"offset": "99999999999999999999"})
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["results"]) == (1, [])
