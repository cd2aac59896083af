"""Factories for campaigns' tables (found by the admin smoke tests too)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from apps.campaigns.models import (
    Broadcast,
    BroadcastComment,
    Campaign,
    CampaignProduct,
    CampaignTarget,
    GroupBuyJoin,
    GroupBuyOffer,
    Promotion,
    ScenarioTemplate,
    StoreCampaign,
    TrackingEvent,
)
from tests.factories import MemberFactory, ProductFactory, StoreFactory


class PromotionFactory(factory.django.DjangoModelFactory):
    """A network-wide price promotion of one product for a week (from 1 June 2026 unless
    `starts_on` is given)."""

    class Meta:
        model = Promotion

    name = factory.Sequence(lambda n: f"夏季水果季 {n}")
    kind = Promotion.Kind.PRICE
    product = factory.SubFactory(ProductFactory)
    category = None
    starts_on = dt.date(2026, 6, 1)
    ends_on = factory.LazyAttribute(lambda promotion: promotion.starts_on + dt.timedelta(days=6))
    discount_percent = 20


class ScenarioTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScenarioTemplate
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"summer-fruit-{n}")
    name = factory.Sequence(lambda n: f"夏季水果季 {n}")
    suggested_hour = 20
    duration_days = 3
    live_script_template = "{{ store.name }}：今晚{{ hour }}点直播"
    warmup_copy_template = "今晚{{ hour }}点，{{ store.name }}直播见！"
    jielong_copy_template = "#接龙 {{ campaign.name }}"
    poster_headline_template = "{{ campaign.name }}"


class CampaignFactory(factory.django.DjangoModelFactory):
    """An HQ campaign over three days from 1 July 2026."""

    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"夏季水果季 第{n}期")
    template = factory.SubFactory(ScenarioTemplateFactory)
    origin = Campaign.Origin.HQ
    starts_on = dt.date(2026, 7, 1)
    ends_on = factory.LazyAttribute(lambda campaign: campaign.starts_on + dt.timedelta(days=2))
    broadcast_hour = 20
    discount_percent = 15


class CampaignProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignProduct

    campaign = factory.SubFactory(CampaignFactory)
    product = factory.SubFactory(ProductFactory)
    suggested_stock = 40


class StoreCampaignFactory(factory.django.DjangoModelFactory):
    """A draft store campaign (pass `status=StoreCampaign.Status.CONFIRMED` and
    `confirmed_at` for a confirmed one)."""

    class Meta:
        model = StoreCampaign

    campaign = factory.SubFactory(CampaignFactory)
    store = factory.SubFactory(StoreFactory)


class CampaignTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignTarget

    store_campaign = factory.SubFactory(StoreCampaignFactory)
    member = factory.SubFactory(MemberFactory)


class BroadcastFactory(factory.django.DjangoModelFactory):
    """A scheduled broadcast of a confirmed store campaign."""

    class Meta:
        model = Broadcast

    store_campaign = factory.SubFactory(
        StoreCampaignFactory,
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=factory.LazyFunction(timezone.now),
    )
    store = factory.LazyAttribute(lambda broadcast: broadcast.store_campaign.store)
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=1))


class GroupBuyOfferFactory(factory.django.DjangoModelFactory):
    """An open offer: forms at 10 units, at most 40, closing in a day."""

    class Meta:
        model = GroupBuyOffer

    broadcast = factory.SubFactory(BroadcastFactory)
    product = factory.SubFactory(ProductFactory)
    price = Decimal("19.90")
    threshold = 10
    cap = 40
    deadline = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))


class GroupBuyJoinFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupBuyJoin

    offer = factory.SubFactory(GroupBuyOfferFactory)
    member = factory.SubFactory(MemberFactory)
    display_name = "李阿姨"
    quantity = 2
    source = GroupBuyJoin.Source.API
    idempotency_key = factory.Sequence(lambda n: f"join-{n}")


class BroadcastCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BroadcastComment

    broadcast = factory.SubFactory(BroadcastFactory)
    author = "王先生"
    text = "蓝莓甜不甜？"


class TrackingEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackingEvent

    event_id = factory.Sequence(lambda n: f"evt-{n}")
    store_campaign = factory.SubFactory(StoreCampaignFactory)
    kind = TrackingEvent.Kind.EXPOSURE
    occurred_at = factory.LazyFunction(timezone.now)
