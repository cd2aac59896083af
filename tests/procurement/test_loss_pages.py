"""The loss page (supply:loss): search, record, the recent list and the monthly loss rates;
refusals for everyone but the store's owner and clerks (HQ reads losses in the admin)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.stores.models import LossBatch, StockLevel, StockMovement
from apps.stores.services.stock import stock_move
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    StockLevelFactory,
    UserFactory,
    clerk_of,
)

pytestmark = pytest.mark.django_db


def _url(store) -> str:
    return reverse("supply:loss", args=[store.pk])


@pytest.fixture
def milk(store) -> StockLevel:
    product = ProductFactory(
        name="鲜牛奶 950ml",
        barcode="6988026000013",
        price=Decimal("16.90"),
        category=CategoryFactory(name="牛奶", is_fresh=True),
    )
    return StockLevelFactory(store=store, product=product, on_hand=8)


def _post(client, store, product, **fields) -> object:
    """The form as the page posts it, with a fresh key unless `key=` is given."""
    body = {
        "product": product.pk,
        "quantity": 2,
        "reason": "expired",
        "note": "",
        "q": "牛奶",
        "key": str(uuid.uuid4()),
    }
    body.update(fields)
    return client.post(_url(store), body)


def test_the_page_finds_the_stores_products_by_name_and_barcode(client, store, owner, milk):
    StockLevelFactory(product=ProductFactory(name="鲜牛奶 250ml"), on_hand=5)  # another store
    StockLevelFactory(store=store, product=ProductFactory(name="鲜牛奶 1L"), on_hand=0)
    client.force_login(owner)
    page = client.get(_url(store), {"q": "鲜牛奶"})
    assert page.status_code == 200
    assert [level.pk for level in page.context["candidates"]] == [milk.pk]
    assert "鲜牛奶 950ml" in page.content.decode()
    by_barcode = client.get(_url(store), {"q": "6988026000013"})
    assert [level.pk for level in by_barcode.context["candidates"]] == [milk.pk]
    nothing = client.get(_url(store), {"q": "酸奶"})
    assert nothing.context["candidates"] == []


def test_a_clerk_records_a_loss_and_is_sent_back_to_the_page(client, store, milk):
    clerk = clerk_of(store)
    client.force_login(clerk)
    response = _post(client, store, milk.product, quantity=3, reason="spoiled", note="胀包")
    assert response.status_code == 302
    assert response["Location"] == _url(store)
    assert list(
        StockMovement.objects.values_list(
            "store", "product", "kind", "quantity", "reason", "note", "created_by"
        )
    ) == [(store.pk, milk.product_id, "loss", -3, "spoiled", "胀包", clerk.pk)]
    milk.refresh_from_db()
    assert milk.on_hand == 5
    page = client.get(_url(store))
    content = page.content.decode()
    assert "鲜牛奶 950ml" in content
    assert "胀包" not in content  # notes are the owner's, masked for clerks (below)
    assert [movement.quantity for movement in page.context["losses"]] == [-3]
    [row] = page.context["rates"].rows
    assert (row.category_name, row.current.lost_value) == ("牛奶", Decimal("50.70"))


def test_more_than_on_hand_is_refused_with_the_ledgers_message(client, store, owner, milk):
    client.force_login(owner)
    response = _post(client, store, milk.product, quantity=9)
    assert response.status_code == 400
    [error] = response.context["form"].non_field_errors()
    # Names, not codes: the store and the product as people know them, and what is in stock.
    assert milk.store.name in error
    assert milk.product.name in error
    assert milk.store.code not in error
    assert milk.product.sku not in error
    assert "8" in error
    assert "9" in error
    assert error in response.content.decode()
    assert not StockMovement.objects.exists()
    milk.refresh_from_db()
    assert milk.on_hand == 8


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 0},
        {"quantity": "two"},
        {"quantity": 10_000},
        {"reason": ""},
        {"reason": "lost"},
        {"note": "x" * 201},
    ],
)
def test_bad_input_is_refused_and_writes_nothing(client, store, owner, milk, fields):
    client.force_login(owner)
    response = _post(client, store, milk.product, **fields)
    assert response.status_code == 400
    assert not StockMovement.objects.exists()
    milk.refresh_from_db()
    assert milk.on_hand == 8


def test_another_stores_product_or_one_sold_out_here_is_an_invalid_choice(
    client, store, other_store, owner, milk
):
    elsewhere = StockLevelFactory(store=other_store, on_hand=5)
    sold_out = StockLevelFactory(store=store, on_hand=0)
    client.force_login(owner)
    for level in (elsewhere, sold_out):
        response = _post(client, store, level.product, quantity=1)
        assert response.status_code == 400
        assert response.context["form"].errors["product"]
    assert not StockMovement.objects.exists()
    assert StockLevel.objects.get(pk=elsewhere.pk).on_hand == 5


def test_the_recent_list_shows_30_days_of_this_stores_losses(client, store, other_store, owner):
    level = StockLevelFactory(store=store, on_hand=20)
    elsewhere = StockLevelFactory(store=other_store, on_hand=20)
    now = timezone.now()
    for days_ago, quantity in ((1, 1), (29, 2), (31, 4)):
        stock_move(
            store=store,
            product=level.product,
            kind="loss",
            quantity=-quantity,
            reason="expired",
            at=now - dt.timedelta(days=days_ago),
        )
    stock_move(store=other_store, product=elsewhere.product, kind="loss", quantity=-7)
    stock_move(store=store, product=level.product, kind="sale", quantity=-5)
    client.force_login(owner)
    page = client.get(_url(store))
    assert [movement.quantity for movement in page.context["losses"]] == [-1, -2]


def test_the_page_costs_the_same_queries_with_many_losses(client, store, owner):
    levels = [StockLevelFactory(store=store, on_hand=50) for _ in range(6)]
    stock_move(store=store, product=levels[0].product, kind="loss", quantity=-1, reason="other")
    client.force_login(owner)
    with CaptureQueriesContext(connection) as one:
        client.get(_url(store), {"q": "商品"})
    for level in levels:
        for reason in ("expired", "spoiled", "theft"):
            stock_move(store=store, product=level.product, kind="loss", quantity=-1, reason=reason)
    with CaptureQueriesContext(connection) as many:
        client.get(_url(store), {"q": "商品"})
    assert len(many) == len(one)


def test_hq_does_not_record_loss_in_the_portal_even_with_the_permission(client, store, milk):
    hq = UserFactory(is_staff=True, is_superuser=True)
    hq.user_permissions.add(Permission.objects.get(codename="add_stockmovement"))
    client.force_login(hq)
    assert client.get(_url(store)).status_code == 403
    assert _post(client, store, milk.product).status_code == 403
    assert not StockMovement.objects.exists()


def _refused(response) -> bool:
    return response.status_code in (403, 404)


def test_another_stores_owner_is_refused_and_nothing_is_written(client, store, other_owner, milk):
    client.force_login(other_owner)
    assert _refused(client.get(_url(store)))
    assert _refused(_post(client, store, milk.product))
    assert not StockMovement.objects.exists()


def test_a_supplier_user_is_refused(client, store, supplier_user, milk):
    client.force_login(supplier_user)
    assert _refused(client.get(_url(store)))
    assert _refused(_post(client, store, milk.product))
    assert not StockMovement.objects.exists()


def test_an_inspector_of_the_store_is_refused(client, store, inspector, milk):
    client.force_login(inspector)
    assert _refused(client.get(_url(store)))
    assert _refused(_post(client, store, milk.product))
    assert not StockMovement.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client, store, milk):
    for response in (client.get(_url(store)), _post(client, store, milk.product)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))
    assert not StockMovement.objects.exists()


def test_an_unknown_store_is_refused_like_a_foreign_one(client, owner):
    client.force_login(owner)
    assert client.get(reverse("supply:loss", args=[999_999])).status_code == 403


def test_an_empty_post_is_refused_and_writes_nothing(client, store, owner, milk):
    client.force_login(owner)
    response = client.post(_url(store), {"key": str(uuid.uuid4())})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"product", "quantity", "reason"}
    assert not StockMovement.objects.exists()


def _last_message(response) -> str:
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


def test_the_page_hands_out_a_fresh_key_with_the_form(client, store, owner, milk):
    client.force_login(owner)
    first = client.get(_url(store), {"q": "牛奶"})
    second = client.get(_url(store), {"q": "牛奶"})
    assert isinstance(first.context["key"], uuid.UUID)
    assert first.context["key"] != second.context["key"]
    assert f'name="key" value="{first.context["key"]}"' in first.content.decode()


def test_a_double_tap_records_the_loss_once_and_says_when(client, store, owner, milk):
    client.force_login(owner)
    key = str(uuid.uuid4())
    assert _post(client, store, milk.product, quantity=3, key=key).status_code == 302
    # The second tap: on-hand is lower now, and the answer is still "already recorded".
    again = _post(client, store, milk.product, quantity=3, key=key)
    assert again.status_code == 302
    assert again["Location"] == _url(store)
    recorded = LossBatch.objects.get()
    time = timezone.localtime(recorded.recorded_at).strftime("%H:%M")
    assert _last_message(again) == f"这条损耗已在 {time} 登记过，没有重复登记。"
    assert (recorded.store_id, recorded.loss_count, recorded.recorded_by_id) == (
        store.pk,
        1,
        owner.pk,
    )
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [-3]
    milk.refresh_from_db()
    assert milk.on_hand == 5


@pytest.mark.parametrize("refused", [{"quantity": 0}, {"reason": ""}, {"quantity": 9}])
def test_a_refused_post_leaves_its_key_free_for_the_corrected_form(
    client, store, owner, milk, refused
):
    client.force_login(owner)
    key = str(uuid.uuid4())
    response = _post(client, store, milk.product, key=key, **refused)
    assert response.status_code == 400
    assert str(response.context["key"]) == key  # the corrected form keeps its key
    assert not LossBatch.objects.exists()
    assert _post(client, store, milk.product, quantity=2, key=key).status_code == 302
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [-2]
    assert LossBatch.objects.get().key == uuid.UUID(key)


@pytest.mark.parametrize("key", ["", "not-a-key", None])
def test_a_form_without_its_key_records_nothing_and_comes_back_as_typed(
    client, store, owner, milk, key
):
    """A client that drops the hidden key would record once per tap: the post is refused with
    what was typed and a fresh key, and the next submit (with it) records once."""
    client.force_login(owner)
    fields = {"quantity": 3, "note": "破包装"}
    if key is None:
        body = {"product": milk.product.pk, "reason": "expired", "q": "牛奶", **fields}
        response = client.post(_url(store), body)
    else:
        response = _post(client, store, milk.product, key=key, **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert "没有保存" in html
    assert "破包装" in html
    fresh = response.context["key"]
    assert isinstance(fresh, uuid.UUID)
    assert f'name="key" value="{fresh}"' in html
    assert not StockMovement.objects.exists()
    assert not LossBatch.objects.exists()
    milk.refresh_from_db()
    assert milk.on_hand == 8
    assert _post(client, store, milk.product, key=str(fresh), **fields).status_code == 302
    assert _post(client, store, milk.product, key=str(fresh), **fields).status_code == 302
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [-3]


# A loss note as staff type it: it names the member who brought the goods back.
TYPED_NOTE = "王阿姨 13912345678 退回的，已坏"


def test_loss_notes_are_the_owners_a_clerk_sees_the_mask_as_on_the_stock_page(
    client, store, owner, inspector
):
    """The loss notes follow the stock ledger page's rule (docs/access.md): the owner
    (MEMBER_DATA) reads them; a clerk still sees every loss (time, product, quantity, reason,
    who) with the note masked; an inspector does not reach the page at all."""
    level = StockLevelFactory(store=store, on_hand=20)
    stock_move(
        store=store,
        product=level.product,
        kind="loss",
        quantity=-2,
        reason="spoiled",
        note=TYPED_NOTE,
        by=owner,
    )
    stock_move(store=store, product=level.product, kind="loss", quantity=-1, reason="expired")
    client.force_login(owner)
    assert TYPED_NOTE in client.get(_url(store)).content.decode()

    client.force_login(clerk_of(store))
    response = client.get(_url(store), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    text = response.content.decode()
    assert "13912345678" not in text
    assert "王阿姨" not in text
    assert text.count("仅有会员权限的员工可见") == 1  # the note-less loss shows no mask
    assert [movement.quantity for movement in response.context["losses"]] == [-1, -2]

    client.force_login(inspector)
    response = client.get(_url(store))
    assert _refused(response)
    assert "13912345678" not in response.content.decode()
