"""The one error shape of the machine APIs (linli/errors.py) and the shared token auth."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone, translation
from rest_framework import serializers
from rest_framework.test import APIClient

from apps.stores.models import StoreTerminal
from apps.stores.services.terminals import terminal_issue
from linli.errors import ErrorItem, errors_from_validation


class LineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class MemberSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=3)


class OrderSerializer(serializers.Serializer):
    key = serializers.CharField()
    member = MemberSerializer(required=False)
    lines = LineSerializer(many=True, allow_empty=False)


def flattened(data: dict) -> list[tuple[int | None, str, str]]:
    serializer = OrderSerializer(data=data)
    assert serializer.is_valid() is False
    errors = errors_from_validation(serializer.errors, items="lines")
    return [(error.index, error.field, error.code) for error in errors]


def test_line_errors_carry_the_line_index_and_the_field_inside_it():
    data = {
        "key": "k",
        "lines": [{"sku": "A", "quantity": 1}, {"sku": "", "quantity": 0}, {"quantity": 2}],
    }
    assert flattened(data) == [
        (1, "sku", "blank"),
        (1, "quantity", "min_value"),
        (2, "sku", "required"),
    ]


def test_top_level_and_nested_errors_have_no_index_and_a_dotted_field():
    data = {"member": {"phone": "13800138000"}, "lines": [{"sku": "A", "quantity": 1}]}
    assert flattened(data) == [(None, "key", "required"), (None, "member.phone", "max_length")]


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([], (None, "lines", "empty")),
        ("not a list", (None, "lines", "not_a_list")),
        ([1], (0, "", "invalid")),  # a line that is not an object: that line, no field
    ],
)
def test_errors_about_the_list_or_a_whole_line(lines, error):
    assert flattened({"key": "k", "lines": lines}) == [error]


def test_an_error_item_adds_the_keys_its_code_documents():
    item = ErrorItem(index=2, field="sku", code="unknown_sku", message="x", extra={"sku": "N-1"})
    assert item.as_dict() == {
        "index": 2,
        "field": "sku",
        "code": "unknown_sku",
        "message": "x",
        "sku": "N-1",
    }


@pytest.mark.django_db
def test_a_terminal_stamps_last_used_at_most_once_a_minute(store):
    terminal, token = terminal_issue(store=store, name="Till 9")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    client.post("/api/v1/pos/orders", {}, format="json")
    first = StoreTerminal.objects.get(pk=terminal.pk).last_used_at
    assert first is not None
    client.post("/api/v1/pos/orders", {}, format="json")
    assert StoreTerminal.objects.get(pk=terminal.pk).last_used_at == first
    long_ago = timezone.now() - dt.timedelta(minutes=2)
    StoreTerminal.objects.filter(pk=terminal.pk).update(last_used_at=long_ago)
    client.post("/api/v1/pos/orders", {}, format="json")
    assert StoreTerminal.objects.get(pk=terminal.pk).last_used_at > long_ago


@pytest.mark.django_db
def test_every_pos_and_device_refusal_has_the_one_shape(store):
    for url, scheme in (("/api/v1/pos/orders", "Terminal"), ("/api/v1/devices/readings", "Device")):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} a b")
        response = client.post(url, {}, format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == f'{scheme} realm="api"'
        assert set(response.json()) == {"detail", "code", "errors"}
        assert (response.json()["code"], response.json()["errors"]) == ("authentication_failed", [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"), [("zh-hans", "没有数据：请发送一个 JSON 对象。"), ("en", None)]
)
def test_a_body_of_json_null_is_refused_in_the_requests_language(store, language, message):
    # DRF words it "No data provided", a text it never translates.
    _terminal, token = terminal_issue(store=store, name="Till")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}", HTTP_ACCEPT_LANGUAGE=language)
    response = client.post("/api/v1/pos/orders", "null", content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == [
        {
            "index": None,
            "field": "",
            "code": "null",
            "message": message or "No data: send a JSON object.",
        }
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "authorization", "scheme"),
    [
        ("/api/v1/pos/orders", "Device abc", "Terminal"),
        ("/api/v1/devices/readings", "Terminal abc", "Device"),
        ("/api/v1/stores/", "Terminal abc", "Token"),
        ("/api/v1/pos/orders", "Bearer abc", "Terminal"),
    ],
)
def test_credentials_of_another_scheme_are_a_401_naming_the_scheme_to_send(
    path, authorization, scheme
):
    # DRF said "Authentication credentials were not provided.", though they were.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This operation does not take the credentials sent: send "
        f"“Authorization: {scheme} <token>”.",
        "code": "not_authenticated",
        "errors": [],
    }


@pytest.mark.django_db
def test_no_credentials_at_all_still_say_so():
    response = APIClient().post("/api/v1/pos/orders", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."


# --- the views people reach with a user token or a session: the same shape -----------------------


def _token_client(user) -> APIClient:
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _assert_shape(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = json.loads(response.content)
    assert set(body) == {"detail", "code", "errors"}, body
    assert (body["code"], body["errors"]) == (code, [])
    assert body["detail"]


@pytest.mark.django_db
def test_user_token_refusals_have_the_one_shape(owner, store, other_store):
    anonymous = APIClient()
    _assert_shape(anonymous.get("/api/v1/stores/"), 401, "not_authenticated")
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    _assert_shape(wrong.get("/api/v1/stores/"), 401, "authentication_failed")
    client = _token_client(owner)
    _assert_shape(client.get(f"/api/v1/stores/{other_store.pk}/"), 404, "not_found")
    _assert_shape(client.delete(f"/api/v1/stores/{store.pk}/"), 405, "method_not_allowed")
    _assert_shape(
        client.get(f"/api/v1/stores/{other_store.pk}/decisions/lists/hot/"),
        403,
        "permission_denied",
    )
    _assert_shape(
        client.post(f"/api/v1/stores/{other_store.pk}/decisions/insights/1/accept/"),
        403,
        "permission_denied",
    )
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    _assert_shape(schema, 401, "not_authenticated")


@pytest.mark.django_db
def test_the_schema_documents_the_error_shape_on_user_token_operations(owner):
    client = APIClient()
    client.force_authenticate(owner)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

    def codes(path: str, method: str) -> dict[str, object]:
        responses = schema["paths"][path][method]["responses"]
        return {code: answer.get("content") for code, answer in responses.items()}

    listing = codes("/api/v1/stores/", "get")
    assert (listing["401"], listing["403"]) == (error, error)
    assert "404" not in listing
    assert listing["200"] != error  # the page of stores is still the page of stores
    detail = codes("/api/v1/stores/{id}/", "get")
    assert (detail["401"], detail["403"], detail["404"]) == (error, error, error)
    accept = codes("/api/v1/stores/{store_id}/decisions/insights/{card_id}/accept/", "post")
    assert {accept[code] == error for code in ("400", "401", "403", "404")} == {True}
    # A terminal's operation keeps what it declared, and gets no 403 it never answers.
    pos = schema["paths"]["/api/v1/pos/orders"]["post"]["responses"]
    assert "wrong_store" in pos["403"]["description"]
    join = schema["paths"]["/api/v1/group-buys/offers/{offer_id}/joins"]["post"]["responses"]
    assert "403" not in join
    assert "store_closed" in join["409"]["description"]
    # A body in a media type no parser reads is a 415 (in the one shape), documented where the
    # operation reads a body; accepting a card reads one to refuse any key in it.
    assert (pos["415"]["content"], join["415"]["content"]) == (error, error)
    assert accept["415"] == error


# --- what Django answers before a view: the same shape under /api/ ------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/group-buys/offers/99999999999999999999",  # beyond bigint: no route matches
        "/api/v1/no-such-endpoint",
        "/api/v1/pos/orders/",  # the route has no trailing slash
    ],
)
def test_a_path_no_api_route_matches_is_a_404_in_the_one_shape(store, path):
    _terminal, token = terminal_issue(store=store, name="Bot")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}", HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(path, {}, format="json")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json() == {"detail": "Not found.", "code": "not_found", "errors": []}


@pytest.mark.django_db
def test_a_site_mounted_under_a_prefix_still_answers_json_under_api(client):
    # SCRIPT_NAME is the prefix the site is mounted under: request.path is /linli/api/...
    response = client.get("/api/v1/no-such-endpoint", SCRIPT_NAME="/linli")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["code"] == "not_found"
    page = client.get("/portal/no-such-page/", SCRIPT_NAME="/linli")
    assert (page.status_code, page["Content-Type"].split(";")[0]) == (404, "text/html")


@pytest.mark.django_db
def test_a_page_no_route_matches_is_still_the_sites_404_page(client):
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unhandled_error_under_api_is_a_500_in_the_one_shape_elsewhere_the_page():
    from django.test import RequestFactory
    from django.utils import translation

    from linli.errors import server_error

    with translation.override("zh-hans"):
        api = server_error(RequestFactory().post("/api/v1/pos/orders"))
        page = server_error(RequestFactory().get("/portal/"))
        mounted = server_error(RequestFactory(SCRIPT_NAME="/linli").post("/api/v1/pos/orders"))
    assert (mounted.status_code, mounted["Content-Type"]) == (500, "application/json")
    assert (api.status_code, api["Content-Type"]) == (500, "application/json")
    assert json.loads(api.content) == {
        "detail": "服务器出现了错误。",
        "code": "server_error",
        "errors": [],
    }
    assert (page.status_code, page["Content-Type"].split(";")[0]) == (500, "text/html")


# --- what Django refuses before (or outside) DRF's parsing: the same shape under /api/ ----------


def _form_client(store, language: str | None) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Till")
    client = APIClient()
    headers = {} if language is None else {"HTTP_ACCEPT_LANGUAGE": language}
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}", **headers)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "detail"),
    [(None, "请求的字段超过 3 个。"), ("en", "The request has more than 3 fields.")],
)
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_form_with_more_fields_than_django_reads_is_a_json_400(
    store, settings, language, detail, encoding
):
    """Django refuses a form with more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields
    (TooManyFieldsSent): it was Django's HTML 400 page, in English."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    fields = {f"f{n}": "1" for n in range(5)}
    client = _form_client(store, language)
    if encoding == "urlencoded":
        response = client.post(
            "/api/v1/pos/orders",
            "&".join(f"{key}={value}" for key, value in fields.items()),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = client.post("/api/v1/pos/orders", fields, format="multipart")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"detail": detail, "code": "too_many_fields", "errors": []}


@pytest.mark.django_db
def test_a_multipart_body_with_more_files_than_django_reads_is_a_json_400(store, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    files = {f"photo{n}": SimpleUploadedFile(f"p{n}.jpg", b"x") for n in range(2)}
    response = _form_client(store, "en").post("/api/v1/pos/orders", files, format="multipart")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {
        "detail": "The request has more than 1 file.",
        "code": "too_many_files",
        "errors": [],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "detail"), [(None, "错误的请求。"), ("en", "Malformed request.")]
)
def test_a_request_django_refuses_before_any_view_is_a_json_400_under_api(client, language, detail):
    """A Host header the site does not serve is refused by Django's middleware (DisallowedHost,
    a SuspiciousOperation) before any view: the project's handler400 answers it."""
    headers = {} if language is None else {"HTTP_ACCEPT_LANGUAGE": language}
    response = client.post("/api/v1/pos/orders", {}, HTTP_HOST="evil.example", **headers)
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"detail": detail, "code": "parse_error", "errors": []}
    page = client.get("/portal/", HTTP_HOST="evil.example")
    assert (page.status_code, page["Content-Type"].split(";")[0]) == (400, "text/html")


def test_a_bad_request_under_api_answers_the_generic_detail_not_its_message(rf):
    """The contract of `bad_request` (docs/access.md): a `BadRequest` or `SuspiciousOperation`
    carries Django's internals in its message (the Host header sent, a parser's state), so
    under /api/ the answer is DRF's generic sentence whatever the exception says."""
    from django.core.exceptions import BadRequest, DisallowedHost

    from linli.errors import bad_request

    for exception in (
        BadRequest("Invalid HTTP_HOST header: 'evil.example'."),
        DisallowedHost("Invalid HTTP_HOST header: 'evil.example'."),
    ):
        with translation.override("en"):
            response = bad_request(rf.post("/api/v1/pos/orders"), exception)
        assert response.status_code == 400
        assert json.loads(response.content) == {
            "detail": "Malformed request.",
            "code": "parse_error",
            "errors": [],
        }


# --- a person's session: the CSRF refusal in the request's language -------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "cookie", "header", "detail"),
    [
        (None, None, None, "CSRF 校验失败：未发送 CSRF cookie（csrftoken）。"),
        ("en", None, None, "CSRF check failed: the CSRF cookie (csrftoken) was not sent."),
        (
            None,
            "a" * 32,
            None,
            "CSRF 校验失败：未发送 CSRF 令牌：请在 X-CSRFToken 请求头中发送 csrftoken cookie "
            "的值。",
        ),
        (
            "en",
            "a" * 32,
            "b" * 32,
            "CSRF check failed: the CSRF token sent does not match the csrftoken cookie.",
        ),
    ],
)
def test_a_failed_csrf_check_on_a_session_call_is_refused_in_the_requests_language(
    owner, store, language, cookie, header, detail
):
    """DRF refuses it with "CSRF Failed: CSRF token missing." whatever the request's language
    (Django's reasons are not translated)."""
    from apps.catalog.models import InsightCard
    from tests.catalog.factories import InsightCardFactory

    card = InsightCardFactory(store=store)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    if cookie is not None:
        client.cookies["csrftoken"] = cookie
    headers = {} if language is None else {"HTTP_ACCEPT_LANGUAGE": language}
    if header is not None:
        headers["HTTP_X_CSRFTOKEN"] = header
    response = client.post(
        f"/api/v1/stores/{store.pk}/decisions/insights/{card.pk}/accept/", **headers
    )
    assert response.status_code == 403
    assert response.json() == {"detail": detail, "code": "permission_denied", "errors": []}
    assert InsightCard.objects.get(pk=card.pk).accepted_by is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (None, "请求体不是可读取的 multipart 表单。"),
        ("en", "The request body is not a readable multipart form."),
    ],
)
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_multipart_body_django_cannot_read_is_refused_in_the_requests_language(
    store, language, detail, content_type
):
    """DRF answered "Multipart form parse error - Invalid boundary in multipart: None", in
    English whatever the request's language."""
    response = _form_client(store, language).post(
        "/api/v1/pos/orders", data=b"idempotency_key=1", content_type=content_type
    )
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"detail": detail, "code": "parse_error", "errors": []}
