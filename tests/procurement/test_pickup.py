"""The pickup counter: orders marked ready (members told once), pickup codes verified one by
one or in a batch, the same-city delivery status, cancelling before pickup, and the portal
pages with their refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from apps.campaigns.notifications.models import Notification
from apps.customers.models import MemberIdentity
from apps.procurement.models import PurchaseOrderSource
from apps.procurement.selectors.pickup import member_display, pickup_board
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import (
    PickupRefused,
    PickupResult,
    delivery_status_set,
    fulfilments_ready,
    guest_order_hand_over,
    order_cancel_before_pickup,
    pickup_codes_parse,
    pickup_verify,
)
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement
from apps.stores.services import fulfilment as fulfilment_services
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.stock import stock_move
from tests.campaigns.factories import GroupBuyJoinFactory, GroupBuyOfferFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
)
from tests.procurement.factories import supply_order
from tests.procurement.factories_supply import supply_world

pytestmark = pytest.mark.django_db

Status = OrderFulfilment.Status


def _codes(values: list[str]):
    iterator = iter(values)
    return lambda: next(iterator)


def _open(store, *, code: str, member=None, fulfilment: str = "pickup", product=None, qty=2):
    """A paid member order of `store` with an open fulfilment holding `code`. A delivery order
    is a mini-program order: it took no stock when placed and takes its goods from the shelf
    when it becomes ready (以销定产), so its units are put on the shelf here, as receiving its
    purchase order would."""
    product = product or ProductFactory()
    order = supply_order(
        store=store,
        lines=[(product, qty)],
        channel=Order.Channel.MINI_PROGRAM if fulfilment == "delivery" else "group_buy",
        fulfilment=fulfilment,
    )
    if fulfilment == "delivery":
        stock_move(store=store, product=product, kind=StockMovement.Kind.RECEIPT, quantity=qty)
    if member is not None:
        Order.objects.filter(pk=order.pk).update(member=member)
    OrderFulfilment.objects.create(order=order, store=store, pickup_code=code)
    order.refresh_from_db()
    return order


def _ready(store, **kwargs) -> Order:
    order = _open(store, **kwargs)
    assert fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None) == 1
    order.refresh_from_db()
    return order


def _status(order: Order) -> tuple[str, str]:
    order.refresh_from_db()
    return order.status, OrderFulfilment.objects.get(pk=order.pk).status


# --- marking ready ---------------------------------------------------------------------------


def test_ready_moves_waiting_to_ready_and_notifies_the_member_once(store):
    member = MemberFactory()
    order = _open(store, code="314159", member=member)
    assert fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None) == 1
    assert _status(order) == ("ready", "ready")
    fulfilment = OrderFulfilment.objects.get(pk=order.pk)
    assert fulfilment.ready_at is not None
    assert fulfilment.ready_notified_at == fulfilment.ready_at
    note = Notification.objects.get()
    assert (note.dedupe_key, note.kind, note.member_id, note.store_id, note.channel) == (
        f"order-ready:{order.pk}",
        "order_ready",
        member.pk,
        store.pk,
        Notification.Channel.SMS,
    )
    assert "314159" in note.body
    assert store.name in note.body
    assert note.payload == {"order_id": order.pk}
    # Again: nothing changes, nobody is told twice.
    assert fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None) == 0
    assert Notification.objects.count() == 1


def test_ready_for_a_delivery_order_says_it_is_prepared_for_delivery_on_wechat(store):
    member = MemberFactory()
    MemberIdentity.objects.create(member=member, kind=MemberIdentity.Kind.WECHAT, value="oWx1")
    order = _open(store, code="271828", member=member, fulfilment="delivery")
    assert fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None) == 1
    note = Notification.objects.get()
    assert note.channel == Notification.Channel.WECHAT
    with translation.override(settings.LANGUAGE_CODE):
        assert note.title == gettext("Your order is being prepared for delivery")
    assert "271828" in note.body


def test_ready_ignores_another_stores_orders_and_guests_get_no_notification(store, other_store):
    mine = _open(store, code="100001")
    theirs = _open(other_store, code="100002", member=MemberFactory())
    assert fulfilments_ready(store_id=store.pk, order_ids=[mine.pk, theirs.pk], by=None) == 1
    assert _status(mine) == ("ready", "ready")
    assert OrderFulfilment.objects.get(pk=mine.pk).ready_notified_at is None
    assert _status(theirs) == ("paid", "waiting")
    assert Notification.objects.count() == 0


def test_ready_opens_a_missing_fulfilment_first(store, monkeypatch):
    order = supply_order(store=store, lines=[(ProductFactory(), 1)])
    monkeypatch.setattr(fulfilment_services, "pickup_code_new", lambda: "424242")
    assert fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None) == 1
    fulfilment = OrderFulfilment.objects.get(pk=order.pk)
    assert (fulfilment.pickup_code, fulfilment.status) == ("424242", "ready")


# --- verifying codes ---------------------------------------------------------------------------


def test_a_ready_code_is_handed_over_once(store, owner):
    member = MemberFactory()
    order = _ready(store, code="123456", member=member)
    results = pickup_verify(store=store, codes=["123456"], by=owner)
    assert results == [
        PickupResult(code="123456", outcome="collected", order_id=order.pk, member_id=member.pk)
    ]
    assert _status(order) == ("completed", "collected")
    fulfilment = OrderFulfilment.objects.get(pk=order.pk)
    assert fulfilment.completed_by == owner
    assert fulfilment.completed_at is not None
    # The used code: already collected, nothing else changes.
    again = pickup_verify(store=store, codes=["123456"], by=owner)
    assert again == [PickupResult(code="123456", outcome="already_collected")]
    assert OrderFulfilment.objects.get(pk=order.pk).completed_at == fulfilment.completed_at


def test_a_wrong_code_changes_nothing(store, owner):
    order = _ready(store, code="123456")
    assert pickup_verify(store=store, codes=["654321"], by=owner) == [
        PickupResult(code="654321", outcome="wrong_code")
    ]
    assert pickup_verify(store=store, codes=["12ab56"], by=owner) == [
        PickupResult(code="12ab56", outcome="wrong_code")
    ]
    assert _status(order) == ("ready", "ready")


def test_another_stores_code_reads_as_a_wrong_code_and_changes_nothing(store, other_store, owner):
    theirs = _ready(other_store, code="777777")
    [result] = pickup_verify(store=store, codes=["777777"], by=owner)
    assert (result.outcome, result.shown_outcome, result.order_id) == (
        "other_store",
        "wrong_code",
        None,
    )
    assert _status(theirs) == ("ready", "ready")


def test_an_order_still_waiting_for_goods_is_not_ready(store, owner):
    order = _open(store, code="222222")
    assert pickup_verify(store=store, codes=["222222"], by=owner) == [
        PickupResult(code="222222", outcome="not_ready")
    ]
    assert _status(order) == ("paid", "waiting")


def test_a_cancelled_orders_code_says_cancelled(store, owner):
    order = _open(store, code="333333")
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert pickup_verify(store=store, codes=["333333"], by=owner) == [
        PickupResult(code="333333", outcome="cancelled")
    ]


def test_a_reused_code_hands_over_the_open_order_not_the_old_one(store, owner):
    old = _ready(store, code="888888")
    pickup_verify(store=store, codes=["888888"], by=owner)
    new = _ready(store, code="888888")
    [result] = pickup_verify(store=store, codes=["888888"], by=owner)
    assert (result.outcome, result.order_id) == ("collected", new.pk)
    assert _status(old) == ("completed", "collected")


def test_a_batch_verifies_each_code_once_in_order(store, other_store, owner):
    first = _ready(store, code="111111")
    second = _ready(store, code="222222")
    _open(store, code="333333")
    _ready(other_store, code="444444")
    codes = pickup_codes_parse(text="111111\n222222, 111111；333333  444444\n\n555555")
    assert codes == ["111111", "222222", "333333", "444444", "555555"]
    results = pickup_verify(store=store, codes=codes, by=owner)
    assert [(r.code, r.shown_outcome, r.order_id) for r in results] == [
        ("111111", "collected", first.pk),
        ("222222", "collected", second.pk),
        ("333333", "not_ready", None),
        ("444444", "wrong_code", None),
        ("555555", "wrong_code", None),
    ]
    assert Order.objects.filter(status="completed").count() == 2


def test_parse_keeps_at_most_the_batch_limit():
    text = " ".join(f"{n:06d}" for n in range(250))
    assert len(pickup_codes_parse(text=text)) == 200
    assert pickup_codes_parse(text="  \n ") == []


# --- delivery status ---------------------------------------------------------------------------


def test_delivery_goes_out_then_delivered_and_the_member_is_told_each_once(store, owner):
    member = MemberFactory()
    order = _ready(store, code="909090", member=member, fulfilment="delivery")
    out = delivery_status_set(
        store=store, order_id=order.pk, status="out_for_delivery", by=owner, note="骑手小王"
    )
    assert (out.status, out.delivery_note) == ("out_for_delivery", "骑手小王")
    failed = delivery_status_set(store=store, order_id=order.pk, status="failed", by=owner)
    assert failed.status == "failed"
    delivery_status_set(store=store, order_id=order.pk, status="out_for_delivery", by=owner)
    done = delivery_status_set(store=store, order_id=order.pk, status="delivered", by=owner)
    assert (done.status, done.completed_by) == ("delivered", owner)
    assert done.completed_at is not None
    assert _status(order) == ("completed", "delivered")
    assert sorted(
        Notification.objects.filter(member=member).values_list("dedupe_key", flat=True)
    ) == sorted(
        [
            f"order-ready:{order.pk}",
            f"order-delivery:{order.pk}:out_for_delivery",
            f"order-delivery:{order.pk}:delivered",
        ]
    )


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("waiting", "out_for_delivery"),
        ("ready", "delivered"),
        ("ready", "failed"),
        ("out_for_delivery", "ready"),
        ("delivered", "out_for_delivery"),
        ("ready", "bogus"),
    ],
)
def test_delivery_moves_not_allowed_are_refused_and_change_nothing(store, owner, start, target):
    order = _open(store, code="505050", fulfilment="delivery", member=MemberFactory())
    changes = {"status": start}
    if start == "delivered":
        changes["completed_at"] = timezone.now()
    OrderFulfilment.objects.filter(pk=order.pk).update(**changes)
    with pytest.raises(PickupRefused) as refusal:
        delivery_status_set(store=store, order_id=order.pk, status=target, by=owner)
    assert refusal.value.code == "transition"
    assert OrderFulfilment.objects.get(pk=order.pk).status == start
    assert Notification.objects.count() == 0


def test_delivery_status_is_refused_for_pickup_orders_and_other_stores(store, other_store, owner):
    pickup = _ready(store, code="606060")
    with pytest.raises(PickupRefused) as refusal:
        delivery_status_set(store=store, order_id=pickup.pk, status="out_for_delivery", by=owner)
    assert refusal.value.code == "not_delivery"
    theirs = _ready(other_store, code="707070", fulfilment="delivery")
    with pytest.raises(PickupRefused) as refusal:
        delivery_status_set(store=store, order_id=theirs.pk, status="out_for_delivery", by=owner)
    assert refusal.value.code == "not_found"
    assert _status(pickup) == ("ready", "ready")
    assert _status(theirs) == ("ready", "ready")


# --- cancelling before pickup --------------------------------------------------------------------


def _consolidated(store, *, code: str, ready: bool, member=None) -> Order:
    """A paid order of 3 units that took them from stock (as a group-buy join does),
    consolidated onto a purchase order."""
    product = ProductFactory()
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    StockLevelFactory(store=store, product=product, on_hand=3)
    order = _open(store, code=code, product=product, qty=3, member=member)
    stock_move(store=store, product=product, kind="sale", quantity=-3, order=order)
    purchase_orders_consolidate(cutoff=timezone.now().replace(microsecond=0))
    assert PurchaseOrderSource.objects.filter(order_line__order=order).count() == 1
    if ready:
        fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    return order


def test_cancelling_a_ready_order_returns_its_stock_adjusts_supply_and_tells_the_member(
    store, owner
):
    member = MemberFactory()
    order = _consolidated(store, code="121212", ready=True, member=member)
    product = order.lines.get().product
    fulfilment = order_cancel_before_pickup(
        store=store, order_id=order.pk, by=owner, reason="顾客不要了"
    )
    assert fulfilment.status == "cancelled"
    assert _status(order) == ("cancelled", "cancelled")
    movement = StockMovement.objects.get(order=order, kind="return")
    assert (movement.kind, movement.quantity, movement.product_id, movement.created_by) == (
        "return",
        3,
        product.pk,
        owner,
    )
    assert StockLevel.objects.get(store=store, product=product).on_hand == 3
    source = PurchaseOrderSource.objects.get(order_line__order=order)
    assert source.cancelled_at is not None
    assert Notification.objects.filter(
        member=member, dedupe_key=f"order-cancelled:{order.pk}", kind="order_cancelled"
    ).exists()


def test_cancelling_an_order_still_waiting_returns_the_stock_it_took(store, owner):
    order = _consolidated(store, code="131313", ready=False)
    product = order.lines.get().product
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert _status(order) == ("cancelled", "cancelled")
    assert list(
        StockMovement.objects.filter(order=order, kind="return").values_list("quantity", flat=True)
    ) == [3]
    assert StockLevel.objects.get(store=store, product=product).on_hand == 3
    assert PurchaseOrderSource.objects.get(order_line__order=order).cancelled_at is not None


def test_cancelling_frees_the_code_for_another_order(store, owner, monkeypatch):
    order = _open(store, code="141414")
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    later = supply_order(store=store, lines=[(ProductFactory(), 1)])
    monkeypatch.setattr(fulfilment_services, "pickup_code_new", lambda: "141414")
    assert fulfilments_open(order_ids=[later.pk]) == 1


def test_collected_delivered_and_cancelled_orders_cannot_be_cancelled(store, owner):
    collected = _ready(store, code="151515")
    pickup_verify(store=store, codes=["151515"], by=owner)
    delivered = _ready(store, code="161616", fulfilment="delivery")
    delivery_status_set(store=store, order_id=delivered.pk, status="out_for_delivery", by=owner)
    delivery_status_set(store=store, order_id=delivered.pk, status="delivered", by=owner)
    cancelled = _open(store, code="171717")
    order_cancel_before_pickup(store=store, order_id=cancelled.pk, by=owner, reason="")
    before = (StockMovement.objects.count(), Notification.objects.count())
    for order in (collected, delivered, cancelled):
        snapshot = _status(order)
        with pytest.raises(PickupRefused) as refusal:
            order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="x")
        assert refusal.value.code == "not_cancellable"
        assert _status(order) == snapshot
    assert (StockMovement.objects.count(), Notification.objects.count()) == before


def test_another_stores_order_cannot_be_cancelled(store, other_store, owner):
    theirs = _ready(other_store, code="181818")
    with pytest.raises(PickupRefused) as refusal:
        order_cancel_before_pickup(store=store, order_id=theirs.pk, by=owner, reason="")
    assert refusal.value.code == "not_found"
    assert _status(theirs) == ("ready", "ready")


# --- the board -------------------------------------------------------------------------------


def test_board_lists_open_orders_with_counts_in_a_flat_number_of_queries(store, other_store):
    member = MemberFactory(name="王芳", phone="+8613800138000", member_no="M00012345")
    _open(store, code="000001", member=member)
    _ready(store, code="000002")
    _open(other_store, code="000003")
    with CaptureQueriesContext(connection) as few:
        board = pickup_board(store=store, show_member_names=True)
    for n in range(5):
        _ready(store, code=f"1000{n:02d}", member=MemberFactory())
    with CaptureQueriesContext(connection) as many:
        bigger = pickup_board(store=store, show_member_names=False)
    assert len(few.captured_queries) == len(many.captured_queries) == 3
    assert board.counts == {"waiting": 1, "ready": 1, "out_for_delivery": 0, "failed": 0}
    assert bigger.counts["ready"] == 6
    waiting = board.by_status["waiting"][0]
    assert (waiting.code, waiting.member) == ("000001", "王芳 138****8000")
    assert len(waiting.items) == 1
    assert {row.code for row in board.rows} == {"000001", "000002"}
    assert {row.code_hint for row in board.rows} == {"••••01", "••••02"}
    assert "王芳" not in {row.member for row in bigger.rows}


def test_member_display_hides_names_without_member_data():
    member = MemberFactory.build(name="李雷", phone="+8613900001234", member_no="M00009876")
    with translation.override("en"):
        assert member_display(member=member, full=True) == "李雷 139****1234"
        assert member_display(member=member, full=False) == "Member 9876"
        assert member_display(member=None, full=False) == "Guest"


# --- pages -----------------------------------------------------------------------------------


def _page(store) -> str:
    return reverse("supply:pickup", args=[store.pk])


def _action_urls(store, order_id: int) -> list[str]:
    return [
        reverse(name, args=[store.pk, order_id])
        for name in (
            "supply:pickup_ready",
            "supply:delivery_status",
            "supply:pickup_cancel",
            "supply:pickup_guest_hand_over",
        )
    ]


def test_pickup_page_shows_the_code_input_and_open_orders(client, store, clerk):
    member = MemberFactory(name="王芳", member_no="M00012345")
    _ready(store, code="246802", member=member)
    client.force_login(clerk)
    response = client.get(_page(store))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'inputmode="numeric"' in html
    assert "autofocus" in html
    assert 'name="codes"' in html
    assert "supply/pickup.js" in html
    # The list helps find the order but never gives its code away: the member brings it.
    assert "246802" not in html
    assert "••••02" in html
    assert "王芳" not in html  # a clerk has no member data access
    assert "2345" in html


def test_owner_sees_member_names(client, store, owner):
    _ready(store, code="246802", member=MemberFactory(name="王芳"))
    client.force_login(owner)
    assert "王芳" in client.get(_page(store)).content.decode()


def test_verifying_on_the_page_hands_over_and_shows_suggestions(client, store, clerk):
    member = MemberFactory()
    # The member bought milk here before: the served suggestions (not a stand-in) offer it.
    suggested = ProductFactory(name="有机牛奶")
    earlier = supply_order(
        store=store,
        lines=[(suggested, 1)],
        placed_at=timezone.now() - dt.timedelta(days=7),  # the store sold it this year
    )
    Order.objects.filter(pk=earlier.pk).update(member=member)
    order = _ready(store, code="135791", member=member)
    client.force_login(clerk)
    response = client.post(_page(store), {"code": "135791", "codes": "135791\n000000"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "有机牛奶" in html
    assert "pickup-collected" in html
    assert "pickup-wrong_code" in html
    assert _status(order) == ("completed", "collected")


def test_posting_no_code_changes_nothing(client, store, clerk):
    order = _ready(store, code="135791")
    client.force_login(clerk)
    response = client.post(_page(store), {"code": "", "codes": "  "})
    assert response.status_code == 200
    assert _status(order) == ("ready", "ready")


def test_mark_ready_deliver_and_cancel_by_hand(client, store, clerk):
    waiting = _open(store, code="192837", member=MemberFactory())
    delivery = _ready(store, code="283746", fulfilment="delivery")
    client.force_login(clerk)
    ready_url, _delivery_url, cancel_url, _hand_over_url = _action_urls(store, waiting.pk)
    assert client.post(ready_url).status_code == 302
    assert _status(waiting) == ("ready", "ready")
    assert Notification.objects.filter(kind="order_ready").count() == 1
    delivery_url = _action_urls(store, delivery.pk)[1]
    response = client.post(delivery_url, {"status": "out_for_delivery"})
    assert response.status_code == 302
    assert _status(delivery) == ("ready", "out_for_delivery")
    refused = client.post(delivery_url, {"status": "ready"}, follow=True)
    assert refused.status_code == 200
    assert _status(delivery) == ("ready", "out_for_delivery")
    assert client.post(cancel_url, {"reason": "缺货"}).status_code == 302
    assert _status(waiting) == ("cancelled", "cancelled")


def test_another_stores_order_id_is_a_404_on_every_action(client, store, other_store, owner):
    theirs = _ready(other_store, code="564738", fulfilment="delivery")
    client.force_login(owner)
    for url in _action_urls(store, theirs.pk):
        assert client.post(url, {"status": "out_for_delivery"}).status_code == 404
    assert _status(theirs) == ("ready", "ready")


def test_other_owner_supplier_and_anonymous_are_refused_everywhere(
    client, store, other_owner, supplier_user
):
    order = _ready(store, code="918273", fulfilment="delivery")
    urls = [_page(store), *_action_urls(store, order.pk)]
    for user in (other_owner, supplier_user):
        client.force_login(user)
        assert client.get(urls[0]).status_code == 403
        for url in urls:
            assert (
                client.post(url, {"code": "918273", "status": "out_for_delivery"}).status_code
                == 403
            )
        client.logout()
    for url in urls:
        response = client.post(url, {"code": "918273"})
        assert response.status_code == 302
        assert response["Location"].startswith("/portal/login/")
    assert client.get(urls[0]).status_code == 302
    assert _status(order) == ("ready", "ready")


def test_action_routes_accept_only_post(client, store, owner):
    order = _ready(store, code="102938")
    client.force_login(owner)
    for url in _action_urls(store, order.pk):
        assert client.get(url).status_code == 405


def test_an_inspector_may_not_hand_over(client, store, inspector):
    order = _ready(store, code="112233")
    client.force_login(inspector)
    assert client.post(_page(store), {"code": "112233"}).status_code == 403
    assert _status(order) == ("ready", "ready")


def test_hq_does_not_hand_over_in_the_portal(client, store, hq_user):
    order = _ready(store, code="445566")
    client.force_login(hq_user)
    assert client.get(_page(store)).status_code == 403
    assert client.post(_page(store), {"code": "445566"}).status_code == 403
    assert _status(order) == ("ready", "ready")


def test_the_counter_lists_what_arrived_and_says_what_came_short():
    world = supply_world()
    blueberries, grapes = world.products
    store = world.store_a
    # Store A's orders, oldest first: (blueberries, grapes) = (2, 1), (3, 2), (1, 1); two
    # blueberries short: the latest order (1) and then the middle one (1 of 3) bear them.
    receipt_record(
        purchase_order=world.purchase_order,
        store=store,
        lines={
            world.allocation(store, blueberries).pk: (4, 2, 0),
            world.allocation(store, grapes).pk: (4, 0, 0),
        },
        by=None,
    )
    first, second, third = world.orders[store.pk]
    with translation.override("en"):
        board = pickup_board(store=store, show_member_names=False)
    items = {row.order_id: row.items for row in board.rows}
    assert items[first.pk] == ["云南蓝莓 125g ×2", "阳光玫瑰葡萄 ×1"]
    assert items[second.pk] == ["云南蓝莓 125g ×2 (1 short)", "阳光玫瑰葡萄 ×2"]
    assert items[third.pk] == ["云南蓝莓 125g ×0 (1 short)", "阳光玫瑰葡萄 ×1"]


def test_marking_ready_says_who_was_notified(client, store, clerk):
    member_order = _open(store, code="135790", member=MemberFactory())
    walk_in = _open(store, code="135791")
    client.force_login(clerk)
    with translation.override("en"):
        told = client.post(
            reverse("supply:pickup_ready", args=[store.pk, member_order.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        ).content.decode()
        nobody = client.post(
            reverse("supply:pickup_ready", args=[store.pk, walk_in.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        ).content.decode()
    assert "the member is notified" in told
    assert "nobody to notify" in nobody
    assert "the member is notified" not in nobody


# --- guest orders (a 接龙 line that matched no member) -----------------------------------------


def _guest_join(store, *, code: str, name: str = "李阿姨", ready: bool = True) -> Order:
    """A guest group-buy order of `store` from a 接龙 line named `name` (no member)."""
    order = (_ready if ready else _open)(store, code=code)
    offer = GroupBuyOfferFactory(broadcast__store_campaign__store=store)
    GroupBuyJoinFactory(offer=offer, member=None, display_name=name, quantity=2, order=order)
    return order


def test_a_guest_order_is_named_by_its_chat_name(store):
    _guest_join(store, code="246801", name="李阿姨")
    _ready(store, code="246803")  # a guest order with no 接龙 line
    with translation.override("zh-hans"):
        full = pickup_board(store=store, show_member_names=True)
        masked = pickup_board(store=store, show_member_names=False)
    assert sorted(row.member for row in full.rows) == ["接龙：李阿姨", "散客"]
    assert sorted(row.member for row in masked.rows) == ["接龙：李**", "散客"]
    with translation.override("en"):
        shown = member_display(member=None, full=True, chat_name="李阿姨")
    assert shown == "Group-buy chat: 李阿姨"


def test_a_ready_guest_order_is_handed_over_without_a_code_once(store, owner):
    order = _guest_join(store, code="246801")
    result = guest_order_hand_over(store=store, order_id=order.pk, by=owner)
    assert (result.outcome, result.order_id) == ("collected", order.pk)
    assert _status(order) == ("completed", "collected")
    assert OrderFulfilment.objects.get(pk=order.pk).completed_by == owner
    again = guest_order_hand_over(store=store, order_id=order.pk, by=owner)
    assert (again.outcome, again.order_id) == ("already_collected", None)


def test_guest_hand_over_refuses_member_orders_and_waits_for_the_goods(store, other_store, owner):
    member_order = _ready(store, code="135790", member=MemberFactory())
    waiting = _guest_join(store, code="135791", ready=False)
    theirs = _guest_join(other_store, code="135792")
    delivery = _ready(store, code="135793", fulfilment="delivery")
    with pytest.raises(PickupRefused) as refused:
        guest_order_hand_over(store=store, order_id=member_order.pk, by=owner)
    assert refused.value.code == "member_order"
    with pytest.raises(PickupRefused) as refused:
        guest_order_hand_over(store=store, order_id=theirs.pk, by=owner)
    assert refused.value.code == "not_found"
    with pytest.raises(PickupRefused) as refused:
        guest_order_hand_over(store=store, order_id=delivery.pk, by=owner)
    assert refused.value.code == "not_pickup"
    assert guest_order_hand_over(store=store, order_id=waiting.pk, by=owner).outcome == "not_ready"
    assert _status(member_order) == _status(theirs) == _status(delivery) == ("ready", "ready")
    assert _status(waiting) == ("paid", "waiting")


def test_the_counter_offers_guest_hand_over_only_for_ready_guest_orders(client, store, clerk):
    guest = _guest_join(store, code="246801", name="李阿姨")
    waiting_guest = _guest_join(store, code="246802", ready=False)
    member_order = _ready(store, code="246803", member=MemberFactory())
    client.force_login(clerk)
    html = client.get(_page(store)).content.decode()
    hand_over = "supply:pickup_guest_hand_over"
    assert reverse(hand_over, args=[store.pk, guest.pk]) in html
    assert reverse(hand_over, args=[store.pk, waiting_guest.pk]) not in html
    assert reverse(hand_over, args=[store.pk, member_order.pk]) not in html
    assert "李**" in html  # a clerk: the chat name masked
    assert "246801" not in html  # still no full code of an open order on the page
    response = client.post(reverse(hand_over, args=[store.pk, guest.pk]))
    assert response.status_code == 302
    assert _status(guest) == ("completed", "collected")
    # A member's order is never handed over without its code, even by a forged POST.
    client.post(reverse(hand_over, args=[store.pk, member_order.pk]))
    assert _status(member_order) == ("ready", "ready")


@pytest.mark.parametrize("typed", ["abc", "abcdef", "12", "1234567"])
def test_anything_not_six_digits_reads_as_a_wrong_code_on_the_page(client, store, clerk, typed):
    order = _ready(store, code="135791")
    client.force_login(clerk)
    html = client.get(_page(store)).content.decode()
    # The browser must send what was typed: a `pattern` would stop "abc" before the server.
    code_input = html[
        html.index('id="pickup-code"') : html.index(">", html.index('id="pickup-code"'))
    ]
    assert "pattern=" not in code_input
    response = client.post(_page(store), {"code": typed, "codes": ""})
    html = response.content.decode()
    assert f'<li class="pickup-result pickup-wrong_code"><b>{typed}</b>' in html
    assert _status(order) == ("ready", "ready")


def test_the_delivery_note_is_the_owners_a_clerk_reads_it_without_the_member(
    client, store, owner, clerk
):
    """A delivery note is typed at the counter and may name the member and a phone: the
    owner (member data) reads it whole; a clerk, who delivers, reads it with the phone masked
    and the member's name as the board names them (docs/access.md)."""
    member = MemberFactory(name="王芳", phone="+8613800138000", member_no="M00012345")
    order = _ready(store, code="000007", member=member, fulfilment="delivery")
    note = "王芳不在家，改送邻居，电话 13912345678"
    delivery_status_set(store=store, order_id=order.pk, status="out_for_delivery", by=clerk)
    delivery_status_set(store=store, order_id=order.pk, status="failed", by=clerk, note=note)
    url = reverse("supply:pickup", args=[store.pk])

    client.force_login(owner)
    assert note in client.get(url).content.decode()

    client.force_login(clerk)
    text = client.get(url).content.decode()
    assert "13912345678" not in text
    assert "王芳" not in text
    assert f"{member.masked_label}不在家，改送邻居，电话 139****5678" in text
