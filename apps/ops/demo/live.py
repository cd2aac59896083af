"""Demo live selling history: a weekly campaign from the scenario templates over the history,
confirmed by most stores, each confirmed store's broadcast (ended, with its peak viewers) and
its group-buy offers, joined by the store's members; each offer formed (成团) or not by its
deadline, as `group_buy_offer_settle` would have left it (a formed offer's joins confirmed, a
failed one's cancelled). So 成团率 and live conversion have their source for every month of
the history, as the loss, NPS and chat history do for theirs (docs/kpis.md).

Every join carries its group-buy order, as the join service and settlement leave it: one line
of the offer's product at the offer's price, channel group buy, pickup, placed when the member
joined; **completed** (paid at settlement, then picked up) for a formed offer, **cancelled** for
one that did not form. So a past campaign's review counts its orders and GMV. The joiners are
members of the store who had joined by the broadcast and whose planted scenes allow the
product (`scenes.member_may_buy`), and they join before the store closes (23:00).

The seeder runs this before the order history (seed.py): the history's planted co-purchase
rules count these one-line orders among their baskets (`LiveHistory.baskets`), and its monthly
stock-ledger postings include the completed orders' units (`LiveHistory.units_sold`).

Set-wise and deterministic (its own random stream mixed with the demo's seed, so it changes no
other part of the demo's draws): the dozen campaigns with `bulk_create`; store campaigns,
broadcasts, offers, orders, lines and joins (tens of thousands of rows at 200 stores) with
`rows_insert`, their ids allocated here so the rows link without reading ids back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import numpy as np
from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

from apps.campaigns.models import (
    Broadcast,
    Campaign,
    CampaignProduct,
    GroupBuyJoin,
    GroupBuyOffer,
    ScenarioTemplate,
    StoreCampaign,
)
from apps.campaigns.services.group_buys import group_buy_order_key
from apps.catalog.models import Product
from apps.customers.models import Member
from apps.ops.demo.bulk import ORDER_COLUMNS, rows_insert
from apps.ops.demo.orders import TZ
from apps.ops.demo.scenes import SCENE_ONLY_CATEGORIES, member_may_buy
from apps.stores.models import Order, OrderLine, Store

STREAM = 5_483  # "live": the stream of this part, mixed with the demo's seed
CADENCE_DAYS = 7  # one campaign a week
FIRST_OFFSET_DAYS = 2
PRODUCTS_PER_CAMPAIGN = 3
CONFIRMED_SHARE = 0.85  # the rest of the stores declined that week's campaign
VIEWERS_PER_STORE = 30.0  # peak viewers of an average-size store (Poisson mean)
MIN_PEAK_VIEWERS = 3
JOIN_SHARE = 0.13  # of the peak viewers, the share who join one offer
QUANTITY_CHOICES, QUANTITY_WEIGHTS = (1, 2, 3), (0.6, 0.3, 0.1)
THRESHOLD_SPREAD = (0.55, 1.25)  # threshold / expected units: most offers form, some do not
CAP_FACTOR = 3
OFFER_HOURS = 3  # the offer closes this long after the broadcast starts
LAST_JOIN = dt.time(
    22, 59
)  # members join while the store is open (as they shop: docs/demo-data.md)
SOURCE_CHOICES = (
    GroupBuyJoin.Source.API.value,
    GroupBuyJoin.Source.JIELONG.value,
    GroupBuyJoin.Source.PORTAL.value,
)
SOURCE_WEIGHTS = (0.65, 0.3, 0.05)
CENTS = Decimal("0.01")
QUANTITY_CDF = np.cumsum(QUANTITY_WEIGHTS)
SOURCE_CDF = np.cumsum(SOURCE_WEIGHTS)
CONFIRMED, DECLINED = StoreCampaign.Status.CONFIRMED.value, StoreCampaign.Status.DECLINED.value
ENDED = Broadcast.Status.ENDED.value
FORMED, FAILED = GroupBuyOffer.Status.FORMED.value, GroupBuyOffer.Status.FAILED.value
JOIN_CONFIRMED = GroupBuyJoin.Status.CONFIRMED.value
JOIN_CANCELLED = GroupBuyJoin.Status.CANCELLED.value
JIELONG = GroupBuyJoin.Source.JIELONG.value
GROUP_BUY, PICKUP = Order.Channel.GROUP_BUY.value, Order.Fulfilment.PICKUP.value
ORDER_COMPLETED, ORDER_CANCELLED = Order.Status.COMPLETED.value, Order.Status.CANCELLED.value
ZERO = Decimal("0.00")


@dataclass
class LiveHistory:
    """What the live history wrote, and what the order history needs to know of it."""

    counts: dict[str, int] = field(default_factory=dict)
    # One per join order: (local day, product id, counted — completed, not cancelled).
    baskets: list[tuple[dt.date, int, bool]] = field(default_factory=list)
    # Units of the completed join orders per (store id, product id, month's first day).
    units_sold: dict[tuple[int, int, dt.date], int] = field(
        default_factory=lambda: defaultdict(int)
    )


@dataclass(frozen=True)
class _Member:
    pk: int
    name: str
    member_no: str
    joined_at: dt.datetime


@cache
def _may_buy(member_no: str, category_code: str) -> bool:
    return member_may_buy(member_no, {category_code})


# The months in which a scenario fits (by template code); a template not named here fits every
# month. A week's campaign is drawn in turn from the templates that fit its start's month, so a
# December history holds no 夏季水果季, 开学季 or 端午节.
SEASONS: dict[str, tuple[int, ...]] = {
    "summer-fruit": (6, 7, 8, 9),
    "back-to-school": (2, 3, 8, 9),
    "dragon-boat": (5, 6),
    "season-skincare": (3, 4, 9, 10, 11),
}


def _in_season(templates: list[ScenarioTemplate], day: dt.date) -> list[ScenarioTemplate]:
    """The templates that fit `day`'s month; all of them when none does."""
    fitting = [t for t in templates if day.month in SEASONS.get(t.code, range(1, 13))]
    return fitting or templates


def _campaign_days(days: list[dt.date]) -> list[dt.date]:
    """Start days of the weekly campaigns whose broadcast lies inside the history."""
    starts = []
    day = days[0] + dt.timedelta(days=FIRST_OFFSET_DAYS)
    while day <= days[-1]:
        starts.append(day)
        day += dt.timedelta(days=CADENCE_DAYS)
    return starts


def _products_by_template(
    templates: list[ScenarioTemplate],
) -> dict[int, list[Product]]:
    """Up to three active products of each template's categories, taking each category's
    first products of the catalogue (its staples) in turn: 夏季水果季 sells blueberries, 开学季
    milk, a snack and rice."""
    chosen: dict[int, list[Product]] = {}
    for template in templates:
        codes = sorted(category.code for category in template.categories.all())
        by_category: dict[str, list[Product]] = defaultdict(list)
        for product in (
            Product.objects.filter(is_active=True, category__parent__code__in=codes)
            .select_related("category__parent")
            .order_by("pk")
        ):
            by_category[product.category.parent.code].append(product)
        queues = [by_category[code] for code in codes if by_category[code]]
        picked: list[Product] = []
        while queues and len(picked) < PRODUCTS_PER_CAMPAIGN:
            for queue in list(queues):
                if queue and len(picked) < PRODUCTS_PER_CAMPAIGN:
                    picked.append(queue.pop(0))
            queues = [queue for queue in queues if queue]
        if picked:
            chosen[template.pk] = picked
    return chosen


def demo_live_history_seed(
    *, stores: list[Store], store_size: np.ndarray, days: list[dt.date], seed: int
) -> LiveHistory:
    """Write the history's campaigns, broadcasts, group-buy offers, their joins and the joins'
    orders; return counts and what the order history needs (see `LiveHistory`).

    Precondition: the scenario templates exist (`demo_templates_seed`), the catalogue and the
    members are written. `store_size` is each store's size factor (mean 1), in the order of
    `stores`. Deterministic for the same arguments and database content.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM]))
    templates = list(ScenarioTemplate.objects.prefetch_related("categories").order_by("pk"))
    products = _products_by_template(templates)
    templates = [template for template in templates if template.pk in products]
    history = LiveHistory()
    if not templates or not stores:
        return history
    members: dict[int, list[_Member]] = defaultdict(list)
    for member_id, store_id, name, member_no, joined_at in Member.objects.order_by(
        "pk"
    ).values_list("pk", "home_store_id", "name", "member_no", "joined_at"):
        members[store_id].append(_Member(member_id, name, member_no, joined_at))

    campaigns: list[Campaign] = []
    for number, start in enumerate(_campaign_days(days)):
        fitting = _in_season(templates, start)
        template = fitting[number % len(fitting)]
        campaigns.append(
            Campaign(
                name=f"{template.name} · {start.month}月{start.day}日",
                template=template,
                origin=Campaign.Origin.HQ,
                starts_on=start,
                ends_on=start + dt.timedelta(days=max(template.duration_days, 1) - 1),
                broadcast_hour=min(template.suggested_hour, 20),
                discount_percent=template.default_discount_percent,
                created_at=dt.datetime.combine(start - dt.timedelta(days=3), dt.time(9), TZ),
            )
        )
    campaigns = Campaign.objects.bulk_create(campaigns)
    CampaignProduct.objects.bulk_create(
        CampaignProduct(campaign=campaign, product=product, position=position)
        for campaign in campaigns
        for position, product in enumerate(products[campaign.template_id])
    )

    # Store campaigns, broadcasts and offers go in with `rows_insert` (COPY on PostgreSQL):
    # their ids are allocated here, and the sequences moved past them at the end.
    next_id = {
        model: _next_id(model)
        for model in (StoreCampaign, Broadcast, GroupBuyOffer, Order, OrderLine)
    }
    size_by_store = {store.pk: float(size) for store, size in zip(stores, store_size, strict=True)}
    store_campaign_rows, broadcast_rows, offer_rows, join_rows = [], [], [], []
    order_rows: list[tuple[object, ...]] = []
    line_rows: list[tuple[object, ...]] = []
    for campaign in campaigns:
        confirmed = (rng.random(len(stores)) < CONFIRMED_SHARE).tolist()
        confirmed_at = dt.datetime.combine(
            campaign.starts_on - dt.timedelta(days=1), dt.time(21), TZ
        )
        scheduled = dt.datetime.combine(
            campaign.starts_on, dt.time(campaign.broadcast_hour), tzinfo=TZ
        )
        for store, is_confirmed in zip(stores, confirmed, strict=True):
            store_campaign_id = next_id[StoreCampaign]
            next_id[StoreCampaign] += 1
            store_campaign_rows.append(
                (
                    store_campaign_id,
                    campaign.pk,
                    store.pk,
                    CONFIRMED if is_confirmed else DECLINED,
                    confirmed_at if is_confirmed else None,
                    campaign.created_at,
                )
            )
            if is_confirmed:
                _broadcast_rows(
                    rng=rng,
                    ids=next_id,
                    store_campaign_id=store_campaign_id,
                    store_id=store.pk,
                    scheduled=scheduled,
                    size=size_by_store[store.pk],
                    campaign=campaign,
                    products=products[campaign.template_id],
                    pool=members.get(store.pk, []),
                    out=(broadcast_rows, offer_rows, join_rows, order_rows, line_rows),
                    history=history,
                )
    rows_insert(
        StoreCampaign,
        ("id", "campaign_id", "store_id", "status", "confirmed_at", "created_at"),
        store_campaign_rows,
    )
    rows_insert(
        Broadcast,
        (
            "id",
            "store_campaign_id",
            "store_id",
            "status",
            "scheduled_at",
            "started_at",
            "ended_at",
            "peak_viewers",
        ),
        broadcast_rows,
    )
    rows_insert(
        GroupBuyOffer,
        (
            "id",
            "broadcast_id",
            "product_id",
            "price",
            "threshold",
            "cap",
            "deadline",
            "status",
            "units_joined",
            "participants",
            "settled_at",
            "created_at",
        ),
        offer_rows,
    )
    orders = rows_insert(Order, ORDER_COLUMNS, order_rows)
    rows_insert(
        OrderLine,
        ("id", "order_id", "product_id", "quantity", "unit_price", "discount", "line_total"),
        line_rows,
    )
    joined = rows_insert(
        GroupBuyJoin,
        (
            "offer_id",
            "order_id",
            "member_id",
            "display_name",
            "quantity",
            "source",
            "status",
            "idempotency_key",
            "created_at",
        ),
        join_rows,
    )
    statements = connection.ops.sequence_reset_sql(no_style(), list(next_id))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    history.counts = {
        "past campaigns": len(campaigns),
        "broadcasts": len(broadcast_rows),
        "group-buy offers": len(offer_rows),
        "group-buy joins": joined,
        "group-buy orders": orders,
    }
    return history


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _draw(rng: np.random.Generator, cdf: np.ndarray, count: int) -> list[int]:
    return np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1).tolist()


def _broadcast_rows(
    *,
    rng: np.random.Generator,
    ids: dict[type[models.Model], int],
    store_campaign_id: int,
    store_id: int,
    scheduled: dt.datetime,
    size: float,
    campaign: Campaign,
    products: list[Product],
    pool: list[_Member],
    out: tuple[list, list, list, list, list],
    history: LiveHistory,
) -> None:
    """One confirmed store's ended broadcast, its offers (formed or not, as settlement would
    have left them), their joins and the joins' orders, appended as rows to `out`
    (broadcasts, offers, joins, orders, order lines); each order noted in `history`."""
    broadcast_rows, offer_rows, join_rows, order_rows, line_rows = out
    broadcast_id = ids[Broadcast]
    ids[Broadcast] += 1
    started = scheduled + dt.timedelta(minutes=int(rng.integers(0, 8)))
    ended = started + dt.timedelta(minutes=int(rng.integers(45, 100)))
    peak = max(MIN_PEAK_VIEWERS, int(rng.poisson(VIEWERS_PER_STORE * size)))
    broadcast_rows.append(
        (broadcast_id, store_campaign_id, store_id, ENDED, scheduled, started, ended, peak)
    )
    deadline = started + dt.timedelta(hours=OFFER_HOURS)
    closing = dt.datetime.combine(started.date(), LAST_JOIN, tzinfo=TZ)
    join_minutes = max(2, min(OFFER_HOURS * 60, int((closing - started).total_seconds() // 60)))
    joined = [member for member in pool if member.joined_at <= started]
    for product in products:
        offer_id = ids[GroupBuyOffer]
        ids[GroupBuyOffer] += 1
        threshold = max(2, round(peak * JOIN_SHARE * 1.5 * rng.uniform(*THRESHOLD_SPREAD)))
        cap = threshold * CAP_FACTOR
        # Who may join: members by the broadcast, whose planted scenes allow the product.
        code = product.category.code
        eligible = joined
        if code in SCENE_ONLY_CATEGORIES:
            eligible = [member for member in joined if _may_buy(member.member_no, code)]
        count = min(len(eligible), int(rng.binomial(peak, JOIN_SHARE)))
        picked = rng.choice(len(eligible), count, replace=False).tolist() if count else []
        # Weighted draws by inverse CDF (rng.choice with p= re-validates p on every call).
        quantities = [QUANTITY_CHOICES[i] for i in _draw(rng, QUANTITY_CDF, count)]
        sources = [SOURCE_CHOICES[i] for i in _draw(rng, SOURCE_CDF, count)]
        minutes = np.sort(rng.integers(1, join_minutes, count)).tolist()
        joins, units = [], 0
        for index, quantity, source, minute in zip(
            picked, quantities, sources, minutes, strict=True
        ):
            if units + quantity > cap:
                break  # the offer is full
            member = eligible[index]
            name = member.name if source == JIELONG else ""
            joins.append((member.pk, name, quantity, source, minute))
            units += quantity
        formed = units >= threshold
        price = (product.price * (100 - campaign.discount_percent) / 100).quantize(
            CENTS, rounding=ROUND_HALF_UP
        )
        offer_rows.append(
            (
                offer_id,
                broadcast_id,
                product.pk,
                price,
                threshold,
                cap,
                deadline,
                FORMED if formed else FAILED,
                units,
                len(joins),
                deadline,
                started,
            )
        )
        status = JOIN_CONFIRMED if formed else JOIN_CANCELLED
        order_status = ORDER_COMPLETED if formed else ORDER_CANCELLED
        for number, (member_id, name, quantity, source, minute) in enumerate(joins):
            key = f"demo-{offer_id}-{number}"
            placed = started + dt.timedelta(minutes=minute)
            order_id, line_id = ids[Order], ids[OrderLine]
            ids[Order] += 1
            ids[OrderLine] += 1
            total = price * quantity
            order_rows.append(
                (
                    order_id,
                    store_id,
                    member_id,
                    GROUP_BUY,
                    PICKUP,
                    order_status,
                    group_buy_order_key(offer_id=offer_id, idempotency_key=key),
                    "",  # as the join service leaves it (the page shows the order number)
                    total,
                    ZERO,
                    placed,
                )
            )
            line_rows.append((line_id, order_id, product.pk, quantity, price, ZERO, total))
            join_rows.append(
                (offer_id, order_id, member_id, name, quantity, source, status, key, placed)
            )
            history.baskets.append((placed.date(), product.pk, formed))
            if formed:
                history.units_sold[(store_id, product.pk, placed.date().replace(day=1))] += quantity
