"""Funnels and the review report (复盘报告) of campaigns.

Definitions (docs/reviews.md says the same for HQ and owners):

- **Funnel**: the store campaign's tracking events. For each step (exposure, click, order) the
  number of events and the number of distinct members among them (events without a member
  count as events only). Rates are on event counts: click rate = clicks / exposures, order
  rate = orders / clicks, conversion = orders / exposures (None when the denominator is 0).
  The order step also counts, apart, the **接龙 chat orders**: orders made by joins pasted
  from a chat's join list (`GroupBuyJoin.Source.JIELONG`, not cancelled, order not cancelled
  or refunded) that no order event names. They are real orders the mini-program never saw,
  so no event is made up for them and the rates stay on tracked events.
- **Campaign window**: local midnight of `starts_on` up to local midnight after `ends_on`.
- **The campaign's orders**: orders made by a group-buy join of one of its broadcasts' offers,
  plus orders named by its order events; cancelled and refunded orders excluded. An order
  belongs to one store campaign (the join's when there is one, else its first order event's).
- **Units**: the sum of those orders' lines' quantities; **buyers**: distinct members among
  them.
- **After the fact** (what was actually sold, beside the live dashboard's offer-time joined
  value): **order value**, the sum of those orders' totals; **units short at receiving**, the
  units of their lines that did not arrive or arrived damaged (the lines' purchase sources'
  `short_quantity`, set by store receiving); **refunded**, the refunds given on them
  (procurement's approved or resolved after-sales cases with a refund as remedy, the GMV's
  definition: `ReviewSources.refunds`, handed in by the caller); **sold after refunds** =
  order value − refunded.
- **Joined value** (接龙金额) and its part **at threshold**, offers **at threshold**, formed and
  settled: the live dashboard's figures over the store campaign's offers, one definition
  (`selectors.broadcasts.JoinedFigures`, `GroupBuyOffer.at_threshold`): quantity × the offer's
  price over the joins not cancelled; "at threshold" is settled formed or open at the
  threshold (it forms at its deadline), "formed" the settled status only.
- **成团率**: formed offers / settled offers (formed + not formed; open and cancelled offers
  are not settled), None when none settled.
- **Members gained**: buyers whose first (not cancelled or refunded) order at that store was
  placed at or after the window's start, i.e. the campaign brought them to the store.
- **Repeat buyers**: buyers who placed another order at that store (not one of the campaign's)
  within `repeat_days` days (default 30) after the window's end.
- Per-store rows count per store; the campaign's totals count distinct members over all its
  stores (a member gained at two stores counts once in the total).
- **Comparison**: the same figures for the template's earlier campaigns (ended before this one
  started, not cancelled), restricted to the same stores when the review is, averaged per
  campaign (rates: the mean of the campaigns' rates that exist).

Query count: a fixed number of queries whatever the number of stores, orders and past
campaigns (the tests hold it); Python only joins the aggregated rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.campaigns.models import (
    Campaign,
    GroupBuyJoin,
    GroupBuyOffer,
    ScenarioTemplate,
    StoreCampaign,
    TrackingEvent,
)
from apps.campaigns.selectors.broadcasts import JoinedFigures, offers_joined
from apps.stores.models import Order, Store

DEFAULT_REPEAT_DAYS = 30
TOP_PRODUCTS = 10
CENT = Decimal("0.01")

_KINDS = TrackingEvent.Kind


class OrdersRefunded(Protocol):
    def __call__(self, *, order_ids: list[int]) -> dict[int, Decimal]: ...


@dataclass(frozen=True)
class ReviewSources:
    """What the review needs from the part above campaigns (procurement), handed in by the
    caller instead of imported (campaigns may not import procurement): the views, the admin
    and the tests pass `apps.campaigns.sources.review_sources()`.

    `refunds(order_ids=)` gives, per order with one, the refunds given on it — procurement's
    `refunds_by_order`, which reads the same cases as the KPI pack's GMV (one query)."""

    refunds: OrdersRefunded


def _rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _mean(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


@dataclass(frozen=True)
class Funnel:
    """Event counts and distinct members per step (exposure → click → order)."""

    exposures: int = 0
    clicks: int = 0
    orders: int = 0
    exposure_members: int = 0
    click_members: int = 0
    order_members: int = 0
    # Orders made by 接龙 chat-list joins that no order event names (not tracked events).
    chat_orders: int = 0
    chat_order_members: int = 0

    @property
    def orders_with_chat(self) -> int:
        """The order step: tracked order events and untracked 接龙 chat orders."""
        return self.orders + self.chat_orders

    @property
    def click_rate(self) -> float | None:
        return _rate(self.clicks, self.exposures)

    @property
    def order_rate(self) -> float | None:
        return _rate(self.orders, self.clicks)

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.orders, self.exposures)


@dataclass(frozen=True)
class Figures:
    """One review's figures, for a store or a whole campaign."""

    funnel: Funnel = field(default_factory=Funnel)
    order_count: int = 0
    joined_value: Decimal = Decimal("0.00")
    joined_value_reached: Decimal = Decimal("0.00")
    units: int = 0
    buyers: int = 0
    offers: int = 0
    offers_reached: int = 0
    offers_formed: int = 0
    offers_settled: int = 0
    members_gained: int = 0
    repeat_buyers: int = 0
    order_value: Decimal = Decimal("0.00")
    units_short: int = 0
    refunded_value: Decimal = Decimal("0.00")

    @property
    def sold_value(self) -> Decimal:
        """What was actually sold: the orders' value less the refunds given on them."""
        return self.order_value - self.refunded_value

    @property
    def formed_rate(self) -> float | None:
        """成团率: formed / settled offers."""
        return _rate(self.offers_formed, self.offers_settled)


@dataclass(frozen=True)
class StoreRow:
    store_id: int
    store_code: str
    store_name: str
    status: str
    figures: Figures


@dataclass(frozen=True)
class ProductRow:
    product_id: int
    sku: str
    name: str
    units: int
    joined_value: Decimal


@dataclass(frozen=True)
class PastCampaign:
    campaign_id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date
    figures: Figures


@dataclass(frozen=True)
class Comparison:
    """Averages per campaign over the template's past campaigns (None: no value to average)."""

    campaigns: list[PastCampaign]
    exposures: float | None
    clicks: float | None
    order_events: float | None
    conversion_rate: float | None
    order_count: float | None
    joined_value: Decimal | None
    units: float | None
    formed_rate: float | None
    members_gained: float | None
    repeat_buyers: float | None
    order_value: Decimal | None
    units_short: float | None
    refunded_value: Decimal | None
    sold_value: Decimal | None


@dataclass(frozen=True)
class CampaignReview:
    campaign: Campaign
    window_start: dt.datetime
    window_end: dt.datetime
    repeat_days: int
    scoped: bool
    totals: Figures
    stores: list[StoreRow]
    top_products: list[ProductRow]
    comparison: Comparison


def campaign_window(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): local midnight of `starts_on` to local midnight after `ends_on`."""
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(campaign.starts_on, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(campaign.ends_on + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start, end


def _funnel_aggregates(prefix: str = "") -> dict[str, Count]:
    def step(kind: str, *, members: bool) -> Count:
        condition = Q(kind=kind)
        if members:
            return Count("member", filter=condition & Q(member__isnull=False), distinct=True)
        return Count("pk", filter=condition)

    return {
        f"{prefix}exposures": step(_KINDS.EXPOSURE, members=False),
        f"{prefix}clicks": step(_KINDS.CLICK, members=False),
        f"{prefix}orders": step(_KINDS.ORDER, members=False),
        f"{prefix}exposure_members": step(_KINDS.EXPOSURE, members=True),
        f"{prefix}click_members": step(_KINDS.CLICK, members=True),
        f"{prefix}order_members": step(_KINDS.ORDER, members=True),
    }


_FUNNEL_FIELDS = (
    "exposures",
    "clicks",
    "orders",
    "exposure_members",
    "click_members",
    "order_members",
)


def _chat_joins(store_campaigns: QuerySet | list[int]) -> QuerySet[GroupBuyJoin]:
    """The 接龙 chat-list joins of `store_campaigns` whose order counts (not cancelled or
    refunded) and that no order event names: the order step's untracked orders."""
    tracked = TrackingEvent.objects.filter(
        kind=_KINDS.ORDER, order__isnull=False, store_campaign__in=store_campaigns
    ).values("order_id")
    return (
        GroupBuyJoin.objects.filter(
            offer__broadcast__store_campaign__in=store_campaigns,
            source=GroupBuyJoin.Source.JIELONG,
            order__isnull=False,
        )
        .exclude(status=GroupBuyJoin.Status.CANCELLED)
        .exclude(order__status__in=Order.VOID_STATUSES)
        .exclude(order__in=tracked)
        .order_by()
    )


_CHAT_AGGREGATES = {
    "chat_orders": Count("pk"),
    "chat_order_members": Count("member", distinct=True),
}


def _funnel_of(
    events: QuerySet[TrackingEvent], store_campaigns: QuerySet | list[int] | None = None
) -> Funnel:
    row = events.aggregate(**_funnel_aggregates())
    chat = {}
    if store_campaigns is not None:
        chat = _chat_joins(store_campaigns).aggregate(**_CHAT_AGGREGATES)
    return Funnel(
        **{name: row[name] or 0 for name in _FUNNEL_FIELDS},
        **{name: chat.get(name) or 0 for name in _CHAT_AGGREGATES},
    )


def _funnels_by(
    events: QuerySet[TrackingEvent], key: str, store_campaigns: list[int] | None = None
) -> dict[int, Funnel]:
    rows = events.order_by().values(key).annotate(**_funnel_aggregates())
    chat: dict[int, dict] = {}
    if store_campaigns is not None:
        join_key = "offer__broadcast__" + key
        for row in _chat_joins(store_campaigns).values(join_key).annotate(**_CHAT_AGGREGATES):
            chat[row[join_key]] = row
    funnels = {
        row[key]: Funnel(
            **{name: row[name] for name in _FUNNEL_FIELDS},
            **{name: chat.get(row[key], {}).get(name, 0) for name in _CHAT_AGGREGATES},
        )
        for row in rows
    }
    for pk, row in chat.items():
        if pk not in funnels:
            funnels[pk] = Funnel(**{name: row[name] for name in _CHAT_AGGREGATES})
    return funnels


def store_campaign_funnel(*, store_campaign: StoreCampaign) -> Funnel:
    """One store's funnel in a campaign, its 接龙 chat orders too (two queries)."""
    return _funnel_of(
        TrackingEvent.objects.filter(store_campaign=store_campaign), [store_campaign.pk]
    )


def campaign_funnel(*, campaign: Campaign, stores: Iterable[Store] | None = None) -> Funnel:
    """A campaign's funnel over all its stores (or `stores`), members distinct across stores."""
    store_campaigns = StoreCampaign.objects.filter(campaign=campaign)
    if stores is not None:
        store_campaigns = store_campaigns.filter(store__in=_store_ids(stores))
    events = TrackingEvent.objects.filter(store_campaign__in=store_campaigns)
    return _funnel_of(events, store_campaigns.values("pk"))


def template_funnel(*, template: ScenarioTemplate) -> Funnel:
    """A scenario template's funnel over all its campaigns, 接龙 chat orders too (two
    queries)."""
    store_campaigns = StoreCampaign.objects.filter(campaign__template=template).values("pk")
    return _funnel_of(
        TrackingEvent.objects.filter(store_campaign__campaign__template=template), store_campaigns
    )


def _store_ids(stores: Iterable[Store]) -> list[int]:
    if isinstance(stores, QuerySet):
        return list(stores.values_list("pk", flat=True))
    return [store.pk for store in stores]


@dataclass
class _Tally:
    """Mutable figures while rows are joined; frozen into `Figures` at the end."""

    order_count: int = 0
    units: int = 0
    order_value: Decimal = Decimal("0.00")
    units_short: int = 0
    refunded_value: Decimal = Decimal("0.00")
    buyers: set[int] = field(default_factory=set)
    gained: set[int] = field(default_factory=set)
    repeat: set[int] = field(default_factory=set)
    joined: JoinedFigures = field(default_factory=JoinedFigures)

    def add(self, other: _Tally) -> None:
        self.order_count += other.order_count
        self.units += other.units
        self.order_value += other.order_value
        self.units_short += other.units_short
        self.refunded_value += other.refunded_value
        self.buyers |= other.buyers
        self.gained |= other.gained
        self.repeat |= other.repeat
        self.joined.add(other.joined)

    def figures(self, funnel: Funnel) -> Figures:
        return Figures(
            funnel=funnel,
            order_count=self.order_count,
            joined_value=self.joined.value.quantize(CENT),
            joined_value_reached=self.joined.value_reached.quantize(CENT),
            units=self.units,
            buyers=len(self.buyers),
            offers=self.joined.offers,
            offers_reached=self.joined.offers_reached,
            offers_formed=self.joined.offers_formed,
            offers_settled=self.joined.offers_settled,
            members_gained=len(self.gained),
            repeat_buyers=len(self.repeat),
            order_value=self.order_value.quantize(CENT),
            units_short=self.units_short,
            refunded_value=self.refunded_value.quantize(CENT),
        )


@dataclass(frozen=True)
class _Collected:
    per_store_campaign: dict[int, _Tally]
    order_ids: list[int]
    # Per product of the offers: (sku, name, joined figures), for the top products.
    per_product: dict[int, tuple[str, str, JoinedFigures]] = field(default_factory=dict)


def _collect(
    *,
    store_campaigns: list[dict],
    windows: dict[int, tuple[dt.datetime, dt.datetime]],
    repeat_days: int,
    sources: ReviewSources,
) -> _Collected:
    """Order, offer, refund, gained and repeat figures per store campaign, in eight queries.

    `store_campaigns` are rows with `pk`, `store_id`, `campaign_id`; `windows` maps each
    campaign id to its [start, end)."""
    sc_ids = [row["pk"] for row in store_campaigns]
    store_of = {row["pk"]: row["store_id"] for row in store_campaigns}
    campaign_of = {row["pk"]: row["campaign_id"] for row in store_campaigns}
    tallies: dict[int, _Tally] = {pk: _Tally() for pk in sc_ids}
    if not sc_ids:
        return _Collected(tallies, [])

    # Which store campaign each order belongs to: the join's, else the first order event's.
    owner: dict[int, int] = {}
    for order_id, sc_id in (
        TrackingEvent.objects.filter(
            kind=_KINDS.ORDER, order__isnull=False, store_campaign__in=sc_ids
        )
        .order_by("-occurred_at", "-pk")
        .values_list("order_id", "store_campaign_id")
    ):
        owner[order_id] = sc_id  # the earliest event is written last and wins
    owner.update(
        GroupBuyJoin.objects.filter(
            order__isnull=False, offer__broadcast__store_campaign__in=sc_ids
        ).values_list("order_id", "offer__broadcast__store_campaign_id")
    )

    orders = list(
        Order.objects.filter(pk__in=list(owner))
        .exclude(status__in=Order.VOID_STATUSES)
        .order_by()
        # A line has at most one purchase source (one-to-one): the join repeats no line.
        .annotate(units=Sum("lines__quantity"), short=Sum("lines__purchase_source__short_quantity"))
        .values_list("pk", "store_id", "member_id", "units", "total", "short")
    )
    # The refunds given on the orders (procurement's after-sales cases, read by the caller's
    # `sources`: campaigns do not import procurement).
    refunded = sources.refunds(order_ids=[row[0] for row in orders])
    pairs: dict[tuple[int, int], set[int]] = defaultdict(set)  # (store, member) → scs
    for order_id, store_id, member_id, units, total, short in orders:
        sc_id = owner[order_id]
        if store_of[sc_id] != store_id:
            continue  # an order of another store cannot count for this store campaign
        tally = tallies[sc_id]
        tally.order_count += 1
        tally.units += units or 0
        tally.order_value += total
        tally.units_short += short or 0
        tally.refunded_value += refunded.get(order_id) or Decimal("0.00")
        if member_id is not None:
            tally.buyers.add(member_id)
            pairs[(store_id, member_id)].add(sc_id)
    order_ids = [row[0] for row in orders if store_of[owner[row[0]]] == row[1]]

    offers = list(
        GroupBuyOffer.objects.filter(broadcast__store_campaign__in=sc_ids)
        .select_related("broadcast", "product")
        .order_by("pk")
    )
    per_product: dict[int, tuple[str, str, JoinedFigures]] = {}
    joined = offers_joined(offers)
    for offer in offers:
        figures = joined[offer.pk]
        tallies[offer.broadcast.store_campaign_id].joined.add(figures)
        product = per_product.setdefault(
            offer.product_id, (offer.product.sku, offer.product.name, JoinedFigures())
        )
        product[2].add(figures)

    if pairs:
        store_ids = {store_id for store_id, _ in pairs}
        member_ids = {member_id for _, member_id in pairs}
        buyers_orders = (
            Order.objects.filter(store__in=store_ids, member__in=member_ids)
            .exclude(status__in=Order.VOID_STATUSES)
            .order_by()
        )
        for row in buyers_orders.values("store_id", "member_id").annotate(first=Min("placed_at")):
            for sc_id in pairs.get((row["store_id"], row["member_id"]), ()):
                if row["first"] >= windows[campaign_of[sc_id]][0]:
                    tallies[sc_id].gained.add(row["member_id"])
        ends = [windows[campaign_of[sc_id]][1] for sc_id in sc_ids]
        repeat_span = dt.timedelta(days=repeat_days)
        later_days = (
            buyers_orders.filter(placed_at__gte=min(ends), placed_at__lt=max(ends) + repeat_span)
            .exclude(pk__in=order_ids)
            .annotate(day=TruncDate("placed_at"))
            .values_list("store_id", "member_id", "day")
            .distinct()
        )
        for store_id, member_id, day in later_days:
            for sc_id in pairs.get((store_id, member_id), ()):
                # Local dates: the window ends at local midnight after the last day.
                first_day = windows[campaign_of[sc_id]][1].date()
                if first_day <= day < first_day + repeat_span:
                    tallies[sc_id].repeat.add(member_id)
    return _Collected(tallies, order_ids, per_product)


def _store_campaign_rows(campaign_ids: list[int], store_ids: list[int] | None) -> list[dict]:
    rows = StoreCampaign.objects.filter(campaign__in=campaign_ids)
    if store_ids is not None:
        rows = rows.filter(store__in=store_ids)
    return list(
        rows.order_by("store__code").values(
            "pk", "campaign_id", "store_id", "store__code", "store__name", "status"
        )
    )


def _comparison(
    *, campaign: Campaign, store_ids: list[int] | None, repeat_days: int, sources: ReviewSources
) -> Comparison:
    """The template's earlier campaigns' figures and their averages (a fixed query count)."""
    past: list[Campaign] = []
    if campaign.template_id is not None:
        past = list(
            Campaign.objects.filter(template=campaign.template_id, ends_on__lt=campaign.starts_on)
            .exclude(status=Campaign.Status.CANCELLED)
            .exclude(pk=campaign.pk)
            .order_by("-starts_on", "-pk")
        )
    past_ids = [item.pk for item in past]
    rows = _store_campaign_rows(past_ids, store_ids) if past_ids else []
    collected = _collect(
        store_campaigns=rows,
        windows={item.pk: campaign_window(item) for item in past},
        repeat_days=repeat_days,
        sources=sources,
    )
    sc_ids = [row["pk"] for row in rows]
    events = TrackingEvent.objects.filter(store_campaign__in=sc_ids)
    funnels = _funnels_by(events, "store_campaign__campaign", sc_ids) if rows else {}
    per_campaign: dict[int, _Tally] = {item.pk: _Tally() for item in past}
    for row in rows:
        per_campaign[row["campaign_id"]].add(collected.per_store_campaign[row["pk"]])
    campaigns = [
        PastCampaign(
            campaign_id=item.pk,
            name=item.name,
            starts_on=item.starts_on,
            ends_on=item.ends_on,
            figures=per_campaign[item.pk].figures(funnels.get(item.pk, Funnel())),
        )
        for item in past
    ]
    figures = [item.figures for item in campaigns]

    def average(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    def average_money(values: list[Decimal]) -> Decimal | None:
        return (sum(values, Decimal(0)) / len(values)).quantize(CENT) if values else None

    return Comparison(
        campaigns=campaigns,
        exposures=average([f.funnel.exposures for f in figures]),
        clicks=average([f.funnel.clicks for f in figures]),
        order_events=average([f.funnel.orders for f in figures]),
        conversion_rate=_mean(f.funnel.conversion_rate for f in figures),
        order_count=average([f.order_count for f in figures]),
        joined_value=average_money([f.joined_value for f in figures]),
        units=average([f.units for f in figures]),
        formed_rate=_mean(f.formed_rate for f in figures),
        members_gained=average([f.members_gained for f in figures]),
        repeat_buyers=average([f.repeat_buyers for f in figures]),
        # The after-the-fact figures of the past campaigns, from the same orders and cases
        # (`_collect`) as this campaign's.
        order_value=average_money([f.order_value for f in figures]),
        units_short=average([f.units_short for f in figures]),
        refunded_value=average_money([f.refunded_value for f in figures]),
        sold_value=average_money([f.sold_value for f in figures]),
    )


def campaign_review(
    *,
    campaign: Campaign,
    sources: ReviewSources,
    stores: Iterable[Store] | None = None,
    repeat_days: int = DEFAULT_REPEAT_DAYS,
) -> CampaignReview:
    """The review report of `campaign` over all its stores, or only `stores` (an owner's view:
    then every figure, the top products and the comparison count those stores only).
    `sources` reads the refunds (`apps.campaigns.sources.review_sources()`).

    Read-only; a fixed number of queries (about twenty) whatever the campaign's size."""
    store_ids = None if stores is None else _store_ids(stores)
    start, end = campaign_window(campaign)
    rows = _store_campaign_rows([campaign.pk], store_ids)
    collected = _collect(
        store_campaigns=rows,
        windows={campaign.pk: (start, end)},
        repeat_days=repeat_days,
        sources=sources,
    )
    sc_ids = [row["pk"] for row in rows]
    events = TrackingEvent.objects.filter(store_campaign__in=sc_ids)
    funnels = _funnels_by(events, "store_campaign", sc_ids) if rows else {}
    total = _Tally()
    store_rows = []
    for row in rows:
        tally = collected.per_store_campaign[row["pk"]]
        total.add(tally)
        store_rows.append(
            StoreRow(
                store_id=row["store_id"],
                store_code=row["store__code"],
                store_name=row["store__name"],
                status=row["status"],
                figures=tally.figures(funnels.get(row["pk"], Funnel())),
            )
        )
    top_products = sorted(
        (
            ProductRow(
                product_id=product_id,
                sku=sku,
                name=name,
                units=figures.units,
                joined_value=figures.value.quantize(CENT),
            )
            for product_id, (sku, name, figures) in collected.per_product.items()
            if figures.orders
        ),
        key=lambda row: (-row.joined_value, -row.units, row.sku),
    )[:TOP_PRODUCTS]
    return CampaignReview(
        campaign=campaign,
        window_start=start,
        window_end=end,
        repeat_days=repeat_days,
        scoped=stores is not None,
        totals=total.figures(_funnel_of(events, sc_ids) if rows else Funnel()),
        stores=store_rows,
        top_products=top_products,
        comparison=_comparison(
            campaign=campaign, store_ids=store_ids, repeat_days=repeat_days, sources=sources
        ),
    )
