"""offer_create: the validation rules, each refusal writing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.campaigns.models import Broadcast, GroupBuyOffer
from apps.campaigns.services.group_buys import offer_create
from tests.campaigns.factories import BroadcastFactory
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
