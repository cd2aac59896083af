"""The batch loss page (supply:loss_batch): several losses in one form at closing time, all or
nothing through `losses_record`, once per form key; refusals for everyone but the store's owner
and clerks (docs/loss.md "Several at once")."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from apps.stores.models import LossBatch, StockLevel, StockMovement
from apps.stores.selectors import loss_rates
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    StockLevelFactory,
    UserFactory,
    clerk_of,
)

pytestmark = pytest.mark.django_db


def _url(store) -> str:
    return reverse("supply:loss_batch", args=[store.pk])


@pytest.fixture
def shelf(store) -> dict[str, StockLevel]:
    fresh = CategoryFactory(name="牛奶", is_fresh=True)
    return {
        "milk": StockLevelFactory(
            store=store,
            on_hand=8,
            product=ProductFactory(
                name="鲜牛奶 950ml",
                sku="MILK-950",
                barcode="6988026000013",
                price=Decimal("16.90"),
                category=fresh,
            ),
        ),
        "yogurt": StockLevelFactory(
            store=store,
            on_hand=5,
            product=ProductFactory(
                name="原味酸奶", sku="YOG-1", price=Decimal("6.50"), category=fresh
            ),
        ),
        "bread": StockLevelFactory(
            store=store,
            on_hand=3,
            product=ProductFactory(name="全麦面包", sku="BRD-1", price=Decimal("9.00")),
        ),
    }


def _body(key: object, rows: list[dict[str, object]], total: int = 5) -> dict[str, object]:
    """The form as a browser posts it: `total` rows, the given ones filled in, the rest empty."""
    body: dict[str, object] = {
        "key": str(key),
        "rows-TOTAL_FORMS": str(total),
        "rows-INITIAL_FORMS": "0",
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "40",
    }
    for index in range(total):
        row = rows[index] if index < len(rows) else {}
        for field in ("product", "quantity", "reason", "note"):
            body[f"rows-{index}-{field}"] = row.get(field, "")
    return body


def _levels(shelf) -> dict[str, int]:
    return {name: StockLevel.objects.get(pk=level.pk).on_hand for name, level in shelf.items()}


def test_the_page_offers_five_empty_rows_and_the_stores_products_with_on_hand(
    client, store, other_store, owner, shelf
):
    StockLevelFactory(store=other_store, on_hand=9, product=ProductFactory(name="别店的苹果"))
    StockLevelFactory(store=store, on_hand=0, product=ProductFactory(name="卖完的香蕉"))
    client.force_login(owner)
    page = client.get(_url(store))
    assert page.status_code == 200
    assert len(page.context["formset"].forms) == 5
    assert isinstance(page.context["key"], uuid.UUID)
    content = page.content.decode()
    assert '<option value="鲜牛奶 950ml · MILK-950"' in content
    assert [level.product.name for _text, level in page.context["stock"]] == [
        "全麦面包",
        "原味酸奶",
        "鲜牛奶 950ml",
    ]
    assert "别店的苹果" not in content
    assert "卖完的香蕉" not in content
    assert 'name="rows-4-product"' in content
    assert 'name="rows-5-product"' not in content
    assert "rows-__prefix__-product" in content  # the row JavaScript adds


def test_a_clerk_records_several_losses_in_one_go_through_the_ledger(client, store, shelf):
    clerk = clerk_of(store)
    client.force_login(clerk)
    key = client.get(_url(store)).context["key"]
    response = client.post(
        _url(store),
        _body(
            key,
            [
                # picked from the list, a scanned barcode, a typed name
                {"product": "原味酸奶 · YOG-1", "quantity": "2", "reason": "expired"},
                {"product": "6988026000013", "quantity": "3", "reason": "spoiled", "note": "胀包"},
                {},  # an empty row between filled ones is skipped
                {"product": "全麦面包", "quantity": "3", "reason": "damaged"},
            ],
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("supply:loss", args=[store.pk])
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "已登记 3 条损耗。"
    ]
    rows = list(
        StockMovement.objects.order_by("pk").values_list(
            "store", "product", "kind", "quantity", "reason", "note", "created_by"
        )
    )
    assert sorted(rows) == sorted(
        [
            (store.pk, shelf["yogurt"].product_id, "loss", -2, "expired", "", clerk.pk),
            (store.pk, shelf["milk"].product_id, "loss", -3, "spoiled", "胀包", clerk.pk),
            (store.pk, shelf["bread"].product_id, "loss", -3, "damaged", "", clerk.pk),
        ]
    )
    assert StockMovement.objects.values("created_at").distinct().count() == 1
    assert _levels(shelf) == {"milk": 5, "yogurt": 3, "bread": 0}
    batch = LossBatch.objects.get()
    assert (batch.store_id, batch.key, batch.loss_count, batch.recorded_by_id) == (
        store.pk,
        key,
        3,
        clerk.pk,
    )
    today = timezone.localdate()
    [rate] = loss_rates(
        store_ids=[store.pk], since=today, until=today + dt.timedelta(days=1), by_category=False
    )
    # 2 × 6.50 + 3 × 16.90 + 3 × 9.00
    assert (rate.lost_units, rate.lost_value) == (8, Decimal("90.70"))


def test_one_bad_row_refuses_the_whole_list_and_each_bad_row_says_why(client, store, owner, shelf):
    for name, sku in (("鸡蛋 10枚", "EGG-10"), ("苹果", "APL-1"), ("奶酪", "CHS-1")):
        StockLevelFactory(store=store, on_hand=6, product=ProductFactory(name=name, sku=sku))
    client.force_login(owner)
    key = uuid.uuid4()
    good = {"product": "原味酸奶 · YOG-1", "quantity": "2", "reason": "expired", "note": "冷柜坏了"}
    response = client.post(
        _url(store),
        _body(
            key,
            [
                good,
                {"product": "榴莲", "quantity": "1", "reason": "expired"},
                {"product": "鸡蛋 10枚 · EGG-10", "quantity": "0", "reason": "damaged"},
                {"product": "6988026000013", "quantity": "1.5", "reason": "spoiled"},
                {"product": "全麦面包", "quantity": "4", "reason": "expired"},
                {"product": "原味酸奶", "quantity": "1", "reason": "other"},
                {"product": "苹果", "quantity": "1", "reason": ""},
                {},
            ],
            total=8,
        ),
    )
    assert response.status_code == 400
    assert not StockMovement.objects.exists()
    assert not LossBatch.objects.exists()
    assert _levels(shelf) == {"milk": 8, "yogurt": 5, "bread": 3}
    forms = response.context["formset"].forms
    assert [sorted(form.errors) for form in forms] == [
        [],
        ["product"],  # no such product here
        ["quantity"],  # 0
        ["quantity"],  # not a whole number
        ["quantity"],  # more than on hand
        ["product"],  # the yogurt again
        ["reason"],
        [],
    ]
    assert "榴莲" in forms[1].errors["product"][0]
    assert forms[4].errors["quantity"] == ["库存只有 3 件。"]
    assert "原味酸奶" in forms[5].errors["product"][0]
    content = response.content.decode()
    # Nothing to type again: every row keeps what was typed, the good one too.
    assert 'value="原味酸奶 · YOG-1"' in content
    assert 'value="冷柜坏了"' in content
    assert 'value="榴莲"' in content
    assert response.context["key"] == key  # the corrected form is the same list

    fixed = client.post(
        _url(store),
        _body(key, [good, {"product": "全麦面包", "quantity": "3", "reason": "expired"}]),
    )
    assert fixed.status_code == 302
    assert _levels(shelf) == {"milk": 8, "yogurt": 3, "bread": 0}


def test_a_list_with_no_row_filled_in_is_refused(client, store, owner, shelf):
    client.force_login(owner)
    response = client.post(_url(store), _body(uuid.uuid4(), []))
    assert response.status_code == 400
    assert response.context["formset"].non_form_errors() == ["至少填写一行。"]
    assert not StockMovement.objects.exists()
    assert not LossBatch.objects.exists()


def test_a_second_submit_of_the_same_form_records_nothing(client, store, owner, shelf):
    client.force_login(owner)
    body = _body(
        uuid.uuid4(),
        [
            {"product": "全麦面包", "quantity": "2", "reason": "expired"},
            {"product": "原味酸奶", "quantity": "1", "reason": "spoiled"},
        ],
    )
    assert client.post(_url(store), body).status_code == 302
    # The double tap: on-hand is lower now, and the answer is still "already recorded".
    again = client.post(_url(store), body)
    assert again.status_code == 302
    assert again["Location"] == reverse("supply:loss", args=[store.pk])
    # The first submit's "recorded" message is still waiting: the redirect was not followed.
    message = [str(message) for message in get_messages(again.wsgi_request)][-1]
    assert "没有重复登记" in message
    assert "2 条" in message
    assert StockMovement.objects.count() == 2
    assert LossBatch.objects.count() == 1
    assert _levels(shelf) == {"milk": 8, "yogurt": 4, "bread": 1}


@pytest.mark.parametrize("key", ["", "not-a-key", None])
def test_a_list_without_its_key_records_nothing_and_comes_back_as_typed(
    client, store, owner, shelf, key
):
    """A client that drops the hidden key would record the list once per tap: the post is
    refused with the rows as typed and a fresh key, and the next submit records once."""
    client.force_login(owner)
    body = _body(key, [{"product": "全麦面包", "quantity": "1", "reason": "expired"}])
    if key is None:
        del body["key"]
    response = client.post(_url(store), body)
    assert response.status_code == 400
    html = response.content.decode()
    assert "没有保存" in html
    assert 'value="全麦面包"' in html
    fresh = response.context["key"]
    assert isinstance(fresh, uuid.UUID)
    assert f'name="key" value="{fresh}"' in html
    assert not StockMovement.objects.exists()
    assert not LossBatch.objects.exists()
    resent = _body(fresh, [{"product": "全麦面包", "quantity": "1", "reason": "expired"}])
    assert client.post(_url(store), resent).status_code == 302
    assert client.post(_url(store), resent).status_code == 302
    assert StockMovement.objects.count() == 1
    assert _levels(shelf)["bread"] == 2


def _refused(response) -> bool:
    return response.status_code in (403, 404)


@pytest.mark.parametrize("who", ["other_owner", "inspector", "supplier_user", "hq"])
def test_only_the_stores_owner_and_clerks_reach_the_page(client, store, shelf, who, request):
    if who == "hq":
        user = UserFactory(is_staff=True, is_superuser=True)
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    body = _body(uuid.uuid4(), [{"product": "全麦面包", "quantity": "1", "reason": "expired"}])
    assert _refused(client.get(_url(store)))
    assert _refused(client.post(_url(store), body))
    assert not StockMovement.objects.exists()
    assert not LossBatch.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client, store, shelf):
    body = _body(uuid.uuid4(), [{"product": "全麦面包", "quantity": "1", "reason": "expired"}])
    for response in (client.get(_url(store)), client.post(_url(store), body)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))
    assert not StockMovement.objects.exists()


def test_the_loss_page_and_the_store_page_link_to_it(client, store, owner):
    client.force_login(owner)
    for page in (
        client.get(reverse("supply:loss", args=[store.pk])),
        client.get(reverse("portal:store", args=[store.pk])),
    ):
        assert _url(store) in page.content.decode()
