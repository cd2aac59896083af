"""The demo's live history (apps/ops/demo/live.py) leaves what the join service and settlement
would have: every join has its group-buy order, completed for a formed offer and cancelled for
one that did not form, so a past campaign's review shows its orders and joined value; the completed
orders' units are in the stock ledger's monthly sales postings; and each store campaign has the
tracking events the mini-program would have sent, so the review's funnel ends in its orders."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.campaigns.models import GroupBuyJoin, StoreCampaign, TrackingEvent
from apps.campaigns.selectors.reviews import campaign_review
from apps.campaigns.sources import review_sources
from apps.stores.models import Order, OrderLine, StockMovement, Store

pytestmark = pytest.mark.django_db

END_DAY = dt.date(2026, 7, 31)  # a summer history: 夏季水果季 sells blueberries


@pytest.fixture
def demo() -> None:
    call_command(
        "seed_demo",
        *("--stores", "3", "--members", "200", "--days", "14"),
        *("--end-day", END_DAY.isoformat(), "--seed", "2026"),
        "--no-compute",
        stdout=StringIO(),
    )


def test_a_past_campaign_review_counts_the_orders_and_revenue_of_its_formed_joins(client, demo):
    store = Store.objects.get(code="HZ0001")
    past = StoreCampaign.objects.filter(store=store, broadcast__status="ended").select_related(
        "campaign"
    )
    assert past.count() >= 2
    reviewed_orders = 0
    for store_campaign in past:
        formed = GroupBuyJoin.objects.filter(
            offer__broadcast__store_campaign=store_campaign, offer__status="formed"
        ).select_related("offer")
        expected_value = sum((join.offer.price * join.quantity for join in formed), Decimal("0.00"))

        review = campaign_review(
            sources=review_sources(), campaign=store_campaign.campaign, stores=[store]
        )

        assert review.totals.order_count == formed.count()
        assert review.totals.joined_value == expected_value
        assert review.totals.units == sum(join.quantity for join in formed)
        reviewed_orders += review.totals.order_count
    assert reviewed_orders > 0

    # The walkthrough's page: the owner's review of a past campaign with formed offers.
    store_campaign = next(
        sc
        for sc in past
        if GroupBuyJoin.objects.filter(
            offer__broadcast__store_campaign=sc, offer__status="formed"
        ).exists()
    )
    client.force_login(get_user_model().objects.get(username="owner"))
    response = client.get(f"/portal/campaigns/reviews/{store_campaign.pk}/")
    assert response.status_code == 200
    totals = response.context["review"].totals
    assert totals.order_count > 0
    assert totals.joined_value > 0


def test_every_join_has_the_order_settlement_leaves_and_the_ledger_posts_its_units(demo):
    # The history's joins (yesterday's pre-order's, still to be picked up, are
    # tests/campaigns/test_demo_presale.py's).
    joins = (
        GroupBuyJoin.objects.filter(offer__presale=False)
        .select_related("offer__broadcast", "order")
        .order_by("pk")
    )
    assert joins.filter(status="confirmed").exists()
    assert joins.filter(status="cancelled").exists()
    join_lines = OrderLine.objects.filter(
        order__group_buy_join__isnull=False, order__group_buy_join__offer__presale=False
    )
    lines = {line.order_id: line for line in join_lines}
    for join in joins:
        order = join.order
        assert order is not None
        expected_status = "completed" if join.offer.status == "formed" else "cancelled"
        assert (order.status, join.status) == (
            expected_status,
            "confirmed" if join.offer.status == "formed" else "cancelled",
        )
        assert (order.store_id, order.member_id) == (join.offer.broadcast.store_id, join.member_id)
        assert (order.channel, order.fulfilment) == ("group_buy", "pickup")
        assert order.placed_at == join.created_at
        assert order.total == join.offer.price * join.quantity
        line = lines[order.pk]
        assert (line.product_id, line.quantity, line.unit_price, line.line_total) == (
            join.offer.product_id,
            join.quantity,
            join.offer.price,
            order.total,
        )
    assert join_lines.count() == joins.count()

    # The monthly sales postings hold the history's counted units, the join orders' included.
    sold: Counter[tuple[int, int]] = Counter()
    history = OrderLine.objects.filter(order__status="completed").exclude(
        order__idempotency_key__startswith="demo-supply-"
    )
    for store_id, product_id, quantity in history.values_list(
        "order__store_id", "product_id", "quantity"
    ):
        sold[(store_id, product_id)] += quantity
    posted: Counter[tuple[int, int]] = Counter()
    for store_id, product_id, quantity in StockMovement.objects.filter(kind="sale").values_list(
        "store_id", "product_id", "quantity"
    ):
        posted[(store_id, product_id)] -= quantity
    assert posted == sold
    assert Order.objects.filter(group_buy_join__isnull=False, status="completed").exists()


def test_a_past_campaign_review_shows_a_funnel_that_ends_in_its_orders(client, demo):
    """One order event per join order (cancelled ones too: the mini-program sends it when the
    member orders, before settlement), each join clicked first, every clicker exposed: the
    funnel narrows step by step, its last step is the campaign's orders, and the review's order
    count the completed ones among them."""
    store = Store.objects.get(code="HZ0001")
    # The history's campaigns (from templates): yesterday's pre-order (no template) has no
    # tracking events.
    past = StoreCampaign.objects.filter(
        store=store,
        broadcast__status="ended",
        campaign__ends_on__lte=END_DAY,
        campaign__template__isnull=False,
    ).select_related("campaign")
    assert past.count() >= 2
    order_events = 0
    for store_campaign in past:
        orders = Order.objects.filter(
            group_buy_join__offer__broadcast__store_campaign=store_campaign
        )
        members = {
            kind: set(
                TrackingEvent.objects.filter(store_campaign=store_campaign, kind=kind)
                .exclude(member=None)
                .values_list("member_id", flat=True)
            )
            for kind in ("exposure", "click", "order")
        }

        review = campaign_review(
            sources=review_sources(), campaign=store_campaign.campaign, stores=[store]
        )

        funnel = review.totals.funnel
        assert funnel.orders == orders.count()
        assert funnel.order_members == orders.values("member").distinct().count()
        assert review.totals.order_count == orders.filter(status="completed").count()
        assert funnel.exposures > funnel.clicks >= funnel.orders
        assert members["order"] <= members["click"] <= members["exposure"]
        assert funnel.exposure_members >= funnel.click_members >= funnel.order_members
        order_events += funnel.orders
    assert order_events > 0
    # Every order event names its join's order, member and product, at the moment it was placed
    # (the history's joins: yesterday's pre-order has no tracking events).
    events = TrackingEvent.objects.filter(kind="order")
    assert sorted(
        events.values_list("order_id", "member_id", "product_id", "occurred_at")
    ) == sorted(
        GroupBuyJoin.objects.filter(offer__presale=False).values_list(
            "order_id", "member_id", "offer__product_id", "created_at"
        )
    )
    assert not TrackingEvent.objects.filter(kind="order", order=None).exists()
    assert not TrackingEvent.objects.exclude(kind="order").exclude(order=None).exists()

    # The owner's page and HQ's: the funnel's bars are drawn, its last one the orders.
    store_campaign = next(
        sc
        for sc in past
        if Order.objects.filter(group_buy_join__offer__broadcast__store_campaign=sc).exists()
    )
    client.force_login(get_user_model().objects.get(username="owner"))
    owner_page = client.get(f"/portal/campaigns/reviews/{store_campaign.pk}/")
    client.force_login(get_user_model().objects.get(username="hq"))
    hq_page = client.get(f"/portal/campaigns/campaign-reviews/{store_campaign.campaign_id}/")
    for response, orders in (
        (
            owner_page,
            Order.objects.filter(group_buy_join__offer__broadcast__store_campaign=store_campaign),
        ),
        (
            hq_page,
            Order.objects.filter(
                group_buy_join__offer__broadcast__store_campaign__campaign=store_campaign.campaign
            ),
        ),
    ):
        assert response.status_code == 200
        bars = [bar["count"] for bar in response.context["funnel_bars"]]
        exposures, clicks, ordered, chat_orders = bars
        assert exposures > clicks >= ordered == orders.count() > 0
        # Every demo join order has its order event: no untracked 接龙 chat order.
        assert chat_orders == 0
