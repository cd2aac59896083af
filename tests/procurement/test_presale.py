"""Pre-orders (以销定产, `GroupBuyOffer.presale`): the chapter-6 journey sells summer fruit the
store does not have; the joins take no stock, the supplier's purchase order brings what was
sold, and the goods leave stock when each order is handed to pickup (docs/group-buys.md,
docs/pickup.md)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.campaigns.services.group_buys import (
    GroupBuyRefused,
    group_buy_join,
    group_buy_offers_settle,
    jielong_import,
    offer_create,
)
from apps.campaigns.sources import settle_sources
from apps.procurement.models import PurchaseOrder
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import (
    CANCELLED,
    COLLECTED,
    fulfilments_ready,
    order_cancel_before_pickup,
    pickup_verify,
)
from apps.procurement.services.purchase_orders import purchase_order_confirm, purchase_order_ship
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement
from apps.stores.services.stock import InsufficientStock, stock_move
from tests.campaigns.factories import BroadcastFactory, CampaignProductFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
)

pytestmark = pytest.mark.django_db


def _on_hand(store, product) -> int:
    level = StockLevel.objects.filter(store=store, product=product).first()
    return level.on_hand if level is not None else 0


def _presale_offer(store, *, cap: int = 40, threshold: int = 5) -> GroupBuyOffer:
    product = ProductFactory(name="云南蓝莓")
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    broadcast = BroadcastFactory(store_campaign__store=store)
    return offer_create(
        broadcast=broadcast,
        product=product,
        price=Decimal("29.90"),
        threshold=threshold,
        cap=cap,
        deadline=timezone.now() + dt.timedelta(hours=3),
        presale=True,
        by=None,
    )


def _settle(offer: GroupBuyOffer) -> None:
    group_buy_offers_settle(sources=settle_sources(), now=offer.deadline + dt.timedelta(seconds=1))
    offer.refresh_from_db()


def _consolidate() -> PurchaseOrder:
    purchase_orders_consolidate(
        cutoff=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )
    return PurchaseOrder.objects.get()


def test_an_offer_of_a_product_the_store_has_none_of_is_refused_unless_it_is_a_pre_order(store):
    product = ProductFactory(name="山东甜瓜")
    broadcast = BroadcastFactory(store_campaign__store=store)
    arguments = {
        "broadcast": broadcast,
        "product": product,
        "price": Decimal("19.90"),
        "threshold": 2,
        "cap": 40,
        "deadline": timezone.now() + dt.timedelta(hours=3),
        "by": None,
    }
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        offer_create(**arguments)
    assert "make the offer a pre-order" in refused.value.message_dict["product"][0]
    offer = offer_create(**arguments, presale=True)
    assert offer.presale is True
    assert GroupBuyOffer.objects.get(pk=offer.pk).presale is True


def test_pre_order_joins_take_no_stock_and_stop_at_the_cap(store):
    offer = _presale_offer(store, cap=5)
    member = MemberFactory()
    first = group_buy_join(offer=offer, quantity=3, idempotency_key="a", member=member)
    second = group_buy_join(offer=offer, quantity=2, idempotency_key="b")
    assert first.created
    assert second.created
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=1, idempotency_key="c")
    assert refused.value.code == "sold_out"
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (5, 2)
    # Nothing on hand, nothing taken, no ledger row: the supplier will bring the goods.
    assert StockMovement.objects.filter(store=store).count() == 0
    assert _on_hand(store, offer.product) == 0
    assert Order.objects.filter(store=store, status=Order.Status.PENDING).count() == 2


def test_a_pre_order_that_does_not_form_cancels_its_orders_and_gives_back_no_stock(store):
    offer = _presale_offer(store, threshold=10)
    StockLevelFactory(store=store, product=offer.product, on_hand=3)  # the shelf's own units
    group_buy_join(offer=offer, quantity=2, idempotency_key="a", member=MemberFactory())
    _settle(offer)
    assert offer.status == GroupBuyOffer.Status.FAILED
    assert Order.objects.get(store=store).status == Order.Status.CANCELLED
    # The old settlement put each line's units "back" whether the join took them or not.
    assert StockMovement.objects.filter(store=store).count() == 0
    assert _on_hand(store, offer.product) == 3


def test_the_summer_fruit_journey_sells_what_the_store_does_not_have(store, owner):
    """Nothing of the blueberries is in the store. Members join 12 boxes through the 接龙;
    the offer forms; consolidation orders exactly 12 from the orchard, which confirms and
    ships; 2 boxes come short at receiving. The 10 that came are taken by the earliest
    orders as they are handed to pickup; the latest order (2 boxes) bears the whole shortage,
    so nothing of it arrived: it is cancelled as not delivered, takes nothing, and its code
    is not handed over. The shelf is back at zero, and the other codes are collected."""
    offer = _presale_offer(store)
    members = [
        MemberFactory(name=name, home_store=store)
        for name in ("李阿姨", "王先生", "张女士", "赵老师")
    ]
    text = "".join(
        f"{number}. {member.name} 蓝莓×{quantity}\n"
        for number, (member, quantity) in enumerate(zip(members, (3, 4, 3, 2), strict=True), 1)
    )
    report = jielong_import(broadcast=offer.broadcast, text=text, by=owner)
    assert report.written is True, [line.message for line in report.lines]
    assert _on_hand(store, offer.product) == 0
    _settle(offer)
    assert offer.status == GroupBuyOffer.Status.FORMED

    purchase_order = _consolidate()
    line = purchase_order.lines.get()
    assert (line.product_id, line.ordered_quantity) == (offer.product_id, 12)
    assert line.allocations.get().store == store
    purchase_order = purchase_order_confirm(
        po=purchase_order, ship_date=timezone.localdate(), by=None
    )
    purchase_order = purchase_order_ship(po=purchase_order, by=None)
    allocation = line.allocations.get()
    receipt_record(
        purchase_order=purchase_order,
        store=store,
        lines={allocation.pk: (10, 2, 0)},
        by=owner,
    )

    orders = list(
        Order.objects.filter(store=store, channel="group_buy").order_by("placed_at", "pk")
    )
    assert [order.status for order in orders] == [Order.Status.READY] * 3 + [Order.Status.CANCELLED]
    taken = {
        movement.order_id: -movement.quantity
        for movement in StockMovement.objects.filter(store=store, kind="sale")
    }
    # The latest join (2 boxes) bears the 2 short; the others take all they asked.
    assert [taken.get(order.pk, 0) for order in orders] == [3, 4, 3, 0]
    assert StockMovement.objects.get(store=store, kind="receipt").quantity == 10
    assert _on_hand(store, offer.product) == 0
    assert all(
        movement.created_by == owner
        for movement in StockMovement.objects.filter(store=store, kind="sale")
    )

    codes = [OrderFulfilment.objects.get(pk=order.pk).pickup_code for order in orders]
    results = pickup_verify(store=store, codes=codes, by=owner)
    assert [result.outcome for result in results] == [COLLECTED] * 3 + [CANCELLED]
    assert Order.objects.get(pk=orders[3].pk).status == Order.Status.CANCELLED
    # Handing over takes nothing more: the goods left stock when the orders became ready.
    assert _on_hand(store, offer.product) == 0
    assert StockMovement.objects.filter(store=store, kind="sale").count() == 3


def test_a_pre_order_marked_ready_at_the_counter_takes_the_shelf_units_or_is_refused(
    client, store, owner
):
    offer = _presale_offer(store, threshold=1)
    join = group_buy_join(offer=offer, quantity=3, idempotency_key="a", member=MemberFactory())
    _settle(offer)
    order_id = join.join.order_id
    with translation.override("en"), pytest.raises(InsufficientStock):
        fulfilments_ready(store_id=store.pk, order_ids=[order_id], by=owner)
    assert Order.objects.get(pk=order_id).status == Order.Status.PAID
    assert OrderFulfilment.objects.get(pk=order_id).status == "waiting"
    # Through the page: a clear message, nothing changed.
    client.force_login(owner)
    url = reverse("supply:pickup_ready", args=[store.pk, order_id])
    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Not enough stock of 云南蓝莓" in response.content.decode()
    assert Order.objects.get(pk=order_id).status == Order.Status.PAID

    stock_move(store=store, product=offer.product, kind="receipt", quantity=5, by=owner)
    assert fulfilments_ready(store_id=store.pk, order_ids=[order_id], by=owner) == 1
    assert _on_hand(store, offer.product) == 2
    # Again: nothing more is taken.
    assert fulfilments_ready(store_id=store.pk, order_ids=[order_id], by=owner) == 0
    assert _on_hand(store, offer.product) == 2
    # Cancelled before pickup, the ready order's units go back on the shelf, once.
    order_cancel_before_pickup(store=store, order_id=order_id, by=owner, reason="")
    assert _on_hand(store, offer.product) == 5


def test_cancelling_a_pre_order_before_its_goods_arrive_reduces_the_purchase_order_only(
    store, owner
):
    offer = _presale_offer(store, threshold=1)
    kept = group_buy_join(offer=offer, quantity=3, idempotency_key="a", member=MemberFactory())
    dropped = group_buy_join(offer=offer, quantity=2, idempotency_key="b", member=MemberFactory())
    _settle(offer)
    purchase_order = _consolidate()
    assert purchase_order.lines.get().ordered_quantity == 5
    order_cancel_before_pickup(store=store, order_id=dropped.join.order_id, by=owner, reason="")
    assert StockMovement.objects.filter(store=store).count() == 0
    assert purchase_order.lines.get().ordered_quantity == 3
    assert Order.objects.get(pk=kept.join.order_id).status == Order.Status.PAID


@pytest.mark.postgres
def test_the_one_statement_join_and_the_orm_join_agree_on_pre_orders(store, monkeypatch):
    """The PostgreSQL statement skips the stock for a pre-order exactly as the ORM path."""
    import apps.campaigns.services.group_buys as group_buys

    outcomes = {}
    for path in ("orm", "sql"):
        offer = _presale_offer(store, cap=4, threshold=1)
        with monkeypatch.context() as patch:
            if path == "orm":
                patch.setattr(group_buys, "_join_in_one_statement", lambda: False)
            rows = []
            for key, quantity in (("a", 3), ("a", 3), ("a", 1), ("b", 2), ("c", 1)):
                try:
                    result = group_buy_join(offer=offer, quantity=quantity, idempotency_key=key)
                except GroupBuyRefused as refusal:
                    rows.append(("refused", key, refusal.code))
                else:
                    rows.append(("joined", key, result.created, result.join.quantity))
        offer.refresh_from_db()
        outcomes[path] = (
            rows,
            offer.units_joined,
            offer.participants,
            StockMovement.objects.filter(order__group_buy_join__offer=offer).count(),
            GroupBuyJoin.objects.filter(offer=offer).count(),
        )
    assert outcomes["sql"] == outcomes["orm"]
    assert outcomes["orm"] == (
        [
            ("joined", "a", True, 3),
            ("joined", "a", False, 3),
            ("refused", "a", "idempotency_key_reused"),
            ("refused", "b", "sold_out"),
            ("joined", "c", True, 1),
        ],
        4,
        2,
        0,
        2,
    )


def test_the_offer_form_proposes_a_pre_order_for_a_campaign_product_the_store_has_none_of(
    client, store, owner
):
    """The campaign sells 山东甜瓜, which the store has none of: the form lists it, ticks
    "pre-order", and the offer it opens takes joins without stock. Unticked, the owner is
    told to make it a pre-order."""
    broadcast = BroadcastFactory(store_campaign__store=store)
    product = ProductFactory(name="山东甜瓜")
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    CampaignProductFactory(
        campaign=broadcast.store_campaign.campaign, product=product, suggested_stock=40
    )
    client.force_login(owner)
    page = client.get(reverse("campaigns:broadcast", args=[broadcast.pk]))
    form = page.context["offer_form"]
    assert list(form.fields["product"].queryset) == [product]
    assert form.initial["presale"] is True
    # The pack's "备货 40 份" is the proposed cap.
    assert form.initial["cap"] == 40
    assert re.search(r'<input type="checkbox" name="presale"[^>]* checked', page.content.decode())

    url = reverse("campaigns:broadcast-offer-create", args=[broadcast.pk])
    data = {
        "product": product.pk,
        "price": "19.90",
        "price_above_list_confirmed": "on",  # the factories' list price is ¥10.00
        "threshold_kind": "units",
        "threshold": "2",
        "cap": "40",
        "deadline": timezone.localtime(timezone.now() + dt.timedelta(hours=3)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
    }
    refused = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "make the offer a pre-order" in refused.content.decode()
    assert not GroupBuyOffer.objects.exists()
    assert client.post(url, {**data, "presale": "on"}).status_code == 302
    offer = GroupBuyOffer.objects.get()
    assert offer.presale is True
    assert group_buy_join(offer=offer, quantity=2, idempotency_key="k").created
    assert _on_hand(store, product) == 0
    shown = client.get(reverse("campaigns:broadcast", args=[broadcast.pk]))
    assert "预售" in shown.content.decode()


def test_an_offer_from_stock_with_a_cap_above_the_stock_is_opened_with_a_warning(
    client, store, owner
):
    """Joins past the stock would be refused: the owner is told while they can still restock
    or open a pre-order instead; a pre-order, or a cap within the stock, gets no warning."""
    broadcast = BroadcastFactory(store_campaign__store=store)
    product = ProductFactory(name="山东甜瓜")
    StockLevelFactory(store=store, product=product, on_hand=2)
    CampaignProductFactory(campaign=broadcast.store_campaign.campaign, product=product)
    client.force_login(owner)
    url = reverse("campaigns:broadcast-offer-create", args=[broadcast.pk])
    data = {
        "product": product.pk,
        "price": "19.90",
        "price_above_list_confirmed": "on",  # the factories' list price is ¥10.00
        "threshold_kind": "units",
        "threshold": "1",
        "deadline": timezone.localtime(timezone.now() + dt.timedelta(hours=3)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
    }
    warning = "Only 2 of 山东甜瓜 in stock for a cap of 40"
    opened = client.post(url, {**data, "cap": "40"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert warning in opened.content.decode()
    for extra in ({"cap": "2"}, {"cap": "40", "presale": "on"}):
        # One open offer per product and broadcast: the previous one is withdrawn first.
        GroupBuyOffer.objects.filter(broadcast=broadcast, status="open").update(
            status="cancelled", settled_at=timezone.now()
        )
        page = client.post(url, {**data, **extra}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        assert "Offer opened." in page.content.decode()
        assert "in stock for a cap" not in page.content.decode()
    assert GroupBuyOffer.objects.count() == 3
