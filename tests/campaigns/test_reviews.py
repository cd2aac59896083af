from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.campaigns.models import (
    GroupBuyJoin,
    GroupBuyOffer,
    StoreCampaign,
    TrackingEvent,
)
from apps.campaigns.selectors.reviews import (
    Figures,
    campaign_funnel,
    campaign_review,
    store_campaign_funnel,
    template_funnel,
)
from apps.campaigns.sources import review_sources
from apps.stores.models import Order
from tests.campaigns.factories import (
    BroadcastFactory,
    CampaignFactory,
    GroupBuyOfferFactory,
    ScenarioTemplateFactory,
    StoreCampaignFactory,
    TrackingEventFactory,
)
from tests.campaigns.review_data import SHANGHAI, at, group_buy_order, order_for
from tests.factories import MemberFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

JULY_1 = dt.date(2026, 7, 1)


def confirmed(campaign, store):
    return StoreCampaignFactory(
        campaign=campaign,
        store=store,
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )


def offer(store_campaign, product, status, price="19.90"):
    broadcast = getattr(store_campaign, "broadcast", None) or BroadcastFactory(
        store_campaign=store_campaign, store=store_campaign.store
    )
    settled = None if status == GroupBuyOffer.Status.OPEN else at(store_campaign.campaign.ends_on)
    return GroupBuyOfferFactory(
        broadcast=broadcast, product=product, status=status, settled_at=settled, price=price
    )


def events(store_campaign, kind, members, day):
    for member in members:
        TrackingEventFactory(
            store_campaign=store_campaign, kind=kind, member=member, occurred_at=at(day)
        )


@pytest.fixture
def planted(store, other_store):
    """The July campaign at two stores, a June campaign of the same template at the first."""
    template = ScenarioTemplateFactory()
    campaign = CampaignFactory(template=template, starts_on=JULY_1, name="夏季水果季 七月")
    blueberries = ProductFactory(sku="FRU-0001", name="云南蓝莓")
    milk = ProductFactory(sku="DAI-0002", name="鲜牛奶")
    m1, m2, m3, m4 = MemberFactory.create_batch(4)
    sc_a = confirmed(campaign, store)
    sc_b = confirmed(campaign, other_store)
    o1 = offer(sc_a, blueberries, GroupBuyOffer.Status.FORMED)
    o2 = offer(sc_a, milk, GroupBuyOffer.Status.FAILED, price="6.50")
    o3 = offer(sc_b, blueberries, GroupBuyOffer.Status.FORMED)
    offer(sc_b, milk, GroupBuyOffer.Status.OPEN)
    # m1 is an old customer of the first store who buys again a week after the campaign.
    order_for(store, member=m1, lines=[(milk, 1, "6.50")], placed_at=at(dt.date(2026, 5, 1)))
    group_buy_order(o1, member=m1, quantity=2, placed_at=at(JULY_1))
    order_for(store, member=m1, lines=[(milk, 1, "6.50")], placed_at=at(dt.date(2026, 7, 10)))
    # m2 is new: the campaign brings them.
    group_buy_order(o1, member=m2, quantity=3, placed_at=at(JULY_1, 21))
    # m3 is new at the second store and comes back too late to count as a repeat buyer.
    group_buy_order(o3, member=m3, quantity=1, placed_at=at(dt.date(2026, 7, 2)))
    order_for(other_store, member=m3, lines=[(milk, 1, "6.50")], placed_at=at(dt.date(2026, 8, 20)))
    # An anonymous 接龙 line at the second store.
    group_buy_order(o3, member=None, quantity=4, placed_at=at(dt.date(2026, 7, 2)))
    # m4 buys at the till (an order event names it), cancels a group buy, returns on 5 July.
    till = order_for(
        store,
        member=m4,
        lines=[(milk, 4, "6.50"), (blueberries, 1, "19.90")],
        placed_at=at(dt.date(2026, 7, 2)),
    )
    group_buy_order(o2, member=m4, quantity=5, placed_at=at(JULY_1), status=Order.Status.CANCELLED)
    # As settlement leaves a join of an offer that did not form.
    GroupBuyJoin.objects.filter(offer=o2).update(status=GroupBuyJoin.Status.CANCELLED)
    order_for(store, member=m4, lines=[(milk, 1, "6.50")], placed_at=at(dt.date(2026, 7, 5)))
    events(sc_a, TrackingEvent.Kind.EXPOSURE, [m1, m2, m2, None, m4], JULY_1)
    events(sc_a, TrackingEvent.Kind.CLICK, [m1, m2, m4], JULY_1)
    TrackingEventFactory(
        store_campaign=sc_a,
        kind=TrackingEvent.Kind.ORDER,
        member=m4,
        order=till,
        occurred_at=at(dt.date(2026, 7, 2)),
    )
    events(sc_b, TrackingEvent.Kind.EXPOSURE, [m3, m1, None], JULY_1)
    events(sc_b, TrackingEvent.Kind.CLICK, [m3], JULY_1)
    # The June campaign of the same template at the first store: one formed offer, m2 browses.
    june = CampaignFactory(template=template, starts_on=dt.date(2026, 6, 1), name="夏季水果季 六月")
    sc_june = confirmed(june, store)
    o_june = offer(sc_june, blueberries, GroupBuyOffer.Status.FORMED)
    m5 = MemberFactory()
    group_buy_order(o_june, member=m5, quantity=6, placed_at=at(dt.date(2026, 6, 2)))
    events(sc_june, TrackingEvent.Kind.EXPOSURE, [m5, m2], dt.date(2026, 6, 1))
    events(sc_june, TrackingEvent.Kind.CLICK, [m5], dt.date(2026, 6, 1))
    # A later campaign of the template and a cancelled earlier one are not "past campaigns".
    CampaignFactory(template=template, starts_on=dt.date(2026, 8, 1))
    CampaignFactory(template=template, starts_on=dt.date(2026, 5, 1), status="cancelled")
    return {
        "campaign": campaign,
        "june": june,
        "template": template,
        "sc_a": sc_a,
        "sc_b": sc_b,
        "blueberries": blueberries,
        "milk": milk,
    }


def reference(campaign, store_ids=None, repeat_days=30) -> Figures:
    """The review figures the slow, obvious way: Python loops over model instances."""
    start = dt.datetime.combine(campaign.starts_on, dt.time(), tzinfo=SHANGHAI)
    end = dt.datetime.combine(campaign.ends_on + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    scs = [
        sc
        for sc in StoreCampaign.objects.filter(campaign=campaign)
        if store_ids is None or sc.store_id in store_ids
    ]
    sc_ids = {sc.pk for sc in scs}
    evts = [e for e in TrackingEvent.objects.all() if e.store_campaign_id in sc_ids]

    def step(kind):
        chosen = [e for e in evts if e.kind == kind]
        return len(chosen), len({e.member_id for e in chosen if e.member_id})

    exposures, exposure_members = step("exposure")
    clicks, click_members = step("click")
    orders_, order_members = step("order")
    void = {"cancelled", "refunded"}
    campaign_orders = {
        join.order
        for join in GroupBuyJoin.objects.all()
        if join.order and join.offer.broadcast.store_campaign_id in sc_ids
    } | {e.order for e in evts if e.kind == "order" and e.order}
    campaign_orders = {order for order in campaign_orders if order.status not in void}
    every_order = [order for order in Order.objects.all() if order.status not in void]
    gained, repeat = set(), set()
    for order in campaign_orders:
        if order.member_id is None:
            continue
        mine = [
            o
            for o in every_order
            if o.store_id == order.store_id and o.member_id == order.member_id
        ]
        if min(o.placed_at for o in mine) >= start:
            gained.add(order.member_id)
        if any(
            o not in campaign_orders and end <= o.placed_at < end + dt.timedelta(days=repeat_days)
            for o in mine
        ):
            repeat.add(order.member_id)
    offers = [o for o in GroupBuyOffer.objects.all() if o.broadcast.store_campaign_id in sc_ids]
    reached = [
        o
        for o in offers
        if o.status == "formed"
        or (
            o.status == "open"
            and (o.units_joined if o.threshold_kind == "units" else o.participants) >= o.threshold
        )
    ]
    joins = [
        join
        for join in GroupBuyJoin.objects.all()
        if join.offer in offers and join.status != "cancelled"
    ]
    from apps.campaigns.selectors.reviews import Funnel

    return Figures(
        funnel=Funnel(exposures, clicks, orders_, exposure_members, click_members, order_members),
        order_count=len(campaign_orders),
        joined_value=sum((j.offer.price * j.quantity for j in joins), Decimal("0.00")),
        joined_value_reached=sum(
            (j.offer.price * j.quantity for j in joins if j.offer in reached), Decimal("0.00")
        ),
        units=sum(line.quantity for o in campaign_orders for line in o.lines.all()),
        buyers=len({o.member_id for o in campaign_orders if o.member_id}),
        offers=len(offers),
        offers_reached=len(reached),
        offers_formed=sum(1 for o in offers if o.status == "formed"),
        offers_settled=sum(1 for o in offers if o.status in {"formed", "failed"}),
        members_gained=len(gained),
        repeat_buyers=len(repeat),
        order_value=sum((o.total for o in campaign_orders), Decimal("0.00")),
        units_short=sum(
            line.purchase_source.short_quantity
            for o in campaign_orders
            for line in o.lines.all()
            if hasattr(line, "purchase_source")
        ),
        refunded_value=sum(
            (
                case.amount
                for o in campaign_orders
                for case in o.after_sales_cases.all()
                if case.status in {"approved", "resolved"} and case.remedy == "refund"
            ),
            Decimal("0.00"),
        ),
    )


def test_review_totals_equal_the_reference_computation(planted):
    review = campaign_review(sources=review_sources(), campaign=planted["campaign"])
    assert review.totals == reference(planted["campaign"])
    # …and the planted story, by hand: 2+3 blueberries at A, the till order, 1+4 at B.
    assert review.totals.order_count == 5
    # Joined value: the joins not cancelled (2+3 at A, 1+4 at B), not the till order.
    assert review.totals.joined_value == Decimal("19.90") * 10
    assert review.totals.joined_value_reached == Decimal("19.90") * 10
    assert review.totals.units == 15
    assert review.totals.buyers == 4
    assert review.totals.members_gained == 3  # m2, m3, m4 (m1 bought in May)
    assert review.totals.repeat_buyers == 2  # m1 on 10 July, m4 on 5 July
    assert review.totals.offers == 4
    assert review.totals.offers_reached == 2
    assert review.totals.offers_formed == 2
    assert review.totals.offers_settled == 3
    assert review.totals.formed_rate == pytest.approx(2 / 3)
    assert review.totals.funnel.exposures == 8
    assert review.totals.funnel.exposure_members == 4  # m1 at both stores counts once
    assert review.totals.funnel.conversion_rate == pytest.approx(1 / 8)


def test_per_store_rows_equal_the_reference_per_store(planted, store, other_store):
    review = campaign_review(sources=review_sources(), campaign=planted["campaign"])
    rows = {row.store_id: row for row in review.stores}
    assert set(rows) == {store.pk, other_store.pk}
    assert rows[store.pk].figures == reference(planted["campaign"], {store.pk})
    assert rows[other_store.pk].figures == reference(planted["campaign"], {other_store.pk})
    assert rows[store.pk].figures.members_gained == 2
    assert rows[other_store.pk].figures.repeat_buyers == 0


def test_review_scoped_to_a_store_counts_only_that_store(planted, store):
    review = campaign_review(sources=review_sources(), campaign=planted["campaign"], stores=[store])
    assert review.scoped is True
    assert [row.store_id for row in review.stores] == [store.pk]
    assert review.totals == reference(planted["campaign"], {store.pk})
    assert review.comparison.campaigns[0].figures == reference(planted["june"], {store.pk})


def test_top_products_rank_by_joined_value(planted):
    """The offers' products by joined value; milk's only join was cancelled with its offer."""
    review = campaign_review(sources=review_sources(), campaign=planted["campaign"])
    assert [(p.sku, p.name, p.units, p.joined_value) for p in review.top_products] == [
        ("FRU-0001", "云南蓝莓", 10, Decimal("199.00")),
    ]


def test_comparison_averages_the_templates_past_campaigns(planted):
    june = planted["june"]
    may = CampaignFactory(template=planted["template"], starts_on=dt.date(2026, 5, 10))
    review = campaign_review(sources=review_sources(), campaign=planted["campaign"])
    comparison = review.comparison
    assert [item.campaign_id for item in comparison.campaigns] == [june.pk, may.pk]
    june_ref, may_ref = reference(june), reference(may)
    assert comparison.campaigns[0].figures == june_ref
    assert comparison.campaigns[1].figures == may_ref
    assert june_ref.joined_value == Decimal("119.40")
    assert comparison.joined_value == Decimal("59.70")
    assert comparison.order_count == 0.5
    assert comparison.exposures == 1.0
    assert comparison.units == 3.0
    assert comparison.formed_rate == 1.0  # the May campaign has no settled offer
    assert comparison.conversion_rate == 0.0  # June: no order events; May: no exposures
    assert comparison.members_gained == 0.5


def test_review_without_past_campaigns_has_an_empty_comparison(store):
    campaign = CampaignFactory(template=None)
    confirmed(campaign, store)
    review = campaign_review(sources=review_sources(), campaign=campaign)
    assert review.comparison.campaigns == []
    assert review.comparison.joined_value is None
    assert review.totals == Figures()
    assert review.top_products == []


def test_funnels_per_store_campaign_campaign_and_template(planted):
    sc_a = planted["sc_a"]
    assert (
        store_campaign_funnel(store_campaign=sc_a)
        == reference(planted["campaign"], {sc_a.store_id}).funnel
    )
    assert campaign_funnel(campaign=planted["campaign"]) == reference(planted["campaign"]).funnel
    template = template_funnel(template=planted["template"])
    assert (template.exposures, template.clicks, template.orders) == (10, 5, 1)
    assert template.exposure_members == 5  # m1, m2, m3, m4, m5


def test_review_query_count_does_not_grow_with_stores_orders_or_past_campaigns(planted):
    with CaptureQueriesContext(connection) as small:
        campaign_review(sources=review_sources(), campaign=planted["campaign"])
    product = planted["blueberries"]
    for n in range(3):
        extra = confirmed(planted["campaign"], StoreFactory())
        extra_offer = offer(extra, product, GroupBuyOffer.Status.FORMED)
        for _ in range(3):
            group_buy_order(extra_offer, member=MemberFactory(), quantity=1, placed_at=at(JULY_1))
        events(extra, TrackingEvent.Kind.EXPOSURE, [None, None], JULY_1)
        past = CampaignFactory(
            template=planted["template"], starts_on=dt.date(2026, 3, 1) + dt.timedelta(days=7 * n)
        )
        confirmed(past, extra.store)
    with CaptureQueriesContext(connection) as large:
        review = campaign_review(sources=review_sources(), campaign=planted["campaign"])
    assert len(review.stores) == 5
    assert len(review.comparison.campaigns) == 4
    assert len(large) == len(small)


def test_the_review_reads_the_live_dashboards_joined_value_and_threshold_reached(store):
    """One definition: the review's joined value, its part at threshold and the offers at
    threshold are the live dashboard's for the same offers — an open offer at its threshold is
    at threshold but not formed, an open one below it is joined value only, a failed offer's
    cancelled joins count nowhere, nor does an order refunded after its offer formed."""
    from apps.campaigns.selectors.live import broadcast_snapshot

    campaign = CampaignFactory(template=None, starts_on=JULY_1)
    store_campaign = confirmed(campaign, store)
    formed = offer(store_campaign, ProductFactory(), GroupBuyOffer.Status.FORMED)
    at_threshold = offer(store_campaign, ProductFactory(), GroupBuyOffer.Status.OPEN, "5.00")
    below = offer(store_campaign, ProductFactory(), GroupBuyOffer.Status.OPEN, "3.00")
    failed = offer(store_campaign, ProductFactory(), GroupBuyOffer.Status.FAILED, "8.00")
    for item, quantity in ((formed, 10), (at_threshold, 10), (below, 4), (failed, 2)):
        status = "cancelled" if item is failed else "completed"
        group_buy_order(
            item, member=MemberFactory(), quantity=quantity, placed_at=at(JULY_1), status=status
        )
        GroupBuyOffer.objects.filter(pk=item.pk).update(units_joined=quantity, participants=1)
    GroupBuyJoin.objects.filter(offer=at_threshold).update(status=GroupBuyJoin.Status.JOINED)
    GroupBuyJoin.objects.filter(offer=below).update(status=GroupBuyJoin.Status.JOINED)
    GroupBuyJoin.objects.filter(offer=failed).update(status=GroupBuyJoin.Status.CANCELLED)
    refunded = offer(store_campaign, ProductFactory(), GroupBuyOffer.Status.FORMED, "7.00")
    group_buy_order(
        refunded, member=MemberFactory(), quantity=1, placed_at=at(JULY_1), status="refunded"
    )

    totals = campaign_review(sources=review_sources(), campaign=campaign).totals
    live = broadcast_snapshot(broadcast=store_campaign.broadcast)

    assert totals.joined_value == Decimal("199.00") + Decimal("50.00") + Decimal("12.00")
    assert totals.joined_value_reached == Decimal("249.00")
    assert str(totals.joined_value) == live["joined_value"]
    assert str(totals.joined_value_reached) == live["joined_value_reached"]
    assert totals.offers == 5
    assert totals.offers_reached == sum(row["reached"] for row in live["offers"]) == 3
    assert totals.offers_formed == 2
    assert totals.offers_settled == 3
    assert totals.formed_rate == pytest.approx(2 / 3)
    assert totals.order_count == 3
