"""Tables of the decision engine: co-purchase rules, forecasts, daily lists, insight cards.

All of them are derived data, recomputed by the nightly run (`decisions_run`) set-wise and
upserted on natural keys, so a rerun of the same day leaves every row as it was. They name stores
lazily (`"stores.Store"`): stores sit above catalog in the model DAG.

Member tags are kept as JSON snapshots (id and name) rather than foreign keys, because
`customers` already points at `catalog` and the base apps must not point at each other both ways.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from linli.wording import bracketed


def _optional_link(to: str, verbose_name: Any) -> models.ForeignKey:
    """A nullable foreign key with no reverse accessor, deleted with what it points at."""
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )


class DecisionSettings(models.Model):
    """HQ's settings for the decision engine. Exactly one row (pk=1), edited in the admin."""

    rules_window_days = models.PositiveSmallIntegerField(
        _("co-purchase window (days)"),
        default=90,
        help_text=_("Baskets of this many past days feed the co-purchase rules."),
    )
    rules_min_support = models.FloatField(
        _("minimum support"),
        default=0.001,
        help_text=_("Share of baskets that hold both products (0–1)."),
    )
    rules_min_confidence = models.FloatField(
        _("minimum confidence"),
        default=0.05,
        help_text=_("Share of the baskets with A that also hold B (0–1)."),
    )
    rules_min_pair_count = models.PositiveIntegerField(_("minimum baskets with both"), default=5)
    rules_per_product = models.PositiveSmallIntegerField(
        _("rules kept per product"),
        default=20,
        help_text=_(
            "Per scope, only the strongest rules (by confidence) of each product are kept."
        ),
    )
    rules_store_scope = models.BooleanField(_("compute per-store rules"), default=True)
    service_level = models.FloatField(
        _("service level"),
        default=0.95,
        help_text=_("Probability of not running out before the next delivery (0.5–0.999)."),
    )
    review_period_days = models.PositiveSmallIntegerField(_("review period (days)"), default=1)
    default_lead_time_days = models.PositiveSmallIntegerField(
        _("lead time without a supplier (days)"), default=2
    )
    history_days = models.PositiveSmallIntegerField(
        _("sales history used by forecasts (days)"), default=120
    )
    hot_list_size = models.PositiveSmallIntegerField(_("hot list length"), default=10)
    new_list_size = models.PositiveSmallIntegerField(_("new-product list length"), default=10)
    new_product_days = models.PositiveSmallIntegerField(
        _("a product counts as new for (days)"),
        default=45,
        help_text=_("Days since its first sale in the network (or flagged new in the catalog)."),
    )
    insight_cards_per_store = models.PositiveSmallIntegerField(
        _("insight cards per store"), default=3
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("decision settings")
        verbose_name_plural = _("decision settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="decision_settings_singleton"),
            models.CheckConstraint(
                condition=Q(rules_min_support__gte=0, rules_min_support__lte=1),
                name="decision_settings_support_range",
                violation_error_message=_("The minimum support must be between 0 and 1."),
            ),
            models.CheckConstraint(
                condition=Q(rules_min_confidence__gte=0, rules_min_confidence__lte=1),
                name="decision_settings_confidence_range",
                violation_error_message=_("The minimum confidence must be between 0 and 1."),
            ),
            models.CheckConstraint(
                condition=Q(service_level__gte=0.5, service_level__lte=0.999),
                name="decision_settings_service_level_range",
                violation_error_message=_("The service level must be between 0.5 and 0.999."),
            ),
            models.CheckConstraint(
                condition=Q(rules_window_days__gte=1, history_days__gte=28),
                name="decision_settings_windows_positive",
                violation_error_message=_(
                    "The rules window must be at least 1 day and the history at least 28 days."
                ),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Decision settings")


class RuleScope(models.TextChoices):
    NETWORK = "network", _("Whole network")
    REGION = "region", _("Region")
    STORE = "store", _("Store")


SCOPE_SHAPE = (
    Q(scope=RuleScope.NETWORK, region__isnull=True, store__isnull=True)
    | Q(scope=RuleScope.REGION, region__isnull=False, store__isnull=True)
    | Q(scope=RuleScope.STORE, store__isnull=False)
)


class RuleRun(models.Model):
    """One computation of the co-purchase rules of one scope (network, a region, a store).

    A run replaces the rules of the previous run of the same scope; runs are kept as a log.
    """

    scope = models.CharField(_("scope"), max_length=8, choices=RuleScope.choices)
    region = _optional_link("stores.Region", _("region"))
    store = _optional_link("stores.Store", _("store"))
    window_start = models.DateTimeField(_("baskets from"))
    window_end = models.DateTimeField(_("baskets until"))
    min_support = models.FloatField(_("minimum support"))
    min_confidence = models.FloatField(_("minimum confidence"))
    min_pair_count = models.PositiveIntegerField(_("minimum baskets with both"))
    basket_count = models.PositiveIntegerField(_("baskets"), default=0)
    product_count = models.PositiveIntegerField(_("products"), default=0)
    rule_count = models.PositiveIntegerField(_("rules"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    created_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("co-purchase rule run")
        verbose_name_plural = _("co-purchase rule runs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["scope", "region", "store", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=SCOPE_SHAPE, name="rule_run_scope_shape"),
        ]

    def __str__(self) -> str:
        where = self.store_id or self.region_id or ""
        return f"{self.get_scope_display()} {where} {timezone.localtime(self.created_at):%Y-%m-%d}"


ITEM_SHAPE_ANTECEDENT = Q(
    antecedent__isnull=False, antecedent_category__isnull=True, antecedent_item__gt=0
) | Q(antecedent__isnull=True, antecedent_category__isnull=False, antecedent_item__lt=0)
ITEM_SHAPE_CONSEQUENT = Q(
    consequent__isnull=False, consequent_category__isnull=True, consequent_item__gt=0
) | Q(consequent__isnull=True, consequent_category__isnull=False, consequent_item__lt=0)


class CoPurchaseRule(models.Model):
    """A → B: of the baskets that hold A, `confidence` also hold B.

    A and B are each a product or a category (generalised rules: "买了婴儿奶粉的顾客有70%也买了
    婴儿辅食"). support = n(A∧B)/N, confidence = n(A∧B)/n(A), lift = confidence / (n(B)/N),
    counted over baskets (orders). `antecedent_item` / `consequent_item` are the engine's keys:
    the product id, or minus the category id. Only the current run of each scope has rules.
    """

    run = models.ForeignKey(
        RuleRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="rules"
    )
    scope = models.CharField(_("scope"), max_length=8, choices=RuleScope.choices)
    region = _optional_link("stores.Region", _("region"))
    store = _optional_link("stores.Store", _("store"))
    antecedent_item = models.BigIntegerField(_("A (item key)"))
    antecedent = _optional_link("catalog.Product", _("if bought (A)"))
    antecedent_category = _optional_link("catalog.Category", _("if bought from category (A)"))
    consequent_item = models.BigIntegerField(_("B (item key)"))
    consequent = _optional_link("catalog.Product", _("then also (B)"))
    consequent_category = _optional_link("catalog.Category", _("then also from category (B)"))
    pair_count = models.PositiveIntegerField(_("baskets with both"))
    antecedent_count = models.PositiveIntegerField(_("baskets with A"))
    consequent_count = models.PositiveIntegerField(_("baskets with B"))
    basket_count = models.PositiveIntegerField(_("baskets"))
    support = models.FloatField(_("support"))
    confidence = models.FloatField(_("confidence"))
    lift = models.FloatField(_("lift"))
    member_count = models.PositiveIntegerField(
        _("members with both"),
        default=0,
        help_text=_("Distinct members with a basket holding both A and B."),
    )
    antecedent_member_count = models.PositiveIntegerField(
        _("members with A"), default=0, help_text=_("Distinct members with a basket holding A.")
    )
    confidence_lower = models.FloatField(
        _("confidence lower bound"),
        default=0.0,
        help_text=_(
            "Wilson 95% lower bound of members with both / members with A: what owners' "
            "lines are ranked by."
        ),
    )

    class Meta:
        verbose_name = _("co-purchase rule")
        verbose_name_plural = _("co-purchase rules")
        ordering = ["-confidence"]
        indexes = [
            models.Index(fields=["scope", "region", "store", "antecedent_item"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "antecedent_item", "consequent_item"],
                name="co_purchase_rule_unique",
            ),
            models.CheckConstraint(
                condition=~Q(antecedent_item=models.F("consequent_item")),
                name="co_purchase_rule_two_items",
            ),
            models.CheckConstraint(
                condition=ITEM_SHAPE_ANTECEDENT, name="co_purchase_rule_antecedent_shape"
            ),
            models.CheckConstraint(
                condition=ITEM_SHAPE_CONSEQUENT, name="co_purchase_rule_consequent_shape"
            ),
            models.CheckConstraint(
                condition=Q(support__gte=0, support__lte=1, confidence__gte=0, confidence__lte=1)
                & Q(lift__gte=0),
                name="co_purchase_rule_measure_ranges",
            ),
            models.CheckConstraint(
                condition=Q(pair_count__lte=models.F("antecedent_count"))
                & Q(pair_count__lte=models.F("consequent_count"))
                & Q(antecedent_count__lte=models.F("basket_count")),
                name="co_purchase_rule_counts_consistent",
            ),
            models.CheckConstraint(condition=SCOPE_SHAPE, name="co_purchase_rule_scope_shape"),
        ]

    def __str__(self) -> str:
        return bracketed(
            f"{self.antecedent_item} → {self.consequent_item}", f"{self.confidence:.0%}"
        )

    @property
    def antecedent_name(self) -> str:
        return self.antecedent.name if self.antecedent_id else self.antecedent_category.name

    @property
    def consequent_name(self) -> str:
        return self.consequent.name if self.consequent_id else self.consequent_category.name

    @property
    def is_product_rule(self) -> bool:
        return self.antecedent_item > 0 and self.consequent_item > 0

    @property
    def confidence_percent(self) -> int:
        """The share of customers who bought A that also bought B, when the rule knows its
        members (what owners' lines are ranked by, and what its evidence counts); else the
        share of baskets with A that hold B."""
        if self.antecedent_member_count:
            return round(self.member_count * 100 / self.antecedent_member_count)
        return round(self.confidence * 100)

    def evidence(self) -> str:
        """ "31 位顾客中有 23 位" — the distinct members behind the rule."""
        return gettext("%(members)d of %(total)d customers") % {
            "members": self.member_count,
            "total": self.antecedent_member_count,
        }

    def sentence(self) -> str:
        """ "买了A的顾客有70%也买了B" in the active language (select_related the four names)."""
        return gettext("%(percent)d%% of customers who bought %(a)s also bought %(b)s") % {
            "percent": self.confidence_percent,
            "a": self.antecedent_name,
            "b": self.consequent_name,
        }


class ForecastMethod(models.TextChoices):
    MODEL = "gbm", _("Gradient-boosting model")
    SEASONAL_NAIVE = "seasonal_naive", _("Same weekday last week")
    MOVING_AVERAGE = "moving_average_28", _("28-day moving average")
    MOVING_AVERAGE_WEEKDAY = "ma28_weekday", _("28-day average × weekday profile")
    POOLED = "pooled_level", _("Store traffic × network product share")
    DAYS_OF_COVER = "days_of_cover", _("Average daily demand × days of cover")


class ForecastBacktest(models.Model):
    """One rolling-origin backtest of the forecast model against the baselines."""

    created_at = models.DateTimeField(_("run at"), default=timezone.now)
    first_origin = models.DateField(_("first origin"))
    last_origin = models.DateField(_("last origin"))
    origin_count = models.PositiveSmallIntegerField(_("origins"))
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    series_count = models.PositiveIntegerField(_("store × product series"))
    metrics = models.JSONField(
        _("metrics"),
        default=dict,
        help_text=_("WAPE and MASE per method, overall and per category."),
    )
    duration_s = models.FloatField(_("duration (s)"), default=0)

    class Meta:
        verbose_name = _("forecast backtest")
        verbose_name_plural = _("forecast backtests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        run_at = timezone.localtime(self.created_at)
        return bracketed(
            f"{run_at:%Y-%m-%d %H:%M}",
            gettext("%(origins)d origins × %(days)d days")
            % {"origins": self.origin_count, "days": self.horizon_days},
        )


class ForecastMethodChoice(models.Model):
    """Which method serves a category's forecasts: the model only where its backtest WAPE beats
    the best baseline, otherwise that baseline."""

    category = models.OneToOneField(
        "catalog.Category",
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="forecast_choice",
    )
    backtest = models.ForeignKey(
        ForecastBacktest,
        verbose_name=_("backtest"),
        on_delete=models.CASCADE,
        related_name="choices",
    )
    method = models.CharField(_("method"), max_length=20, choices=ForecastMethod.choices)
    model_wape = models.FloatField(_("model WAPE"), null=True, blank=True)
    best_baseline = models.CharField(
        _("best baseline"), max_length=20, choices=ForecastMethod.choices
    )
    best_baseline_wape = models.FloatField(_("best baseline WAPE"), null=True, blank=True)
    chosen_at = models.DateTimeField(_("chosen"), default=timezone.now)

    class Meta:
        verbose_name = _("forecast method choice")
        verbose_name_plural = _("forecast method choices")
        ordering = ["category__code"]

    def __str__(self) -> str:
        return f"{self.category} → {self.get_method_display()}"


class DemandForecast(models.Model):
    """The latest 14-day forecast of one product in one store, with its order suggestion.

    `daily`, `lower` and `upper` hold one number per day starting at `start_day`; the
    interval is the 10–90 % band. Suggested quantity = forecast over lead time + review period
    + safety stock − on hand − on order, rounded up to the pack size and minimum order.
    """

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    issued_on = models.DateField(_("issued on"))
    start_day = models.DateField(_("first day"))
    method = models.CharField(_("method"), max_length=20, choices=ForecastMethod.choices)
    daily = models.JSONField(_("daily forecast"), default=list)
    lower = models.JSONField(_("lower bound (10%)"), default=list)
    upper = models.JSONField(_("upper bound (90%)"), default=list)
    total = models.FloatField(_("forecast total"))
    sigma_daily = models.FloatField(_("forecast error σ per day"))
    on_hand = models.IntegerField(_("on hand"))
    on_order = models.IntegerField(_("on order"), default=0)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"))
    review_period_days = models.PositiveSmallIntegerField(_("review period (days)"))
    safety_stock = models.FloatField(_("safety stock"))
    pack_size = models.PositiveIntegerField(_("pack size"), default=1)
    min_order_qty = models.PositiveIntegerField(_("minimum order"), default=1)
    suggested_qty = models.PositiveIntegerField(_("suggested order quantity"))

    class Meta:
        verbose_name = _("demand forecast")
        verbose_name_plural = _("demand forecasts")
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="demand_forecast_unique"),
            models.CheckConstraint(
                condition=Q(total__gte=0, sigma_daily__gte=0, safety_stock__gte=0),
                name="demand_forecast_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.product_id} {self.start_day}: {self.total:.1f}"


class ListKind(models.TextChoices):
    HOT = "hot", _("Hot today")
    NEW = "new", _("Promising new products")


class ReasonKind(models.TextChoices):
    HOT_RISING = "hot_rising", _("Selling fast and rising")
    HOT_STEADY = "hot_steady", _("Selling fast")
    NEW_REGION = "new_region", _("Doing well in similar stores")
    NEW_TAGS = "new_tags", _("Fits this store's members")
    NEW_TAG_BUYERS = "new_tag_buyers", _("Sells well among members like yours")
    RISING_SALES = "rising_sales", _("Sales rising")
    RISING_MENTIONS = "rising_mentions", _("Mentioned in chats")


REASON_TEMPLATES = {
    ReasonKind.HOT_RISING: _("Sells %(velocity).1f a day, up %(trend)d%% on the week before"),
    ReasonKind.HOT_STEADY: _("Sells %(velocity).1f a day over the last 7 days"),
    ReasonKind.NEW_REGION: _(
        "New: sells %(velocity).1f a day per store in %(stores)d stores of your region"
    ),
    ReasonKind.NEW_TAGS: _("New: fits your members tagged %(tags)s (%(share)d%% of your members)"),
    ReasonKind.NEW_TAG_BUYERS: _(
        "New: sells well among members tagged %(tag)s (%(buyers)d%% of its buyers elsewhere); "
        "%(share)d%% of your members are tagged %(tag)s"
    ),
    ReasonKind.RISING_SALES: _(
        "Demand is rising: %(last7)d sold in the last 7 days against a usual %(usual)s a week "
        "(%(z)s standard deviations above its own weekly variation)"
    ),
    ReasonKind.RISING_MENTIONS: _(
        "Customers mentioned it %(mentions)d times in your chat groups this week"
    ),
}

# A rise from nothing: with no units in the weeks before, "a usual 0.0 a week" and a count of
# standard deviations say nothing an owner can use (the z-score then only measures the floor
# of the variance); the plain fact does.
RISING_FROM_NOTHING = _(
    "Demand is rising: %(last7)d sold in the last 7 days, none in the weeks before"
)


# Sentences for reasons stored before their full evidence was (an insight card of the first
# releases kept the two weeks' units but not the usual week and the z-score): still numbers,
# and only what the stored figures say.
REASON_FALLBACK_TEMPLATES = {
    ReasonKind.HOT_RISING: _("Sells %(velocity).1f a day over the last 7 days"),
    ReasonKind.RISING_SALES: _(
        "Sales rising: %(last7)d sold in the last 7 days, %(prev7)d in the 7 days before"
    ),
}


def reason_text(kind: str, data: dict) -> str:
    """Render a stored reason in the active language (reasons are stored as kind + numbers so
    each reader sees them in their own language). Data stored without some of the figures
    gets the shorter sentence those figures support (`REASON_FALLBACK_TEMPLATES`), and only
    without any the kind's label, rather than failing a page."""
    template = REASON_TEMPLATES.get(kind)
    if template is None:
        return ""
    if kind == ReasonKind.RISING_SALES and data.get("usual") == 0 and "last7" in data:
        template = RISING_FROM_NOTHING
    for candidate in (template, REASON_FALLBACK_TEMPLATES.get(kind)):
        if candidate is None:
            continue
        try:
            return str(candidate) % dict(data)
        except (KeyError, TypeError, ValueError):
            continue
    return str(ReasonKind(kind).label)


class DailyListEntry(models.Model):
    """One line of a store's daily list (今日热销榜 / 潜力新品榜)."""

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    list_kind = models.CharField(_("list"), max_length=8, choices=ListKind.choices)
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    velocity = models.FloatField(_("units per day"))
    trend = models.FloatField(_("trend"), help_text=_("Change of the last 7 days on the 7 before."))
    suggested_qty = models.PositiveIntegerField(_("suggested order quantity"))
    reason_kind = models.CharField(_("reason"), max_length=20, choices=ReasonKind.choices)
    reason_data = models.JSONField(_("reason details"), default=dict)

    class Meta:
        verbose_name = _("daily list entry")
        verbose_name_plural = _("daily list entries")
        ordering = ["store", "day", "list_kind", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "day", "list_kind", "product"], name="daily_list_entry_unique"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="daily_list_rank_positive"),
        ]

    def __str__(self) -> str:
        return gettext("%(store)s · %(day)s · %(list)s no. %(rank)d") % {
            "store": self.store,
            "day": self.day.isoformat(),
            "list": self.get_list_kind_display(),
            "rank": self.rank,
        }

    @property
    def reason(self) -> str:
        return reason_text(self.reason_kind, self.reason_data)


class InsightCard(models.Model):
    """An owner's insight: a product with rising demand, who it fits, when to broadcast, how
    much to stock. Accepting it is recorded here (campaigns will be created from it later)."""

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    units_last_7d = models.PositiveIntegerField(_("sold in the last 7 days"))
    units_prev_7d = models.PositiveIntegerField(_("sold in the 7 days before"))
    mentions_7d = models.PositiveIntegerField(_("chat mentions (7 days)"), default=0)
    tags = models.JSONField(
        _("member tags it fits"), default=list, help_text=_("[{id, name, lift}] snapshots.")
    )
    broadcast_hour = models.PositiveSmallIntegerField(_("best broadcast hour"))
    broadcast_hour_source = models.CharField(
        _("broadcast hour from"),
        max_length=12,
        choices=[("profiles", _("Members' usual hours")), ("orders", _("Store's order hours"))],
    )
    forecast_total = models.FloatField(_("forecast over lead time and review"))
    stock_qty = models.PositiveIntegerField(_("quantity to stock"))
    suggested_qty = models.PositiveIntegerField(_("suggested order quantity"))
    reason_kind = models.CharField(_("reason"), max_length=20, choices=ReasonKind.choices)
    reason_data = models.JSONField(_("reason details"), default=dict)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # Kept when the user is deleted: the acceptance happened (accepted_at stays, by whom is lost).
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("insight card")
        verbose_name_plural = _("insight cards")
        ordering = ["store", "-day", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["store", "day", "product"], name="insight_card_unique"),
            models.CheckConstraint(
                condition=Q(broadcast_hour__lte=23), name="insight_card_hour_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.product_id}"

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def reason(self) -> str:
        """The reason sentence with its figures. A card stored before its reason kept the
        evidence figures still says what its own columns hold (the units of the last two
        weeks, the chat mentions) instead of a bare "Sales rising"."""
        data = {
            "last7": self.units_last_7d,
            "prev7": self.units_prev_7d,
            "mentions": self.mentions_7d,
            **(self.reason_data or {}),
        }
        return reason_text(self.reason_kind, data)

    @property
    def tag_names(self) -> list[str]:
        return [tag["name"] for tag in self.tags]

    @property
    def tag_fits(self) -> list[str]:
        """Each tag with its evidence: support and lift ("有孩家庭: 8 位购买者中有 6 位, 是全店
        比例的 2.25 倍"); a tag stored without its counts shows its name only."""
        fits = []
        for tag in self.tags:
            if tag.get("buyers") is None or tag.get("of") is None or tag.get("lift") is None:
                fits.append(tag["name"])
                continue
            fits.append(
                gettext("%(tag)s: %(buyers)d of its %(of)d buyers, %(lift)s× the store's share")
                % {
                    "tag": tag["name"],
                    "buyers": tag["buyers"],
                    "of": tag["of"],
                    "lift": tag["lift"],
                }
            )
        return fits


# --- the run's warnings ----------------------------------------------------------------------
#
# What HQ must know about a night (no trained model; cities without weather) is kept in the
# run's `stats["warnings"]` as codes with their parameters, not as sentences: HQ may read the
# admin in Chinese or in English, and the same run must read right for both. Each code's
# wording (`RUN_WARNING_TEXTS`) is applied when the run is read, in the reader's language.
# A run stored before the codes holds English sentences: they are shown as stored.
#   model_untrained: reason ("no_series", "short_history" with days and needed, "fit_failed"
#                    with error: the fit's own message), all optional
#   weather_missing: city, stores (ids), history, horizon (missing?), as `weather_missing`
RUN_WARNING_MODEL_UNTRAINED = "model_untrained"
RUN_WARNING_WEATHER_MISSING = "weather_missing"


def run_warning(code: str, **params: object) -> dict[str, object]:
    """One warning as the run stores it: its code and the parameters its words need."""
    return {"code": code, "params": params}


def _model_fallback_reason(params: dict[str, Any]) -> str:
    reason = params.get("reason")
    if reason == "no_series":
        return gettext("no series with sales or stock in the sampled stores")
    if reason == "short_history":
        return gettext("%(days)d days of history; the model needs %(needed)d") % {
            "days": int(params["days"]),
            "needed": int(params["needed"]),
        }
    if reason == "fit_failed":
        return str(params["error"])
    return ""


def _model_untrained_text(params: dict[str, Any]) -> str:
    reason = _model_fallback_reason(params)
    if not reason:
        return gettext(
            "Forecast model trained on 0 rows: every product is forecast by a baseline "
            "(moving average) tonight."
        )
    return gettext(
        "Forecast model trained on 0 rows (%(reason)s): every product is forecast by a "
        "baseline (moving average) tonight."
    ) % {"reason": reason}


def weather_missing_text(params: dict[str, Any]) -> str:
    """One city without weather rows and its stores, forecast without weather (the run's
    warning and its "stores without weather" line)."""
    if params.get("history") and params.get("horizon"):
        gap = gettext("no weather for the history nor the forecast horizon")
    elif params.get("history"):
        gap = gettext("no weather for the history")
    else:
        gap = gettext("no weather for the forecast horizon")
    return gettext("%(city)s (stores %(stores)s): %(gap)s; forecast without weather") % {
        "city": params.get("city") or gettext("(no city)"),
        "stores": ", ".join(str(pk) for pk in params.get("stores") or []),
        "gap": gap,
    }


RUN_WARNING_TEXTS = {
    RUN_WARNING_MODEL_UNTRAINED: _model_untrained_text,
    RUN_WARNING_WEATHER_MISSING: weather_missing_text,
}


def run_warning_text(warning: object) -> str:
    """A stored warning in the active language. A plain string (a run stored before the
    codes) is shown as stored; a code without wording or parameters that do not fit (a bug,
    not an old row) shows the code and its parameters rather than failing a page."""
    if isinstance(warning, str):
        return warning
    if not isinstance(warning, dict):
        return str(warning)
    code, params = warning.get("code"), warning.get("params") or {}
    words = RUN_WARNING_TEXTS.get(code)
    if words is not None and isinstance(params, dict):
        try:
            return words(params)
        except (KeyError, TypeError, ValueError):
            pass
    return f"{code}: {params}"


# --- the run's notes: why the forecast fell back, what happened to its attempts -------------
#
# Kept as codes with facts, worded when read (as the warnings above), in the reader's language.
# `stats["forecast"]["fallback_reason"]` (why no model was trained: the warning's reason) and
# `stats["forecast"]["backtest_skipped"]`, why the backtest did not run:
#   reason "no_sales"; "short_history" with days and needed; "failed" with error (the
#   program's own message, shown as it is)
# `DecisionRun.events`, one per event of its attempts, in order:
#   failed:     attempt, exception (the exception's last line: the program's text)
#   resumed:    attempt (the failed one), by (the new attempt's worker), stores_done, stores_total
#   taken_over: attempt, worker, heartbeat (ISO time), stores_done, stores_total, by
#   abandoned:  attempt, worker, heartbeat, stores_done, stores_total
# The full traceback of a failure stays in `error` (for whoever debugs it).
RUN_EVENT_FAILED = "failed"
RUN_EVENT_RESUMED = "resumed"
RUN_EVENT_TAKEN_OVER = "taken_over"
RUN_EVENT_ABANDONED = "abandoned"


def run_event(code: str, **params: object) -> dict[str, object]:
    """One event of the run's attempts as the run stores it: its code and its facts."""
    return {"code": code, "params": params}


def backtest_skipped_text(params: dict[str, Any]) -> str:
    """Why the night's backtest did not run, in the active language ("" when it ran)."""
    reason = (params or {}).get("reason")
    if reason == "no_sales":
        return gettext("no sales in the sampled stores")
    if reason == "short_history":
        return gettext("%(days)d days of history; the backtest needs %(needed)d") % {
            "days": int(params["days"]),
            "needed": int(params["needed"]),
        }
    if reason == "failed":
        return str(params["error"])
    return ""


def _lease_lapse(params: dict[str, Any]) -> dict[str, object]:
    heartbeat = dt.datetime.fromisoformat(str(params["heartbeat"]))
    return {
        "attempt": int(params["attempt"]),
        "worker": params.get("worker") or "?",
        "time": formats.localize(timezone.localtime(heartbeat)),
        "done": int(params["stores_done"]),
        "total": int(params["stores_total"]),
    }


def _failed_text(params: dict[str, Any]) -> str:
    return gettext("Attempt %(attempt)d failed: %(exception)s") % {
        "attempt": int(params["attempt"]),
        "exception": params["exception"],
    }


def _resumed_text(params: dict[str, Any]) -> str:
    return gettext(
        "Attempt %(attempt)d failed; attempt %(next)d on %(worker)s resumed it "
        "(%(done)d/%(total)d stores done)."
    ) % {
        "attempt": int(params["attempt"]),
        "next": int(params["attempt"]) + 1,
        "worker": params["by"],
        "done": int(params["stores_done"]),
        "total": int(params["stores_total"]),
    }


def _taken_over_text(params: dict[str, Any]) -> str:
    facts = _lease_lapse(params)
    return gettext(
        "Attempt %(attempt)d on %(worker)s stopped renewing its lease at %(time)s "
        "(%(done)d/%(total)d stores done); attempt %(next)d on %(by)s took over."
    ) % {**facts, "next": facts["attempt"] + 1, "by": params["by"]}


def _abandoned_text(params: dict[str, Any]) -> str:
    return gettext(
        "Attempt %(attempt)d on %(worker)s stopped renewing its lease at %(time)s "
        "(%(done)d/%(total)d stores done); abandoned after %(attempt)d attempts."
    ) % _lease_lapse(params)


RUN_EVENT_TEXTS = {
    RUN_EVENT_FAILED: _failed_text,
    RUN_EVENT_RESUMED: _resumed_text,
    RUN_EVENT_TAKEN_OVER: _taken_over_text,
    RUN_EVENT_ABANDONED: _abandoned_text,
}


def run_event_text(event: object) -> str:
    """A stored event of the run's attempts in the active language; like `run_warning_text`,
    one that cannot be worded shows its code and parameters rather than failing a page."""
    if not isinstance(event, dict):
        return str(event)
    code, params = event.get("code"), event.get("params") or {}
    words = RUN_EVENT_TEXTS.get(code)
    if words is not None and isinstance(params, dict):
        try:
            return words(params)
        except (KeyError, TypeError, ValueError):
            pass
    return f"{code}: {params}"


class DecisionRun(models.Model):
    """The log of nightly runs, with progress (stores done of total) while it runs.

    A running run holds a lease: its worker renews `heartbeat_at` after every chunk of stores.
    A running run whose heartbeat is older than `settings.DECISION_RUN_LEASE_SECONDS` is dead
    (its worker was killed); the next attempt takes it over (`attempt` + 1, the fencing token
    every write of the run is conditional on) and computes only the stores not in
    `done_store_ids`.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    day = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.RUNNING
    )
    stores_total = models.PositiveIntegerField(_("stores"), default=0)
    stores_done = models.PositiveIntegerField(_("stores done"), default=0)
    stats = models.JSONField(_("timings and counts"), default=dict)
    error = models.TextField(
        _("error"),
        blank=True,
        default="",
        help_text=_("The traceback of each failed attempt, for whoever debugs it."),
    )
    events = models.JSONField(
        pgettext_lazy("decision run", "attempts"),
        default=list,
        blank=True,
        help_text=_(
            "What happened to the run's attempts (failed, resumed, taken over, abandoned), "
            "in order."
        ),
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last heartbeat"),
        default=timezone.now,
        help_text=_(
            "Renewed after every chunk of stores; a running run silent for longer "
            "than the lease is taken over by the next attempt."
        ),
    )
    attempt = models.PositiveSmallIntegerField(
        _("attempt"), default=1, help_text=_("1, plus one per takeover of a dead run.")
    )
    worker = models.CharField(_("worker"), max_length=200, blank=True, default="")
    done_store_ids = models.JSONField(
        _("ids of the stores done"),
        default=list,
        help_text=_("Ids of the stores whose outputs are written (a resumed run skips them)."),
    )

    class Meta:
        verbose_name = _("decision run")
        verbose_name_plural = _("decision runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["day"],
                condition=Q(status="running"),
                name="decision_run_one_running_per_day",
            ),
            models.CheckConstraint(
                condition=Q(stores_done__lte=models.F("stores_total")),
                name="decision_run_progress_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_status_display()} {self.stores_done}/{self.stores_total}"

    @property
    def warning_lines(self) -> list[str]:
        """The run's warnings, one line each, in the active language (`run_warning_text`)."""
        return [run_warning_text(warning) for warning in (self.stats or {}).get("warnings") or []]

    @property
    def event_lines(self) -> list[str]:
        """What happened to the run's attempts, one line each, in the active language."""
        return [run_event_text(event) for event in self.events or []]

    @property
    def backtest_note(self) -> str:
        """Why the night's backtest did not run, in the active language ("" when it ran)."""
        forecast = (self.stats or {}).get("forecast") or {}
        skipped = forecast.get("backtest_skipped")
        if skipped:
            return backtest_skipped_text(skipped) or str(skipped)
        # A run stored before the codes kept the reason as an English sentence.
        return str(forecast.get("backtest_error") or "")

    @property
    def is_stalled(self) -> bool:
        """Running, but its worker has not renewed the lease in time (killed or hung)."""
        lease = dt.timedelta(seconds=settings.DECISION_RUN_LEASE_SECONDS)
        return self.status == self.Status.RUNNING and self.heartbeat_at < timezone.now() - lease


class MemberSuggestion(models.Model):
    """A member's next products as ranked by the learned ranker (`analytics.ranker`) in the
    nightly run: the top `services.suggestions.STORED_PER_MEMBER`, best first. Replaced
    whole by each run; members without rows (too little history, or no ranker trained) are
    served the blend. `member_id` is a plain id: customers points at catalog, not back."""

    member_id = models.BigIntegerField(_("member"), db_index=True)
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))

    class Meta:
        verbose_name = _("member suggestion")
        verbose_name_plural = _("member suggestions")
        ordering = ["member_id", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["member_id", "product"], name="member_suggestion_unique"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="member_suggestion_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.product} #{self.rank}"


class ProductRepurchaseInterval(models.Model):
    """A product's usual repurchase interval in days, as of the nightly run's `day`: the
    median over members who bought it on at least two days of the last 365 of (last − first
    day) / (days − 1) (`analytics.suggestions.repurchase_intervals`). A network-wide figure,
    so the nightly run computes it (`services.suggestions.member_suggestions_rank`) and the
    member page only reads it; replaced whole by each run (no row: nobody re-bought it)."""

    product = models.OneToOneField(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    day = models.DateField(_("day"))
    interval_days = models.FloatField(_("repurchase interval (days)"))

    class Meta:
        verbose_name = _("product repurchase interval")
        verbose_name_plural = _("product repurchase intervals")
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_days__gte=0), name="repurchase_interval_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.interval_days:.1f} d"
