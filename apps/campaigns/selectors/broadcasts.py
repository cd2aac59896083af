"""Reads for broadcasts and group buys: the owner's control page, the API's offer state,
and the formation rate (成团率)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.campaigns.models import Broadcast, CampaignProduct, GroupBuyJoin, GroupBuyOffer
from apps.catalog.models import Product
from apps.stores.access import StoreAction, stores_for
from apps.stores.models import Order, StockLevel

if TYPE_CHECKING:
    from apps.campaigns.models import Campaign, StoreCampaign
    from apps.stores.access import UserLike
    from apps.stores.models import Store

JOINS_SHOWN = 200


def broadcast_for_user(
    *, user: UserLike, broadcast_id: int, action: StoreAction
) -> Broadcast | None:
    """The broadcast when `user` may take `action` at its store, else None (another store's
    broadcast and an unknown id look alike)."""
    return (
        Broadcast.objects.select_related("store", "store__region", "store_campaign__campaign")
        .filter(pk=broadcast_id, store__in=stores_for(user, action))
        .first()
    )


def group_buy_join_key_used(*, offer_id: int, store_id: int, idempotency_key: str) -> bool:
    """Whether this store's offer already has a join under this idempotency key."""
    return GroupBuyJoin.objects.filter(
        offer_id=offer_id, offer__broadcast__store_id=store_id, idempotency_key=idempotency_key
    ).exists()


def store_broadcasts(*, store: Store) -> QuerySet[Broadcast]:
    """The store's broadcasts, next first, with their campaign's name."""
    return (
        Broadcast.objects.filter(store=store)
        .select_related("store_campaign__campaign")
        .annotate(offer_count=Count("offers"))
        .order_by("-scheduled_at", "-pk")
    )


def broadcast_offers(*, broadcast: Broadcast) -> list[GroupBuyOffer]:
    """The broadcast's offers with their product, oldest first."""
    return list(
        GroupBuyOffer.objects.filter(broadcast=broadcast).select_related("product").order_by("pk")
    )


def broadcast_offer(*, broadcast: Broadcast, offer_id: int) -> GroupBuyOffer | None:
    """One offer of `broadcast` with its product, or None (another broadcast's offer too)."""
    return (
        GroupBuyOffer.objects.filter(broadcast=broadcast, pk=offer_id)
        .select_related("product", "broadcast__store")
        .first()
    )


def broadcast_joins(*, broadcast: Broadcast, limit: int = JOINS_SHOWN) -> list[GroupBuyJoin]:
    """The broadcast's latest joins (newest first) with their offer's product, member and
    order (the order's status is the join's current state: `join_state`)."""
    return list(
        GroupBuyJoin.objects.filter(offer__broadcast=broadcast)
        .select_related("offer__product", "member", "order")
        .order_by("-created_at", "-pk")[:limit]
    )


class JoinState:
    """Where a join stands, read from its order (the join's own status is set at settlement
    and not kept in step with pickup, receiving or cancellation)."""

    JOINED = "joined"  # the group has not formed yet (order pending)
    CONFIRMED = "confirmed"  # formed, the goods are on their way (order paid)
    READY = "ready"  # ready for pickup
    PICKED_UP = "picked_up"  # handed over (order completed)
    CANCELLED = "cancelled"  # not formed, not delivered, or cancelled at the counter
    REFUNDED = "refunded"


_ORDER_JOIN_STATES = {
    Order.Status.PENDING: JoinState.JOINED,
    Order.Status.PAID: JoinState.CONFIRMED,
    Order.Status.READY: JoinState.READY,
    Order.Status.COMPLETED: JoinState.PICKED_UP,
    Order.Status.CANCELLED: JoinState.CANCELLED,
    Order.Status.REFUNDED: JoinState.REFUNDED,
}


def join_state(join: GroupBuyJoin) -> str:
    """The join's current state (`JoinState`) from its order's status; a join without an
    order (none is written so today) falls back to its own status."""
    if join.order is None:
        return join.status
    return _ORDER_JOIN_STATES.get(join.order.status, join.status)


def open_offer_product_ids(*, broadcast: Broadcast) -> set[int]:
    """The products that have an open offer on `broadcast` (at most one each: the
    `offer_one_open_per_product` constraint); the offer form does not propose them."""
    return set(
        GroupBuyOffer.objects.filter(
            broadcast=broadcast, status=GroupBuyOffer.Status.OPEN
        ).values_list("product_id", flat=True)
    )


@dataclass(frozen=True)
class OfferProgress:
    """An offer's figures as the pages and the API show them."""

    offer: GroupBuyOffer
    joined: int  # what the threshold counts: units or participants
    threshold_percent: int  # 0..100, capped
    cap_percent: int  # units of the cap, 0..100
    remaining: int  # units left under the cap

    @property
    def reached(self) -> bool:
        return self.joined >= self.offer.threshold


def offer_progress(offer: GroupBuyOffer) -> OfferProgress:
    joined = offer.threshold_progress
    return OfferProgress(
        offer=offer,
        joined=joined,
        threshold_percent=min(100, joined * 100 // offer.threshold),
        cap_percent=min(100, offer.units_joined * 100 // offer.cap),
        remaining=max(offer.cap - offer.units_joined, 0),
    )


@dataclass
class JoinedFigures:
    """Group-buy figures over some offers, one definition for the live dashboard and the review
    report (docs/live-dashboard.md, docs/reviews.md):

    - `orders`: joins not cancelled, whose order was not cancelled or refunded since (at the
      pickup counter, after the offer formed): one join makes one order; `units`: their
      quantities;
    - `value`, the **joined value** (接龙金额): units × the offer's group-buy price over those
      joins. Not sales: an open offer's joins are pending and drop out if it does not form;
    - `value_reached`: the part of it whose offer is at threshold (`GroupBuyOffer.at_threshold`:
      settled formed, or open at its threshold);
    - `offers`, `offers_reached` (at threshold), `offers_formed` and `offers_settled` (formed
      + not formed: the 成团率's terms, as `FormationRate`)."""

    orders: int = 0
    units: int = 0
    value: Decimal = Decimal("0.00")
    value_reached: Decimal = Decimal("0.00")
    offers: int = 0
    offers_reached: int = 0
    offers_formed: int = 0
    offers_settled: int = 0

    def add(self, other: JoinedFigures) -> None:
        self.orders += other.orders
        self.units += other.units
        self.value += other.value
        self.value_reached += other.value_reached
        self.offers += other.offers
        self.offers_reached += other.offers_reached
        self.offers_formed += other.offers_formed
        self.offers_settled += other.offers_settled


_SETTLED = (GroupBuyOffer.Status.FORMED, GroupBuyOffer.Status.FAILED)


def offers_joined(offers: list[GroupBuyOffer]) -> dict[int, JoinedFigures]:
    """`JoinedFigures` of each of `offers` (loaded rows: status, price, threshold and counters),
    by offer id. One query (the joins' orders and units), none for no offers."""
    rows = (
        {
            row["offer_id"]: row
            for row in GroupBuyJoin.objects.filter(offer__in=[offer.pk for offer in offers])
            .exclude(status=GroupBuyJoin.Status.CANCELLED)
            .exclude(order__status__in=Order.VOID_STATUSES)
            .order_by()
            .values("offer_id")
            .annotate(orders=Count("pk"), units=Sum("quantity"))
        }
        if offers
        else {}
    )
    figures = {}
    for offer in offers:
        row = rows.get(offer.pk)
        units = int(row["units"] or 0) if row else 0
        value = offer.price * units
        reached = offer.at_threshold
        figures[offer.pk] = JoinedFigures(
            orders=row["orders"] if row else 0,
            units=units,
            value=value,
            value_reached=value if reached else Decimal("0.00"),
            offers=1,
            offers_reached=int(reached),
            offers_formed=int(offer.status == GroupBuyOffer.Status.FORMED),
            offers_settled=int(offer.status in _SETTLED),
        )
    return figures


@dataclass(frozen=True)
class FormationRate:
    """成团率: offers formed over offers settled (formed + not formed; cancelled offers and
    offers still open do not count). `rate` is None when nothing is settled yet."""

    formed: int
    settled: int

    @property
    def rate(self) -> Decimal | None:
        if not self.settled:
            return None
        return (Decimal(self.formed) / Decimal(self.settled)).quantize(Decimal("0.0001"))


def formation_rate(
    *,
    store_campaign: StoreCampaign | None = None,
    campaign: Campaign | None = None,
    store: Store | None = None,
) -> FormationRate:
    """成团率 of one store campaign, one HQ campaign (all its stores) or one store (all its
    broadcasts); give exactly one. One aggregate query."""
    given = [value for value in (store_campaign, campaign, store) if value is not None]
    if len(given) != 1:
        raise TypeError("formation_rate needs exactly one of store_campaign, campaign, store")
    offers = GroupBuyOffer.objects.all()
    if store_campaign is not None:
        offers = offers.filter(broadcast__store_campaign=store_campaign)
    elif campaign is not None:
        offers = offers.filter(broadcast__store_campaign__campaign=campaign)
    else:
        offers = offers.filter(broadcast__store=store)
    figures = offers.aggregate(
        formed=Count("pk", filter=Q(status=GroupBuyOffer.Status.FORMED)),
        settled=Count(
            "pk", filter=Q(status__in=[GroupBuyOffer.Status.FORMED, GroupBuyOffer.Status.FAILED])
        ),
    )
    return FormationRate(formed=figures["formed"], settled=figures["settled"])


def offer_products(*, broadcast: Broadcast) -> QuerySet[Product]:
    """What an offer on `broadcast` may sell: the campaign's products, in the campaign's
    order, whatever the store has of them (an offer from stock needs some, a pre-order none:
    `offer_create` says which); only when the campaign has none, every product in stock at
    the store, by name. Each carries `on_hand`, the store's units (0 when it has none)."""
    on_hand = Coalesce(
        Subquery(
            StockLevel.objects.filter(
                store_id=broadcast.store_id, product_id=OuterRef("pk")
            ).values("on_hand")[:1]
        ),
        0,
    )
    campaign_products = CampaignProduct.objects.filter(
        campaign__stores=broadcast.store_campaign_id, product_id=OuterRef("pk")
    ).order_by("position", "pk")
    in_campaign = (
        Product.objects.annotate(
            position=Subquery(campaign_products.values("position")[:1]), on_hand=on_hand
        )
        .filter(position__isnull=False)
        .order_by("position", "name", "pk")
    )
    if in_campaign.exists():
        return in_campaign
    stocked = StockLevel.objects.filter(store_id=broadcast.store_id, on_hand__gte=1).values(
        "product_id"
    )
    return Product.objects.filter(pk__in=stocked).annotate(on_hand=on_hand).order_by("name", "pk")
