"""The store's stock pages (portal:store_stock, portal:store_stock_product): on-hand, the
low-stock flag, units on order, the last movement, search and filters, and one product's
ledger newest first; bounded queries; refusals (docs/stock.md)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.services.group_buys import (
    group_buy_join,
    group_buy_offers_settle,
    offer_create,
)
from apps.campaigns.sources import settle_sources
from apps.procurement.models import PurchaseOrder
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.purchase_orders import purchase_order_confirm, purchase_order_ship
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import StoreStaff
from apps.stores.services.stock import stock_move
from tests.campaigns.factories import BroadcastFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
    UserFactory,
)
from tests.procurement.factories_supply import purchase_order_move, supply_world

pytestmark = pytest.mark.django_db


def _list(client, store, **params):
    return client.get(reverse("portal:store_stock", args=[store.pk]), params)


def _detail(client, store, product, **params):
    return client.get(reverse("portal:store_stock_product", args=[store.pk, product.pk]), params)


def _rows(response) -> dict[str, object]:
    return {product.sku: product for product in response.context["rows"]}


def test_the_list_shows_on_hand_low_stock_on_order_and_the_last_movement(client):
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    store = world.store_a
    blueberries, grapes = world.products
    # A product on the shelf, not ordered: 12 on hand, then 3 lost.
    rice = ProductFactory(name="东北大米 5kg", sku="RICE-5")
    stock_move(store=store, product=rice, kind="receipt", quantity=12)
    stock_move(store=store, product=rice, kind="loss", quantity=-3, reason="damaged")
    # Blueberries: 4 on hand (under 5: low) and on order.
    stock_move(store=store, product=blueberries, kind="receipt", quantity=4)
    # Another store's stock and orders do not count here.
    stock_move(store=world.store_b, product=rice, kind="receipt", quantity=99)
    owner = UserFactory()
    StoreStaff.objects.create(user=owner, store=store, role=StoreStaff.Role.OWNER)
    client.force_login(owner)

    response = _list(client, store)

    assert response.status_code == 200
    rows = _rows(response)
    # Grapes have no stock level here yet: listed because they are on order.
    assert set(rows) == {rice.sku, blueberries.sku, grapes.sku}
    expected_for_orders = {
        product.sku: world.allocation(store, product).quantity for product in world.products
    }
    assert expected_for_orders == {blueberries.sku: 6, grapes.sku: 4}
    summary = {
        sku: (
            row.on_hand,
            row.is_low,
            row.on_order,
            row.for_orders,
            row.last_kind,
            row.last_quantity,
        )
        for sku, row in rows.items()
    }
    # The member orders took no stock (pre-orders): their units come for them, not for the
    # shelf, so nothing is on order for the shelf (no rounding surplus here).
    assert summary == {
        rice.sku: (9, False, 0, 0, "loss", -3),
        blueberries.sku: (4, True, 0, 6, "receipt", 4),
        grapes.sku: (0, False, 0, 4, None, None),
    }
    text = response.content.decode()
    assert reverse("portal:store_stock_product", args=[store.pk, rice.pk]) in text


def test_search_and_the_filters_narrow_the_list(client, store, owner):
    rice = ProductFactory(name="东北大米 5kg", sku="RICE-5", barcode="6900000000011")
    milk = ProductFactory(name="鲜牛奶 950ml", sku="MILK-950")
    eggs = ProductFactory(name="土鸡蛋 10枚", sku="EGG-10")
    StockLevelFactory(store=store, product=rice, on_hand=20)
    StockLevelFactory(store=store, product=milk, on_hand=2)
    StockLevelFactory(store=store, product=eggs, on_hand=0)
    client.force_login(owner)

    assert set(_rows(_list(client, store, q="牛奶"))) == {milk.sku}
    assert set(_rows(_list(client, store, q="rice"))) == {rice.sku}
    assert set(_rows(_list(client, store, q="6900000000011"))) == {rice.sku}
    assert set(_rows(_list(client, store, low="1"))) == {milk.sku, eggs.sku}
    assert set(_rows(_list(client, store, low="1", q="EGG"))) == {eggs.sku}
    # Nothing is on order at this store.
    assert _rows(_list(client, store, on_order="1")) == {}
    assert set(_rows(_list(client, store))) == {rice.sku, milk.sku, eggs.sku}


def test_the_on_order_filter_keeps_what_open_purchase_orders_bring(client):
    world = supply_world(status=PurchaseOrder.Status.SHIPPED, quantities_a=((2, 0),))
    store = world.store_a
    blueberries, grapes = world.products
    stock_move(store=store, product=grapes, kind="receipt", quantity=30)
    owner = UserFactory()
    StoreStaff.objects.create(user=owner, store=store, role=StoreStaff.Role.OWNER)
    client.force_login(owner)

    rows = _rows(_list(client, store, on_order="1"))
    # Coming for a member order (a pre-order), none for the shelf: still listed.
    assert {sku: (row.on_order, row.for_orders) for sku, row in rows.items()} == {
        blueberries.sku: (0, 2)
    }
    # Delivered in the past: no longer on order (the decision engine's rule).
    purchase_order_move(
        world.purchase_order,
        status=PurchaseOrder.Status.SHIPPED,
        delivery_date=timezone.localdate() - dt.timedelta(days=1),
    )
    assert _rows(_list(client, store, on_order="1")) == {}


def test_the_list_pages_and_its_queries_do_not_grow_with_rows(client, store, owner):
    client.force_login(owner)

    def stock(count: int, start: int) -> None:
        for index in range(start, start + count):
            product = ProductFactory(name=f"商品 {index:03d}", sku=f"P-{index:03d}")
            stock_move(store=store, product=product, kind="receipt", quantity=3 + index % 4)
            stock_move(store=store, product=product, kind="sale", quantity=-1)

    stock(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert _list(client, store).status_code == 200
    stock(40, 2)
    with CaptureQueriesContext(connection) as many:
        response = _list(client, store)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(response.context["rows"]) == 30
    second = _list(client, store, page="2")
    assert [row.sku for row in second.context["rows"]] == [f"P-{i:03d}" for i in range(30, 42)]


def _pre_order_received(store, owner, *, pack_size: int = 1, min_order_qty: int = 1):
    """A pre-order of blueberries joined 3 + 2 boxes; the orchard's 5 arrive; as each order
    becomes ready its boxes leave the shelf (receipt +5, then sale −3, sale −2)."""
    product = ProductFactory(name="云南蓝莓", sku="BLUE-125")
    SupplierProductFactory(product=product, pack_size=pack_size, min_order_qty=min_order_qty)
    offer = offer_create(
        broadcast=BroadcastFactory(store_campaign__store=store),
        product=product,
        price=Decimal("29.90"),
        threshold=2,
        cap=40,
        deadline=timezone.now() + dt.timedelta(hours=3),
        presale=True,
        by=None,
    )
    first = group_buy_join(offer=offer, quantity=3, idempotency_key="a", member=MemberFactory())
    second = group_buy_join(offer=offer, quantity=2, idempotency_key="b", member=MemberFactory())
    group_buy_offers_settle(sources=settle_sources(), now=offer.deadline + dt.timedelta(seconds=1))
    purchase_orders_consolidate(
        cutoff=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )
    purchase_order = PurchaseOrder.objects.get()
    purchase_order = purchase_order_confirm(
        po=purchase_order, ship_date=timezone.localdate(), by=None
    )
    purchase_order = purchase_order_ship(po=purchase_order, by=None)
    return product, purchase_order, [first.join.order, second.join.order]


def test_the_history_shows_the_pre_orders_receipt_then_its_sales_newest_first(client, store, owner):
    product, purchase_order, orders = _pre_order_received(store, owner)
    client.force_login(owner)
    before = _detail(client, store, product)
    assert before.status_code == 200
    # The 5 coming are the members' (the pre-orders took no stock): none for the shelf.
    before_figures = (
        before.context["level"].on_hand,
        before.context["on_order"],
        before.context["for_orders"],
    )
    assert before_figures == (0, 0, 5)
    assert before.context["movements"] == []

    allocation = purchase_order.lines.get().allocations.get()
    receipt_record(
        purchase_order=purchase_order, store=store, lines={allocation.pk: (5, 0, 0)}, by=owner
    )
    response = _detail(client, store, product)

    history = [
        (movement.kind, movement.quantity, movement.order_id)
        for movement in response.context["movements"]
    ]
    assert history == [
        ("sale", -2, orders[1].pk),
        ("sale", -3, orders[0].pk),
        ("receipt", 5, None),
    ]
    figures = (
        response.context["level"].on_hand,
        response.context["on_order"],
        response.context["for_orders"],
    )
    assert figures == (0, 0, 0)
    text = response.content.decode()
    assert purchase_order.number in text  # the receipt's note
    assert "+5" in text
    # The owner opens after-sales cases: the sold orders link to their case page.
    case_new = reverse("supply:case_new", args=[store.pk])
    assert f"{case_new}?order={orders[0].pk}" in text


def test_the_pages_show_pre_ordered_units_for_member_orders_apart_from_on_order(
    client, store, owner
):
    """5 pre-ordered boxes, ordered as 12 (minimum 12): the 7 of the rounding surplus come
    for the shelf (on order), the 5 for the members (为会员订单), shown apart."""
    product, _purchase_order, _orders = _pre_order_received(
        store, owner, pack_size=6, min_order_qty=12
    )
    client.force_login(owner)
    with translation.override("zh-hans"):
        listing = _list(client, store, HTTP_ACCEPT_LANGUAGE="zh-hans")
        detail = _detail(client, store, product, HTTP_ACCEPT_LANGUAGE="zh-hans")
    row = _rows(listing)[product.sku]
    assert (row.on_order, row.for_orders) == (7, 5)
    text = listing.content.decode()
    assert "为会员订单" in text
    cells = re.search(rf'data-product="{product.pk}">(.*?)</tr>', text, re.S).group(1)
    assert re.search(r'stock-on-order">7\b', cells)
    assert re.search(r'for-orders">5\b', cells)
    assert (detail.context["on_order"], detail.context["for_orders"]) == (7, 5)
    page = detail.content.decode()
    assert "为会员订单" in page
    assert re.search(r'id="for-orders">5\b', page)


def test_the_history_pages_newest_first_with_kind_words_and_bounded_queries(client, store, owner):
    product = ProductFactory(name="鲜牛奶 950ml")
    client.force_login(owner)
    start = timezone.now() - dt.timedelta(days=60)

    def moves(count: int, offset: int) -> None:
        for index in range(offset, offset + count):
            stock_move(
                store=store,
                product=product,
                kind="receipt",
                quantity=index + 1,
                note=f"n{index}",
                by=owner,
                at=start + dt.timedelta(hours=index),
            )

    moves(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert _detail(client, store, product).status_code == 200
    moves(40, 2)
    with CaptureQueriesContext(connection) as many:
        response = _detail(client, store, product, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert len(many.captured_queries) == len(few.captured_queries)
    notes = [movement.note for movement in response.context["movements"]]
    assert notes == [f"n{index}" for index in range(41, 11, -1)]
    assert "入库" in response.content.decode() or "收货" in response.content.decode()
    older = _detail(client, store, product, page="2")
    assert [movement.note for movement in older.context["movements"]] == [
        f"n{index}" for index in range(11, -1, -1)
    ]


def test_a_clerk_sees_the_history_without_order_links(client, store):
    product, purchase_order, orders = _pre_order_received(store, None)
    allocation = purchase_order.lines.get().allocations.get()
    receipt_record(
        purchase_order=purchase_order, store=store, lines={allocation.pk: (5, 0, 0)}, by=None
    )
    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    client.force_login(clerk)
    response = _detail(client, store, product)
    assert response.status_code == 200
    text = response.content.decode()
    assert f"#{orders[0].pk}" in text
    assert reverse("supply:case_new", args=[store.pk]) not in text


def _refused(response) -> bool:
    return response.status_code in (403, 404)


def test_another_stores_owner_a_supplier_and_anonymous_users_are_refused(
    client, store, other_owner, supplier_user
):
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=3)
    for user in (other_owner, supplier_user):
        client.force_login(user)
        assert _refused(_list(client, store))
        assert _refused(_detail(client, store, product))
    client.logout()
    for response in (_list(client, store), _detail(client, store, product)):
        assert response.status_code == 302
        assert reverse("portal:login") in response["Location"]


def test_hq_reads_the_page_with_the_stock_permission_only(client, store):
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=3)
    hq = UserFactory(is_staff=True)
    client.force_login(hq)
    assert _refused(_list(client, store))
    hq.user_permissions.add(Permission.objects.get(codename="view_stocklevel"))
    assert _list(client, store).status_code == 200
    assert _detail(client, store, product).status_code == 200


def test_an_unknown_product_is_a_404(client, store, owner):
    client.force_login(owner)
    response = client.get(reverse("portal:store_stock_product", args=[store.pk, 987654321]))
    assert response.status_code == 404


def test_the_store_page_and_home_link_to_the_stock_page(client, store, owner, other_store):
    client.force_login(owner)
    url = reverse("portal:store_stock", args=[store.pk])
    assert url in client.get(reverse("portal:store", args=[store.pk])).content.decode()
    StoreStaff.objects.create(user=owner, store=other_store, role=StoreStaff.Role.OWNER)
    assert url in client.get(reverse("portal:home")).content.decode()


# A note as an owner types it on a loss or a cancelled order: it names the member.
TYPED_NOTE = "退给王阿姨 13912345678，她改主意了"


def test_movement_notes_are_the_owners_an_inspector_clerk_and_hq_without_members_see_a_mask(
    client, store, owner, inspector
):
    """Notes are free text that may name a member (docs/access.md): the owner (MEMBER_DATA)
    reads them; an inspector, a clerk and HQ without customers.view_member still read the
    ledger (kind, quantity, order, who) with the note masked."""
    product = ProductFactory(name="鲜牛奶 950ml")
    stock_move(store=store, product=product, kind="receipt", quantity=5, by=owner)
    stock_move(store=store, product=product, kind="adjustment", quantity=-1, note=TYPED_NOTE)
    client.force_login(owner)
    assert TYPED_NOTE in _detail(client, store, product).content.decode()

    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    hq = UserFactory(is_staff=True)
    hq.user_permissions.add(Permission.objects.get(codename="view_stocklevel"))
    for user in (inspector, clerk, hq):
        client.force_login(user)
        response = _detail(client, store, product, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200
        text = response.content.decode()
        assert TYPED_NOTE not in text
        assert "13912345678" not in text
        assert "王阿姨" not in text
        assert "仅有会员权限的员工可见" in text  # the admin's mask for member text
        assert [movement.quantity for movement in response.context["movements"]] == [-1, 5]

    # HQ with member data reads the note, as in the admin.
    hq.user_permissions.add(Permission.objects.get(codename="view_member"))
    hq = type(hq).objects.get(pk=hq.pk)  # permissions are cached on the user
    client.force_login(hq)
    assert TYPED_NOTE in _detail(client, store, product).content.decode()
