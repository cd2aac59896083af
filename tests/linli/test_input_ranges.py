"""Input limits shared by every import and machine API: dates and times in a sane range,
amounts within the database's precision, bounded JSON bodies and CSV cells, and an admin
import that is confirmed once."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from apps.campaigns.models import GroupBuyOffer
from apps.campaigns.services.group_buys import OFFER_UNITS_MAX, offer_create
from apps.customers.models import CommunityMessage, Member
from apps.customers.services.imports import community_messages_import, members_import
from apps.stores.models import Order, OrderLine
from apps.stores.services.sales_import import sales_history_import
from apps.stores.services.terminals import terminal_issue
from linli.converters import DATABASE_ID_MAX
from linli.imports.contract import (
    EARLIEST_MOMENT,
    FUTURE_TOLERANCE,
    CellError,
    parse_moment,
    table_from_bytes,
)
from tests.campaigns.factories import BroadcastFactory
from tests.factories import ProductFactory, StockLevelFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

MEMBER_HEADER = "phone,name,joined_at\n"
SALES_HEADER = "store_code,order_ref,member_identity,sku,quantity,unit_price,discount,sold_at\n"
CHAT_HEADER = "store_code,group_name,member_identity,text,sent_at\n"
POS_URL = "/api/v1/pos/orders"
TOO_DEEP_JSON = b'{"lines": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def table(text: str):
    return table_from_bytes(text.encode())


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


# --- the one range check ----------------------------------------------------------------------


def _refusal(value: str, **options) -> str:
    with pytest.raises(CellError) as raised:
        parse_moment(value, **options)
    return raised.value.code


def test_parse_moment_accepts_the_earliest_moment_and_refuses_before_it() -> None:
    assert parse_moment("2000-01-01T00:00:00+08:00") == EARLIEST_MOMENT
    assert _refusal("1999-12-31T23:59:59+08:00") == "too_early"
    assert _refusal("1600-01-01") == "too_early"
    # Year 1 in Beijing time is year 0 in UTC: it used to overflow (or be stored as 1 BC).
    assert _refusal("0001-01-01") == "too_early"


def test_parse_moment_refuses_beyond_the_future_tolerance_by_default() -> None:
    now = timezone.now()
    assert parse_moment((now + FUTURE_TOLERANCE / 2).isoformat()) is not None
    assert _refusal((now + FUTURE_TOLERANCE + dt.timedelta(minutes=1)).isoformat()) == "in_future"
    assert _refusal("9999-12-31T23:59:59-12:00") == "in_future"


# --- imports: one error per row, nothing written ----------------------------------------------


@pytest.mark.parametrize("joined_at", ["0001-01-01", "1600-01-01", "1999-12-31 23:59"])
def test_member_import_refuses_joined_at_before_2000_and_writes_nothing(joined_at: str) -> None:
    report = members_import(
        table=table(MEMBER_HEADER + f"13800138000,王丽,{joined_at}\n13800138001,李娜,2024-07-01\n")
    )

    assert errors_of(report) == [(2, "joined_at", "too_early")]
    assert "2000-01-01" in report.errors[0].reason
    assert Member.objects.count() == 0


def test_chat_import_refuses_sent_at_before_2000_and_writes_nothing() -> None:
    StoreFactory(code="HZ0001")
    report = community_messages_import(
        table=table(CHAT_HEADER + "HZ0001,群,,你好,0001-01-01T00:00:00+08:00\n")
    )

    assert errors_of(report) == [(2, "sent_at", "too_early")]
    assert CommunityMessage.objects.count() == 0


@pytest.fixture
def sales_catalog() -> None:
    StoreFactory(code="HZ0001")
    ProductFactory(sku="FRUIT-001")


@pytest.mark.parametrize("sold_at", ["0001-01-01", "0001-01-01T00:00:00+08:00", "1600-01-01"])
def test_sales_import_refuses_sold_at_before_2000_per_row(sales_catalog, sold_at: str) -> None:
    text = SALES_HEADER + f"HZ0001,B1,,FRUIT-001,1,1.00,,{sold_at}\n"

    report = sales_history_import(table=table(text))

    assert errors_of(report) == [(2, "sold_at", "too_early")]
    assert Order.objects.count() == 0


def test_import_sales_command_reports_year_one_without_a_traceback(
    sales_catalog, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(SALES_HEADER + "HZ0001,B1,,FRUIT-001,1,1.00,,0001-01-01\n")

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_sales", str(path))

    assert "Row 2, column “sold_at”" in capsys.readouterr().out
    assert Order.objects.count() == 0


# --- a cell beyond the CSV reader's limit -----------------------------------------------------


def test_a_200_kb_cell_is_a_row_error_not_an_exception() -> None:
    text = MEMBER_HEADER + "13800138000,王丽,\n13800138001," + "x" * 200_000 + ",\n"

    report = members_import(table=table(text))

    assert errors_of(report) == [(3, "", "unreadable_row")]
    assert "131072" in report.errors[0].reason
    assert Member.objects.count() == 0


def test_import_csv_command_reports_a_200_kb_cell_without_a_traceback(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "members.csv"
    path.write_text(MEMBER_HEADER + "13800138001," + "x" * 200_000 + ",\n")

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_csv", "members", str(path))

    assert "Row 2: This row cannot be read" in capsys.readouterr().out
    assert Member.objects.count() == 0


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_admin_import_shows_the_row_with_a_200_kb_cell(client) -> None:
    client.force_login(_staff("view_member", "import_member"))
    text = MEMBER_HEADER + "13800138001," + "x" * 200_000 + ",\n"
    upload = SimpleUploadedFile("members.csv", text.encode())

    response = client.post(
        reverse("admin:customers_member_import"), {"import_file": upload, "format": "0"}
    )

    assert response.status_code == 200
    invalid = response.context["result"].invalid_rows
    assert [row.number for row in invalid] == [2]
    assert "131072" in str(invalid[0].error_dict)
    assert "confirm_form" not in response.context
    assert Member.objects.count() == 0


# --- the POS API ------------------------------------------------------------------------------


@pytest.fixture
def till_token(store) -> str:
    StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=200_000)
    StockLevelFactory(store=store, product=ProductFactory(sku="DAI-0002"), on_hand=200_000)
    return terminal_issue(store=store, name="Till 1")[1]


def _pos(token: str, body: object, **extra) -> object:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client.post(POS_URL, body, format="json", **extra)


def _order(*lines: tuple[str, int, str], **overrides) -> dict:
    body = {
        "idempotency_key": "till-1-0001",
        "placed_at": timezone.now().isoformat(),
        "lines": [
            {"sku": sku, "quantity": quantity, "unit_price": price}
            for sku, quantity, price in lines
        ],
    }
    body.update(overrides)
    return body


def _errors(response) -> list[tuple[int | None, str, str]]:
    return [(error["index"], error["field"], error["code"]) for error in response.json()["errors"]]


def test_pos_line_total_beyond_the_database_precision_is_400(till_token: str) -> None:
    response = _pos(till_token, _order(("FRU-0001", 100_000, "99999999.99")))

    assert response.status_code == 400, response.content
    assert _errors(response) == [(0, "quantity", "too_large")]
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0


def test_pos_order_total_beyond_the_database_precision_is_400(till_token: str) -> None:
    # Each line fits (max 9 999 999 999.99) but their sum does not.
    line = ("FRU-0001", 100_000, "90000.00"), ("DAI-0002", 100_000, "90000.00")

    response = _pos(till_token, _order(*line))

    assert response.status_code == 400, response.content
    assert _errors(response) == [(None, "lines", "too_large")]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("placed_at", "code"),
    [
        ("9999-12-31T23:59:59+08:00", "in_future"),
        ("0001-01-01T00:00:00+08:00", "too_early"),
        # Without an offset (local time): year 1 used to overflow DRF's own UTC check (a 500).
        ("0001-01-01T00:00:00", "too_early"),
        ("0001-01-01T07:59:59", "too_early"),
        ("9999-12-31T23:59:59", "in_future"),
    ],
)
def test_pos_placed_at_out_of_range_is_400(till_token: str, placed_at: str, code: str) -> None:
    response = _pos(till_token, _order(("FRU-0001", 1, "1.00"), placed_at=placed_at))

    assert response.status_code == 400, response.content
    assert _errors(response) == [(None, "placed_at", code)]
    assert Order.objects.count() == 0


def test_pos_too_deep_json_body_is_400(till_token: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {till_token}")

    response = client.post(POS_URL, TOO_DEEP_JSON, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "too_deep"
    assert Order.objects.count() == 0


def test_a_nul_character_in_an_api_string_is_named_as_such_in_chinese(till_token: str) -> None:
    """DRF's own zh_Hans text for `null_characters_not_allowed` reads "empty string not
    allowed"; the project's catalogue says what is wrong."""
    body = _order(("FRU-0001", 1, "1.00"), idempotency_key="till\x00-1")
    response = _pos(till_token, body, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("idempotency_key", "null_characters_not_allowed")
    assert error["message"] == "不允许包含空字符（NUL）。"
    assert Order.objects.count() == 0


def test_pos_body_that_is_not_json_is_refused_in_the_readers_language(till_token: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {till_token}")

    chinese = client.post(
        POS_URL, "{not json", content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    english = client.post(
        POS_URL, "{not json", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert (chinese.status_code, english.status_code) == (400, 400)
    assert chinese.json()["code"] == english.json()["code"] == "parse_error"
    assert chinese.json()["detail"] == "请求体不是有效的 JSON（第 1 行第 2 列）。"
    assert english.json()["detail"] == "The request body is not valid JSON (line 1, column 2)."
    assert Order.objects.count() == 0


def test_pos_json_body_above_the_upload_limit_is_400(till_token: str, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = _order(("FRU-0001", 1, "1.00"), idempotency_key="k" * 2000)

    response = _pos(till_token, body)

    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    assert Order.objects.count() == 0


# --- the admin confirm step runs once ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_admin_import_confirmed_three_times_at_once_imports_once() -> None:
    StoreFactory(code="HZ0001")
    user = _staff("view_communitymessage", "import_communitymessage")
    first = Client()
    first.force_login(user)
    upload = SimpleUploadedFile(
        "chat.csv", (CHAT_HEADER + "HZ0001,群,,你好,2024-07-01T08:12:00+08:00\n").encode()
    )
    preview = first.post(
        reverse("admin:customers_communitymessage_import"), {"import_file": upload, "format": "0"}
    )
    confirm = preview.context["confirm_form"].initial
    threads_count = 3
    barrier = threading.Barrier(threads_count)
    statuses: list[int] = []
    notices: list[str] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            # In English: translation.override does not reach other threads.
            client = Client(raise_request_exception=False, headers={"Accept-Language": "en"})
            client.force_login(user)
            barrier.wait()
            response = client.post(
                reverse("admin:customers_communitymessage_process_import"), confirm, follow=True
            )
            statuses.append(response.status_code)
            # The page, not response.context: template signals are shared between threads.
            notices.append(response.content.decode())
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert statuses == [200] * threads_count
    assert CommunityMessage.objects.count() == 1
    assert sum("already confirmed" in page for page in notices) == threads_count - 1
    assert sum("Import finished" in page for page in notices) == 1


def test_admin_import_confirmed_again_later_is_refused_with_a_message(client) -> None:
    StoreFactory(code="HZ0001")
    client.force_login(_staff("view_communitymessage", "import_communitymessage"))
    upload = SimpleUploadedFile(
        "chat.csv", (CHAT_HEADER + "HZ0001,群,,你好,2024-07-01T08:12:00+08:00\n").encode()
    )
    preview = client.post(
        reverse("admin:customers_communitymessage_import"), {"import_file": upload, "format": "0"}
    )
    confirm = preview.context["confirm_form"].initial
    url = reverse("admin:customers_communitymessage_process_import")

    client.post(url, confirm)
    again = client.post(url, confirm, follow=True, headers={"Accept-Language": "en"})

    assert again.status_code == 200
    assert any("already confirmed" in str(m) for m in again.context["messages"])
    assert CommunityMessage.objects.count() == 1


# --- portal forms: numbers within their columns ------------------------------------------------

HUGE = "99999999999999999999"  # beyond every integer column (and a signed 64-bit integer)


def _offer_form_post(product, **overrides) -> dict[str, object]:
    deadline = timezone.localtime() + dt.timedelta(hours=3)
    return {
        "product": product.pk,
        "price": "19.90",
        "threshold_kind": "units",
        "threshold": "10",
        "cap": "30",
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cap", HUGE, "less than or equal to 100000"),
        ("threshold", HUGE, "less than or equal to 100000"),
        ("cap", "100001", "less than or equal to 100000"),
        ("threshold", "0", "greater than or equal to 1"),
        ("price", "-1", "greater than or equal to 0"),
    ],
)
def test_the_offer_form_refuses_numbers_out_of_range_as_field_errors(
    client, owner, store, field: str, value: str, message: str
) -> None:
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=30)
    broadcast = BroadcastFactory(store_campaign__store=store)
    client.force_login(owner)
    response = client.post(
        f"/portal/campaigns/broadcasts/{broadcast.pk}/offers",
        _offer_form_post(product, **{field: value, "cap": value if field == "cap" else "100000"}),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert GroupBuyOffer.objects.count() == 0


def test_offer_create_refuses_a_cap_and_threshold_above_the_limit(store) -> None:
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=30)
    broadcast = BroadcastFactory(store_campaign__store=store)
    with pytest.raises(ValidationError) as raised:
        offer_create(
            broadcast=broadcast,
            product=product,
            price=Decimal("1.00"),
            threshold=OFFER_UNITS_MAX + 1,
            cap=OFFER_UNITS_MAX + 1,
            deadline=timezone.now() + dt.timedelta(hours=3),
            by=None,
        )
    assert set(raised.value.message_dict) == {"threshold", "cap"}
    assert GroupBuyOffer.objects.count() == 0


# --- ids in URLs beyond the database's integer range -----------------------------------------


def _id_routes(patterns: list | None = None, prefix: str = "/") -> list[str]:
    """Every route with a database id in its path, each id (and any other part) filled in: the
    ids with HUGE, the rest with a plausible value."""
    routes: list[str] = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _id_routes(entry.url_patterns, prefix + route)
        elif "<id:" in route:
            full = prefix + route
            full = re.sub(r"<id:[a-z_]+>", HUGE, full)
            full = re.sub(r"<str:day>", "2026-07-01", full)
            full = re.sub(r"<[a-z]+:[a-z_]+>", "x", full)
            routes.append(full)
    return routes


# The admin's own catch-all (`<path:object_id>/`) answers an unknown object id with its
# "does not exist" redirect (or its login page): never a 500, so its routes are left out.
ID_ROUTES = [route for route in _id_routes() if not route.startswith("/admin/")]


def test_the_id_routes_cover_the_store_pages() -> None:
    assert f"/portal/stores/{HUGE}/" in ID_ROUTES
    assert f"/api/v1/stores/{HUGE}/" in ID_ROUTES
    assert len([route for route in ID_ROUTES if f"stores/{HUGE}/" in route]) >= 30


@pytest.mark.parametrize("who", ["owner", "hq_user"])
def test_an_id_beyond_the_database_range_is_404_on_every_route(client, request, who) -> None:
    client.force_login(request.getfixturevalue(who))
    answers = {route: client.get(route).status_code for route in ID_ROUTES}
    answers |= {f"POST {route}": client.post(route).status_code for route in ID_ROUTES}
    assert {route: status for route, status in answers.items() if status != 404} == {}


def test_the_largest_database_id_still_reaches_the_page(client, owner, store) -> None:
    client.force_login(owner)
    assert client.get(f"/portal/stores/{DATABASE_ID_MAX}/").status_code == 403  # unknown store
    assert client.get(f"/portal/stores/{DATABASE_ID_MAX + 1}/").status_code == 404
    assert client.get(f"/portal/stores/{store.pk}/").status_code == 200
