"""Reads for the catalog and the decision engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from apps.catalog.analytics.suggestions import (
    STORE_POPULARITY_DAYS,
    BlendWeights,
    blend_scores,
    member_history,
    rule_matrix,
    rule_weight,
)
from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    InsightCard,
    ListKind,
    MemberSuggestion,
    Product,
    ProductRepurchaseInterval,
    RuleRun,
    RuleScope,
    WeatherObservation,
)
from apps.stores.models import Order, StockLevel, Store
from apps.stores.selectors import order_lines_between


def weather_rows(*, cities: list[str], first_day: dt.date, last_day: dt.date) -> QuerySet:
    """(city, day, kind, temp_max_c, precipitation_mm) of [first_day, last_day]."""
    return (
        WeatherObservation.objects.filter(city__in=cities, day__gte=first_day, day__lte=last_day)
        .order_by()
        .values_list("city", "day", "kind", "temp_max_c", "precipitation_mm")
    )


def product_facts(*, product_ids: list[int] | None = None) -> QuerySet:
    """(product id, category id, is_new, is_active, created_at) of products."""
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    return products.values_list("pk", "category_id", "is_new", "is_active", "created_at")


def latest_list_day(*, store: Store) -> dt.date | None:
    return DailyListEntry.objects.filter(store=store).aggregate(day=Max("day"))["day"]


@dataclass(frozen=True)
class DecisionsState:
    """Why a store's decision page shows what it shows (its empty states tell the truth).

    `latest_run`: the newest decision run (any status), None before the first run ever;
    `has_orders`: the store has any order at all; `rules_computed`: some co-purchase rule
    computation has run (so "no rule" means no pair passed the thresholds); `in_latest_run`:
    the latest run computed this store (False when it ran for other stores only, e.g. the
    demo logins' stores computed first while the worker has the rest to do);
    `ready_for_run_day`: this store's decisions for the latest run's day are written, by that
    run (its done stores) or by an earlier run of the day (the store's lists are of that day),
    so a run still going for the rest of the network is not this store's news."""

    latest_run: DecisionRun | None
    has_orders: bool
    rules_computed: bool
    in_latest_run: bool = True
    ready_for_run_day: bool = False

    @property
    def status(self) -> str:
        """ "never_run", "running" (and this store not done yet), "failed", "not_in_run" (done,
        for other stores), "done" (also while a run goes on for the other stores), or
        "no_data" (done, but this store has no sales to compute from)."""
        if self.latest_run is None:
            return "never_run"
        if self.latest_run.status == DecisionRun.Status.RUNNING:
            # The run is this store's news only until the store's own decisions are written.
            if not self.ready_for_run_day:
                return "running"
            return "done" if self.has_orders else "no_data"
        if self.latest_run.status == DecisionRun.Status.FAILED:
            return "failed"
        if not self.in_latest_run:
            return "not_in_run"
        return "done" if self.has_orders else "no_data"


def store_decisions_state(*, store: Store, list_day: dt.date | None) -> DecisionsState:
    """`list_day`: the newest day the store has lists for (`latest_list_day`)."""
    latest = DecisionRun.objects.order_by("-started_at", "-pk").first()
    return DecisionsState(
        latest_run=latest,
        has_orders=Order.objects.filter(store=store).exists(),
        rules_computed=RuleRun.objects.exists(),
        # Runs from before done_store_ids was kept have an empty list: taken as covering all.
        in_latest_run=latest is None
        or not latest.done_store_ids
        or store.pk in latest.done_store_ids,
        ready_for_run_day=latest is not None
        and (store.pk in latest.done_store_ids or list_day == latest.day),
    )


def store_daily_list(*, store: Store, list_kind: str, day: dt.date) -> list[DailyListEntry]:
    return list(
        DailyListEntry.objects.filter(store=store, list_kind=list_kind, day=day)
        .select_related("product", "product__category")
        .order_by("rank")
    )


def store_lists_latest(*, store: Store) -> tuple[dt.date | None, dict[str, list[DailyListEntry]]]:
    """The newest day that has lists for this store, and its hot and new lists.

    A new product whose order quantity is 0 is one the store already stocks (or has on order)
    enough of for the forecast horizon: its entry gets `on_hand`, the store's stock now, so the
    page says "已有库存 N 件，暂不需订货" rather than "订货量 0" (one query, only when needed)."""
    day = latest_list_day(store=store)
    if day is None:
        return None, {ListKind.HOT: [], ListKind.NEW: []}
    lists = {
        kind: store_daily_list(store=store, list_kind=kind, day=day)
        for kind in (ListKind.HOT, ListKind.NEW)
    }
    covered = [entry for entry in lists[ListKind.NEW] if entry.suggested_qty == 0]
    if covered:
        stock = dict(
            StockLevel.objects.filter(
                store=store, product_id__in=[entry.product_id for entry in covered]
            ).values_list("product_id", "on_hand")
        )
        for entry in covered:
            entry.on_hand = max(0, stock.get(entry.product_id, 0))
    return day, lists


def store_insight_cards(*, store: Store, day: dt.date | None = None) -> list[InsightCard]:
    """The insight cards of `day` (default: the newest day that has cards)."""
    if day is None:
        day = InsightCard.objects.filter(store=store).aggregate(day=Max("day"))["day"]
        if day is None:
            return []
    return list(
        InsightCard.objects.filter(store=store, day=day)
        .select_related("product", "accepted_by")
        .order_by("rank")
    )


def store_rules(*, store: Store, limit: int = 30) -> tuple[str | None, list[CoPurchaseRule]]:
    """The strongest co-purchase rules for a store: its own if any, else its region's, else
    the network's, ranked by the Wilson lower bound of "members with both / members with A"
    (then lift), never one carried by fewer than `settings.RULES_MIN_MEMBERS` distinct
    members nor one whose lift is below `settings.RULES_MIN_LIFT_DISPLAY` (B sells about as
    often with A as without it). A scope whose rules all fail these falls through to the next.
    Returns (scope used, rules)."""
    attempts = [
        (RuleScope.STORE, {"store": store}),
        (RuleScope.REGION, {"region_id": store.region_id}),
        (RuleScope.NETWORK, {}),
    ]
    for scope, where in attempts:
        rules = list(
            CoPurchaseRule.objects.filter(
                scope=scope,
                member_count__gte=settings.RULES_MIN_MEMBERS,
                lift__gte=settings.RULES_MIN_LIFT_DISPLAY,
                **where,
            )
            .select_related(
                "antecedent", "consequent", "antecedent_category", "consequent_category"
            )
            .order_by(
                "-confidence_lower", "-lift", "-member_count", "antecedent_item", "consequent_item"
            )[:limit]
        )
        if rules:
            return scope, rules
    return None, []


def rules_for_antecedents(
    *, product_ids: list[int], store: Store | None = None
) -> tuple[str | None, QuerySet]:
    """(scope, values of (antecedent, consequent, confidence, lift)) of the product → product
    rules from any of these products, in the most specific scope that has some: the store's,
    its region's, the network's."""
    attempts: list[tuple[str, dict]] = []
    if store is not None:
        attempts += [
            (RuleScope.STORE, {"store": store}),
            (RuleScope.REGION, {"region_id": store.region_id}),
        ]
    attempts.append((RuleScope.NETWORK, {}))
    for scope, where in attempts:
        rules = CoPurchaseRule.objects.filter(
            scope=scope,
            antecedent_item__in=product_ids,
            consequent_item__gt=0,
            member_count__gte=settings.RULES_MIN_MEMBERS,
            **where,
        ).values_list("antecedent_item", "consequent_item", "confidence", "lift")
        if rules.exists():
            return scope, rules
    return None, CoPurchaseRule.objects.none().values_list(
        "antecedent_item", "consequent_item", "confidence", "lift"
    )


# --- Personal next-product suggestions (the served blend; measured by suggestions_evaluate).

HISTORY_DAYS = 365  # the member's own history behind "buy again"
RANKING_FRESH_DAYS = 1  # a nightly ranking older than this many days is not served


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def product_repurchase_intervals(*, product_ids: list[int]) -> dict[int, float]:
    """{product id: usual repurchase interval in days} of these products, as the latest
    nightly run computed it (`ProductRepurchaseInterval`; empty before the first). A network
    figure, so it is never computed in a request: one indexed query for these products."""
    return dict(
        ProductRepurchaseInterval.objects.filter(product_id__in=product_ids).values_list(
            "product_id", "interval_days"
        )
    )


def store_product_popularity(
    *, store_id: int, end: dt.datetime, days: int = STORE_POPULARITY_DAYS
) -> dict[int, float]:
    """{product id: share of the store's baskets of the last `days` holding it}: what the
    store sells and how often (cached for the day)."""
    key = f"catalog:store-popularity:{store_id}:{end.date().isoformat()}:{days}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    lines = order_lines_between(
        start=end - dt.timedelta(days=days), end=end, store_ids=[store_id]
    ).order_by()
    baskets = lines.values("order_id").distinct().count()
    counts = lines.values("product_id").annotate(baskets=Count("order_id", distinct=True))
    result = {int(row["product_id"]): row["baskets"] / baskets for row in counts} if baskets else {}
    cache.set(key, result, 6 * 3600)
    return result


@dataclass(frozen=True)
class Suggestion:
    product_id: int
    score: float
    bought: int  # the member's baskets holding it (0: never bought → "you may also like")
    interval_days: float | None
    because_of: int | None  # the strongest rule's antecedent, if a rule helped
    confidence: float | None


def member_suggestions(
    *,
    member_id: int,
    store: Store | None,
    rules: list[tuple[int, int, float, float]] | None = None,
    limit: int = 10,
    weights: BlendWeights | None = None,
    now: dt.datetime | None = None,
) -> list[Suggestion]:
    """The served suggestions for one member, best first: the nightly ranker's order
    (`MemberSuggestion`, when at most `RANKING_FRESH_DAYS` old) first, then the blend
    (`analytics.suggestions.blend_scores`) for the rest and for members the ranker left out;
    limited to what `store` sells: sold in the last 365 days or stocked (any product when
    there is no store).

    `rules`: (antecedent, consequent, confidence, lift) product → product rules (the caller
    reads the most specific scope)."""
    weights = weights or BlendWeights()
    now = now or timezone.now()
    end = now
    rows = list(
        order_lines_between(start=end - dt.timedelta(days=HISTORY_DAYS), end=end)
        .filter(order__member_id=member_id)
        .order_by()
        .values_list("order_id", "order__placed_at", "product_id")
    )
    today = _day_start(timezone.localdate(now))
    popularity_map = (
        store_product_popularity(store_id=store.pk, end=today) if store is not None else {}
    )
    # The nightly ranker's order for this member, when fresh (the blend orders the rest and
    # serves alone a member the ranker left out).
    ranked = list(
        MemberSuggestion.objects.filter(
            member_id=member_id, day__gte=today.date() - dt.timedelta(days=RANKING_FRESH_DAYS)
        )
        .order_by("rank")
        .values_list("product_id", "score")
    )
    own = sorted({row[2] for row in rows})
    if rules is None:
        rules = list(rules_for_antecedents(product_ids=own, store=store)[1]) if own else []
    catalog = np.array(
        sorted(
            set(own)
            | set(popularity_map)
            | {int(r[1]) for r in rules}
            | {product for product, _score in ranked}
        ),
        dtype=np.int64,
    )
    if catalog.size == 0:
        return []
    size = catalog.shape[0]
    ages = np.array([(now - row[1]).total_seconds() / 86_400 for row in rows], dtype=np.float64)
    as_of = float(HISTORY_DAYS)
    product_cols = np.searchsorted(catalog, np.array([row[2] for row in rows], dtype=np.int64))
    history = member_history(
        member_rows=np.zeros(len(rows), dtype=np.int64),
        product_cols=product_cols,
        basket_ids=np.array([row[0] for row in rows], dtype=np.int64),
        basket_days=as_of - ages,
        shape=(1, size),
        as_of_day=as_of,
        half_life_days=weights.half_life_days,
    )
    interval_map = product_repurchase_intervals(product_ids=catalog.tolist())
    intervals = np.array([interval_map.get(int(p), np.nan) for p in catalog])
    antecedent = np.array([r[0] for r in rules], dtype=np.int64)
    consequent = np.array([r[1] for r in rules], dtype=np.int64)
    confidence = np.array([r[2] for r in rules], dtype=np.float64)
    lift = np.array([r[3] for r in rules], dtype=np.float64)
    rule_weights = rule_weight(confidence, lift)
    rules_matrix = rule_matrix(antecedent, consequent, rule_weights, catalog)
    popularity = np.array([popularity_map.get(int(p), 0.0) for p in catalog])
    scores = blend_scores(
        history,
        slice(0, 1),
        intervals=intervals,
        rules=rules_matrix,
        popularity=popularity,
        weights=weights,
    )[0]
    if store is not None:
        stocked = set(
            StockLevel.objects.filter(store=store, product_id__in=catalog.tolist()).values_list(
                "product_id", flat=True
            )
        )
        sells = (popularity > 0) | np.isin(catalog, list(stocked))
        scores[~sells] = -np.inf  # the store neither sold it lately nor stocks it
    bought = np.asarray(history.baskets.toarray()).ravel()
    best_rule: dict[int, tuple[float, int]] = {}
    own_set = set(own)
    for a, b, c, w in zip(antecedent, consequent, confidence, rule_weights, strict=True):
        if w > 0 and int(a) in own_set and c > best_rule.get(int(b), (-1.0, 0))[0]:
            best_rule[int(b)] = (float(c), int(a))
    order = np.lexsort((catalog, -scores))
    if ranked:
        first = np.searchsorted(catalog, [product for product, _score in ranked])
        sold = np.isfinite(scores[first])  # what the store sells
        first = first[sold]
        # Shown scores of ranked products are the ranker's probabilities.
        scores[first] = np.array([score for _product, score in ranked])[sold]
        order = np.r_[first, order[~np.isin(order, first)]]
    result = []
    for column in order[:limit]:
        if not np.isfinite(scores[column]) or scores[column] <= 0:
            break
        product_id = int(catalog[column])
        rule = best_rule.get(product_id)
        interval = intervals[column]
        result.append(
            Suggestion(
                product_id=product_id,
                score=round(float(scores[column]), 4),
                bought=int(bought[column]),
                interval_days=None if np.isnan(interval) else round(float(interval), 1),
                because_of=rule[1] if rule else None,
                confidence=rule[0] if rule else None,
            )
        )
    return result


@dataclass(frozen=True)
class NextProduct:
    """A product to offer a member next: one they buy again (`bought` = their baskets holding
    it in the last year) or one they may also like, with the strongest rule behind it if a
    rule helped (none for a product that comes from the store's popularity)."""

    product: Product
    score: float
    because_of: Product | None
    confidence: float | None
    bought: int = 0
    interval_days: float | None = None

    @property
    def is_buy_again(self) -> bool:
        return self.bought > 0

    @property
    def reason(self) -> str:
        """Why, in the active language: how often they bought it, the rule's sentence
        ("买了A的顾客有70%也买了B"), or that it sells well at this store."""
        if self.bought:
            if self.interval_days:
                days = round(self.interval_days)
                return ngettext(
                    "Bought once this year; people re-buy it about every %(days)d days",
                    "Bought %(count)d times this year; people re-buy it about every %(days)d days",
                    self.bought,
                ) % {"count": self.bought, "days": days}
            return ngettext(
                "Bought once this year", "Bought %(count)d times this year", self.bought
            ) % {"count": self.bought}
        if self.because_of is None or self.confidence is None:
            return gettext("Sells well at this store")
        return gettext("%(percent)d%% of customers who bought %(a)s also bought %(b)s") % {
            "percent": round(self.confidence * 100),
            "a": self.because_of.name,
            "b": self.product.name,
        }


def member_next_products(
    *, member_id: int, store: Store | None = None, limit: int = 10
) -> list[NextProduct]:
    """What to offer this member next, best first: the nightly ranker's order, then the
    blend of their own repeat purchases (recency, the product's usual repurchase interval),
    co-purchase rules (the most specific scope available, carried by enough members) and the
    store's popularity, limited to what the store sold in the last 365 days or stocks
    (`member_suggestions`; measured by `suggestions_evaluate`)."""
    suggestions = member_suggestions(member_id=member_id, store=store, limit=limit)
    products = Product.objects.in_bulk(
        [s.product_id for s in suggestions] + [s.because_of for s in suggestions if s.because_of]
    )
    return [
        NextProduct(
            product=products[s.product_id],
            score=s.score,
            because_of=products.get(s.because_of) if s.because_of else None,
            confidence=s.confidence,
            bought=s.bought,
            interval_days=s.interval_days,
        )
        for s in suggestions
        if s.product_id in products
    ]


def member_offer_lines(
    *, member_id: int, store: Store | None = None, limit: int = 5
) -> tuple[list[NextProduct], list[NextProduct]]:
    """The member page's two lines from the same blend: (buy again, you may also like), each
    up to `limit`, best first."""
    ranked = member_next_products(member_id=member_id, store=store, limit=limit * 20)
    again = [offer for offer in ranked if offer.is_buy_again][:limit]
    also = [offer for offer in ranked if not offer.is_buy_again][:limit]
    return again, also
