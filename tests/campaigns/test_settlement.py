"""Settlement at the deadline: formed → orders paid (handed on to consolidation), not formed →
orders cancelled with their stock back and the members notified; idempotent; 成团率."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer, Notification
from apps.campaigns.selectors.broadcasts import FormationRate, formation_rate
from apps.campaigns.services.group_buys import (
    SettleResult,
    group_buy_join,
    group_buy_offers_settle,
)
from apps.campaigns.tasks import group_buy_offers_settle_task
from apps.stores.models import Order, StockLevel, StockMovement
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory, StoreFactory

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


def test_an_offer_that_reached_its_threshold_forms_and_its_orders_are_paid():
    offer, _members = _offer_with_joins(quantities=[4, 6], threshold=10)
    now = _past_deadline(offer)
    assert group_buy_offers_settle(now=now) == SettleResult(formed=[offer.pk], failed=[])
    offer.refresh_from_db()
    assert (offer.status, offer.settled_at) == (GroupBuyOffer.Status.FORMED, now)
    assert list(GroupBuyJoin.objects.values_list("status", flat=True).order_by().distinct()) == [
        "confirmed"
    ]
    assert list(
        Order.objects.values_list("status", "fulfilment", "channel").order_by().distinct()
    ) == [("paid", "pickup", "group_buy")]
    assert _on_hand(offer) == 40
    assert StockMovement.objects.filter(kind="return").count() == 0
    assert Notification.objects.count() == 0


def test_an_offer_below_its_threshold_fails_orders_cancelled_stock_returned_members_told():
    offer, members = _offer_with_joins(quantities=[2, 3], threshold=10)
    assert _on_hand(offer) == 45
    now = _past_deadline(offer)
    assert group_buy_offers_settle(now=now) == SettleResult(formed=[], failed=[offer.pk])
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
    first = group_buy_offers_settle(now=now)
    assert sorted(first.formed + first.failed) == sorted([failed.pk, formed.pk])
    snapshot = (
        list(Order.objects.order_by("pk").values_list("status", flat=True)),
        StockMovement.objects.count(),
        Notification.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)),
    )
    assert group_buy_offers_settle(now=now + dt.timedelta(minutes=1)) == SettleResult()
    assert group_buy_offers_settle_task() == {"formed": 0, "failed": 0}
    assert snapshot == (
        list(Order.objects.order_by("pk").values_list("status", flat=True)),
        StockMovement.objects.count(),
        Notification.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)),
    )


def test_an_offer_before_its_deadline_is_not_settled():
    offer, _ = _offer_with_joins(quantities=[1], threshold=5)
    assert group_buy_offers_settle(now=offer.deadline - dt.timedelta(seconds=1)) == SettleResult()
    offer.refresh_from_db()
    assert (offer.status, offer.settled_at) == (GroupBuyOffer.Status.OPEN, None)
    assert list(Order.objects.values_list("status", flat=True)) == ["pending"]


def test_an_offer_exactly_at_its_deadline_is_settled():
    offer, _ = _offer_with_joins(quantities=[5], threshold=5)
    assert group_buy_offers_settle(now=offer.deadline).formed == [offer.pk]


def test_a_participant_threshold_counts_people_not_units():
    offer, _ = _offer_with_joins(
        quantities=[5, 5], threshold=3, threshold_kind=GroupBuyOffer.ThresholdKind.PARTICIPANTS
    )
    assert group_buy_offers_settle(now=_past_deadline(offer)).failed == [offer.pk]


def test_an_offer_without_joins_fails_and_notifies_nobody():
    offer, _ = _offer_with_joins(quantities=[], threshold=1)
    assert group_buy_offers_settle(now=_past_deadline(offer)).failed == [offer.pk]
    assert Notification.objects.count() == 0


def test_the_task_settles_offers_whose_deadline_has_passed():
    offer, _ = _offer_with_joins(quantities=[3], threshold=3)
    GroupBuyOffer.objects.filter(pk=offer.pk).update(deadline=timezone.now() - dt.timedelta(1))
    assert group_buy_offers_settle_task() == {"formed": 1, "failed": 0}
    assert group_buy_offers_settle_task() == {"formed": 0, "failed": 0}


def test_formation_rate_counts_formed_over_settled_offers():
    formed, _ = _offer_with_joins(quantities=[5], threshold=5)
    failed = GroupBuyOfferFactory(
        broadcast=formed.broadcast, product=formed.product, threshold=5, deadline=formed.deadline
    )
    GroupBuyOfferFactory(  # still open
        broadcast=formed.broadcast,
        product=formed.product,
        deadline=formed.deadline + dt.timedelta(days=1),
    )
    group_buy_offers_settle(now=_past_deadline(formed))
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
            results[index] = group_buy_offers_settle(now=now)
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
            results["settle"] = group_buy_offers_settle(now=_past_deadline(offer))
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
