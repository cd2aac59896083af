"""Daily lists (hot / new) and insight cards for a chunk of stores: read set-wise, compute with
`analytics.lists`, upsert on the natural keys so a rerun of the same day writes the same rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, Sum

from apps.catalog.analytics import lists as la
from apps.catalog.analytics.ordering import order_quantities
from apps.catalog.models import (
    DailyListEntry,
    DecisionSettings,
    InsightCard,
    ListKind,
    Product,
    ReasonKind,
)
from apps.catalog.services.forecasts import ChunkForecast, day_start, product_shelf_lives
from apps.catalog.services.frames import datetime_column, int_column, queryset_frame
from apps.catalog.services.sources import NO_SOURCES, PlanningSources
from apps.customers.models import (
    CommunityMessage,
    Member,
    MemberProfile,
    MemberTag,
    Tag,
    TagCategoryRule,
)
from apps.stores.models import Store
from apps.stores.selectors import (
    basket_lines_between,
    daily_product_sales,
    order_lines_between,
    product_first_sale_times,
    store_order_hours,
)

REGION_DAYS = 14
BUYER_DAYS = 28
DEFAULT_BROADCAST_HOUR = 20
# A new product with no sales anywhere to estimate from (a tag rule only): one unit on the
# shelf to try it; the supplier's minimum applies to the consolidated line, not to the store.
TRIAL_UNITS = 1


@dataclass
class NightContext:
    """Network-wide facts a night computes once and every chunk of stores reads."""

    day: dt.date
    store_region: dict[int, int]
    new_products: pd.DataFrame  # product_id, category_id
    recent_sales: pd.DataFrame  # store_id, product_id, units over the last REGION_DAYS days
    category_tags: pd.DataFrame  # category_id, tag_id
    tag_names: dict[int, str]
    mention_keys: dict[str, int]
    store_members: pd.DataFrame  # store_id, members (home-store members, not erased)
    store_tags: pd.DataFrame  # store_id, tag_id, tag_name, members_with_tag
    new_buyers: pd.DataFrame  # store_id, member_id, product_id, units over REGION_DAYS
    new_buyer_tags: pd.DataFrame  # member_id, tag_id of those buyers


def night_context_load(*, day: dt.date, settings: DecisionSettings) -> NightContext:
    """Read what the lists need network-wide: each store's region, the new products, how each
    product sells per store in each region over the last 14 days, the tag rules, each
    store's members per tag, and which members bought the new products (with their tags).
    All aggregates in SQL; nothing here grows with the number of stores but the rows."""
    store_region = dict(Store.objects.order_by("pk").values_list("pk", "region_id"))
    end = day_start(day)
    first_sales = queryset_frame(
        product_first_sale_times(start=end - dt.timedelta(days=settings.history_days), end=end),
        ["product_id", "first_sold_at"],
    )
    newly_sold: set[int] = set()
    if len(first_sales):
        first = datetime_column(first_sales, "first_sold_at")
        cutoff = pd.Timestamp(end - dt.timedelta(days=settings.new_product_days))
        # "First sold recently" only means new when the history reaches back past the cutoff;
        # in a young network every product would look new.
        if first.min() < cutoff:
            newly_sold = set(int_column(first_sales, "product_id")[first >= cutoff].tolist())
    products = pd.DataFrame.from_records(
        list(
            Product.objects.filter(is_active=True).values_list(
                "pk", "category_id", "is_new", "name"
            )
        ),
        columns=["product_id", "category_id", "is_new", "name"],
    )
    is_new = products["is_new"].astype(bool) | products["product_id"].isin(newly_sold)
    recent = queryset_frame(
        daily_product_sales(start=end - dt.timedelta(days=REGION_DAYS), end=end),
        ["store_id", "product_id", "day", "units"],
    )
    if len(recent):
        recent = (
            pd.DataFrame(
                {
                    "store_id": int_column(recent, "store_id"),
                    "product_id": int_column(recent, "product_id"),
                    "units": pd.to_numeric(recent["units"]),
                }
            )
            .groupby(["store_id", "product_id"], as_index=False)["units"]
            .sum()
        )
    else:
        recent = pd.DataFrame({"store_id": [], "product_id": [], "units": []})
    category_tags = pd.DataFrame.from_records(
        list(TagCategoryRule.objects.values_list("category_id", "tag_id")),
        columns=["category_id", "tag_id"],
    )
    tag_names = dict(Tag.objects.values_list("pk", "name"))
    new_products = products.loc[is_new, ["product_id", "category_id"]].reset_index(drop=True)
    new_buyers, new_buyer_tags = _new_product_buyers(
        product_ids=[int(p) for p in new_products["product_id"]],
        start=end - dt.timedelta(days=REGION_DAYS),
        end=end,
    )
    store_members, store_tags = _store_member_counts(tag_names)
    return NightContext(
        day=day,
        store_region=store_region,
        new_products=new_products,
        recent_sales=recent,
        category_tags=category_tags,
        tag_names=tag_names,
        mention_keys=la.mention_keys(
            dict(zip(products["product_id"], products["name"], strict=True))
        ),
        store_members=store_members,
        store_tags=store_tags,
        new_buyers=new_buyers,
        new_buyer_tags=new_buyer_tags,
    )


def _store_member_counts(tag_names: dict[int, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(store_id, members) and (store_id, tag_id, tag_name, members_with_tag) of every store's
    home-store members who are not erased: two grouped counts in SQL."""
    members = pd.DataFrame.from_records(
        list(
            Member.objects.filter(is_erased=False, home_store__isnull=False)
            .order_by()
            .values("home_store_id")
            .annotate(n=Count("pk"))
            .values_list("home_store_id", "n")
        ),
        columns=["store_id", "members"],
    ).astype(np.int64)
    tagged = pd.DataFrame.from_records(
        list(
            MemberTag.objects.filter(member__is_erased=False, member__home_store__isnull=False)
            .order_by()
            .values("member__home_store_id", "tag_id")
            .annotate(n=Count("pk"))
            .values_list("member__home_store_id", "tag_id", "n")
        ),
        columns=["store_id", "tag_id", "members_with_tag"],
    ).astype(np.int64)
    tagged.insert(2, "tag_name", [tag_names.get(int(t), "") for t in tagged["tag_id"]])
    return members, tagged


def _new_product_buyers(
    *, product_ids: list[int], start: dt.datetime, end: dt.datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members' purchases of the new products in [start, end) — (store_id, member_id,
    product_id, units), summed in SQL — and those members' tags (member_id, tag_id)."""
    buyer_columns = ["store_id", "member_id", "product_id", "units"]
    if not product_ids:
        return (
            pd.DataFrame({name: pd.Series(dtype=np.int64) for name in buyer_columns}),
            pd.DataFrame({name: pd.Series(dtype=np.int64) for name in ["member_id", "tag_id"]}),
        )
    lines = order_lines_between(start=start, end=end).filter(
        product_id__in=product_ids, order__member__isnull=False, order__member__is_erased=False
    )
    raw = queryset_frame(
        lines.order_by()
        .values("order__store_id", "order__member_id", "product_id")
        .annotate(units=Sum("quantity"))
        .values_list("order__store_id", "order__member_id", "product_id", "units"),
        buyer_columns,
    )
    buyers = pd.DataFrame({name: int_column(raw, name) for name in buyer_columns})
    raw_tags = queryset_frame(
        MemberTag.objects.filter(member_id__in=lines.values("order__member_id"))
        .order_by()
        .values_list("member_id", "tag_id"),
        ["member_id", "tag_id"],
    )
    tags = pd.DataFrame({name: int_column(raw_tags, name) for name in ["member_id", "tag_id"]})
    return buyers, tags


def _store_members(store_ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        list(
            Member.objects.filter(home_store_id__in=store_ids, is_erased=False)
            .order_by()
            .values_list("home_store_id", "pk")
        ),
        columns=["store_id", "member_id"],
    )


def _store_tag_share(store_ids: list[int], context: NightContext) -> pd.DataFrame:
    """(store_id, tag_id, tag_name, share of the store's members with the tag) of these stores,
    from the night's counts."""
    shares = (
        context.store_tags[context.store_tags["store_id"].isin(store_ids)]
        .merge(context.store_members, on="store_id")
        .query("members > 0")
    )
    return pd.DataFrame(
        {
            "store_id": shares["store_id"],
            "tag_id": shares["tag_id"],
            "tag_name": shares["tag_name"],
            "share": shares["members_with_tag"] / shares["members"],
        }
    ).reset_index(drop=True)


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """The members' notification quiet hours (`settings.NOTIFY_QUIET_HOURS`, "HH:MM-HH:MM"
    in TIME_ZONE, may wrap midnight; "" = none) as (start, end), or None."""
    spec = django_settings.NOTIFY_QUIET_HOURS.strip()
    if not spec:
        return None
    start, end = (dt.time.fromisoformat(part.strip()) for part in spec.split("-", 1))
    return None if start == end else (start, end)


def broadcast_hours(*, store_ids: list[int], day: dt.date) -> dict[int, tuple[int, str]]:
    """Best broadcast hour per store: the most common of its members' usual shopping hours
    (MemberProfile.usual_hours), else the busiest order hour of the last 28 days, else 20:00;
    moved out of the members' notification quiet hours (`quiet_hours`) to the nearest hour
    they may be told at (23:00 → 21:00 with 21:30-08:00): a broadcast nobody is told of is no
    suggestion. The source stays where the hour came from."""
    quiet = quiet_hours()
    hours: dict[int, list[int]] = {}
    for store_id, usual in MemberProfile.objects.filter(
        member__home_store_id__in=store_ids, member__is_erased=False
    ).values_list("member__home_store_id", "usual_hours"):
        hours.setdefault(store_id, []).extend(int(h) for h in usual or [] if isinstance(h, int))
    result = {}
    for store_id in store_ids:
        hour = la.best_hour(hours.get(store_id, []))
        if hour is not None:
            result[store_id] = (hour, "profiles")
    missing = [store_id for store_id in store_ids if store_id not in result]
    if missing:
        end = day_start(day)
        counts: dict[int, list[int]] = {}
        for store_id, hour, orders in store_order_hours(
            start=end - dt.timedelta(days=BUYER_DAYS), end=end, store_ids=missing
        ):
            counts.setdefault(store_id, []).extend([int(hour)] * int(orders))
        for store_id in missing:
            hour = la.best_hour(counts.get(store_id, []))
            result[store_id] = (DEFAULT_BROADCAST_HOUR if hour is None else hour, "orders")
    if quiet is not None:
        result = {
            store_id: (la.hour_outside_quiet(hour, *quiet), source)
            for store_id, (hour, source) in result.items()
        }
    return result


def _mentions(*, store_ids: list[int], day: dt.date, keys: dict[str, int]) -> pd.DataFrame:
    end = day_start(day)
    week_start = end - dt.timedelta(days=7)
    messages = CommunityMessage.objects.filter(
        store_id__in=store_ids, sent_at__gte=end - dt.timedelta(days=14), sent_at__lt=end
    ).values_list("store_id", "text", "sent_at")
    return la.count_mentions(
        (
            (store_id, text, sent_at >= week_start)
            for store_id, text, sent_at in messages.iterator()
        ),
        keys,
    )


def _estimated_quantities(
    pairs: pd.DataFrame, settings: DecisionSettings, *, sources: PlanningSources
) -> np.ndarray:
    """Order quantities in units for products a store does not carry yet: the expected velocity
    (the region's per store, or the tag buyers' elsewhere scaled to the store's tagged members)
    as the daily forecast, Poisson σ = √velocity, nothing on hand, the product's shelf life
    capping it as for any suggestion (lead time from `sources.supplier_terms`). With no sales to
    go by (a tag rule only) a trial of `TRIAL_UNITS`. No supplier minimum or pack per store:
    those apply to the consolidated purchase-order line."""
    if pairs.empty:
        return np.zeros(0, dtype=np.int64)
    terms = pairs[["product_id"]].merge(
        sources.supplier_terms(product_ids=sorted(set(pairs["product_id"].tolist()))),
        on="product_id",
        how="left",
    )
    velocity = pairs["expected_velocity"].to_numpy(dtype=np.float64)
    _demand, _safety, quantity = order_quantities(
        daily_forecast=np.repeat(velocity[:, None], 14, axis=1),
        lead_time_days=terms["lead_time_days"]
        .fillna(settings.default_lead_time_days)
        .to_numpy(np.int64),
        review_period_days=settings.review_period_days,
        sigma_daily=np.sqrt(velocity),
        service_level=settings.service_level,
        on_hand=np.zeros(len(pairs)),
        on_order=np.zeros(len(pairs)),
        shelf_life_days=product_shelf_lives(pairs["product_id"].reset_index(drop=True)),
    )
    return np.where(velocity > 0, quantity, TRIAL_UNITS)


@dataclass
class ChunkLists:
    hot: pd.DataFrame
    new: pd.DataFrame
    cards: pd.DataFrame


def daily_lists_compute(
    *,
    context: NightContext,
    chunk: ChunkForecast,
    store_ids: list[int],
    settings: DecisionSettings,
    sources: PlanningSources = NO_SOURCES,
) -> ChunkLists:
    """Compute (not store) the hot list, the new-product list and the insight cards of these
    stores from their forecasts (order quantities of products not carried yet use
    `sources.supplier_terms`)."""
    batch = chunk.batch
    series = batch.series.reset_index(drop=True)
    sales = chunk.panel.sales if len(series) else np.zeros((0, 14))
    stats = pd.concat([la.velocity_and_trend(sales), la.rise_significance(sales)], axis=1)
    frame = pd.concat([series, stats], axis=1)
    frame["suggested_qty"] = batch.suggested_qty
    frame["demand_cover"] = batch.demand_cover
    frame["safety_stock"] = batch.safety_stock

    hot = la.hot_list(frame, size=settings.hot_list_size)

    stores = pd.DataFrame(
        {"store_id": store_ids, "region_id": [context.store_region.get(s) for s in store_ids]}
    )
    tag_fits = la.new_product_tag_fits(
        stores=stores,
        recent_sales=context.recent_sales,
        buyers=context.new_buyers,
        member_tags=context.new_buyer_tags,
        store_members=context.store_members,
        store_tags=context.store_tags,
        days=REGION_DAYS,
    )
    new = la.new_product_list(
        stores=stores,
        new_products=context.new_products,
        recent_sales=context.recent_sales,
        store_region=context.store_region,
        days=REGION_DAYS,
        store_tag_share=_store_tag_share(store_ids, context),
        category_tags=context.category_tags,
        size=settings.new_list_size,
        tag_fits=tag_fits,
    )
    if len(new):
        new = new.merge(
            frame[["store_id", "product_id", "suggested_qty", "velocity", "trend"]],
            on=["store_id", "product_id"],
            how="left",
        )
        missing = new["suggested_qty"].isna()
        new.loc[missing, "suggested_qty"] = _estimated_quantities(
            new[missing], settings, sources=sources
        )
        new["velocity"] = new["velocity"].fillna(0.0)
        new["trend"] = new["trend"].fillna(0.0)
        new["suggested_qty"] = new["suggested_qty"].astype(np.int64)

    mentions = _mentions(store_ids=store_ids, day=context.day, keys=context.mention_keys)
    with_talk = frame.merge(mentions, on=["store_id", "product_id"], how="left")
    with_talk[["mentions_7d", "mentions_prev_7d"]] = (
        with_talk[["mentions_7d", "mentions_prev_7d"]].fillna(0).astype(np.int64)
    )
    cards = la.insight_candidates(with_talk, size=settings.insight_cards_per_store)
    if len(cards):
        cards = _cards_with_tags_and_hours(cards, store_ids=store_ids, context=context)
    return ChunkLists(hot=hot, new=new, cards=cards)


def _cards_with_tags_and_hours(
    cards: pd.DataFrame, *, store_ids: list[int], context: NightContext
) -> pd.DataFrame:
    end = day_start(context.day)
    lines = queryset_frame(
        basket_lines_between(
            start=end - dt.timedelta(days=BUYER_DAYS), end=end, store_ids=store_ids
        ),
        ["order_id", "store_id", "member_id", "product_id"],
    )
    buyers = pd.DataFrame(
        {
            "store_id": int_column(lines, "store_id"),
            "product_id": int_column(lines, "product_id"),
            "member_id": int_column(lines, "member_id"),
        }
    )
    # Members only (anonymous lines carry -1), and only the cards' products. A merge, not a
    # list of booleans: an empty list would select no *columns* (the anonymous-only crash).
    buyers = buyers[buyers["member_id"] >= 0].merge(
        cards[["store_id", "product_id"]].drop_duplicates(), on=["store_id", "product_id"]
    )
    buyers = buyers[["store_id", "product_id", "member_id"]].drop_duplicates()
    store_members = _store_members(store_ids)
    member_ids = set(store_members["member_id"]) | set(buyers["member_id"])
    member_tags = pd.DataFrame.from_records(
        list(MemberTag.objects.filter(member_id__in=member_ids).values_list("member_id", "tag_id")),
        columns=["member_id", "tag_id"],
    )
    lifts = la.tag_lifts(buyers=buyers, member_tags=member_tags, store_members=store_members)
    # Only tags the card's own buyers carry with support and lift: a category's tag rule is
    # no evidence that this product's buyers fit (it made 高蛋白牛奶 "fit" 宠物主人).
    tags = la.best_tags(lifts, context.tag_names)
    hours = broadcast_hours(store_ids=store_ids, day=context.day)
    cards = cards.copy()
    cards["tags"] = [
        tags.get((int(s), int(p)), [])
        for s, p in zip(cards["store_id"], cards["product_id"], strict=True)
    ]
    cards["broadcast_hour"] = [hours[int(s)][0] for s in cards["store_id"]]
    cards["broadcast_hour_source"] = [hours[int(s)][1] for s in cards["store_id"]]
    return cards


def _reason(kind: str, row: object) -> dict:
    if kind == ReasonKind.HOT_RISING:
        return {"velocity": round(float(row.velocity), 1), "trend": round(float(row.trend) * 100)}
    if kind == ReasonKind.HOT_STEADY:
        return {"velocity": round(float(row.velocity), 1)}
    if kind == ReasonKind.NEW_REGION:
        return {
            "velocity": round(float(row.velocity_per_store), 1),
            "stores": int(row.region_stores),
        }
    if kind == ReasonKind.NEW_TAG_BUYERS:
        return {
            "tag": row.tag_name,
            "buyers": round(float(row.tag_buyer_share) * 100),
            "share": round(float(row.tag_store_share) * 100),
            "velocity": round(float(row.tag_velocity), 1),
        }
    if kind == ReasonKind.NEW_TAGS:
        return {"tags": "、".join(row.tag_names), "share": round(float(row.tag_share) * 100)}
    if kind == ReasonKind.RISING_SALES:
        return {
            "last7": int(row.units_last_7d),
            "prev7": int(row.units_prev_7d),
            "usual": round(float(row.usual_7d), 1),
            "z": round(float(row.rise_z), 1),
        }
    return {"mentions": int(row.mentions_7d)}


LIST_FIELDS = ["rank", "score", "velocity", "trend", "suggested_qty", "reason_kind", "reason_data"]
CARD_FIELDS = [
    "rank",
    "score",
    "units_last_7d",
    "units_prev_7d",
    "mentions_7d",
    "tags",
    "broadcast_hour",
    "broadcast_hour_source",
    "forecast_total",
    "stock_qty",
    "suggested_qty",
    "reason_kind",
    "reason_data",
]


def daily_lists_store(*, lists: ChunkLists, day: dt.date, store_ids: list[int]) -> dict[str, int]:
    """Upsert the chunk's list entries and cards for `day`; delete that day's entries (and
    cards not yet accepted) that are no longer on the lists. Accepted cards are kept as they
    are: the acceptance is the owner's, not the night's.

    A store not open for trade (`Store.objects.trading()`: preparing, suspended, closed) gets
    its lists but no card: a card asks the owner to run a campaign, which such a store cannot
    (its acceptance is refused, `campaign_draft_from_insight`); its open cards of the day are
    deleted like any card that fell off."""
    entries = []
    for kind, frame in ((ListKind.HOT, lists.hot), (ListKind.NEW, lists.new)):
        for row in frame.itertuples(index=False):
            entries.append(
                DailyListEntry(
                    store_id=int(row.store_id),
                    day=day,
                    list_kind=kind,
                    product_id=int(row.product_id),
                    rank=int(row.rank),
                    score=round(float(row.score), 4),
                    velocity=round(float(row.velocity), 4),
                    trend=round(float(row.trend), 4),
                    suggested_qty=int(row.suggested_qty),
                    reason_kind=row.reason_kind,
                    reason_data=_reason(row.reason_kind, row),
                )
            )
    accepted = set(
        InsightCard.objects.filter(
            store_id__in=store_ids, day=day, accepted_at__isnull=False
        ).values_list("store_id", "product_id")
    )
    trading = set(Store.objects.filter(pk__in=store_ids).trading().values_list("pk", flat=True))
    cards = []
    for row in lists.cards.itertuples(index=False):
        if int(row.store_id) not in trading:
            continue
        if (int(row.store_id), int(row.product_id)) in accepted:
            continue
        cards.append(
            InsightCard(
                store_id=int(row.store_id),
                day=day,
                product_id=int(row.product_id),
                rank=int(row.rank),
                score=round(float(row.score), 4),
                units_last_7d=int(row.units_last_7d),
                units_prev_7d=int(row.units_prev_7d),
                mentions_7d=int(row.mentions_7d),
                tags=row.tags,
                broadcast_hour=int(row.broadcast_hour),
                broadcast_hour_source=row.broadcast_hour_source,
                forecast_total=round(float(row.demand_cover), 3),
                stock_qty=la.stock_quantity(float(row.demand_cover), float(row.safety_stock)),
                suggested_qty=int(row.suggested_qty),
                reason_kind=row.reason_kind,
                reason_data=_reason(row.reason_kind, row),
            )
        )
    with transaction.atomic():
        DailyListEntry.objects.bulk_create(
            entries,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["store", "day", "list_kind", "product"],
            update_fields=LIST_FIELDS,
        )
        InsightCard.objects.bulk_create(
            cards,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["store", "day", "product"],
            update_fields=CARD_FIELDS,
        )
        keep_entries = {(e.store_id, e.list_kind, e.product_id) for e in entries}
        stale = [
            pk
            for pk, store_id, kind, product_id in DailyListEntry.objects.filter(
                store_id__in=store_ids, day=day
            ).values_list("pk", "store_id", "list_kind", "product_id")
            if (store_id, kind, product_id) not in keep_entries
        ]
        DailyListEntry.objects.filter(pk__in=stale).delete()
        keep_cards = {(c.store_id, c.product_id) for c in cards}
        stale_cards = [
            pk
            for pk, store_id, product_id in InsightCard.objects.filter(
                store_id__in=store_ids, day=day, accepted_at__isnull=True
            ).values_list("pk", "store_id", "product_id")
            if (store_id, product_id) not in keep_cards
        ]
        InsightCard.objects.filter(pk__in=stale_cards).delete()
    return {"hot": len(lists.hot), "new": len(lists.new), "cards": len(cards)}
