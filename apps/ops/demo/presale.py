"""Demo pre-order (预售 · 以销定产), chapter 6's journey at the demo owner's store and a few
others: the store holds none of a fruit, opens a pre-order group buy on yesterday's broadcast,
members join (the 接龙 is the order to the orchard), the offer forms at its deadline and its paid
orders go on the supplier's purchase order; the goods are still to come, then the members pick
up (docs/group-buys.md, "Pre-orders"; docs/demo-data.md, "The pre-order").

Written through the product's own services, each given the demo's clock (`now=`), so the rows
are what they leave: `campaign_launch` (a one-day campaign, yesterday, the pre-order's selling
day, for the first `STORES` stores), `store_campaign_confirm` (target list, planned
promotions, scheduled broadcast, pack, with the portal's `pack_sources()`; its PNG poster is
most of this part's time), `broadcast_start` / `broadcast_end`, `offer_create(presale=True)`
at the campaign's price (`campaign_prices`, what the owner's offer form proposes) and cut-off
(`campaign_cutoff`, the 截单 the pack's 接龙 copy names), `group_buy_join` for each member
(no stock taken: a pre-order), `group_buy_offer_settle` at the deadline (formed: joins
confirmed, orders paid, pickup codes), then `purchase_orders_consolidate` with the settlement's
moment as cut-off, as the consolidation task the settlement enqueues would. A broadcast is
started and ended by the store's owner account where the demo has one (`owner`, `owner2`),
else by HQ operations (`hq`).

The store's zero on-hand is the stock part's (seed.py `_stock`): these stores hold no shelf
stock of `presale_product_name(today)` (no opening receipt; each month's restocking still
covers what the month sold), so on-hand 0 equals the ledger's sum. Joins write no ledger row.

Deterministic and cheap: its own random stream (`random.Random`, the demo's seed mixed with
`STREAM`), a few stores × a dozen joins; the joiners are the store's members who had joined by
the broadcast, whose planted scenes allow the product (`scenes.member_may_buy`), in a seeded
order. The confirmation time of the store campaigns is set to the evening before the campaign
(demo history, as live.py writes it; the service stamps the real clock).
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer, StoreCampaign
from apps.campaigns.selectors.campaigns import campaign_cutoff
from apps.campaigns.services.broadcasts import broadcast_end, broadcast_start
from apps.campaigns.services.campaigns import (
    CampaignProductSpec,
    campaign_launch,
    store_campaign_confirm,
)
from apps.campaigns.services.group_buys import group_buy_join, group_buy_offer_settle, offer_create
from apps.campaigns.services.packs import campaign_prices
from apps.campaigns.sources import pack_sources, settle_sources
from apps.catalog.models import Product
from apps.customers.models import Member
from apps.ops.demo import catalogue
from apps.ops.demo.orders import TZ
from apps.ops.demo.purchasing import consolidated_at_cutoff
from apps.ops.demo.scenes import member_may_buy
from apps.procurement.selectors.aftersales import refunds_by_store
from apps.stores.models import Store, StoreStaff
from apps.stores.services.kpis import store_kpi_snapshots_compute

STREAM = 7_731  # "presale": this part's random stream, mixed with the demo's seed
STORES = 4  # the demo owner's store (HZ0001), owner2's (HZ0002) and the next two
# The pre-order's fruit: the first of these in season on the demo's "today" (丹东草莓 in winter
# and spring, 树莓 all year). Neither is among the demo purchasing's products (purchasing.py
# takes each supplier's first three by SKU), so no demo receipt brings either to the shelf.
PRODUCTS = ("丹东草莓 500g", "树莓 125g")
CAMPAIGN_NAME = "{product} · 预售接龙"
DISCOUNT_PERCENT = 10
BROADCAST_HOUR = 19
BROADCAST_MINUTES = 70
SETTLE_AFTER = dt.timedelta(minutes=1)  # the settle task runs every minute
THRESHOLD = 8  # units (成团)
CAP = 40  # units: the campaign's 备货 for a pre-order is what the orchard ships
SUGGESTED_STOCK = CAP
JOINS = (9, 14)  # joins per store, inclusive
QUANTITY_CHOICES, QUANTITY_WEIGHTS = (1, 2, 3), (0.6, 0.3, 0.1)
JIELONG_SHARE = 0.3  # the rest join from the mini-program (API)


def presale_product_name(today: dt.date) -> str:
    """The pre-order's product: the first of `PRODUCTS` whose season (catalogue) holds
    `today`'s month, else the last one."""
    seasons = {spec.name: spec.season for spec in catalogue.PRODUCTS}
    for name in PRODUCTS:
        if not seasons[name] or today.month in seasons[name]:
            return name
    return PRODUCTS[-1]


def presale_stores(stores: list[Store]) -> list[Store]:
    """The stores with the pre-order (and no shelf stock of its product)."""
    return stores[:STORES]


def demo_presale_seed(*, stores: list[Store], today: dt.date, seed: int) -> dict[str, int]:
    """Write the pre-order campaign and its joins; returns counts for the seed's summary.

    Preconditions: the catalogue, suppliers, members, stock levels (the product at 0 at these
    stores) and the demo accounts exist. Deterministic for the same arguments and database."""
    chosen = presale_stores(stores)
    product = (
        Product.objects.filter(name=presale_product_name(today)).select_related("category").first()
    )
    if product is None or not chosen:
        return {}
    rng = random.Random(f"{seed}-{STREAM}")
    yesterday = today - dt.timedelta(days=1)
    scheduled = dt.datetime.combine(yesterday, dt.time(BROADCAST_HOUR), tzinfo=TZ)
    with transaction.atomic():
        # One day, yesterday: the pre-order's selling day. Its 截单 is the campaign's own
        # cut-off (`campaign_cutoff`, yesterday 22:00), the one the pack's 接龙 copy names and
        # counts the pickup day from, and the one the owner's offer form proposes: the offers
        # take it, so what members read is what the offers did (formed at it, consolidated
        # with the delivery day the copy promises).
        campaign = campaign_launch(
            template=None,
            name=CAMPAIGN_NAME.format(product=product.name),
            starts_on=yesterday,
            ends_on=yesterday,
            products=[CampaignProductSpec(product=product, suggested_stock=SUGGESTED_STOCK)],
            stores=chosen,
            discount_percent=DISCOUNT_PERCENT,
            broadcast_hour=BROADCAST_HOUR,
            by=None,
        )
        deadline = campaign_cutoff(campaign=campaign, start=scheduled)
        settled_at = deadline + SETTLE_AFTER
        runners = _runners(chosen)
        offers: list[GroupBuyOffer] = []
        joins = 0
        for store_campaign in (
            StoreCampaign.objects.filter(campaign=campaign)
            .select_related("store", "campaign")
            .order_by("store__code")
        ):
            # As the portal's confirm: the pack's copy promises the suppliers' pickup day.
            store_campaign_confirm(
                store_campaign=store_campaign,
                by=runners[store_campaign.store_id],
                sources=pack_sources(),
            )
            broadcast = Broadcast.objects.select_related("store_campaign__campaign").get(
                store_campaign=store_campaign
            )
            offer, joined = _broadcast(
                broadcast=broadcast,
                product=product,
                by=runners[store_campaign.store_id],
                scheduled=scheduled,
                deadline=deadline,
                rng=rng,
            )
            offers.append(offer)
            joins += joined
        StoreCampaign.objects.filter(campaign=campaign).update(
            confirmed_at=dt.datetime.combine(yesterday - dt.timedelta(days=1), dt.time(21), TZ)
        )
        for offer in offers:
            group_buy_offer_settle(offer_id=offer.pk, now=settled_at, sources=settle_sources())
        # What the settlement's enqueued consolidation does, with its moment as cut-off.
        run = consolidated_at_cutoff(cutoff=settled_at)
        store_kpi_snapshots_compute(day=yesterday, refunds=refunds_by_store)
    return {
        "pre-order offers": len(offers),
        "pre-order joins": joins,
        "pre-order order lines consolidated": run.source_line_count,
    }


def _runners(stores: list[Store]) -> dict[int, object]:
    """Who starts and ends each store's broadcast: its owner account, else HQ operations."""
    owners = dict(
        StoreStaff.objects.filter(store__in=stores, role=StoreStaff.Role.OWNER)
        .order_by("store_id", "user_id")
        .values_list("store_id", "user")
    )
    users = get_user_model().objects.in_bulk([*owners.values()])
    hq = get_user_model().objects.get(username="hq")
    return {store.pk: users.get(owners.get(store.pk), hq) for store in stores}


def _broadcast(
    *,
    broadcast: Broadcast,
    product: Product,
    by: object,
    scheduled: dt.datetime,
    deadline: dt.datetime,
    rng: random.Random,
) -> tuple[GroupBuyOffer, int]:
    """Yesterday's broadcast at one store: started at its hour, the pre-order opened a few
    minutes in, members joining until shortly before the deadline, ended after
    `BROADCAST_MINUTES` (joins from the chat go on after it). Returns the offer and its joins."""
    started = scheduled + dt.timedelta(minutes=rng.randint(0, 6))
    broadcast_start(broadcast=broadcast, by=by, now=started)
    opened = started + dt.timedelta(minutes=rng.randint(3, 8))
    offer = offer_create(
        broadcast=broadcast,
        product=product,
        price=campaign_prices(broadcast=broadcast)[product.pk],
        threshold=THRESHOLD,
        cap=CAP,
        deadline=deadline,
        presale=True,
        by=by,
        now=opened,
    )
    ended = started + dt.timedelta(minutes=BROADCAST_MINUTES)
    members = [
        member
        for member in Member.objects.filter(
            home_store_id=broadcast.store_id, is_erased=False, joined_at__lte=started
        ).order_by("pk")
        if member_may_buy(member.member_no, {product.category.code})
    ]
    count = min(len(members), rng.randint(*JOINS))
    picked = rng.sample(members, k=count)
    span = int((deadline - opened).total_seconds() // 60) - 5
    minutes = sorted(rng.randint(1, span) for _ in picked)
    joined = units = 0
    ended_yet = False
    for number, (member, minute) in enumerate(zip(picked, minutes, strict=True)):
        quantity = rng.choices(QUANTITY_CHOICES, QUANTITY_WEIGHTS)[0]
        if units + quantity > CAP:
            break
        at = opened + dt.timedelta(minutes=minute)
        if not ended_yet and at >= ended:
            broadcast_end(broadcast=broadcast, by=by, now=ended)
            ended_yet = True
        jielong = rng.random() < JIELONG_SHARE
        group_buy_join(
            offer=offer,
            quantity=quantity,
            idempotency_key=f"demo-presale-{broadcast.store_id}-{number}",
            member=member,
            display_name=member.name if jielong else "",
            source=GroupBuyJoin.Source.JIELONG if jielong else GroupBuyJoin.Source.API,
            now=at,
        )
        joined += 1
        units += quantity
    if not ended_yet:
        broadcast_end(broadcast=broadcast, by=by, now=ended)
    return offer, joined
