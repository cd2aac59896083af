"""Settlement at the deadline: formed from stock → orders ready at once (the shelf has the
goods), formed pre-order → orders paid and sent to consolidation at once, not formed → orders
cancelled with their stock back and the members notified; idempotent; 成团率. What
consolidation makes of a settlement is in tests/procurement/test_settlement_supply.py."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer, Notification
from apps.campaigns.notifications.tasks import notifications_dispatch_task
from apps.campaigns.selectors.broadcasts import FormationRate, formation_rate
from apps.campaigns.services.group_buys import (
    SettleResult,
    group_buy_join,
    group_buy_offer_settle,
    group_buy_offers_settle,
)
from apps.campaigns.sources import settle_sources
from apps.campaigns.tasks import group_buy_offers_settle_task
from apps.procurement.models import ConsolidationRun, PurchaseOrder, PurchaseOrderSource
from apps.procurement.tasks import purchase_orders_consolidate_task
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.celery_support import wait_until, worker_running
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    SupplierProductFactory,
)

pytestmark = pytest.mark.django_db


def _offer_with_joins(*, quantities: list[int], threshold: int, on_hand: int = 50, **kwargs):
    store = StoreFactory()
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=on_hand)
    broadcast = BroadcastFactory(store_campaign__store=store)
    offer = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, threshold=threshold, cap=40, **kwargs
    )
    members = []
    for index, quantity in enumerate(quantities):
        member = MemberFactory(marketing_consent=True)
        members.append(member)
        group_buy_join(offer=offer, quantity=quantity, idempotency_key=f"k-{index}", member=member)
    return offer, members


def _past_deadline(offer: GroupBuyOffer) -> dt.datetime:
    return offer.deadline + dt.timedelta(seconds=1)


def _on_hand(offer: GroupBuyOffer) -> int:
    return StockLevel.objects.get(store=offer.broadcast.store, product=offer.product).on_hand


def test_a_formed_offer_that_sold_from_stock_has_its_orders_ready_at_settlement():
    offer, members = _offer_with_joins(quantities=[4, 6], threshold=10)
    now = _past_deadline(offer)
    assert group_buy_offers_settle(sources=settle_sources(), now=now) == SettleResult(
        formed=[offer.pk], failed=[]
    )
    offer.refresh_from_db()
    assert (offer.status, offer.settled_at) == (GroupBuyOffer.Status.FORMED, now)
    assert list(GroupBuyJoin.objects.values_list("status", flat=True).order_by().distinct()) == [
        "confirmed"
    ]
    assert list(
        Order.objects.values_list("status", "fulfilment", "channel").order_by().distinct()
    ) == [("ready", "pickup", "group_buy")]
    fulfilments = OrderFulfilment.objects.order_by("pk")
    assert [(row.status, row.ready_at) for row in fulfilments] == [("ready", now), ("ready", now)]
    # The joins took the units; marking ready takes nothing more and gives nothing back.
    assert _on_hand(offer) == 40
    assert StockMovement.objects.exclude(kind="sale").count() == 0
    assert StockMovement.objects.count() == 2
    ready = Notification.objects.filter(kind="order_ready").order_by("member_id")
    assert [row.member_id for row in ready] == sorted(member.pk for member in members)
    codes = dict(fulfilments.values_list("order__member_id", "pickup_code"))
    assert {row.title for row in ready} == {"您的订单已备好，可以取货了"}
    assert all(codes[row.member_id] in row.body for row in ready)
    assert Notification.objects.count() == 2


def test_a_formed_pre_order_stays_paid_for_the_suppliers_delivery():
    offer, _members = _offer_with_joins(quantities=[4, 6], threshold=10, presale=True)
    now = _past_deadline(offer)
    assert group_buy_offers_settle(sources=settle_sources(), now=now).formed == [offer.pk]
    assert list(
        Order.objects.values_list("status", "fulfilment", "channel").order_by().distinct()
    ) == [("paid", "pickup", "group_buy")]
    assert list(OrderFulfilment.objects.values_list("status", flat=True)) == [
        "waiting",
        "waiting",
    ]
    assert _on_hand(offer) == 50  # a pre-order took nothing
    assert StockMovement.objects.count() == 0
    assert Notification.objects.count() == 0


def test_settling_a_formed_stock_offer_twice_tells_each_member_once():
    offer, members = _offer_with_joins(quantities=[2, 3], threshold=5)
    now = _past_deadline(offer)
    assert group_buy_offers_settle(sources=settle_sources(), now=now).formed == [offer.pk]
    assert group_buy_offers_settle(sources=settle_sources(), now=now) == SettleResult()
    assert group_buy_offers_settle_task() == {"formed": 0, "failed": 0}
    assert group_buy_offer_settle(offer_id=offer.pk, now=now, sources=settle_sources()) is None
    assert sorted(
        Notification.objects.filter(kind="order_ready").values_list("member_id", flat=True)
    ) == sorted(member.pk for member in members)
    assert Notification.objects.count() == 2


def test_an_order_cancelled_before_a_stock_offer_formed_stays_cancelled_and_untold():
    offer, members = _offer_with_joins(quantities=[2, 3, 4], threshold=5)
    cancelled = Order.objects.get(member=members[0])
    Order.objects.filter(pk=cancelled.pk).update(status=Order.Status.CANCELLED)
    assert group_buy_offers_settle(sources=settle_sources(), now=_past_deadline(offer)).formed == [
        offer.pk
    ]
    cancelled.refresh_from_db()
    assert cancelled.status == Order.Status.CANCELLED
    assert not OrderFulfilment.objects.filter(pk=cancelled.pk).exists()
    assert sorted(Order.objects.exclude(pk=cancelled.pk).values_list("status", flat=True)) == [
        "ready",
        "ready",
    ]
    assert sorted(
        Notification.objects.filter(kind="order_ready").values_list("member_id", flat=True)
    ) == sorted(member.pk for member in members[1:])


def test_a_delivery_order_of_a_formed_stock_offer_is_told_it_is_being_prepared():
    offer, members = _offer_with_joins(quantities=[5], threshold=5)
    Order.objects.update(fulfilment=Order.Fulfilment.DELIVERY)
    group_buy_offers_settle(sources=settle_sources(), now=_past_deadline(offer))
    order = Order.objects.get()
    assert order.status == Order.Status.READY
    notice = Notification.objects.get(kind="order_ready")
    assert notice.member_id == members[0].pk
    assert notice.title == "您的订单正在备货配送"  # the notice's language is the site's
    assert OrderFulfilment.objects.get(pk=order.pk).pickup_code in notice.body


def test_an_offer_below_its_threshold_fails_orders_cancelled_stock_returned_members_told():
    offer, members = _offer_with_joins(quantities=[2, 3], threshold=10)
    assert _on_hand(offer) == 45
    now = _past_deadline(offer)
    assert group_buy_offers_settle(sources=settle_sources(), now=now) == SettleResult(
        formed=[], failed=[offer.pk]
    )
    offer.refresh_from_db()
    assert (offer.status, offer.settled_at) == (GroupBuyOffer.Status.FAILED, now)
    assert list(GroupBuyJoin.objects.values_list("status", flat=True).order_by().distinct()) == [
        "cancelled"
    ]
    assert list(Order.objects.values_list("status", flat=True).order_by().distinct()) == [
        "cancelled"
    ]
    assert _on_hand(offer) == 50
    returns = StockMovement.objects.filter(kind="return").order_by("quantity")
    assert [(row.quantity, row.order.status) for row in returns] == [
        (2, "cancelled"),
        (3, "cancelled"),
    ]
    notified = Notification.objects.filter(kind="group_buy_failed").order_by("member_id")
    assert [row.member_id for row in notified] == sorted(member.pk for member in members)
    assert {row.store_campaign_id for row in notified} == {offer.broadcast.store_campaign_id}


def test_settling_twice_changes_nothing():
    failed, _ = _offer_with_joins(quantities=[1], threshold=5)
    formed, _ = _offer_with_joins(quantities=[5], threshold=5)
    now = max(_past_deadline(failed), _past_deadline(formed))
    first = group_buy_offers_settle(sources=settle_sources(), now=now)
    assert sorted(first.formed + first.failed) == sorted([failed.pk, formed.pk])
    snapshot = (
        list(Order.objects.order_by("pk").values_list("status", flat=True)),
        StockMovement.objects.count(),
        Notification.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)),
    )
    assert (
        group_buy_offers_settle(sources=settle_sources(), now=now + dt.timedelta(minutes=1))
        == SettleResult()
    )
    assert group_buy_offers_settle_task() == {"formed": 0, "failed": 0}
    assert snapshot == (
        list(Order.objects.order_by("pk").values_list("status", flat=True)),
        StockMovement.objects.count(),
        Notification.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)),
    )


def test_an_offer_before_its_deadline_is_not_settled():
    offer, _ = _offer_with_joins(quantities=[1], threshold=5)
    assert (
        group_buy_offers_settle(
            sources=settle_sources(), now=offer.deadline - dt.timedelta(seconds=1)
        )
        == SettleResult()
    )
    offer.refresh_from_db()
    assert (offer.status, offer.settled_at) == (GroupBuyOffer.Status.OPEN, None)
    assert list(Order.objects.values_list("status", flat=True)) == ["pending"]


def test_an_offer_exactly_at_its_deadline_is_settled():
    offer, _ = _offer_with_joins(quantities=[5], threshold=5)
    assert group_buy_offers_settle(sources=settle_sources(), now=offer.deadline).formed == [
        offer.pk
    ]


def test_a_participant_threshold_counts_people_not_units():
    offer, _ = _offer_with_joins(
        quantities=[5, 5], threshold=3, threshold_kind=GroupBuyOffer.ThresholdKind.PARTICIPANTS
    )
    assert group_buy_offers_settle(sources=settle_sources(), now=_past_deadline(offer)).failed == [
        offer.pk
    ]


def test_an_offer_without_joins_fails_and_notifies_nobody():
    offer, _ = _offer_with_joins(quantities=[], threshold=1)
    assert group_buy_offers_settle(sources=settle_sources(), now=_past_deadline(offer)).failed == [
        offer.pk
    ]
    assert Notification.objects.count() == 0


def test_the_task_settles_offers_whose_deadline_has_passed():
    offer, _ = _offer_with_joins(quantities=[3], threshold=3)
    GroupBuyOffer.objects.filter(pk=offer.pk).update(deadline=timezone.now() - dt.timedelta(1))
    assert group_buy_offers_settle_task() == {"formed": 1, "failed": 0}
    assert group_buy_offers_settle_task() == {"formed": 0, "failed": 0}


def test_formation_rate_counts_formed_over_settled_offers():
    formed, _ = _offer_with_joins(quantities=[5], threshold=5)
    # Other products: one open offer per product and broadcast.
    failed = GroupBuyOfferFactory(broadcast=formed.broadcast, threshold=5, deadline=formed.deadline)
    GroupBuyOfferFactory(  # still open
        broadcast=formed.broadcast,
        deadline=formed.deadline + dt.timedelta(days=1),
    )
    group_buy_offers_settle(sources=settle_sources(), now=_past_deadline(formed))
    failed.refresh_from_db()
    assert failed.status == GroupBuyOffer.Status.FAILED
    store_campaign = formed.broadcast.store_campaign
    by_store_campaign = formation_rate(store_campaign=store_campaign)
    assert by_store_campaign == FormationRate(formed=1, settled=2)
    assert by_store_campaign.rate == Decimal("0.5000")
    assert formation_rate(campaign=store_campaign.campaign) == FormationRate(formed=1, settled=2)
    assert formation_rate(store=formed.broadcast.store) == FormationRate(formed=1, settled=2)
    assert formation_rate(store=StoreFactory()).rate is None


def test_formation_rate_needs_exactly_one_scope():
    with pytest.raises(TypeError):
        formation_rate()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_settling_at_once_settle_each_offer_once():
    offers = [_offer_with_joins(quantities=[1, 1], threshold=5)[0] for _ in range(3)]
    now = max(_past_deadline(offer) for offer in offers)
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = group_buy_offers_settle(sources=settle_sources(), now=now)
        except Exception as exc:  # noqa: BLE001 — asserted below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(result, SettleResult) for result in results), results
    settled = sorted(offer_id for result in results for offer_id in result.failed)
    assert settled == sorted(offer.pk for offer in offers)
    assert StockMovement.objects.filter(kind="return").count() == 6
    assert list(StockLevel.objects.values_list("on_hand", flat=True).order_by().distinct()) == [50]
    assert Notification.objects.count() == 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_join_in_flight_at_the_deadline_and_the_settlement_do_not_deadlock():
    """The join takes the stock row, then the offer row; settlement takes them in the same
    order, so it waits for the join instead of deadlocking with it."""
    from django.db import transaction
    from django.db.models import F

    from apps.stores.services.stock import stock_move

    offer, _ = _offer_with_joins(quantities=[1], threshold=2)
    stock_taken = threading.Event()
    results: dict[str, object] = {}

    def join_in_flight() -> None:
        try:
            with transaction.atomic():
                stock_move(
                    store=offer.broadcast.store, product=offer.product, kind="sale", quantity=-1
                )
                stock_taken.set()
                threading.Event().wait(0.5)  # the settlement starts meanwhile
                results["join"] = GroupBuyOffer.objects.filter(
                    pk=offer.pk, status="open", deadline__gt=offer.deadline - dt.timedelta(1)
                ).update(units_joined=F("units_joined") + 1, participants=F("participants") + 1)
        except Exception as exc:  # noqa: BLE001 — asserted below
            results["join"] = exc
        finally:
            connection.close()

    def settle() -> None:
        try:
            stock_taken.wait(timeout=30)
            results["settle"] = group_buy_offers_settle(
                sources=settle_sources(), now=_past_deadline(offer)
            )
        except Exception as exc:  # noqa: BLE001 — asserted below
            results["settle"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=join_in_flight), threading.Thread(target=settle)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {"join": 1, "settle": SettleResult(formed=[offer.pk], failed=[])}
    offer.refresh_from_db()
    assert (offer.status, offer.units_joined, offer.participants) == ("formed", 2, 2)


# --- formed offers go to the suppliers at once ------------------------------------------------

CONSOLIDATE = purchase_orders_consolidate_task.name
DISPATCH = notifications_dispatch_task.name


def _broker_sends_run(callbacks: list) -> None:
    """Run the commit's broker sends (`linli.enqueue`), not the live dashboard's notices (a
    window thread that would outlive the test)."""
    for callback in callbacks:
        if callback.__qualname__ == "enqueue_on_commit.<locals>.enqueue":
            callback()


def _consolidations(sent: list[tuple[str, list, dict]]) -> list[tuple[str, list, dict]]:
    return [message for message in sent if message[0] == CONSOLIDATE]


def _supplied(offer: GroupBuyOffer, *, lead_time_days: int = 1) -> None:
    """The offer's product has a preferred offer of an active supplier (packs of 6)."""
    SupplierProductFactory(
        product=offer.product, pack_size=6, min_order_qty=6, lead_time_days=lead_time_days
    )


def test_a_formed_pre_order_enqueues_one_consolidation_on_commit_with_the_settlement_as_cutoff(
    django_capture_on_commit_callbacks, broker_queue
):
    first, _ = _offer_with_joins(quantities=[4, 6], threshold=10, presale=True)
    second, _ = _offer_with_joins(quantities=[5], threshold=5, presale=True)
    failed, _ = _offer_with_joins(quantities=[1], threshold=5)
    now = max(_past_deadline(offer) for offer in (first, second, failed))
    with django_capture_on_commit_callbacks() as callbacks:
        result = group_buy_offers_settle(sources=settle_sources(), now=now)
    assert sorted(result.formed) == sorted([first.pk, second.pk])
    assert broker_queue.sent() == []  # nothing before the commit
    _broker_sends_run(callbacks)
    # One task for the whole settlement, not one per formed offer, on the real broker.
    assert _consolidations(broker_queue.sent()) == [(CONSOLIDATE, [], {"cutoff": now.isoformat()})]


def test_a_settlement_without_a_formed_offer_enqueues_no_consolidation(
    django_capture_on_commit_callbacks, broker_queue
):
    failed, _ = _offer_with_joins(quantities=[1], threshold=5)
    with django_capture_on_commit_callbacks() as callbacks:
        assert group_buy_offers_settle(
            sources=settle_sources(), now=_past_deadline(failed)
        ).failed == [failed.pk]
        assert (
            group_buy_offers_settle(sources=settle_sources(), now=_past_deadline(failed))
            == SettleResult()
        )
    _broker_sends_run(callbacks)
    sent = broker_queue.sent()
    assert [name for name, _args, _kwargs in sent] == [DISPATCH]  # the members' notice only
    assert _consolidations(sent) == []


def test_a_settlement_forming_only_stock_offers_enqueues_no_consolidation(
    django_capture_on_commit_callbacks, broker_queue
):
    """Nothing is left to consolidate: the orders are ready, the members told (the
    dispatcher is enqueued for their notices)."""
    formed, _ = _offer_with_joins(quantities=[5], threshold=5)
    failed, _ = _offer_with_joins(quantities=[1], threshold=5)
    now = max(_past_deadline(formed), _past_deadline(failed))
    with django_capture_on_commit_callbacks() as callbacks:
        result = group_buy_offers_settle(sources=settle_sources(), now=now)
    assert (result.formed, result.failed) == ([formed.pk], [failed.pk])
    _broker_sends_run(callbacks)
    sent = broker_queue.sent()
    assert _consolidations(sent) == []
    assert {name for name, _args, _kwargs in sent} == {DISPATCH}


def test_the_enqueued_consolidation_makes_the_purchase_order_once_for_the_settlement_day(
    django_capture_on_commit_callbacks, broker_queue
):
    offer, _ = _offer_with_joins(quantities=[4, 6], threshold=10, presale=True)
    _supplied(offer, lead_time_days=2)
    now = _past_deadline(offer)
    with django_capture_on_commit_callbacks() as callbacks:
        group_buy_offers_settle(sources=settle_sources(), now=now)
    _broker_sends_run(callbacks)
    [(name, args, kwargs)] = broker_queue.sent()
    task = purchase_orders_consolidate_task
    assert name == task.name
    first = task(*args, **kwargs)  # what the worker runs; a redelivery runs it again
    assert task(*args, **kwargs) == first
    assert (first["purchase_orders"], first["lines"]) == (1, 2)
    po = PurchaseOrder.objects.get()
    assert po.status == PurchaseOrder.Status.SENT
    # The settlement's local day, as the 22:00 run of that day would give.
    assert po.delivery_date == timezone.localdate(now) + dt.timedelta(days=2)
    line = po.lines.get()
    assert (line.product, line.demanded_quantity, line.ordered_quantity) == (offer.product, 10, 12)
    assert list(line.allocations.values_list("store_id", "quantity")) == [
        (offer.broadcast.store_id, 10)
    ]
    assert ConsolidationRun.objects.get().cutoff == now
    # The evening's cut-off run afterwards finds these lines consolidated already.
    later = task(cutoff=(now + dt.timedelta(hours=1)).isoformat())
    assert (later["purchase_orders"], later["lines"]) == (0, 0)
    assert PurchaseOrderSource.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_purchase_order_minutes_after_the_offer_settles(broker_queue):
    """The settle task, as the beat runs it, through the real broker to a real worker."""
    offer, _ = _offer_with_joins(quantities=[4, 6], threshold=10, presale=True)
    _supplied(offer)
    GroupBuyOffer.objects.filter(pk=offer.pk).update(
        deadline=timezone.now() - dt.timedelta(seconds=1)
    )
    assert group_buy_offers_settle_task() == {"formed": 1, "failed": 0}
    assert not PurchaseOrder.objects.exists()  # sent to the worker, not run in the task

    with worker_running():
        assert wait_until(PurchaseOrder.objects.exists)
    assert broker_queue.sent() == []  # the worker took the message
    po = PurchaseOrder.objects.get()
    assert (po.status, po.lines.get().demanded_quantity) == (PurchaseOrder.Status.SENT, 10)
    assert ConsolidationRun.objects.get().status == ConsolidationRun.Status.FINISHED
