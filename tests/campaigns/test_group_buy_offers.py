"""offer_create: the validation rules (all reported at once), each refusal writing nothing;
one open offer per product and broadcast; offer_withdraw."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
import time
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import override

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.campaigns.services.group_buys import (
    GroupBuyRefused,
    OfferWithdrawRefused,
    group_buy_join,
    offer_create,
    offer_withdraw,
)
from apps.stores.models import Order, StockLevel
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcast(store):
    return BroadcastFactory(store_campaign__store=store)


@pytest.fixture
def product(store):
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=1)
    return product


def _create(broadcast, product, by, **overrides):
    arguments = {
        "broadcast": broadcast,
        "product": product,
        "price": Decimal("19.90"),
        "threshold": 10,
        "cap": 10,
        "deadline": timezone.now() + dt.timedelta(hours=2),
        "by": by,
    }
    arguments.update(overrides)
    return offer_create(**arguments)


def test_an_offer_with_cap_equal_to_threshold_and_a_free_price_is_created(
    owner, broadcast, product
):
    offer = _create(broadcast, product, owner, price=Decimal("0.00"))
    assert (offer.status, offer.units_joined, offer.cap, offer.threshold) == ("open", 0, 10, 10)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": Decimal("-0.01")}, "price"),
        ({"threshold": 0}, "threshold"),
        ({"cap": 0}, "cap"),
        ({"cap": 9}, "cap"),
        ({"deadline": timezone.now() - dt.timedelta(seconds=1)}, "deadline"),
        # the fixture's broadcast is scheduled an hour from now
        ({"deadline": timezone.now() + dt.timedelta(minutes=30)}, "deadline"),
        ({"threshold_kind": "kilos"}, "threshold_kind"),
    ],
)
def test_invalid_offers_are_refused_naming_the_field(owner, broadcast, product, overrides, field):
    with pytest.raises(ValidationError) as refused:
        _create(broadcast, product, owner, **overrides)
    assert list(refused.value.message_dict) == [field]
    assert GroupBuyOffer.objects.count() == 0


def test_a_participant_threshold_may_exceed_the_cap(owner, broadcast, product):
    offer = _create(
        broadcast,
        product,
        owner,
        threshold=20,
        cap=10,
        threshold_kind=GroupBuyOffer.ThresholdKind.PARTICIPANTS,
    )
    assert offer.threshold_kind == "participants"


def test_a_product_out_of_stock_is_refused(owner, store, broadcast):
    empty = ProductFactory()
    StockLevelFactory(store=store, product=empty, on_hand=0)
    with pytest.raises(ValidationError) as refused:
        _create(broadcast, empty, owner)
    assert list(refused.value.message_dict) == ["product"]
    assert GroupBuyOffer.objects.count() == 0


def test_an_ended_broadcast_takes_no_offer(owner, broadcast, product):
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.Status.ENDED, started_at=timezone.now(), ended_at=timezone.now()
    )
    broadcast.refresh_from_db()
    with pytest.raises(ValidationError):
        _create(broadcast, product, owner)
    assert GroupBuyOffer.objects.count() == 0


def test_another_owner_may_not_open_an_offer(other_owner, broadcast, product):
    with pytest.raises(ValidationError):
        _create(broadcast, product, other_owner)
    assert GroupBuyOffer.objects.count() == 0


# --- one open offer per product and broadcast ----------------------------------------------


def test_a_second_open_offer_of_the_same_product_is_refused(owner, broadcast, product):
    first = _create(broadcast, product, owner)
    # The refusal is worded in the language of the request: Chinese here, whatever an
    # earlier test left active.
    with override("zh-hans"), pytest.raises(ValidationError) as refused:
        _create(broadcast, product, owner, price=Decimal("9.90"))
    assert list(refused.value.message_dict) == ["product"]
    assert refused.value.message_dict["product"] == [
        f"本场直播已有进行中的{product.name}团购，接龙会记到那一个团购里。如需重新开团，请先撤下它。"
    ]
    assert list(GroupBuyOffer.objects.values_list("pk", flat=True)) == [first.pk]


def test_the_database_refuses_a_second_open_offer_of_a_product_in_a_broadcast(broadcast, product):
    GroupBuyOfferFactory(broadcast=broadcast, product=product)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupBuyOfferFactory(broadcast=broadcast, product=product)
    assert GroupBuyOffer.objects.count() == 1


def test_a_settled_or_withdrawn_offer_leaves_room_for_a_new_one(owner, store, broadcast, product):
    settled = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, status="failed", settled_at=timezone.now()
    )
    withdrawn = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, status="cancelled", settled_at=timezone.now()
    )
    offer = _create(broadcast, product, owner)
    other_broadcast = BroadcastFactory(store_campaign__store=store)
    elsewhere = _create(other_broadcast, product, owner)
    assert {settled.pk, withdrawn.pk, offer.pk, elsewhere.pk} == set(
        GroupBuyOffer.objects.values_list("pk", flat=True)
    )


def test_every_problem_is_reported_at_once(owner, broadcast, product):
    with pytest.raises(ValidationError) as refused:
        _create(
            broadcast,
            product,
            owner,
            price=Decimal("-1"),
            threshold=20,
            cap=5,
            deadline=timezone.now() - dt.timedelta(hours=1),
        )
    assert sorted(refused.value.message_dict) == ["cap", "deadline", "price"]
    assert GroupBuyOffer.objects.count() == 0


# --- withdrawing an offer ------------------------------------------------------------------


def test_the_owner_withdraws_an_offer_nobody_joined(owner, broadcast, product, caplog):
    offer = _create(broadcast, product, owner)
    with caplog.at_level(logging.INFO, logger="apps.campaigns.services.group_buys"):
        offer_withdraw(offer=offer, by=owner)
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.CANCELLED
    assert offer.settled_at is not None
    assert f"group-buy offer {offer.pk} (broadcast {broadcast.pk}) withdrawn by {owner.pk}" in (
        caplog.text
    )
    # The product may be offered again.
    again = _create(broadcast, product, owner)
    assert again.status == GroupBuyOffer.Status.OPEN


def test_an_offer_with_a_join_is_not_withdrawn(owner, store, broadcast, product):
    StockLevel.objects.filter(store=store, product=product).update(on_hand=5)
    offer = _create(broadcast, product, owner)
    group_buy_join(offer=offer, quantity=1, idempotency_key="k1", display_name="李阿姨")
    with pytest.raises(OfferWithdrawRefused) as refused:
        offer_withdraw(offer=offer, by=owner)
    assert refused.value.code == "has_joins"
    offer.refresh_from_db()
    assert (offer.status, offer.units_joined, offer.settled_at) == ("open", 1, None)


def test_a_withdrawn_offer_takes_no_join_and_nothing_is_written(owner, store, broadcast, product):
    offer = _create(broadcast, product, owner)
    offer_withdraw(offer=offer, by=owner)
    with pytest.raises(GroupBuyRefused) as refused:
        group_buy_join(offer=offer, quantity=1, idempotency_key="k1", display_name="李阿姨")
    assert refused.value.code == "closed"
    assert GroupBuyJoin.objects.count() == 0
    assert Order.objects.count() == 0
    assert StockLevel.objects.get(store=store, product=product).on_hand == 1


def test_withdrawing_twice_or_a_settled_offer_is_refused(owner, broadcast, product):
    offer = _create(broadcast, product, owner)
    offer_withdraw(offer=offer, by=owner)
    with pytest.raises(OfferWithdrawRefused) as refused:
        offer_withdraw(offer=offer, by=owner)
    assert refused.value.code == "not_open"


def test_another_owner_may_not_withdraw(owner, other_owner, broadcast, product):
    offer = _create(broadcast, product, owner)
    with pytest.raises(PermissionDenied):
        offer_withdraw(offer=offer, by=other_owner)
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.OPEN


def _a_session_waits_for_a_lock(timeout: float = 20.0) -> bool:
    """Whether another session of this test database is (or, within `timeout`, comes to be)
    waiting for a lock held by an open transaction (tests/procurement/test_consolidation_race)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_join_in_flight_wins_over_a_withdrawal(owner, store, broadcast, product):
    """The join has updated the offer row and not committed yet; the withdrawal's conditional
    UPDATE waits for it, then finds a unit joined and refuses: the join is kept."""
    offer = _create(broadcast, product, owner)
    outcome: list[object] = []

    def withdraw() -> None:
        try:
            offer_withdraw(offer=GroupBuyOffer.objects.get(pk=offer.pk), by=owner)
            outcome.append("withdrawn")
        except OfferWithdrawRefused as refusal:
            outcome.append(refusal.code)
        finally:
            connection.close()

    with transaction.atomic():
        group_buy_join(offer=offer, quantity=1, idempotency_key="k1", display_name="李阿姨")
        thread = threading.Thread(target=withdraw)
        thread.start()
        assert _a_session_waits_for_a_lock()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert outcome == ["has_joins"]
    offer.refresh_from_db()
    assert (offer.status, offer.units_joined, offer.participants) == ("open", 1, 1)
    assert GroupBuyJoin.objects.filter(offer=offer).count() == 1


# --- the migration that brings the constraint -----------------------------------------------


def _migration():
    return importlib.import_module("apps.campaigns.migrations.0013_offer_one_open_per_product")


def _without_the_constraint() -> None:
    """Drop the constraint inside the test's transaction (rolled back with it), to write the
    duplicates a database migrated before it may hold."""
    constraint = next(
        item
        for item in GroupBuyOffer._meta.constraints
        if item.name == "offer_one_open_per_product"
    )
    with connection.schema_editor() as editor:
        editor.remove_constraint(GroupBuyOffer, constraint)


def test_the_migration_withdraws_the_duplicates_nobody_joined(broadcast, product):
    _without_the_constraint()
    older = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    joined = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, units_joined=2, participants=1
    )
    other = GroupBuyOfferFactory(broadcast=broadcast)
    first, second = (
        GroupBuyOfferFactory(broadcast=BroadcastFactory(), product=product) for _ in "ab"
    )
    # Both unjoined: the older one stays.
    GroupBuyOffer.objects.filter(pk=second.pk).update(broadcast=first.broadcast)

    _migration().duplicate_open_offers_withdraw(django_apps, None)

    statuses = dict(GroupBuyOffer.objects.values_list("pk", "status"))
    assert statuses == {
        older.pk: "cancelled",
        joined.pk: "open",
        other.pk: "open",
        first.pk: "open",
        second.pk: "cancelled",
    }
    assert GroupBuyOffer.objects.filter(status="cancelled", settled_at__isnull=True).count() == 0


def test_the_migration_stops_on_two_joined_duplicates(broadcast, product):
    _without_the_constraint()
    offers = [
        GroupBuyOfferFactory(broadcast=broadcast, product=product, units_joined=1, participants=1)
        for _ in range(2)
    ]
    with pytest.raises(RuntimeError, match=str(offers[0].pk)):
        _migration().duplicate_open_offers_withdraw(django_apps, None)
    assert set(GroupBuyOffer.objects.values_list("status", flat=True)) == {"open"}


def test_an_offers_name_calls_its_cap_a_cap_not_a_quantity(broadcast):
    offer = GroupBuyOfferFactory(
        broadcast=broadcast, product=ProductFactory(name="低糖蓝莓"), cap=10
    )

    with override("zh-hans"):
        assert str(offer) == "低糖蓝莓 · 上限 10"
    with override("en"):
        assert str(offer) == "低糖蓝莓 · cap 10"
