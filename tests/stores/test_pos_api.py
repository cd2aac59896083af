from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from apps.customers.models import Member, MemberIdentity
from apps.stores.models import Order, OrderLine, StockLevel, StockMovement, StoreTerminal
from apps.stores.services.orders import OrderKeyReused, PosLine, pos_order_record
from apps.stores.services.terminals import terminal_issue, terminal_revoke
from tests.factories import (
    MemberFactory,
    MemberIdentityFactory,
    ProductFactory,
    StockLevelFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/pos/orders"


@pytest.fixture
def till(store):
    terminal, token = terminal_issue(store=store, name="Till 1")
    return terminal, token


@pytest.fixture
def stock(store):
    blueberries = StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=10)
    milk = StockLevelFactory(store=store, product=ProductFactory(sku="DAI-0002"), on_hand=5)
    return blueberries, milk


def api(token: str | None = None, scheme: str = "Terminal") -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return client


def payload(**overrides):
    body = {
        "idempotency_key": "till-1-0001",
        "placed_at": "2025-07-01T18:32:05+08:00",
        "channel": "pos",
        "member": {"phone": "+86 138-0013-8000"},
        "lines": [
            {"sku": "FRU-0001", "quantity": 2, "unit_price": "12.80", "discount": "1.00"},
            {"sku": "DAI-0002", "quantity": 1, "unit_price": "6.50"},
        ],
    }
    body.update(overrides)
    return body


def assert_nothing_written():
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert StockMovement.objects.count() == 0
    assert Member.objects.count() == 0
    assert MemberIdentity.objects.count() == 0


def test_happy_path_creates_order_ledger_rows_and_member(till, stock, store):
    terminal, token = till
    response = api(token).post(URL, payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    member = Member.objects.get()
    assert body["order_id"] == order.pk
    assert body["store_code"] == store.code
    assert body["member_no"] == member.member_no
    assert body["total"] == "31.10"  # 2 × 12.80 − 1.00 + 6.50
    assert body["warnings"] == []
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in body["lines"]] == [
        ("FRU-0001", 2, "24.60"),
        ("DAI-0002", 1, "6.50"),
    ]
    assert (order.store_id, order.member_id, order.channel, order.status) == (
        store.pk,
        member.pk,
        "pos",
        "paid",
    )
    assert order.placed_at.isoformat() == "2025-07-01T10:32:05+00:00"
    assert sorted(
        StockMovement.objects.values_list("product__sku", "kind", "quantity", "order_id")
    ) == [("DAI-0002", "sale", -1, order.pk), ("FRU-0001", "sale", -2, order.pk)]
    assert dict(StockLevel.objects.values_list("product__sku", "on_hand")) == {
        "FRU-0001": 8,
        "DAI-0002": 4,
    }
    assert (member.phone, member.home_store_id) == ("+8613800138000", store.pk)
    terminal.refresh_from_db()
    assert terminal.last_used_at is not None


def test_known_member_is_attached_by_card_and_new_identities_added(till, stock):
    _terminal, token = till
    member = MemberIdentityFactory(kind="member_card", value="CARD-42").member
    response = api(token).post(
        URL,
        payload(member={"member_card": "CARD-42", "wechat": "wx-9"}),
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["member_no"] == member.member_no
    assert Order.objects.get().member_id == member.pk
    assert Member.objects.count() == 1
    assert sorted(member.identities.values_list("kind", "value")) == [
        ("member_card", "CARD-42"),
        ("wechat", "wx-9"),
    ]


def test_sale_without_member(till, stock):
    _terminal, token = till
    body = payload()
    del body["member"]
    response = api(token).post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["member_no"] is None
    assert Member.objects.count() == 0


def test_retry_returns_the_first_result_and_writes_nothing(till, stock):
    _terminal, token = till
    first = api(token).post(URL, payload(), format="json")
    counts = (
        Order.objects.count(),
        OrderLine.objects.count(),
        StockMovement.objects.count(),
        Member.objects.count(),
        MemberIdentity.objects.count(),
    )
    # The same request again: the same lines (in another order, the price written another
    # way), the same member (named by the phone as it was first typed).
    body = payload()
    body["lines"] = [body["lines"][1], {**body["lines"][0], "unit_price": "12.8"}]
    retry = api(token).post(URL, body, format="json")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert (
        (
            Order.objects.count(),
            OrderLine.objects.count(),
            StockMovement.objects.count(),
            Member.objects.count(),
            MemberIdentity.objects.count(),
        )
        == counts
        == (1, 2, 2, 1, 1)
    )
    assert dict(StockLevel.objects.values_list("product__sku", "on_hand")) == {
        "FRU-0001": 8,
        "DAI-0002": 4,
    }


def test_the_same_key_in_another_store_is_another_order(till, stock, other_store):
    _terminal, token = till
    _other_terminal, other_token = terminal_issue(store=other_store, name="Till A")
    StockLevelFactory(store=other_store, product=stock[0].product, on_hand=3)
    StockLevelFactory(store=other_store, product=stock[1].product, on_hand=3)
    assert api(token).post(URL, payload(), format="json").status_code == 201
    assert api(other_token).post(URL, payload(), format="json").status_code == 201
    assert sorted(Order.objects.values_list("store_id", flat=True)) == sorted(
        [stock[0].store_id, other_store.pk]
    )


def test_unknown_sku_is_a_400_naming_line_and_sku(till, stock):
    _terminal, token = till
    body = payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80"},
            {"sku": "NOPE-1", "quantity": 1, "unit_price": "1.00"},
            {"sku": "NOPE-2", "quantity": 1, "unit_price": "1.00"},
        ]
    )
    response = api(token).post(URL, body, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "unknown_sku"
    assert [(e["index"], e["field"], e["code"], e["sku"]) for e in data["errors"]] == [
        (1, "sku", "unknown_sku", "NOPE-1"),
        (2, "sku", "unknown_sku", "NOPE-2"),
    ]
    # `index` is the 0-based position; the sentence counts lines from 1, as "Line 2: …" does.
    assert data["detail"] == "第 2 (NOPE-1)、3 (NOPE-2) 条明细的 SKU 不存在。"
    assert_nothing_written()
    assert StockLevel.objects.get(product__sku="FRU-0001").on_hand == 10


@pytest.mark.parametrize("quantity", [0, -1])
def test_non_positive_quantity_is_a_400_naming_the_line(till, stock, quantity):
    _terminal, token = till
    body = payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80"},
            {"sku": "DAI-0002", "quantity": quantity, "unit_price": "6.50"},
        ]
    )
    response = api(token).post(URL, body, format="json")
    assert response.status_code == 400
    # Field errors name the 0-based index of the bad line and the field inside it.
    data = response.json()
    assert data["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"]) for e in data["errors"]] == [
        (1, "quantity", "min_value")
    ]
    assert data["errors"][0]["message"] == "数量必须是正整数。"
    assert_nothing_written()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"lines": []}, (None, "lines", "empty")),
        ({"idempotency_key": ""}, (None, "idempotency_key", "blank")),
        ({"placed_at": "yesterday"}, (None, "placed_at", "invalid")),
        ({"member": {"phone": "12345"}}, (None, "member.phone", "invalid")),
        ({"member": {"email": "a@example.com"}}, (None, "member.email", "unknown_field")),
    ],
)
def test_bad_payloads_are_400_and_write_nothing(till, stock, change, error):
    _terminal, token = till
    response = api(token).post(URL, payload(**change), format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"]) for e in data["errors"]] == [error]
    assert_nothing_written()


def test_a_misspelled_discount_is_a_400_naming_the_line_and_writes_nothing(till, stock):
    """`discont` was dropped by DRF: a 201 with no discount applied, the discount lost."""
    _terminal, token = till
    body = payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 2, "unit_price": "12.80", "discont": "1.00"},
            {"sku": "DAI-0002", "quantity": 0, "unit_price": "6.50"},
        ],
        member={"phone": "+86 138-0013-8000", "email": "a@example.com"},
        till_id="T-7",
    )
    response = api(token).post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    data = response.json()
    assert (data["code"], data["detail"]) == (
        "invalid",
        "4 problems in the request; nothing was stored.",
    )
    assert [(e["index"], e["field"], e["code"], e["message"]) for e in data["errors"]] == [
        (
            None,
            "member.email",
            "unknown_field",
            "Unknown identity kind; use one of: phone, member_card, wechat, mini_program, "
            "pos_card.",
        ),
        (0, "discont", "unknown_field", "Unknown field."),
        (1, "quantity", "min_value", "Quantity must be a positive whole number."),
        (None, "till_id", "unknown_field", "Unknown field."),
    ]
    assert_nothing_written()


def test_a_discount_above_the_lines_amount_is_a_400_naming_the_line(till, stock):
    _terminal, token = till
    body = payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 2, "unit_price": "12.80", "discount": "25.60"},
            {"sku": "DAI-0002", "quantity": 2, "unit_price": "6.50", "discount": "13.01"},
        ]
    )
    response = api(token).post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    # The service's own check named no line (index null, field "lines").
    assert [
        (e["index"], e["field"], e["code"], e["message"]) for e in response.json()["errors"]
    ] == [(1, "discount", "too_large", "The discount is larger than the line's amount (13.00).")]
    assert_nothing_written()


def test_negative_price_is_a_400(till, stock):
    _terminal, token = till
    body = payload(lines=[{"sku": "FRU-0001", "quantity": 1, "unit_price": "-1.00"}])
    response = api(token).post(URL, body, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "unit_price")]
    assert_nothing_written()


def test_insufficient_stock_is_a_409_naming_the_sku(till, stock):
    _terminal, token = till
    body = payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 2, "unit_price": "12.80"},
            {"sku": "DAI-0002", "quantity": 6, "unit_price": "6.50"},
        ]
    )
    response = api(token).post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "insufficient_stock"
    assert data["errors"] == [
        {
            "index": None,
            "field": "lines",
            "code": "insufficient_stock",
            "message": "DAI-0002: 6 requested, 5 in stock.",
            "sku": "DAI-0002",
            "requested": 6,
            "on_hand": 5,
        }
    ]
    assert_nothing_written()
    assert dict(StockLevel.objects.values_list("product__sku", "on_hand")) == {
        "FRU-0001": 10,
        "DAI-0002": 5,
    }


def test_store_code_of_another_store_is_a_403(till, stock, other_store):
    _terminal, token = till
    response = api(token).post(
        URL, payload(store_code=other_store.code), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This token belongs to another store.",
        "code": "wrong_store",
        "errors": [
            {
                "index": None,
                "field": "store_code",
                "code": "wrong_store",
                "message": "This token belongs to another store.",
            }
        ],
    }
    assert_nothing_written()


def test_store_code_of_the_tokens_store_is_accepted(till, stock, store):
    _terminal, token = till
    response = api(token).post(URL, payload(store_code=store.code), format="json")
    assert response.status_code == 201


def test_revoked_token_is_a_401(till, stock, hq_user):
    terminal, token = till
    assert terminal_revoke(terminal=terminal, by=hq_user) is True
    response = api(token).post(URL, payload(), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Terminal realm="api"'
    assert response.json()["code"] == "authentication_failed"
    assert_nothing_written()


@pytest.mark.parametrize(
    ("token", "scheme"),
    [(None, "Terminal"), ("not-a-real-token", "Terminal"), ("", "Terminal"), ("x y", "Terminal")],
)
def test_missing_or_bad_token_is_a_401(till, stock, token, scheme):
    response = api(token, scheme).post(URL, payload(), format="json")
    assert response.status_code == 401
    assert_nothing_written()


def test_a_logged_in_person_is_not_a_terminal(client, owner, till, stock):
    client.force_login(owner)
    response = client.post(URL, payload(), content_type="application/json")
    assert response.status_code == 401
    assert_nothing_written()


def test_conflicting_identities_record_the_sale_on_the_first_member_with_a_warning(
    till, stock, store
):
    _terminal, token = till
    by_phone = MemberFactory(phone="+8613800138000", home_store=store)
    by_card = MemberIdentityFactory(
        kind="member_card", value="CARD-7", member__home_store=store
    ).member
    identities_before = MemberIdentity.objects.count()
    response = api(token).post(
        URL,
        payload(member={"member_card": "CARD-7", "phone": "13800138000", "wechat": "wx-x"}),
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["member_no"] == by_phone.member_no
    assert [(w["code"], w["member_numbers"]) for w in body["warnings"]] == [
        ("identity_conflict", [by_phone.member_no, by_card.member_no])
    ]
    assert Order.objects.get().member_id == by_phone.pk
    assert MemberIdentity.objects.count() == identities_before
    assert Member.objects.count() == 2


def test_openapi_schema_documents_the_endpoint(client, hq_user):
    client.force_login(hq_user)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/pos/orders"]["post"]
    assert operation["operationId"] == "pos_order_create"
    assert {"201", "200", "400", "401", "403", "409"} <= set(operation["responses"])
    assert operation["security"] == [{"terminalToken": []}]
    assert "terminalToken" in schema["components"]["securitySchemes"]


# --- terminal tokens ----------------------------------------------------------------------


def test_terminal_issue_stores_only_the_hash(store):
    terminal, token = terminal_issue(store=store, name=" Till 2 ")
    assert terminal.name == "Till 2"
    assert token not in (terminal.token_hash, terminal.token_prefix)
    assert terminal.token_prefix == token[:8]
    assert len(token) >= 40


def test_terminal_revoke_is_idempotent(till, hq_user):
    terminal, _token = till
    assert terminal_revoke(terminal=terminal, by=hq_user) is True
    first_revoked_at = terminal.revoked_at
    assert terminal_revoke(terminal=terminal, by=hq_user) is False
    terminal.refresh_from_db()
    assert terminal.revoked_at == first_revoked_at


def test_admin_add_shows_the_token_once_and_it_works(client, hq_user, store, stock):
    client.force_login(hq_user)
    response = client.post(
        reverse("admin:stores_storeterminal_add"), {"store": store.pk, "name": "Till 3"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = response.context["issued"][0]["token"]
    assert token in response.content.decode()
    terminal = StoreTerminal.objects.get(name="Till 3")
    assert terminal.token_prefix == token[:8]
    change_page = client.get(reverse("admin:stores_storeterminal_change", args=[terminal.pk]))
    assert token not in change_page.content.decode()
    assert api(token).post(URL, payload(), format="json").status_code == 201


def test_admin_reissue_revokes_the_old_token_and_shows_new_ones(client, hq_user, till, stock):
    terminal, old_token = till
    client.force_login(hq_user)
    response = client.post(
        reverse("admin:stores_storeterminal_changelist"),
        {"action": "reissue_tokens", "_selected_action": [str(terminal.pk)]},
    )
    assert response.status_code == 200
    new_token = response.context["issued"][0]["token"]
    assert new_token in response.content.decode()
    assert api(old_token).post(URL, payload(), format="json").status_code == 401
    assert api(new_token).post(URL, payload(), format="json").status_code == 201


def test_admin_revoke_action(client, hq_user, till):
    terminal, _token = till
    client.force_login(hq_user)
    client.post(
        reverse("admin:stores_storeterminal_changelist"),
        {"action": "revoke_tokens", "_selected_action": [str(terminal.pk)]},
    )
    terminal.refresh_from_db()
    assert terminal.revoked_at is not None


# --- concurrency --------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_retries_make_one_order_and_one_member(store):
    StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=100)
    from apps.customers.services.identity import IdentityInput

    threads_count = 5
    barrier = threading.Barrier(threads_count)
    order_ids: list[int] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait(timeout=10)
            result = pos_order_record(
                store=store,
                idempotency_key="till-1-race",
                lines=[PosLine(sku="FRU-0001", quantity=2, unit_price=Decimal("12.80"))],
                identities=[IdentityInput(kind="phone", value="13800138000")],
            )
            order_ids.append(result.order.pk)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Order.objects.count() == 1
    assert set(order_ids) == {Order.objects.get().pk}
    assert Member.objects.count() == 1
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 98


def test_a_key_with_the_imported_orders_prefix_is_refused(till, stock):
    """`import:` keys belong to the sales-history import; a till may neither create nor
    read back such an order."""
    _terminal, token = till
    response = api(token).post(URL, payload(idempotency_key="import:T1-0001"), format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["idempotency_key"]
    assert_nothing_written()
    assert StockLevel.objects.get(product__sku="FRU-0001").on_hand == 10


@pytest.mark.parametrize("channel", ["group_buy", "mini_program"])
def test_a_till_may_not_post_group_buy_or_mini_program_orders(till, stock, channel):
    """Group-buy orders come only from an offer; mini-program orders are the members' pickup
    and delivery orders that consolidation buys for. A till records in-store sales."""
    _terminal, token = till
    response = api(token).post(
        URL, payload(channel=channel), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (None, "channel", "channel_not_allowed")
    ]
    assert "in-store sales only" in body["errors"][0]["message"]
    assert_nothing_written()
    assert [level.on_hand for level in StockLevel.objects.order_by("pk")] == [10, 5]


def test_a_till_posts_pos_orders_by_default(till, stock):
    _terminal, token = till
    body = payload()
    del body["channel"]
    response = api(token).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert Order.objects.get().channel == Order.Channel.POS


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": [{"sku": "FRU-0001", "quantity": 3, "unit_price": "12.80"}]},
        {"member": {"phone": "13911112222", "wechat": "wx-other"}},  # another (new) member
        {"member": {}},  # no member where the first sale had one
    ],
    ids=["other-lines", "another-member", "no-member"],
)
def test_a_key_reused_for_another_sale_is_a_409_and_writes_nothing(till, stock, changes):
    _terminal, token = till
    first = api(token).post(URL, payload(), format="json")
    assert first.status_code == 201, first.content
    counts = (
        Order.objects.count(),
        OrderLine.objects.count(),
        StockMovement.objects.count(),
        Member.objects.count(),
        MemberIdentity.objects.count(),
    )
    response = api(token).post(URL, payload(**changes), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (None, "idempotency_key", "idempotency_key_reused")
    ]
    assert "already used in this store for a different order" in body["detail"]
    after = (
        Order.objects.count(),
        OrderLine.objects.count(),
        StockMovement.objects.count(),
        Member.objects.count(),
        MemberIdentity.objects.count(),
    )
    assert after == counts == (1, 2, 2, 1, 1)
    assert [level.on_hand for level in StockLevel.objects.order_by("pk")] == [8, 4]


def test_pos_order_record_refuses_a_reused_key_with_other_lines(till, stock, store):
    lines = [PosLine(sku="FRU-0001", quantity=1, unit_price=Decimal("12.80"))]
    first = pos_order_record(store=store, idempotency_key="k-1", lines=lines)
    assert pos_order_record(store=store, idempotency_key="k-1", lines=lines).order == first.order
    with pytest.raises(OrderKeyReused):
        pos_order_record(
            store=store,
            idempotency_key="k-1",
            lines=[PosLine(sku="FRU-0001", quantity=2, unit_price=Decimal("12.80"))],
        )
    assert Order.objects.count() == 1
