"""Helpers for the decision-engine tests: write orders set-wise (no stock ledger needed)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.utils import timezone

from apps.catalog.models import Product
from apps.stores.models import Order, OrderLine, Store

_keys = itertools.count(1)


def local_datetime(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def orders_bulk_create(
    *,
    store: Store,
    baskets: Iterable[Sequence[tuple[Product, int] | Product]],
    placed_at: dt.datetime | Sequence[dt.datetime],
    members: Sequence[object | None] | None = None,
    status: str = Order.Status.COMPLETED,
) -> list[Order]:
    """One order per basket; a basket is a list of products or (product, quantity) pairs.

    `placed_at` is one time for all or one per basket; `members` one member (or None) per basket.
    """
    baskets = [list(basket) for basket in baskets]
    times = placed_at if isinstance(placed_at, Sequence) else [placed_at] * len(baskets)
    buyers = members if members is not None else [None] * len(baskets)
    orders = Order.objects.bulk_create(
        [
            Order(
                store=store,
                member=buyer,
                channel=Order.Channel.POS,
                status=status,
                idempotency_key=f"test-{next(_keys)}",
                placed_at=when,
            )
            for when, buyer in zip(times, buyers, strict=True)
        ]
    )
    lines = []
    for order, basket in zip(orders, baskets, strict=True):
        for item in basket:
            product, quantity = item if isinstance(item, tuple) else (item, 1)
            lines.append(
                OrderLine(
                    order=order,
                    product=product,
                    quantity=quantity,
                    unit_price=Decimal("1.00"),
                    line_total=Decimal(quantity),
                )
            )
    OrderLine.objects.bulk_create(lines, batch_size=2000)
    return orders


def decision_world(*, today: dt.date | None = None) -> dict:
    """A small network with known answers, 42 days of history up to yesterday.

    Region 1: store A (the one we look at) and store B; region 2: store C.
    - 低糖蓝莓 (fruit) at A: 3 a day, then 8 a day over the last 7 days → hot and rising, an
      insight card; most of its buyers are tagged 有孩家庭; chats at A mention it this week.
    - 酸奶 (dairy) at A: 6 a day, steady; bought together with 蓝莓 (a co-purchase rule).
    - 牛奶 (dairy) at A: 1 a day.
    - 新品果干 (new, fruit): only B sells it, 5 a day over the last 14 days → A's new list.
    - 婴儿辅食 (new, baby): nobody sells it; a tag rule links its category to 有孩家庭, and
      10 of A's 30 members carry the tag → A's new list by tag fit.
    - A's members usually shop at 20:00 (8 profiles) or 9:00 (3 profiles).
    """
    from apps.customers.models import (
        CommunityMessage,
        MemberProfile,
        MemberTag,
        TagCategoryRule,
    )
    from tests.factories import (
        CategoryFactory,
        MemberFactory,
        ProductFactory,
        RegionFactory,
        StoreFactory,
        TagFactory,
    )

    today = today or timezone.localdate()
    region, other_region = RegionFactory(city="杭州"), RegionFactory(city="上海")
    store_a = StoreFactory(region=region)
    store_b = StoreFactory(region=region)
    store_c = StoreFactory(region=other_region)
    fruit = CategoryFactory(name="水果")
    dairy = CategoryFactory(name="乳品")
    baby = CategoryFactory(name="母婴")
    blueberry = ProductFactory(name="低糖蓝莓 125g", category=fruit)
    yogurt = ProductFactory(name="酸奶 200g", category=dairy)
    milk = ProductFactory(name="纯牛奶 1L", category=dairy)
    dried_fruit = ProductFactory(name="新品果干", category=fruit, is_new=True)
    baby_food = ProductFactory(name="婴儿辅食", category=baby, is_new=True)
    family = TagFactory(name="有孩家庭")
    TagCategoryRule.objects.create(tag=family, category=baby)
    members = [MemberFactory(home_store=store_a) for _ in range(30)]
    tagged = members[:10]
    MemberTag.objects.bulk_create(
        [
            MemberTag(member=member, tag=family, source=MemberTag.Source.PURCHASE)
            for member in tagged
        ]
    )
    MemberProfile.objects.bulk_create(
        [MemberProfile(member=member, usual_hours=[20]) for member in members[10:18]]
        + [MemberProfile(member=member, usual_hours=[9]) for member in members[18:21]]
    )
    baskets_a, times_a, buyers_a = [], [], []
    baskets_b, times_b = [], []
    for back in range(42, 0, -1):
        day = today - dt.timedelta(days=back)
        blueberries = 8 if back <= 7 else 3
        for number in range(max(blueberries, 6, 1)):
            basket = []
            if number < blueberries:
                basket.append(blueberry)
            if number < 6:
                basket.append(yogurt)
            if number == 0:
                basket.append(milk)
            baskets_a.append(basket)
            times_a.append(local_datetime(day, 10 + number % 8))
            if number < blueberries:
                buyers_a.append(tagged[number % 10] if number < 6 else members[20 + number])
            else:
                buyers_a.append(members[25])
        baskets_c = [[yogurt], [milk]]
        orders_bulk_create(store=store_c, baskets=baskets_c, placed_at=local_datetime(day, 12))
        if back <= 14:
            baskets_b.extend([[dried_fruit]] * 5)
            times_b.extend([local_datetime(day, 15)] * 5)
        baskets_b.append([milk])
        times_b.append(local_datetime(day, 16))
    orders_bulk_create(store=store_a, baskets=baskets_a, placed_at=times_a, members=buyers_a)
    orders_bulk_create(store=store_b, baskets=baskets_b, placed_at=times_b)
    CommunityMessage.objects.bulk_create(
        [
            CommunityMessage(
                store=store_a,
                group_name="A 店会员群",
                text=text,
                sent_at=local_datetime(today - dt.timedelta(days=back), 21),
            )
            for text, back in [
                ("低糖蓝莓今天还有吗？", 1),
                ("蓝莓好甜，孩子很喜欢", 2),
                ("想要蓝莓", 3),
                ("酸奶到了吗", 10),
            ]
        ]
    )
    return {
        "today": today,
        "regions": (region, other_region),
        "stores": (store_a, store_b, store_c),
        "products": {
            "blueberry": blueberry,
            "yogurt": yogurt,
            "milk": milk,
            "dried_fruit": dried_fruit,
            "baby_food": baby_food,
        },
        "tag": family,
        "members": members,
    }
