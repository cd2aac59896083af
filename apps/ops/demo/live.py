"""Demo live selling history: a weekly campaign from the scenario templates over the history,
confirmed by most stores, each confirmed store's broadcast (ended, with its peak viewers) and
its group-buy offers, joined by the store's members; each offer formed (成团) or not by its
deadline, as `group_buy_offer_settle` would have left it (a formed offer's joins confirmed, a
failed one's cancelled). So 成团率 and live conversion have their source for every month of
the history, as the loss, NPS and chat history do for theirs (docs/kpis.md).

Every join carries its group-buy order, as the join service and settlement leave it: one line
of the offer's product at the offer's price, channel group buy, pickup, placed when the member
joined; **completed** (paid at settlement, then picked up) for a formed offer, **cancelled** for
one that did not form. So a past campaign's review counts its orders and joined value. The
joiners are members of the store who had joined by the broadcast and whose planted scenes allow
the product (`scenes.member_may_buy`), and they join before the store closes (23:00).

Each store campaign with a broadcast also has the tracking events the mini-program would have
sent (`_tracking_rows`): exposures before the broadcast, clicks on the offers' cards, and one
order event per join order, so its review's funnel (exposure → click → order) is filled and its
last step is the campaign's orders. They draw from a stream of their own: the other rows are
the same with or without them.

The seeder runs this before the order history (seed.py): the history's planted co-purchase
rules count these one-line orders among their baskets (`LiveHistory.baskets`), and its monthly
stock-ledger postings include the completed orders' units (`LiveHistory.units_sold`).

Set-wise and deterministic (its own random stream mixed with the demo's seed, so it changes no
other part of the demo's draws): the dozen campaigns with `bulk_create`; store campaigns,
broadcasts, offers, orders, lines, joins and tracking events (tens to hundreds of thousands of
rows at 200 stores) with `rows_insert`, the ids of the rows others point at allocated here so
the rows link without reading ids back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
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
    TrackingEvent,
)
from apps.campaigns.services.group_buys import group_buy_order_key
from apps.campaigns.services.packs import campaign_price
from apps.catalog.models import Product
from apps.customers.models import Member
from apps.ops.demo.bulk import ORDER_COLUMNS, rows_insert, timestamps_adapt
from apps.ops.demo.orders import TZ
from apps.ops.demo.scenes import SCENE_ONLY_CATEGORIES, member_may_buy
from apps.stores.models import Order, OrderLine, Store

STREAM = 5_483  # "live": the stream of this part, mixed with the demo's seed
TRACKING_STREAM = 1  # the tracking events' own stream within it: the other rows stay the same
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
# Tracking events (the mini-program's funnel: exposure → click → order). Members reached by the
# campaign (its notification, the store's card in the mini-program) in the hours before the
# broadcast, about twice its peak viewers; each join clicked its product's card first; some
# members who did not join clicked a card too; each join order is an order event.
EXPOSED_PER_PEAK_VIEWER = 2.0
EXPOSURE_LEAD_MINUTES = (1, 150)  # an exposure comes this long before the broadcast starts
BROWSE_SHARE = 0.3  # of the peak viewers, the share of members who click without joining
CLICK_LEAD_SECONDS = (10, 120)  # a joiner clicks the offer's card this long before joining
RECEIVED_AFTER_SECONDS = 60  # the terminal sends its events in batches
EXPOSURE = TrackingEvent.Kind.EXPOSURE.value
CLICK = TrackingEvent.Kind.CLICK.value
ORDER_EVENT = TrackingEvent.Kind.ORDER.value


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


def _in_season(templates: list[ScenarioTemplate], day: dt.date) -> list[ScenarioTemplate]:
    """The templates whose season (ScenarioTemplate.season_months) fits `day`'s month; all of
    them when none does. A week's campaign is drawn in turn from these, so a December history
    holds no 夏季水果季, 开学季 or 端午节."""
    fitting = [t for t in templates if t.fits_day(day)]
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
    tracking_rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM, TRACKING_STREAM]))
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
    event_rows: list[tuple[object, ...]] = []
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
                    tracking_rng=tracking_rng,
                    ids=next_id,
                    store_campaign_id=store_campaign_id,
                    store_id=store.pk,
                    scheduled=scheduled,
                    size=size_by_store[store.pk],
                    campaign=campaign,
                    products=products[campaign.template_id],
                    pool=members.get(store.pk, []),
                    out=(broadcast_rows, offer_rows, join_rows, order_rows, line_rows, event_rows),
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
    # The events' times are Unix seconds, made database-ready at once (hundreds of thousands
    # of rows at 200 stores: the adapter per value was half their insert time on SQLite).
    seconds = np.fromiter((row[-1] for row in event_rows), dtype=np.int64, count=len(event_rows))
    events = rows_insert(
        TrackingEvent,
        (
            "event_id",
            "store_campaign_id",
            "kind",
            "member_id",
            "product_id",
            "order_id",
            "occurred_at",
            "received_at",
        ),
        (
            (*row[:-1], occurred, received)
            for row, occurred, received in zip(
                event_rows,
                timestamps_adapt(seconds),
                timestamps_adapt(seconds + RECEIVED_AFTER_SECONDS),
                strict=True,
            )
        ),
        ready=("occurred_at", "received_at"),
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
        "tracking events": events,
    }
    return history


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _draw(rng: np.random.Generator, cdf: np.ndarray, count: int) -> list[int]:
    return np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), len(cdf) - 1).tolist()


def _broadcast_rows(
    *,
    rng: np.random.Generator,
    tracking_rng: np.random.Generator,
    ids: dict[type[models.Model], int],
    store_campaign_id: int,
    store_id: int,
    scheduled: dt.datetime,
    size: float,
    campaign: Campaign,
    products: list[Product],
    pool: list[_Member],
    out: tuple[list, list, list, list, list, list],
    history: LiveHistory,
) -> None:
    """One confirmed store's ended broadcast, its offers (formed or not, as settlement would
    have left them), their joins, the joins' orders and the store campaign's tracking events,
    appended as rows to `out` (broadcasts, offers, joins, orders, order lines, events); each
    order noted in `history`. The events draw from `tracking_rng` only."""
    broadcast_rows, offer_rows, join_rows, order_rows, line_rows, event_rows = out
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
    placed_joins: list[tuple[int, int, int, dt.datetime]] = []  # member, product, order, placed
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
        price = campaign_price(
            list_price=product.price, price=None, discount_percent=campaign.discount_percent
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
            placed_joins.append((member_id, product.pk, order_id, placed))
            history.baskets.append((placed.date(), product.pk, formed))
            if formed:
                history.units_sold[(store_id, product.pk, placed.date().replace(day=1))] += quantity
    event_rows.extend(
        _tracking_rows(
            rng=tracking_rng,
            store_campaign_id=store_campaign_id,
            started=started,
            join_minutes=join_minutes,
            peak=peak,
            audience=[member.pk for member in joined],
            product_ids=[product.pk for product in products],
            placed_joins=placed_joins,
        )
    )


def _tracking_rows(
    *,
    rng: np.random.Generator,
    store_campaign_id: int,
    started: dt.datetime,
    join_minutes: int,
    peak: int,
    audience: list[int],
    product_ids: list[int],
    placed_joins: list[tuple[int, int, int, dt.datetime]],
) -> list[tuple[object, ...]]:
    """The store campaign's tracking events, as the mini-program would have sent them: rows of
    (event id, store campaign, kind, member, product, order, occurred as Unix seconds).

    - order: one per join order (its member, product and order, when it was placed), cancelled
      ones too (the event is sent when the member orders; settlement comes later);
    - click: one per join, on the offer's product card shortly before joining; and one for each
      browser, a member of the audience who did not join, on a product's card during the
      broadcast (Binomial(peak viewers, BROWSE_SHARE) of them);
    - exposure: one per member reached before the broadcast: every clicker, then others of
      the audience, about EXPOSED_PER_PEAK_VIEWER × the peak viewers in all; and, when the
      audience is too small for that, repeated exposures of the members reached, so there are
      always more exposures than clicks.

    So each step's members are among the previous step's, and its events fewer. The audience is
    the store's members who had joined by the broadcast (in primary-key order)."""
    joiners = list(
        dict.fromkeys(member_id for member_id, _product, _order, _placed in placed_joins)
    )
    joiner_set = set(joiners)
    others = [member_id for member_id in audience if member_id not in joiner_set]
    browse_count = min(len(others), int(rng.binomial(peak, BROWSE_SHARE)))
    picked = rng.permutation(len(others)).tolist()
    browsers = [others[index] for index in picked[:browse_count]]
    rest = [others[index] for index in picked[browse_count:]]
    clicks = len(placed_joins) + len(browsers)
    target = max(round(peak * EXPOSED_PER_PEAK_VIEWER), clicks + 1)
    reached = [*joiners, *browsers, *rest[: max(0, target - len(joiners) - len(browsers))]]
    exposed = list(reached)
    if reached and len(exposed) < target:
        exposed += [
            reached[index]
            for index in rng.integers(0, len(reached), target - len(exposed)).tolist()
        ]

    lead_minutes = rng.integers(*EXPOSURE_LEAD_MINUTES, len(exposed)).tolist()
    click_leads = rng.integers(*CLICK_LEAD_SECONDS, len(placed_joins)).tolist()
    browse_minutes = rng.integers(0, join_minutes, len(browsers)).tolist()
    browse_products = rng.integers(0, len(product_ids), len(browsers)).tolist()

    # Times in Unix seconds (the caller adapts them for the database all at once).
    start = int(started.timestamp())
    events = [
        *(
            (EXPOSURE, member_id, None, None, start - 60 * minutes)
            for member_id, minutes in zip(exposed, lead_minutes, strict=True)
        ),
        *(
            (CLICK, member_id, product_id, None, max(start, int(placed.timestamp()) - lead))
            for (member_id, product_id, _order, placed), lead in zip(
                placed_joins, click_leads, strict=True
            )
        ),
        *(
            (CLICK, member_id, product_ids[product], None, start + 60 * minute)
            for member_id, minute, product in zip(
                browsers, browse_minutes, browse_products, strict=True
            )
        ),
        *(
            (ORDER_EVENT, member_id, product_id, order_id, int(placed.timestamp()))
            for member_id, product_id, order_id, placed in placed_joins
        ),
    ]
    return [
        (f"demo-{store_campaign_id}-{number}", store_campaign_id, *event)
        for number, event in enumerate(events)
    ]
