"""group_buy_join: one transaction (order with stock, join row, offer counters), idempotent
by key, refusals that write nothing, and real concurrency on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.campaigns.services import group_buys
from apps.campaigns.services.group_buys import (
    KEY_REUSED,
    GroupBuyRefused,
    JoinResult,
    group_buy_join,
)
from apps.stores.models import Order, OrderLine, StockLevel, StockMovement
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory, StoreFactory


def make_offer(*, on_hand: int = 50, **kwargs: Any) -> GroupBuyOffer:
    store = StoreFactory()
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=on_hand)
    broadcast = BroadcastFactory(store_campaign__store=store)
    return GroupBuyOfferFactory(broadcast=broadcast, product=product, **kwargs)


def _on_hand(offer: GroupBuyOffer) -> int:
    return StockLevel.objects.get(store=offer.broadcast.store, product=offer.product).on_hand


@pytest.mark.django_db
def test_a_join_makes_a_pending_pickup_group_buy_order_and_takes_the_stock():
    offer = make_offer(on_hand=50, price=Decimal("19.90"))
    member = MemberFactory()
    result = group_buy_join(
        offer=offer, quantity=3, idempotency_key="bot-1", member=member, display_name="李阿姨"
    )
    assert result.created is True
    join = result.join
    assert (join.quantity, join.status, join.member, join.display_name, join.source) == (
        3,
        GroupBuyJoin.Status.JOINED,
        member,
        "李阿姨",
        GroupBuyJoin.Source.API,
    )
    order = join.order
    assert (order.store, order.member, order.channel, order.fulfilment, order.status) == (
        offer.broadcast.store,
        member,
        Order.Channel.GROUP_BUY,
        Order.Fulfilment.PICKUP,
        Order.Status.PENDING,
    )
    assert order.total == Decimal("59.70")
    assert list(OrderLine.objects.values_list("product_id", "quantity", "unit_price")) == [
        (offer.product.pk, 3, Decimal("19.90"))
    ]
    assert list(StockMovement.objects.values_list("kind", "quantity", "order_id")) == [
        ("sale", -3, order.pk)
    ]
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (3, 1)
    assert _on_hand(offer) == 47


@pytest.mark.django_db
@pytest.mark.parametrize("one_statement", [True, False], ids=["statement", "orm"])
def test_a_retried_key_returns_the_first_join_and_changes_nothing(monkeypatch, one_statement):
    monkeypatch.setattr(group_buys, "_join_in_one_statement", lambda: one_statement)
    offer = make_offer()
    first = group_buy_join(offer=offer, quantity=2, idempotency_key="k-1", display_name="王姐")
    again = group_buy_join(offer=offer, quantity=2, idempotency_key="k-1", display_name="王姐")
    assert again == JoinResult(join=again.join, created=False)
    assert again.join.pk == first.join.pk
    assert again.join.quantity == 2
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (2, 1)
    assert (Order.objects.count(), GroupBuyJoin.objects.count(), StockMovement.objects.count()) == (
        1,
        1,
        1,
    )
    assert _on_hand(offer) == 48


@pytest.mark.django_db
@pytest.mark.parametrize("one_statement", [True, False], ids=["statement", "orm"])
@pytest.mark.parametrize(
    "retry",
    [
        {"quantity": 5, "display_name": "王姐"},
        {"quantity": 2, "display_name": "李阿姨"},
        {"quantity": 2, "display_name": "王姐", "member": "a member"},
    ],
    ids=["another-quantity", "another-name", "a-member"],
)
def test_a_key_reused_for_another_join_is_refused_and_changes_nothing(
    monkeypatch, one_statement, retry
):
    monkeypatch.setattr(group_buys, "_join_in_one_statement", lambda: one_statement)
    offer = make_offer()
    group_buy_join(offer=offer, quantity=2, idempotency_key="k-1", display_name="王姐")
    if "member" in retry:
        retry = {**retry, "member": MemberFactory()}
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, idempotency_key="k-1", **retry)
    assert refused.value.code == KEY_REUSED
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (2, 1)
    assert (Order.objects.count(), GroupBuyJoin.objects.count(), StockMovement.objects.count()) == (
        1,
        1,
        1,
    )
    assert _on_hand(offer) == 48


@pytest.mark.django_db
@pytest.mark.parametrize("one_statement", [True, False], ids=["statement", "orm"])
def test_a_member_key_reused_by_another_member_is_refused(monkeypatch, one_statement):
    monkeypatch.setattr(group_buys, "_join_in_one_statement", lambda: one_statement)
    offer = make_offer()
    member = MemberFactory()
    group_buy_join(offer=offer, quantity=1, idempotency_key="k-1", member=member)
    assert (
        group_buy_join(offer=offer, quantity=1, idempotency_key="k-1", member=member).created
        is False
    )
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=1, idempotency_key="k-1", member=MemberFactory())
    assert refused.value.code == KEY_REUSED
    assert GroupBuyJoin.objects.get().member == member


@pytest.mark.django_db
def test_joining_exactly_up_to_the_cap_succeeds():
    offer = make_offer(cap=5, threshold=2)
    group_buy_join(offer=offer, quantity=3, idempotency_key="a")
    group_buy_join(offer=offer, quantity=2, idempotency_key="b")
    offer.refresh_from_db()
    assert offer.units_joined == 5


@pytest.mark.django_db
def test_a_join_past_the_cap_is_refused_sold_out_and_writes_nothing():
    offer = make_offer(cap=5, threshold=2)
    group_buy_join(offer=offer, quantity=4, idempotency_key="a")
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=2, idempotency_key="b")
    assert refused.value.code == "sold_out"
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (4, 1)
    assert (Order.objects.count(), GroupBuyJoin.objects.count()) == (1, 1)
    assert _on_hand(offer) == 46


@pytest.mark.django_db
def test_a_stale_offer_object_cannot_pass_the_cap():
    offer = make_offer(cap=5, threshold=2)
    stale = GroupBuyOffer.objects.get(pk=offer.pk)
    group_buy_join(offer=offer, quantity=4, idempotency_key="a")
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=stale, quantity=2, idempotency_key="b")
    assert refused.value.code == "sold_out"
    offer.refresh_from_db()
    assert offer.units_joined == 4
    assert (Order.objects.count(), StockMovement.objects.count()) == (1, 1)
    assert _on_hand(offer) == 46


@pytest.mark.django_db
def test_a_join_after_the_deadline_is_refused_closed():
    offer = make_offer(deadline=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=1, idempotency_key="late")
    assert refused.value.code == "closed"
    assert (Order.objects.count(), GroupBuyJoin.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_a_join_of_a_settled_offer_is_refused_closed_even_from_a_stale_object():
    offer = make_offer()
    stale = GroupBuyOffer.objects.get(pk=offer.pk)
    GroupBuyOffer.objects.filter(pk=offer.pk).update(
        status=GroupBuyOffer.Status.FAILED, settled_at=timezone.now()
    )
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=stale, quantity=1, idempotency_key="late")
    assert refused.value.code == "closed"
    assert (Order.objects.count(), GroupBuyJoin.objects.count(), StockMovement.objects.count()) == (
        0,
        0,
        0,
    )


@pytest.mark.django_db
def test_a_join_beyond_the_stock_is_refused_and_writes_nothing():
    offer = make_offer(on_hand=2, cap=40)
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=3, idempotency_key="big")
    assert refused.value.code == "insufficient_stock"
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (0, 0)
    assert (Order.objects.count(), GroupBuyJoin.objects.count(), StockMovement.objects.count()) == (
        0,
        0,
        0,
    )
    assert _on_hand(offer) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_a_quantity_out_of_range_is_refused_invalid(quantity: int):
    offer = make_offer()
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=quantity, idempotency_key="q")
    assert refused.value.code == "invalid"
    assert GroupBuyJoin.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 65])
def test_a_missing_or_overlong_key_is_refused_invalid(key: str):
    offer = make_offer()
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=1, idempotency_key=key)
    assert refused.value.code == "invalid"
    assert GroupBuyJoin.objects.count() == 0


@pytest.mark.django_db
def test_each_join_counts_one_participant():
    offer = make_offer(threshold_kind=GroupBuyOffer.ThresholdKind.PARTICIPANTS, threshold=3)
    for index in range(3):
        group_buy_join(offer=offer, quantity=2, idempotency_key=f"p-{index}")
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (6, 3)


@pytest.mark.django_db
def test_the_same_key_on_two_offers_makes_two_joins():
    offer = make_offer()
    # Another broadcast of the store (one open offer per product and broadcast).
    second = GroupBuyOfferFactory(
        broadcast=BroadcastFactory(store_campaign__store=offer.broadcast.store),
        product=offer.product,
    )
    group_buy_join(offer=offer, quantity=1, idempotency_key="same")
    group_buy_join(offer=second, quantity=1, idempotency_key="same")
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (2, 2)


# --- real concurrency (PostgreSQL, threads) ----------------------------------------------------


def _race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `workers` threads released together; return results or exceptions."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 — collected and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [thread.is_alive() for thread in threads] == [False] * workers
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_never_pass_the_cap():
    offer = make_offer(on_hand=100, cap=10, threshold=5)

    def join(index: int) -> JoinResult:
        return group_buy_join(offer=offer, quantity=1 + index % 2, idempotency_key=f"r-{index}")

    results = _race(12, join)
    made = [result for result in results if isinstance(result, JoinResult)]
    refused = [result for result in results if isinstance(result, GroupBuyRefused)]
    assert len(made) + len(refused) == 12, results
    assert {refusal.code for refusal in refused} <= {"sold_out"}
    offer.refresh_from_db()
    joined_units = sum(result.join.quantity for result in made)
    assert offer.units_joined == joined_units
    assert offer.units_joined <= 10
    assert offer.units_joined >= 9  # a refusal only when the next join would not fit
    assert offer.participants == len(made) == GroupBuyJoin.objects.count()
    assert Order.objects.count() == len(made)
    assert _on_hand(offer) == 100 - joined_units
    assert StockMovement.objects.filter(kind="sale").count() == len(made)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_never_oversell_the_stock():
    offer = make_offer(on_hand=7, cap=20, threshold=5)

    def join(index: int) -> JoinResult:
        return group_buy_join(offer=offer, quantity=1, idempotency_key=f"s-{index}")

    results = _race(12, join)
    made = [result for result in results if isinstance(result, JoinResult)]
    refused = [result for result in results if isinstance(result, GroupBuyRefused)]
    assert (len(made), len(refused)) == (7, 5), results
    assert {refusal.code for refusal in refused} == {"insufficient_stock"}
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (7, 7)
    assert _on_hand(offer) == 0
    assert StockLevel.objects.filter(on_hand__lt=0).count() == 0
    assert (Order.objects.count(), GroupBuyJoin.objects.count()) == (7, 7)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_join_and_one_order():
    offer = make_offer(on_hand=30)

    def join(index: int) -> JoinResult:
        return group_buy_join(offer=offer, quantity=2, idempotency_key="same-key")

    results = _race(6, join)
    assert all(isinstance(result, JoinResult) for result in results), results
    assert len({result.join.pk for result in results}) == 1
    assert sorted(result.created for result in results) == [False] * 5 + [True]
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (2, 1)
    assert (Order.objects.count(), GroupBuyJoin.objects.count()) == (1, 1)
    assert _on_hand(offer) == 28


@pytest.mark.django_db
def test_a_jielong_line_pasted_again_after_its_name_matches_a_member_is_the_same_join():
    """A 接龙 key is derived from the line (chat name included): the same key is the same line,
    even when the name has since come to match a member, so no `idempotency_key_reused`."""
    offer = make_offer()
    source = GroupBuyJoin.Source.JIELONG
    first = group_buy_join(
        offer=offer, quantity=2, idempotency_key="jl-1", display_name="王姐", source=source
    )
    again = group_buy_join(
        offer=offer,
        quantity=2,
        idempotency_key="jl-1",
        member=MemberFactory(),
        display_name="王姐",
        source=source,
    )
    assert (again.created, again.join.pk) == (False, first.join.pk)
