"""Insight cards: rising product, tags it fits, best broadcast hour, quantity to stock, and the
owner's one-click acceptance (recorded once, kept across reruns)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.utils import timezone
from django.utils.translation import override

from apps.catalog.analytics.lists import hour_outside_quiet
from apps.catalog.models import DailyListEntry, DemandForecast, InsightCard, ReasonKind
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.insights import insight_card_accept
from apps.catalog.services.lists import broadcast_hours, quiet_hours
from apps.catalog.services.nightly import decisions_run
from apps.customers.models import CommunityMessage
from tests.catalog.decision_fixtures import decision_world, local_datetime, orders_bulk_create
from tests.factories import UserFactory


@pytest.fixture
def world(db: None) -> dict:
    world = decision_world()
    store_c = world["stores"][2]
    # Store C's members talk about milk this week, more than the week before.
    CommunityMessage.objects.bulk_create(
        [
            CommunityMessage(
                store=store_c,
                group_name="C 店",
                text=text,
                sent_at=local_datetime(world["today"] - dt.timedelta(days=back), 19),
            )
            for text, back in [
                ("纯牛奶还有吗", 1),
                ("要两瓶纯牛奶", 2),
                ("纯牛奶到货通知我", 4),
                ("纯牛奶", 9),
            ]
        ]
    )
    decisions_run(day=world["today"])
    return world


def test_rising_product_card_has_tags_hour_and_quantities(world: dict) -> None:
    store_a = world["stores"][0]
    blueberry = world["products"]["blueberry"]
    card = InsightCard.objects.get(store=store_a)
    forecast = DemandForecast.objects.get(store=store_a, product=blueberry)
    settings = decision_settings_get()

    assert card.product == blueberry
    assert card.day == world["today"]
    assert card.rank == 1
    assert (card.units_last_7d, card.units_prev_7d, card.mentions_7d) == (56, 21, 3)
    # 6 of its 8 buyers are tagged, against 10 of the store's 30 members: lift 2.25.
    assert card.tags == [
        {"id": world["tag"].pk, "name": "有孩家庭", "lift": 2.25, "buyers": 6, "of": 8}
    ]
    assert card.tag_names == ["有孩家庭"]
    with override("en"):
        assert card.tag_fits == ["有孩家庭: 6 of its 8 buyers, 2.25× the store's share"]
    # 8 profiles usually shop at 20:00, 3 at 9:00.
    assert (card.broadcast_hour, card.broadcast_hour_source) == (20, "profiles")
    cover = forecast.lead_time_days + forecast.review_period_days
    assert card.forecast_total == pytest.approx(sum(forecast.daily[:cover]), abs=2e-3)
    assert card.stock_qty == math.ceil(card.forecast_total + forecast.safety_stock - 1e-6)
    assert card.suggested_qty == forecast.suggested_qty
    assert forecast.review_period_days == settings.review_period_days
    assert card.reason_kind == ReasonKind.RISING_SALES
    with override("en"):
        # Five earlier weeks of exactly 21: variance max(0, 21, 1) × (1 + 1/5) → z = 35 / √25.2.
        assert card.reason == (
            "Demand is rising: 56 sold in the last 7 days against a usual 21.0 a week "
            "(7.0 standard deviations above its own weekly variation)"
        )
    assert card.reason_data["z"] == round(35 / math.sqrt(21 * 1.2), 1)
    assert not card.is_accepted


def test_chat_mentions_alone_make_a_card(world: dict) -> None:
    store_c = world["stores"][2]
    card = InsightCard.objects.get(store=store_c)
    assert card.product == world["products"]["milk"]
    assert card.mentions_7d == 3
    assert card.reason_kind == ReasonKind.RISING_MENTIONS
    with override("en"):
        assert card.reason == "Customers mentioned it 3 times in your chat groups this week"
    # No member profiles at C: the busiest order hour (12:00) is used.
    assert (card.broadcast_hour, card.broadcast_hour_source) == (12, "orders")
    assert card.tags == []


def test_broadcast_hour_falls_back_to_order_hours(world: dict) -> None:
    store_a, store_b, _store_c = world["stores"]
    hours = broadcast_hours(store_ids=[store_a.pk, store_b.pk], day=world["today"])
    assert hours[store_a.pk] == (20, "profiles")
    # B: five orders a day at 15:00 for two weeks, one at 16:00 every day.
    assert hours[store_b.pk] == (15, "orders")


def test_accepting_records_once_and_survives_a_rerun(world: dict) -> None:
    store_a = world["stores"][0]
    owner = UserFactory()
    card = InsightCard.objects.get(store=store_a)

    assert insight_card_accept(card=card, by=owner) is True
    accepted_at = card.accepted_at
    assert card.accepted_by == owner
    assert insight_card_accept(card=card, by=UserFactory()) is False
    card.refresh_from_db()
    assert (card.accepted_at, card.accepted_by) == (accepted_at, owner)

    decisions_run(day=world["today"], force=True)
    card.refresh_from_db()
    assert (card.accepted_at, card.accepted_by_id) == (accepted_at, owner.pk)
    assert InsightCard.objects.filter(store=store_a).count() == 1


@pytest.mark.parametrize("status", ["preparing", "suspended", "closed"])
def test_a_store_not_open_for_trade_gets_its_lists_but_no_card(world: dict, status: str) -> None:
    """The night asks no owner to run a campaign their store cannot run: a run that covers a
    store not open for trade writes it no card (and drops its open ones of the day), while
    its lists are still computed; the open stores' cards are unchanged."""
    store_a, _store_b, store_c = world["stores"]
    milk_card = InsightCard.objects.get(store=store_c)
    store_a.status = status
    store_a.save(update_fields=["status"])
    decisions_run(day=world["today"], store_ids=[s.pk for s in world["stores"]], force=True)
    assert not InsightCard.objects.filter(store=store_a).exists()
    assert DailyListEntry.objects.filter(store=store_a, day=world["today"]).exists()
    assert list(InsightCard.objects.filter(store=store_c)) == [milk_card]


def test_five_against_zero_on_a_noisy_product_is_no_card_but_a_real_rise_is(db: None) -> None:
    """镇江香醋 sells 0–6 a week; this week 5 against 0 the week before (today's old rule
    fired on that). 低糖蓝莓 sells 3 a day and then 8 a day. Only the blueberries get a card."""
    from tests.catalog.decision_fixtures import orders_bulk_create
    from tests.factories import ProductFactory, StoreFactory

    today = timezone.localdate()
    store = StoreFactory()
    vinegar = ProductFactory(name="镇江香醋 500ml")
    blueberry = ProductFactory(name="低糖蓝莓 125g")
    weeks = [3, 6, 1, 5, 6, 2, 0, 5]  # the last is this week
    baskets, times = [], []
    for number, units in enumerate(weeks):
        first_day = today - dt.timedelta(days=7 * (len(weeks) - number))
        for unit in range(units):
            baskets.append([vinegar])
            times.append(local_datetime(first_day + dt.timedelta(days=unit % 7), 11))
    for back in range(56, 0, -1):
        for _ in range(8 if back <= 7 else 3):
            baskets.append([blueberry])
            times.append(local_datetime(today - dt.timedelta(days=back), 17))
    orders_bulk_create(store=store, baskets=baskets, placed_at=times)

    decisions_run(day=today)

    [card] = InsightCard.objects.filter(store=store)
    assert card.product == blueberry
    assert card.reason_kind == ReasonKind.RISING_SALES
    assert card.reason_data["usual"] == 21.0
    assert card.reason_data["z"] >= 2


def test_a_late_night_broadcast_hour_is_moved_out_of_the_quiet_hours(db: None) -> None:
    """Store C's sales are planted at 23:00 (its busiest hour), inside the members' default
    notification quiet hours (21:30-08:00): its card suggests 21:00, the last hour members
    can still be told at, and the suggestion's sentence names that hour."""
    from django.template.loader import render_to_string

    from apps.campaigns.notifications.dispatch import quiet_hours_end

    world = decision_world()
    store_c = world["stores"][2]
    today = world["today"]
    late = [
        local_datetime(today - dt.timedelta(days=back), 23)
        for back in range(1, 29)
        for _copy in range(3)
    ]
    orders_bulk_create(
        store=store_c, baskets=[[world["products"]["milk"]]] * len(late), placed_at=late
    )
    CommunityMessage.objects.bulk_create(
        [
            CommunityMessage(
                store=store_c,
                group_name="C 店",
                text="纯牛奶还有吗",
                sent_at=local_datetime(today - dt.timedelta(days=back), 19),
            )
            for back in (1, 2, 4)
        ]
    )
    assert broadcast_hours(store_ids=[store_c.pk], day=today) == {store_c.pk: (21, "orders")}

    decisions_run(day=today)

    card = InsightCard.objects.get(store=store_c)
    assert (card.broadcast_hour, card.broadcast_hour_source) == (21, "orders")
    told_at = timezone.make_aware(dt.datetime.combine(today, dt.time(card.broadcast_hour)))
    assert quiet_hours_end(now=told_at) is None  # members are notified at 21:00
    with override("zh-hans"):
        page = render_to_string("decisions/store.html", {"cards": [card], "store": store_c})
    assert "建议：21:00 直播" in page
    assert "23:00" not in page


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(20, 20), (21, 21), (22, 21), (23, 21), (0, 21), (2, 21), (3, 8), (6, 8), (7, 8), (8, 8)],
)
def test_an_hour_in_the_quiet_hours_moves_to_the_nearest_allowed_one(
    hour: int, expected: int
) -> None:
    quiet = (dt.time(21, 30), dt.time(8, 0))
    assert hour_outside_quiet(hour, *quiet) == expected


def test_quiet_hours_within_a_day_and_none_at_all(settings: object) -> None:
    assert hour_outside_quiet(13, dt.time(12), dt.time(14)) == 14
    assert hour_outside_quiet(12, dt.time(12), dt.time(14)) == 11
    # 23 is 2 hours from 21 and from 1: on a tie, the hour before the quiet hours start.
    assert hour_outside_quiet(23, dt.time(22), dt.time(1)) == 21
    settings.NOTIFY_QUIET_HOURS = ""
    assert quiet_hours() is None
    settings.NOTIFY_QUIET_HOURS = "22:00-07:00"
    assert quiet_hours() == (dt.time(22), dt.time(7))
