"""The store page: its queries, and its figures kept briefly in the "portal" cache
(apps/stores/page_cache.py) without ever showing one viewer's figures to another or
outliving a new order or stock movement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from apps.stores.models import Order, StockMovement
from apps.stores.page_cache import STORE_FIGURES_TTL, store_figures_forget, store_figures_key
from apps.stores.services.orders import LineInput, order_create
from apps.stores.services.stock import stock_move
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory
from tests.procurement.factories_aftersales import AfterSalesCaseFactory

pytestmark = pytest.mark.django_db


def _url(store: object) -> str:
    return reverse("portal:store", args=[store.pk])


def _order(store: object, key: str, member: object = None, total: str = "25.00") -> Order:
    return Order.objects.create(
        store=store,
        member=member,
        channel=Order.Channel.GROUP_BUY,
        status=Order.Status.PAID,
        idempotency_key=key,
        total=Decimal(total),
    )


def test_store_page_takes_four_queries_with_its_figures_cached_and_eight_without(
    client, owner, store, django_assert_num_queries
):
    _order(store, "q-1", member=MemberFactory())
    client.force_login(owner)
    # Session, user, access (staff rows with store and region), the live replay's cursor;
    # then KPIs and their refunds, orders, low stock.
    with django_assert_num_queries(8):
        first = client.get(_url(store))
    # The figures come from the cache: session, user, access, cursor only.
    with django_assert_num_queries(4):
        second = client.get(_url(store))
    assert first.status_code == second.status_code == 200
    # Today's figure (live from the orders) and the order's row.
    assert first.content.count(b"\xc2\xa525.00") == second.content.count(b"\xc2\xa525.00") == 2


def test_last_7_days_take_refunds_off_as_gmv_does(client, owner, store):
    """An order of ¥40.00 refunded ¥15.00 (an approved refund case) and one of ¥25.00 with a
    case still open: today's figure is ¥50.00, what GMV and the daily KPI rows count, not
    ¥65.00; the orders' list still shows each order's total."""
    refunded = _order(store, "r-1", total="40.00")
    _order(store, "r-2", total="25.00")
    AfterSalesCaseFactory(
        store=store,
        order=refunded,
        amount=Decimal("15.00"),
        remedy="refund",
        charged_to="supplier",
        status="approved",
        decided_at=timezone.now(),
    )
    AfterSalesCaseFactory(store=store, order=refunded, amount=Decimal("7.00"), remedy="refund")
    client.force_login(owner)
    page = client.get(_url(store)).content.decode()
    days = page.split('<div class="kpis">')[1].split('<div class="card">')[0]
    today = days.split('<div class="kpi">')[1]
    assert "¥50.00" in today
    assert "¥65.00" not in days
    assert "¥40.00" in page.split('<div class="kpis">')[1].split('<div class="card">')[1]


def test_a_new_order_shows_on_the_next_load_although_the_figures_were_cached(
    client, owner, store, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=50)
    client.force_login(owner)
    assert "¥37.50" not in client.get(_url(store)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        order_create(
            store=store,
            channel=Order.Channel.POS,
            idempotency_key="new-1",
            lines=[LineInput(product=product, quantity=3, unit_price=Decimal("12.50"))],
        )
    assert "¥37.50" in client.get(_url(store)).content.decode()


def test_a_stock_movement_shows_in_low_stock_on_the_next_load(
    client, owner, store, django_capture_on_commit_callbacks
):
    product = ProductFactory(name="西瓜")
    StockLevelFactory(store=store, product=product, on_hand=20)
    client.force_login(owner)
    assert "西瓜" not in client.get(_url(store)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        stock_move(store=store, product=product, kind=StockMovement.Kind.LOSS, quantity=-18)
    html = client.get(_url(store)).content.decode()
    assert "西瓜" in html
    assert "<b>2</b>" in html


def test_the_figures_are_dropped_only_when_the_transaction_commits(
    owner, store, django_capture_on_commit_callbacks
):
    cache = caches["portal"]
    key = store_figures_key(store_id=store.pk, language="en", with_members=True, with_stock=True)
    cache.set(key, "<p>old</p>", STORE_FIGURES_TTL)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        store_figures_forget(store_id=store.pk)
    assert cache.get(key) == "<p>old</p>"
    assert len(callbacks) == 1
    callbacks[0]()
    assert cache.get(key) is None


def test_a_clerk_never_gets_the_owners_cached_member_names(client, owner, clerk, store):
    _order(store, "m-1", member=MemberFactory(name="李阿姨", phone="+8613912345678"))
    client.force_login(owner)
    assert "李阿姨" in client.get(_url(store)).content.decode()
    client.force_login(clerk)
    html = client.get(_url(store)).content.decode()
    assert "李阿姨" not in html
    assert "139****5678" not in html


def test_a_member_known_only_by_card_shows_by_member_number_in_recent_orders(client, owner, store):
    # Members imported by card or WeChat id have no name and no phone: the cell was empty.
    _order(store, "c-1", member=MemberFactory(name="", phone="", member_no="M00000000042"))
    client.force_login(owner)
    assert "M00000000042" in client.get(_url(store)).content.decode()


def test_another_owner_is_refused_the_page_while_its_figures_are_cached(
    client, owner, other_owner, store
):
    client.force_login(owner)
    assert client.get(_url(store)).status_code == 200
    client.force_login(other_owner)
    response = client.get(_url(store))
    assert response.status_code == 403
    assert b"\xc2\xa5" not in response.content


def test_english_and_chinese_figures_are_kept_apart(client, owner, store):
    client.force_login(owner)
    assert "最近订单" in client.get(_url(store)).content.decode()
    english = client.get(_url(store), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Recent orders" in english
    assert "最近订单" not in english


def test_the_page_renders_from_the_database_when_the_cache_fails(
    client, owner, store, monkeypatch, caplog
):
    def unreachable(*args: object, **kwargs: object) -> None:
        raise ConnectionError("redis down")

    cache = caches["portal"]
    for method in ("get", "set", "delete_many"):
        monkeypatch.setattr(cache, method, unreachable)
    _order(store, "down-1", total="41.00")
    client.force_login(owner)
    response = client.get(_url(store))
    assert response.status_code == 200
    assert "¥41.00" in response.content.decode()
    store_figures_forget(store_id=store.pk)  # outside a transaction: at once, and no raise
    assert "store figures cache unreachable" in caplog.text


def test_the_last_seven_days_are_counted_live_so_a_later_cancellation_drops_out(
    client, owner, store
):
    """The nightly snapshot of yesterday counted three orders; one (an undelivered pre-order)
    was cancelled since: the page counts the orders as they are now, and another store's or an
    eighth day's orders are not counted."""
    from apps.stores.models import StoreKpiSnapshot
    from tests.factories import StoreFactory

    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    at = dt.datetime.combine(yesterday, dt.time(10), tzinfo=timezone.get_current_timezone())
    orders = [_order(store, f"y-{n}", total="10.00") for n in range(3)]
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(placed_at=at)
    Order.objects.filter(pk=orders[0].pk).update(status=Order.Status.CANCELLED)
    eighth_day = _order(store, "old", total="99.00")
    Order.objects.filter(pk=eighth_day.pk).update(placed_at=at - dt.timedelta(days=6))
    other = _order(StoreFactory(), "other", total="77.00")
    Order.objects.filter(pk=other.pk).update(placed_at=at)
    StoreKpiSnapshot.objects.create(
        store=store, day=yesterday, order_count=3, revenue=Decimal("30.00")
    )
    client.force_login(owner)

    html = client.get(_url(store), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    kpis = html[html.index('class="kpis"') : html.index("Recent orders")]
    assert kpis.count('class="kpi"') == 7
    day = kpis[kpis.index(yesterday.strftime("%m-%d")) :]
    assert day.index("¥20.00") < day.index("2 orders") < day.index('class="kpi"')
    assert "¥30.00" not in kpis
    assert "¥99.00" not in kpis
    assert "¥77.00" not in kpis
