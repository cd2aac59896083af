"""The one-statement join on PostgreSQL (apps/campaigns/services/group_buy_sql.py) writes exactly
the rows the ORM join writes, refuses alike, and is one round trip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

import apps.campaigns.services.group_buys as group_buys
from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.campaigns.services import group_buy_sql
from apps.campaigns.services.group_buys import GroupBuyRefused, group_buy_join
from apps.customers.models import Member
from apps.stores.models import Order, OrderFulfilment, OrderLine, StockLevel, StockMovement
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory, StoreFactory

pytestmark = pytest.mark.postgres


def _hot_offer(*, on_hand: int, cap: int) -> GroupBuyOffer:
    store = StoreFactory()
    product = ProductFactory(name="蓝莓")
    StockLevelFactory(store=store, product=product, on_hand=on_hand)
    offer = GroupBuyOfferFactory(
        broadcast=BroadcastFactory(store_campaign__store=store),
        product=product,
        price=Decimal("19.90"),
        cap=cap,
        threshold=2,
    )
    # As the API and the bench hold it: store and product loaded with the offer.
    return GroupBuyOffer.objects.select_related("broadcast__store", "product").get(pk=offer.pk)


def _set_on_hand(offer: GroupBuyOffer, on_hand: int) -> None:
    StockLevel.objects.filter(store=offer.broadcast.store, product=offer.product).update(
        on_hand=on_hand
    )


def _run_sequence(
    *, offer: GroupBuyOffer, members: list[Member], now: dt.datetime
) -> list[tuple[Any, ...]]:
    """One fixed sequence of joins, retries and refusals on `offer` (always passed as the
    stale object read at the start, so the refusals come from the database, not the
    precheck). Returns each step's outcome."""
    first, second = members
    steps: list[dict[str, Any]] = [
        {"key": "a", "quantity": 3, "member": first, "display_name": " 李阿姨 "},
        {"key": "b", "quantity": 2, "display_name": "王" * 70},
        {"key": "a", "quantity": 3, "member": first},  # a retry: the first join, nothing new
        {"key": "a", "quantity": 5, "member": first},  # the key for another join: refused
        {"key": "c", "quantity": 4},  # 3 left in stock: insufficient_stock
        {"key": "d", "quantity": 3, "member": second, "source": GroupBuyJoin.Source.JIELONG},
        {"key": "e", "quantity": 3},  # no stock and past the cap: the stock is checked first
        {"restock": 10},
        {"key": "f", "quantity": 3},  # 2 left of the cap: sold_out
        {"key": "g", "quantity": 2, "source": GroupBuyJoin.Source.PORTAL},
        {"cancel": True},
        {"key": "h", "quantity": 1},  # closed
        {"key": "a", "quantity": 3, "member": first},  # a retry still answers the first join
    ]
    outcomes: list[tuple[Any, ...]] = []
    for step in steps:
        if "restock" in step:
            _set_on_hand(offer, step["restock"])
            continue
        if "cancel" in step:
            GroupBuyOffer.objects.filter(pk=offer.pk).update(
                status=GroupBuyOffer.Status.CANCELLED, settled_at=now
            )
            continue
        try:
            result = group_buy_join(
                offer=offer,
                quantity=step["quantity"],
                idempotency_key=step["key"],
                member=step.get("member"),
                display_name=step.get("display_name", ""),
                source=step.get("source", GroupBuyJoin.Source.API),
                now=now,
            )
        except GroupBuyRefused as refusal:
            outcomes.append(("refused", step["key"], refusal.code, refusal.messages))
            continue
        join = result.join
        stored_join = GroupBuyJoin.objects.get(pk=join.pk)
        stored_order = Order.objects.get(pk=join.order_id)
        # What the caller gets back is what was stored (field by field).
        assert _fields(join) == _fields(stored_join)
        assert _fields(join.order, exclude={"created_at"}) == _fields(
            stored_order, exclude={"created_at"}
        )
        assert join.order.store == offer.broadcast.store
        assert join.member == step.get("member") if result.created else True
        assert join._state.adding is False
        outcomes.append(("joined", step["key"], result.created, join.quantity, join.display_name))
    return outcomes


def _fields(instance: Any, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in exclude
    }


def _rows(offer: GroupBuyOffer) -> dict[str, Any]:
    """Everything the joins wrote for `offer`, with ids replaced by the join keys."""
    store = offer.broadcast.store
    joins = GroupBuyJoin.objects.filter(offer=offer).order_by("pk")
    key_of_order = dict(joins.values_list("order_id", "idempotency_key"))
    offer.refresh_from_db()
    return {
        "offer": (offer.units_joined, offer.participants, offer.status),
        "on_hand": StockLevel.objects.get(store=store, product=offer.product).on_hand,
        "joins": [
            (
                join.idempotency_key,
                join.member_id,
                join.display_name,
                join.quantity,
                join.source,
                join.status,
                join.created_at,
                key_of_order[join.order_id],
            )
            for join in joins
        ],
        "orders": [
            (
                key_of_order[order.pk],
                order.idempotency_key
                == group_buys.group_buy_order_key(
                    offer_id=offer.pk, idempotency_key=key_of_order[order.pk]
                ),
                order.member_id,
                order.channel,
                order.fulfilment,
                order.status,
                order.reference,
                order.total,
                order.discount_total,
                order.placed_at,
            )
            for order in Order.objects.filter(store=store).order_by("pk")
        ],
        "lines": [
            (
                key_of_order[line.order_id],
                line.product_id == offer.product_id,
                line.quantity,
                line.unit_price,
                line.discount,
                line.line_total,
            )
            for line in OrderLine.objects.filter(order__store=store).order_by("pk")
        ],
        "movements": [
            (
                key_of_order[movement.order_id],
                movement.product_id == offer.product_id,
                movement.kind,
                movement.quantity,
                movement.reason,
                movement.note,
                movement.created_by_id,
                movement.created_at,
            )
            for movement in StockMovement.objects.filter(store=store).order_by("pk")
        ],
        "fulfilments": OrderFulfilment.objects.filter(store=store).count(),
    }


@pytest.mark.django_db
@translation.override("en")
def test_the_statement_and_the_orm_join_write_the_same_rows_and_refuse_alike(monkeypatch):
    members = [MemberFactory(), MemberFactory()]
    now = timezone.now()
    statements: list[int] = []
    insert = group_buy_sql.group_buy_join_rows_insert

    def counted(**kwargs: Any) -> group_buy_sql.JoinRows:
        statements.append(1)
        return insert(**kwargs)

    monkeypatch.setattr(group_buy_sql, "group_buy_join_rows_insert", counted)

    with monkeypatch.context() as orm:
        orm.setattr(group_buys, "_join_in_one_statement", lambda: False)
        orm_offer = _hot_offer(on_hand=8, cap=10)
        orm_outcomes = _run_sequence(offer=orm_offer, members=members, now=now)
        orm_rows = _rows(orm_offer)
    assert statements == []

    sql_offer = _hot_offer(on_hand=8, cap=10)
    sql_outcomes = _run_sequence(offer=sql_offer, members=members, now=now)
    sql_rows = _rows(sql_offer)
    # Every attempt the precheck let through, retries included (the statement finds the key).
    assert len(statements) == 11

    assert sql_outcomes == orm_outcomes
    assert sql_rows == orm_rows
    # And what they are (so that two equally wrong paths would not pass):
    assert orm_outcomes == [
        ("joined", "a", True, 3, "李阿姨"),
        ("joined", "b", True, 2, "王" * 60),
        ("joined", "a", False, 3, "李阿姨"),
        (
            "refused",
            "a",
            "idempotency_key_reused",
            [
                "This idempotency key was already used on this offer for a different join "
                "(3 units, or another person): retry with the same request, or use a new key "
                "for a new join."
            ],
        ),
        ("refused", "c", "insufficient_stock", ["Not enough 蓝莓 in stock for 4."]),
        ("joined", "d", True, 3, ""),
        ("refused", "e", "insufficient_stock", ["Not enough 蓝莓 in stock for 3."]),
        ("refused", "f", "sold_out", ["Only 2 left of this group buy; 3 asked."]),
        ("joined", "g", True, 2, ""),
        ("refused", "h", "closed", ["This group buy is closed."]),
        ("joined", "a", False, 3, "李阿姨"),
    ]
    assert orm_rows["offer"] == (10, 4, GroupBuyOffer.Status.CANCELLED)
    assert orm_rows["on_hand"] == 8
    assert [row[:4] for row in orm_rows["joins"]] == [
        ("a", members[0].pk, "李阿姨", 3),
        ("b", None, "王" * 60, 2),
        ("d", members[1].pk, "", 3),
        ("g", None, "", 2),
    ]
    assert [row[4:] for row in orm_rows["joins"]] == [
        (GroupBuyJoin.Source.API, GroupBuyJoin.Status.JOINED, now, "a"),
        (GroupBuyJoin.Source.API, GroupBuyJoin.Status.JOINED, now, "b"),
        (GroupBuyJoin.Source.JIELONG, GroupBuyJoin.Status.JOINED, now, "d"),
        (GroupBuyJoin.Source.PORTAL, GroupBuyJoin.Status.JOINED, now, "g"),
    ]
    assert orm_rows["orders"] == [
        (key, True, member, "group_buy", "pickup", "pending", "", total, Decimal("0.00"), now)
        for key, member, total in [
            ("a", members[0].pk, Decimal("59.70")),
            ("b", None, Decimal("39.80")),
            ("d", members[1].pk, Decimal("59.70")),
            ("g", None, Decimal("39.80")),
        ]
    ]
    assert orm_rows["lines"] == [
        (key, True, quantity, Decimal("19.90"), Decimal("0.00"), total)
        for key, quantity, total in [
            ("a", 3, Decimal("59.70")),
            ("b", 2, Decimal("39.80")),
            ("d", 3, Decimal("59.70")),
            ("g", 2, Decimal("39.80")),
        ]
    ]
    assert orm_rows["movements"] == [
        (key, True, "sale", -quantity, "", "", None, now)
        for key, quantity in [("a", 3), ("b", 2), ("d", 3), ("g", 2)]
    ]
    assert orm_rows["fulfilments"] == 0  # pickup codes open when the offer forms


@pytest.mark.django_db
def test_a_join_on_postgresql_is_one_statement():
    offer = _hot_offer(on_hand=20, cap=10)
    with CaptureQueriesContext(connection) as queries:
        result = group_buy_join(offer=offer, quantity=2, idempotency_key="one")
        retry = group_buy_join(offer=offer, quantity=2, idempotency_key="one")
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    # The join: one statement. The retry: the same statement (it finds the key, writes
    # nothing), then the existing join read back.
    assert [" ".join(sql.split()[:3]) for sql in statements] == [
        "WITH existing AS",
        "WITH existing AS",
        'SELECT "campaigns_groupbuyjoin"."id", "campaigns_groupbuyjoin"."offer_id",',
    ]
    assert (result.created, retry.created, retry.join.pk) == (True, False, result.join.pk)
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (2, 1)


@pytest.mark.django_db
def test_a_statement_the_offer_refuses_writes_nothing():
    offer = _hot_offer(on_hand=20, cap=3)
    stale = GroupBuyOffer.objects.select_related("broadcast__store", "product").get(pk=offer.pk)
    group_buy_join(offer=offer, quantity=3, idempotency_key="full")
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=stale, quantity=2, idempotency_key="late")
    assert refused.value.code == "sold_out"
    assert StockLevel.objects.get(store=offer.broadcast.store, product=offer.product).on_hand == 17
    assert (Order.objects.count(), StockMovement.objects.count(), GroupBuyJoin.objects.count()) == (
        1,
        1,
        1,
    )


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_statement_commits_alone_and_a_refusal_leaves_nothing():
    # No transaction around the join (as in the API): the statement is all or nothing itself.
    offer = _hot_offer(on_hand=4, cap=10)
    assert connection.in_atomic_block is False
    group_buy_join(offer=offer, quantity=3, idempotency_key="first")
    with pytest.raises(GroupBuyRefused) as short:
        group_buy_join(offer=offer, quantity=2, idempotency_key="short")
    GroupBuyOffer.objects.filter(pk=offer.pk).update(cap=4)
    with pytest.raises(GroupBuyRefused) as full:
        group_buy_join(offer=offer, quantity=1, idempotency_key="full", now=offer.deadline)
    assert (short.value.code, full.value.code) == ("insufficient_stock", "closed")
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (3, 1)
    assert StockLevel.objects.get(store=offer.broadcast.store, product=offer.product).on_hand == 1
    assert (Order.objects.count(), StockMovement.objects.count(), GroupBuyJoin.objects.count()) == (
        1,
        1,
        1,
    )
