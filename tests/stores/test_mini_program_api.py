"""The mini-program order API (the brand's WeChat mini-program backend, store terminal token):
a member's paid order for pickup or delivery at the server's prices, idempotent by key, read
back with its pickup code, cancelled through the counter's own service; consolidation buys for
it; another store's terminal is refused; every refusal writes nothing (docs/pickup.md,
"Mini-program orders")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from rest_framework.test import APIClient

from apps.campaigns.models import Promotion
from apps.customers.models import Member, MemberIdentity
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
)
from apps.procurement.selectors.suppliers import DAILY_CUTOFF_HOUR
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import (
    delivery_status_set,
    fulfilments_ready,
    pickup_verify,
)
from apps.stores.models import (
    Order,
    OrderFulfilment,
    StockLevel,
    StockMovement,
    Store,
    StoreStaff,
)
from apps.stores.services.terminals import terminal_issue
from linli.schedules import SCHEDULES
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
    UserFactory,
)
from tests.procurement.factories_supply import purchase_order_move

pytestmark = pytest.mark.django_db

URL = "/api/v1/mini-program/orders"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


@pytest.fixture
def blueberries():
    """A product a supplier offers (packs of 1, no minimum): orderable from the mini-program."""
    product = ProductFactory(sku="FRU-0001", name="云南蓝莓", price=Decimal("12.80"))
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    return product


@pytest.fixture
def melon():
    product = ProductFactory(sku="FRU-0002", name="麒麟西瓜", price=Decimal("35.90"))
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    return product


def _client(store) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Mini-program")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


def _payload(**changes) -> dict:
    payload = {
        "idempotency_key": "wxpay-0001",
        "mini_program_openid": OPENID,
        "display_name": "李阿姨",
        "lines": [{"sku": "FRU-0001", "quantity": 2}],
        "fulfilment": "pickup",
        "expected_total": "25.60",
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


def _delivery_payload(**changes) -> dict:
    return _payload(
        fulfilment="delivery",
        delivery={
            "address": "翠苑一区 12 幢 402",
            "contact_name": "李阿姨",
            "phone": "13800138000",
        },
        note="请放门口",
        **changes,
    )


def _nothing_written() -> None:
    assert Order.objects.count() == 0
    assert OrderFulfilment.objects.count() == 0
    assert Member.objects.count() == 0


def _consolidate() -> None:
    purchase_orders_consolidate(
        cutoff=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )


# --- placing an order ---------------------------------------------------------------------------


def test_a_pickup_order_is_written_paid_with_its_code_and_makes_the_member(store, blueberries):
    response = _client(store).post(URL, _payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get()
    fulfilment = OrderFulfilment.objects.get(order=order)
    member = MemberIdentity.objects.get(kind="mini_program", value=OPENID).member
    assert (order.channel, order.fulfilment, order.status) == ("mini_program", "pickup", "paid")
    assert (order.member, member.home_store, member.name) == (member, store, "李阿姨")
    assert order.reference == f"MP{timezone.localdate():%Y%m%d}{order.pk:08d}"
    assert order.total == Decimal("25.60")
    assert body["reference"] == order.reference
    assert body["member_no"] == member.member_no
    assert (body["status"], body["fulfilment_status"]) == ("paid", "waiting")
    assert body["pickup_code"] == fulfilment.pickup_code
    assert len(body["pickup_code"]) == 6
    assert body["lines"] == [
        {
            "sku": "FRU-0001",
            "name": "云南蓝莓",
            "quantity": 2,
            "unit_price": "12.80",
            "discount": "0.00",
            "line_total": "25.60",
            "short_quantity": 0,
        }
    ]
    assert body["delivery"] is None
    # 以销定产: the order takes nothing from the shelf; consolidation buys its goods.
    assert StockMovement.objects.count() == 0


def test_a_delivery_order_keeps_its_address_contact_and_note(store, blueberries):
    response = _client(store).post(URL, _delivery_payload(), format="json")
    assert response.status_code == 201, response.json()
    fulfilment = OrderFulfilment.objects.get()
    assert (
        fulfilment.delivery_address,
        fulfilment.delivery_contact,
        fulfilment.delivery_phone,
        fulfilment.member_note,
    ) == ("翠苑一区 12 幢 402", "李阿姨", "+8613800138000", "请放门口")
    body = response.json()
    assert body["fulfilment"] == "delivery"
    assert body["delivery"] == {
        "address": "翠苑一区 12 幢 402",
        "contact_name": "李阿姨",
        "phone": "+8613800138000",
    }
    assert body["note"] == "请放门口"


def test_prices_are_the_stores_today_less_a_planned_promotion(
    store, other_store, blueberries, melon
):
    today = timezone.localdate()
    Promotion.objects.create(
        name="蓝莓节",
        kind=Promotion.Kind.PRICE,
        product=blueberries,
        starts_on=today,
        ends_on=today,
        discount_percent=20,
    )
    # Another store's promotion and a group buy's price are not this order's.
    other = Promotion.objects.create(
        name="别店西瓜",
        kind=Promotion.Kind.PRICE,
        product=melon,
        starts_on=today,
        ends_on=today,
        discount_percent=50,
    )
    other.stores.add(other_store)
    Promotion.objects.create(
        name="西瓜团购",
        kind=Promotion.Kind.GROUP_BUY,
        product=melon,
        starts_on=today,
        ends_on=today,
        discount_percent=30,
    )
    # 12.80 less 20 % is 10.24, sold at 10.20 (down to a whole jiao); the melon at its price.
    payload = _payload(
        lines=[{"sku": "FRU-0001", "quantity": 2}, {"sku": "FRU-0002", "quantity": 1}],
        expected_total="56.30",
    )
    response = _client(store).post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    lines = {line["sku"]: line for line in response.json()["lines"]}
    assert (lines["FRU-0001"]["unit_price"], lines["FRU-0001"]["discount"]) == ("12.80", "5.20")
    assert lines["FRU-0001"]["line_total"] == "20.40"
    assert lines["FRU-0002"]["line_total"] == "35.90"
    assert Order.objects.get().discount_total == Decimal("5.20")


def test_a_retry_with_the_same_key_answers_200_with_the_first_order_and_writes_nothing(
    store, blueberries
):
    client = _client(store)
    first = client.post(URL, _delivery_payload(), format="json")
    again = client.post(URL, _delivery_payload(), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (Order.objects.count(), OrderFulfilment.objects.count(), Member.objects.count()) == (
        1,
        1,
        1,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": [{"sku": "FRU-0001", "quantity": 3}], "expected_total": "38.40"},
        {"mini_program_openid": "o6_another_member"},
        {
            "fulfilment": "delivery",
            "delivery": {"address": "x", "contact_name": "y", "phone": "13800138001"},
        },
    ],
    ids=["other-lines", "other-member", "other-fulfilment"],
)
def test_the_same_key_for_another_request_is_409_and_writes_nothing(store, blueberries, changes):
    client = _client(store)
    assert client.post(URL, _payload(), format="json").status_code == 201
    with override("en"):
        response = client.post(URL, _payload(**changes), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert body["errors"][0]["field"] == "idempotency_key"
    assert (Order.objects.count(), Member.objects.count()) == (1, 1)


def test_a_total_other_than_todays_is_price_changed_with_the_current_lines(store, blueberries):
    # In the site's language (zh-hans), as every answer without another choice.
    response = _client(store).post(URL, _payload(expected_total="20.00"), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "price_changed"
    assert "25.60" in body["detail"]
    assert body["errors"] == [
        {
            "index": None,
            "field": "expected_total",
            "code": "price_changed",
            "message": body["detail"],
            "total": "25.60",
        },
        {
            "index": 0,
            "field": "unit_price",
            "code": "price_changed",
            "message": "FRU-0001：今天单价 ¥12.80。",
            "sku": "FRU-0001",
            "quantity": 2,
            "list_price": "12.80",
            "discount_percent": 0,
            "unit_price": "12.80",
            "line_total": "25.60",
        },
    ]
    _nothing_written()


def test_unknown_skus_are_a_400_naming_each_line(store, blueberries):
    payload = _payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 1},
            {"sku": "NOPE-1", "quantity": 1},
            {"sku": "NOPE-2", "quantity": 1},
        ]
    )
    response = _client(store).post(URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_sku"
    assert [(item["index"], item["sku"]) for item in body["errors"]] == [
        (1, "NOPE-1"),
        (2, "NOPE-2"),
    ]
    _nothing_written()


def test_inactive_products_and_products_no_supplier_offers_are_not_available(store, blueberries):
    ProductFactory(sku="OLD-1", is_active=False)
    SupplierProductFactory(product=ProductFactory(sku="OLD-2", is_active=False))
    ProductFactory(sku="SHELF-1")  # no supplier offer: consolidation could not buy it
    SupplierProductFactory(product=ProductFactory(sku="GONE-1"), supplier__is_active=False)
    payload = _payload(
        lines=[
            {"sku": "FRU-0001", "quantity": 1},
            {"sku": "OLD-1", "quantity": 1},
            {"sku": "OLD-2", "quantity": 1},
            {"sku": "SHELF-1", "quantity": 1},
            {"sku": "GONE-1", "quantity": 1},
        ]
    )
    response = _client(store).post(URL, payload, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "not_available"
    assert [item["sku"] for item in body["errors"]] == ["OLD-1", "OLD-2", "SHELF-1", "GONE-1"]
    _nothing_written()


@pytest.mark.parametrize("status", ["closed", "suspended", "preparing"])
def test_a_store_not_open_refuses_and_writes_nothing(store, blueberries, status):
    client = _client(store)
    Store.objects.filter(pk=store.pk).update(status=status)
    response = client.post(URL, _payload(), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "store_closed"
    assert body["errors"][0]["store_status"] == status
    _nothing_written()


def test_a_store_that_closed_still_answers_retries_and_lets_members_cancel(store, blueberries):
    client = _client(store)
    first = client.post(URL, _payload(), format="json").json()
    Store.objects.filter(pk=store.pk).update(status="suspended")
    again = client.post(URL, _payload(), format="json")
    assert (again.status_code, again.json()["reference"]) == (200, first["reference"])
    # Another request under the key is still the key's refusal; a new key is the store's.
    assert client.post(URL, _payload(expected_total="12.80"), format="json").status_code == 409
    new_key = client.post(URL, _payload(idempotency_key="new"), format="json")
    assert new_key.json()["code"] == "store_closed"
    # The member may still cancel and be refunded; reading goes on.
    cancel = client.post(f"{URL}/{first['reference']}/cancel", {}, format="json")
    assert (cancel.status_code, cancel.json()["status"]) == (200, "cancelled")
    assert client.get(f"{URL}/{first['reference']}").status_code == 200
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fulfilment": "delivery"}, "delivery"),
        (
            {
                "fulfilment": "delivery",
                "delivery": {"address": "", "contact_name": "李", "phone": "13800138000"},
            },
            "delivery.address",
        ),
        (
            {
                "fulfilment": "delivery",
                "delivery": {"address": "a", "contact_name": "李", "phone": "12"},
            },
            "delivery.phone",
        ),
        ({"fulfilment": "in_store"}, "fulfilment"),
        ({"mini_program_openid": None, "display_name": "李"}, "mini_program_openid"),
        ({"expected_total": "-1"}, "expected_total"),
        ({"idempotency_key": "k" * 65}, "idempotency_key"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "FRU-0001", "quantity": 0}]}, "quantity"),
        ({"lines": [{"sku": "FRU-0001", "quantity": 100}]}, "quantity"),
        (
            {"lines": [{"sku": "FRU-0001", "quantity": 1}, {"sku": "FRU-0001", "quantity": 1}]},
            "lines",
        ),
        ({"lines": [{"sku": f"S{n}", "quantity": 1} for n in range(51)]}, "lines"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(store, blueberries, changes, field):
    with override("en"):
        response = _client(store).post(URL, _payload(**changes), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert field in {item["field"] for item in body["errors"]}
    _nothing_written()


def test_a_member_named_by_member_number_or_phone_is_that_member(store, blueberries):
    known = MemberFactory(home_store=store)
    client = _client(store)
    by_number = client.post(
        URL,
        _payload(idempotency_key="a", mini_program_openid=None, member_no=known.member_no),
        format="json",
    )
    by_phone = client.post(
        URL,
        _payload(idempotency_key="b", mini_program_openid=None, phone=known.phone),
        format="json",
    )
    assert (by_number.json()["member_no"], by_phone.json()["member_no"]) == (
        known.member_no,
        known.member_no,
    )
    assert Member.objects.count() == 1


def test_no_token_is_401_and_a_session_is_not_a_terminal(client, owner, store, blueberries):
    assert APIClient().post(URL, _payload(), format="json").status_code == 401
    client.force_login(owner)
    assert client.post(URL, _payload(), content_type="application/json").status_code in (401, 403)
    _nothing_written()


# --- reading it back ----------------------------------------------------------------------------


def test_get_shows_the_status_lines_code_and_delivery_status(store, blueberries):
    client = _client(store)
    reference = client.post(URL, _delivery_payload(), format="json").json()["reference"]
    order = Order.objects.get()
    _stock(store, blueberries, 5)
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    delivery_status_set(store=store, order_id=order.pk, status="out_for_delivery", by=None)
    body = client.get(f"{URL}/{reference}").json()
    assert (body["status"], body["fulfilment_status"]) == ("ready", "out_for_delivery")
    assert body["pickup_code"] == OrderFulfilment.objects.get().pickup_code
    assert body["total"] == "25.60"
    delivery_status_set(store=store, order_id=order.pk, status="delivered", by=None)
    body = client.get(f"{URL}/{reference}").json()
    assert (body["status"], body["fulfilment_status"]) == ("completed", "delivered")
    assert body["pickup_code"] is None
    assert body["completed_at"] is not None


def _stock(store, product, on_hand: int) -> StockLevel:
    return StockLevelFactory(store=store, product=product, on_hand=on_hand)


def test_another_stores_terminal_gets_404_on_get_and_cancel(store, other_store, blueberries):
    reference = _client(store).post(URL, _payload(), format="json").json()["reference"]
    other = _client(other_store)
    read = other.get(f"{URL}/{reference}")
    cancel = other.post(f"{URL}/{reference}/cancel", {}, format="json")
    unknown = _client(store).get(f"{URL}/MP000")
    assert (read.status_code, cancel.status_code, unknown.status_code) == (404, 404, 404)
    assert read.json()["code"] == cancel.json()["code"] == "not_found"
    assert Order.objects.get().status == Order.Status.PAID


def test_a_reference_with_a_nul_character_is_404_not_a_database_error(store, blueberries):
    _client(store).post(URL, _payload(), format="json")
    read = _client(store).get(f"{URL}/MP%00")
    cancel = _client(store).post(f"{URL}/MP%00/cancel", {}, format="json")
    assert (read.status_code, cancel.status_code) == (404, 404)
    assert read.json()["code"] == cancel.json()["code"] == "not_found"
    assert Order.objects.get().status == Order.Status.PAID


def test_a_pos_order_is_not_a_mini_program_order(store):
    Order.objects.create(
        store=store, channel=Order.Channel.POS, idempotency_key="till-1", reference="POS1"
    )
    assert _client(store).get(f"{URL}/POS1").status_code == 404


# --- consolidation buys for it ------------------------------------------------------------------


def test_consolidation_puts_the_order_on_a_purchase_order(store, blueberries, melon):
    payload = _payload(
        lines=[{"sku": "FRU-0001", "quantity": 2}, {"sku": "FRU-0002", "quantity": 1}],
        expected_total="61.50",
    )
    assert _client(store).post(URL, payload, format="json").status_code == 201
    _consolidate()
    order = Order.objects.get()
    sources = PurchaseOrderSource.objects.filter(order_line__order=order)
    assert sorted(sources.values_list("line__product__sku", "quantity")) == [
        ("FRU-0001", 2),
        ("FRU-0002", 1),
    ]
    line = PurchaseOrderLine.objects.get(product=blueberries)
    assert (line.demanded_quantity, line.purchase_order.status) == (2, PurchaseOrder.Status.SENT)
    assert line.allocations.get().store == store


def test_a_ready_order_takes_its_goods_from_stock_once(store, blueberries):
    _stock(store, blueberries, 5)
    assert _client(store).post(URL, _payload(), format="json").status_code == 201
    order = Order.objects.get()
    assert fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None) == 1
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    assert StockLevel.objects.get(store=store, product=blueberries).on_hand == 3
    assert list(StockMovement.objects.filter(order=order).values_list("kind", "quantity")) == [
        ("sale", -2)
    ]


# --- the member cancels -------------------------------------------------------------------------


def test_cancelling_before_consolidation_cancels_and_frees_the_code(store, blueberries):
    client = _client(store)
    reference = client.post(URL, _payload(), format="json").json()["reference"]
    response = client.post(f"{URL}/{reference}/cancel", {"reason": "买多了"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["fulfilment_status"], body["pickup_code"]) == (
        "cancelled",
        "cancelled",
        None,
    )
    assert OrderFulfilment.objects.get().delivery_note == "买多了"
    # A retried cancel answers the same; consolidation finds nothing to buy.
    again = client.post(f"{URL}/{reference}/cancel", {}, format="json")
    assert (again.status_code, again.json()["status"]) == (200, "cancelled")
    _consolidate()
    assert PurchaseOrderSource.objects.count() == 0


def test_cancelling_after_consolidation_takes_the_units_off_the_purchase_order(store, blueberries):
    client = _client(store)
    keep = client.post(URL, _payload(idempotency_key="keep"), format="json").json()
    drop = client.post(URL, _payload(idempotency_key="drop"), format="json").json()
    _consolidate()
    line = PurchaseOrderLine.objects.get()
    assert line.demanded_quantity == 4
    response = client.post(f"{URL}/{drop['reference']}/cancel", {}, format="json")
    assert response.status_code == 200
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity) == (2, 2)
    cancelled = PurchaseOrderSource.objects.get(order_line__order__reference=drop["reference"])
    assert cancelled.cancelled_at is not None
    assert Order.objects.get(reference=keep["reference"]).status == Order.Status.PAID


def test_cancelling_after_the_supplier_confirmed_records_an_exception(store, blueberries):
    client = _client(store)
    reference = client.post(URL, _payload(), format="json").json()["reference"]
    _consolidate()
    purchase_order_move(PurchaseOrder.objects.get(), status=PurchaseOrder.Status.CONFIRMED)
    assert client.post(f"{URL}/{reference}/cancel", {}, format="json").status_code == 200
    exception = PurchaseOrderException.objects.get()
    assert (exception.store, exception.quantity) == (store, 2)
    assert PurchaseOrderLine.objects.get().demanded_quantity == 2  # the purchase order stands


def test_cancelling_after_pickup_is_refused(store, blueberries):
    _stock(store, blueberries, 5)
    client = _client(store)
    reference = client.post(URL, _payload(), format="json").json()["reference"]
    order = Order.objects.get()
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    code = OrderFulfilment.objects.get().pickup_code
    assert [result.outcome for result in pickup_verify(store=store, codes=[code], by=None)] == [
        "collected"
    ]
    response = client.post(f"{URL}/{reference}/cancel", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_cancellable"
    assert Order.objects.get().status == Order.Status.COMPLETED


def test_cancelling_while_out_for_delivery_is_refused(store, blueberries):
    _stock(store, blueberries, 5)
    client = _client(store)
    reference = client.post(URL, _delivery_payload(), format="json").json()["reference"]
    order = Order.objects.get()
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    delivery_status_set(store=store, order_id=order.pk, status="out_for_delivery", by=None)
    response = client.post(f"{URL}/{reference}/cancel", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "out_for_delivery"
    assert Order.objects.get().status == Order.Status.READY


def test_cancelling_a_ready_order_puts_its_goods_back_on_the_shelf(store, blueberries):
    _stock(store, blueberries, 5)
    client = _client(store)
    reference = client.post(URL, _payload(), format="json").json()["reference"]
    fulfilments_ready(store_id=store.pk, order_ids=[Order.objects.get().pk], by=None)
    assert client.post(f"{URL}/{reference}/cancel", {}, format="json").status_code == 200
    assert StockLevel.objects.get(store=store, product=blueberries).on_hand == 5


# --- the counter ---------------------------------------------------------------------------------


def test_the_board_shows_where_to_deliver_whole_to_the_owner_masked_to_a_clerk(
    client, store, owner, blueberries
):
    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    payload = _delivery_payload(display_name=None)
    payload["delivery"]["contact_name"] = "王芳"
    assert _client(store).post(URL, payload, format="json").status_code == 201
    Member.objects.update(name="王芳")
    url = reverse("supply:pickup", args=[store.pk])

    client.force_login(owner)
    html = client.get(url).content.decode()
    assert "翠苑一区 12 幢 402 · 王芳 +8613800138000" in html
    assert "请放门口" in html

    client.force_login(clerk)
    html = client.get(url).content.decode()
    assert "翠苑一区 12 幢 402" in html
    assert "138****8000" in html
    assert "13800138000" not in html
    assert "王芳" not in html


def test_another_stores_member_is_served_but_not_named(store, other_store, blueberries):
    """Members are network-wide: a phone of another store's member orders on that member, but
    the answer does not name them; their number alone is refused, as a number nobody has
    (docs/members.md, "What a terminal learns of members")."""
    theirs = MemberFactory(home_store=other_store)
    client = _client(store)
    by_number = client.post(
        URL,
        _payload(idempotency_key="n", mini_program_openid=None, member_no=theirs.member_no),
        format="json",
    )
    assert (by_number.status_code, by_number.json()["code"]) == (400, "unknown_member")
    _nothing_written_but(theirs)
    by_phone = client.post(
        URL, _payload(mini_program_openid=None, phone=theirs.phone), format="json"
    )
    assert by_phone.status_code == 201
    assert by_phone.json()["member_no"] is None
    assert client.get(f"{URL}/{by_phone.json()['reference']}").json()["member_no"] is None
    assert Order.objects.get().member == theirs


def _nothing_written_but(member: Member) -> None:
    assert (Order.objects.count(), list(Member.objects.all())) == (0, [member])


# --- when the member can expect it ----------------------------------------------------------


def _order_answer(store, order: Order) -> dict:
    response = _client(store).get(f"{URL}/{order.reference}")
    assert response.status_code == 200
    return response.json()


def test_the_expected_day_is_the_daily_cut_off_after_payment_plus_the_longest_lead_time(
    store, blueberries, melon
):
    """Blueberries come in 1 day, the melon in 3: paid before 22:00, the order goes on that
    evening's purchase orders and is expected 3 days later; paid at 22:00, the next day's."""
    melon.supplier_offers.update(lead_time_days=3)
    payload = _payload(
        lines=[{"sku": "FRU-0001", "quantity": 2}, {"sku": "FRU-0002", "quantity": 1}],
        expected_total="61.50",
    )
    response = _client(store).post(URL, payload, format="json")
    assert response.status_code == 201
    today = timezone.localdate()
    paid = timezone.localtime(timezone.now())
    cutoff_day = today if paid.hour < 22 else today + dt.timedelta(days=1)
    assert response.json()["expected_ready_on"] == (cutoff_day + dt.timedelta(days=3)).isoformat()
    order = Order.objects.get()
    zone = timezone.get_current_timezone()
    # Paid in two days' time (a clock ahead): the boundary is that day's 22:00.
    day = today + dt.timedelta(days=2)
    for placed, expected in (
        (dt.datetime.combine(day, dt.time(21, 59, 59), tzinfo=zone), day + dt.timedelta(days=3)),
        (dt.datetime.combine(day, dt.time(22, 0), tzinfo=zone), day + dt.timedelta(days=4)),
    ):
        Order.objects.filter(pk=order.pk).update(placed_at=placed)
        assert _order_answer(store, order)["expected_ready_on"] == expected.isoformat()


def test_a_line_still_waiting_after_its_cut_off_is_expected_from_the_next_one(
    store, blueberries, melon
):
    """Paid a month ago and on no purchase order yet (its run never took it): the next run
    takes it, so the day is counted from the next cut-off after now, not a month ago."""
    melon.supplier_offers.update(lead_time_days=3)
    payload = _payload(
        lines=[{"sku": "FRU-0001", "quantity": 2}, {"sku": "FRU-0002", "quantity": 1}],
        expected_total="61.50",
    )
    assert _client(store).post(URL, payload, format="json").status_code == 201
    order = Order.objects.get()
    Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - dt.timedelta(days=30))
    now = timezone.localtime(timezone.now())
    cutoff_day = now.date() if now.hour < 22 else now.date() + dt.timedelta(days=1)
    expected = cutoff_day + dt.timedelta(days=3)
    assert _order_answer(store, order)["expected_ready_on"] == expected.isoformat()


def test_on_a_purchase_order_the_expected_day_is_its_delivery_date(store, blueberries, melon):
    melon.supplier_offers.update(lead_time_days=3)
    payload = _payload(
        lines=[{"sku": "FRU-0001", "quantity": 2}, {"sku": "FRU-0002", "quantity": 1}],
        expected_total="61.50",
    )
    assert _client(store).post(URL, payload, format="json").status_code == 201
    order = Order.objects.get()
    # Placed long ago: the estimate alone would name a day long past.
    Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - dt.timedelta(days=30))
    _consolidate()
    today = timezone.localdate()
    melon_po = PurchaseOrderLine.objects.get(product=melon).purchase_order
    assert melon_po.delivery_date == today + dt.timedelta(days=3)
    assert _order_answer(store, order)["expected_ready_on"] == melon_po.delivery_date.isoformat()
    # The supplier moves the melon's delivery: the member's day moves with it.
    later = today + dt.timedelta(days=5)
    purchase_order_move(melon_po, status=PurchaseOrder.Status.CONFIRMED, delivery_date=later)
    assert _order_answer(store, order)["expected_ready_on"] == later.isoformat()
    cancelled = _client(store).post(f"{URL}/{order.reference}/cancel", {}, format="json")
    assert cancelled.status_code == 200
    assert cancelled.json()["expected_ready_on"] is None


def test_the_cut_off_the_expected_day_counts_from_is_the_daily_consolidation_beats():
    beat = next(
        schedule
        for schedule in SCHEDULES
        if schedule.task == "apps.procurement.tasks.purchase_orders_consolidate_task"
    )
    assert (beat.hour, beat.minute) == (str(DAILY_CUTOFF_HOUR), "0")
