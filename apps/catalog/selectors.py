"""Reads for the catalog and the decision engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DemandForecast,
    InsightCard,
    ListKind,
    Product,
    RuleRun,
    RuleScope,
    WeatherObservation,
)
from apps.stores.models import Order, Store
from apps.stores.selectors import member_basket_lines_between


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
    computation has run (so "no rule" means no pair passed the thresholds)."""

    latest_run: DecisionRun | None
    has_orders: bool
    rules_computed: bool

    @property
    def status(self) -> str:
        """ "never_run", "running", "failed", "done", or "no_data" (done, but this store has
        no sales to compute from)."""
        if self.latest_run is None:
            return "never_run"
        if self.latest_run.status == DecisionRun.Status.RUNNING:
            return "running"
        if self.latest_run.status == DecisionRun.Status.FAILED:
            return "failed"
        return "done" if self.has_orders else "no_data"


def store_decisions_state(*, store: Store) -> DecisionsState:
    return DecisionsState(
        latest_run=DecisionRun.objects.order_by("-started_at", "-pk").first(),
        has_orders=Order.objects.filter(store=store).exists(),
        rules_computed=RuleRun.objects.exists(),
    )


def store_daily_list(*, store: Store, list_kind: str, day: dt.date) -> list[DailyListEntry]:
    return list(
        DailyListEntry.objects.filter(store=store, list_kind=list_kind, day=day)
        .select_related("product", "product__category")
        .order_by("rank")
    )


def store_lists_latest(*, store: Store) -> tuple[dt.date | None, dict[str, list[DailyListEntry]]]:
    """The newest day that has lists for this store, and its hot and new lists."""
    day = latest_list_day(store=store)
    if day is None:
        return None, {ListKind.HOT: [], ListKind.NEW: []}
    return day, {
        kind: store_daily_list(store=store, list_kind=kind, day=day)
        for kind in (ListKind.HOT, ListKind.NEW)
    }


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
    members. Returns (scope used, rules)."""
    attempts = [
        (RuleScope.STORE, {"store": store}),
        (RuleScope.REGION, {"region_id": store.region_id}),
        (RuleScope.NETWORK, {}),
    ]
    for scope, where in attempts:
        rules = list(
            CoPurchaseRule.objects.filter(
                scope=scope, member_count__gte=settings.RULES_MIN_MEMBERS, **where
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


def store_forecasts(*, store: Store, product_ids: list[int]) -> dict[int, DemandForecast]:
    return {
        forecast.product_id: forecast
        for forecast in DemandForecast.objects.filter(store=store, product_id__in=product_ids)
    }


def latest_decision_run() -> DecisionRun | None:
    return DecisionRun.objects.order_by("-started_at").first()


@dataclass(frozen=True)
class NextProduct:
    """A product to offer a member next, and the strongest rule behind it (none for a product
    that only fills the list from the store's hot list)."""

    product: Product
    score: float
    because_of: Product | None
    confidence: float | None

    @property
    def reason(self) -> str:
        """Why, in the active language: the rule's sentence ("买了A的顾客有70%也买了B"), or
        that it is on the store's hot list."""
        if self.because_of is None or self.confidence is None:
            return gettext("On this store's hot list")
        return gettext("%(percent)d%% of customers who bought %(a)s also bought %(b)s") % {
            "percent": round(self.confidence * 100),
            "a": self.because_of.name,
            "b": self.product.name,
        }


def member_next_products(
    *, member_id: int, store: Store | None = None, limit: int = 10, days: int = 90
) -> list[NextProduct]:
    """What to offer this member next: Σ over the products A they bought in the last `days`
    (n(A) = their baskets with A) of n(A) × confidence(A → B) × (1 − 1/lift) (rules with
    lift > 1; see analytics.suggestions), from the most specific rules available (the
    store's, its region's, the network's). Products they bought in the last 7 days are
    skipped; the store's hot list fills the remaining places."""
    end = timezone.now()
    history: dict[int, int] = {}
    recent: set[int] = set()
    seen_pairs: set[tuple[int, int]] = set()
    for order_id, placed_at, _member, product_id in member_basket_lines_between(
        start=end - dt.timedelta(days=days), end=end, member_ids=[member_id]
    ):
        if (order_id, product_id) not in seen_pairs:
            seen_pairs.add((order_id, product_id))
            history[product_id] = history.get(product_id, 0) + 1
        if placed_at >= end - dt.timedelta(days=7):
            recent.add(product_id)
    scores: dict[int, float] = {}
    best_rule: dict[int, tuple[float, int]] = {}
    if history:
        _scope, rules = rules_for_antecedents(product_ids=sorted(history), store=store)
        for antecedent, consequent, confidence, lift in rules:
            if consequent in recent or lift <= 1:
                continue
            weight = confidence * (1 - 1 / lift)
            scores[consequent] = scores.get(consequent, 0.0) + history[antecedent] * weight
            if confidence > best_rule.get(consequent, (-1.0, 0))[0]:
                best_rule[consequent] = (confidence, antecedent)
    ranked = sorted(scores, key=lambda product_id: (-scores[product_id], product_id))[:limit]
    if len(ranked) < limit and store is not None:
        _day, lists = store_lists_latest(store=store)
        for entry in lists[ListKind.HOT]:
            if len(ranked) >= limit:
                break
            if entry.product_id not in ranked and entry.product_id not in recent:
                ranked.append(entry.product_id)
    products = Product.objects.in_bulk(ranked + [rule[1] for rule in best_rule.values()])
    return [
        NextProduct(
            product=products[product_id],
            score=round(scores.get(product_id, 0.0), 4),
            because_of=products.get(best_rule[product_id][1]) if product_id in best_rule else None,
            confidence=best_rule[product_id][0] if product_id in best_rule else None,
        )
        for product_id in ranked
        if product_id in products
    ]
