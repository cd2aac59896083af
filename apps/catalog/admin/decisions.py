"""HQ admin for the decision engine (imported at the end of apps/catalog/admin.py).

Derived tables are read-only here: they are recomputed by the nightly run. HQ edits only the
decision settings; accepting insight cards goes through the same service as the portal.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DecisionSettings,
    DemandForecast,
    ForecastBacktest,
    ForecastMethodChoice,
    InsightCard,
    RuleRun,
)
from apps.catalog.services.lists import insight_card_accept
from linli.admin_utils import BigTableAdminMixin, truncated_text


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: viewable and searchable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DecisionSettings)
class DecisionSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "rules_window_days",
        "rules_min_support",
        "rules_min_confidence",
        "service_level",
        "updated_at",
    ]
    fieldsets = [
        (
            _("Co-purchase rules"),
            {
                "fields": [
                    "rules_window_days",
                    "rules_min_support",
                    "rules_min_confidence",
                    "rules_min_pair_count",
                    "rules_per_product",
                    "rules_store_scope",
                ]
            },
        ),
        (
            _("Forecasts and orders"),
            {
                "fields": [
                    "history_days",
                    "service_level",
                    "review_period_days",
                    "default_lead_time_days",
                ]
            },
        ),
        (
            _("Lists and insights"),
            {
                "fields": [
                    "hot_list_size",
                    "new_list_size",
                    "new_product_days",
                    "insight_cards_per_store",
                ]
            },
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not DecisionSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: DecisionSettings, form: Any, change: bool
    ) -> None:
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(RuleRun)
class RuleRunAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "scope",
        "region",
        "store",
        "basket_count",
        "rule_count",
        "duration_ms",
    ]
    list_filter = ["scope", "region"]
    search_fields = ["store__code", "store__name", "region__name"]
    list_select_related = ["region", "store"]
    raw_id_fields = ["region", "store"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CoPurchaseRule)
class CoPurchaseRuleAdmin(ReadOnlyAdmin):
    list_display = [
        "sentence_column",
        "scope",
        "region",
        "store",
        "pair_count",
        "support",
        "confidence",
        "lift",
    ]
    list_filter = ["scope", "region"]
    search_fields = [
        "antecedent__name",
        "antecedent__sku",
        "antecedent_category__name",
        "consequent__name",
        "consequent__sku",
        "consequent_category__name",
        "store__code",
    ]
    list_select_related = [
        "antecedent",
        "consequent",
        "antecedent_category",
        "consequent_category",
        "region",
        "store",
    ]
    raw_id_fields = [
        "run",
        "region",
        "store",
        "antecedent",
        "consequent",
        "antecedent_category",
        "consequent_category",
    ]
    ordering = ["-confidence"]
    show_full_result_count = False

    @admin.display(description=_("In words"))
    def sentence_column(self, rule: CoPurchaseRule) -> str:
        return rule.sentence()


@admin.register(ForecastBacktest)
class ForecastBacktestAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "first_origin",
        "last_origin",
        "origin_count",
        "series_count",
        "model_wape",
        "seasonal_naive_wape",
        "duration_s",
    ]
    readonly_fields = ["metrics_pretty"]
    exclude = ["metrics"]
    date_hierarchy = "created_at"
    search_fields = ["first_origin"]

    def _overall_wape(self, backtest: ForecastBacktest, method: str) -> str:
        wape = backtest.metrics.get("overall", {}).get(method, {}).get("wape")
        return "—" if wape is None else f"{wape:.1%}"

    @admin.display(description=_("model WAPE"))
    def model_wape(self, backtest: ForecastBacktest) -> str:
        return self._overall_wape(backtest, "gbm")

    @admin.display(description=_("seasonal naive WAPE"))
    def seasonal_naive_wape(self, backtest: ForecastBacktest) -> str:
        return self._overall_wape(backtest, "seasonal_naive")

    @admin.display(description=_("metrics"))
    def metrics_pretty(self, backtest: ForecastBacktest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(backtest.metrics, indent=2))


@admin.register(ForecastMethodChoice)
class ForecastMethodChoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "category",
        "method",
        "model_wape",
        "best_baseline",
        "best_baseline_wape",
        "chosen_at",
    ]
    list_filter = ["method", "best_baseline"]
    search_fields = ["category__name", "category__code"]
    list_select_related = ["category", "backtest"]
    raw_id_fields = ["category", "backtest"]


@admin.register(DemandForecast)
class DemandForecastAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "store",
        "product",
        "start_day",
        "method",
        "total",
        "on_hand",
        "safety_stock",
        "suggested_qty",
    ]
    list_filter = ["method", "start_day"]
    search_fields = ["=store__code", "store__name", "=product__sku", "product__name"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product"]


@admin.register(DailyListEntry)
class DailyListEntryAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "day",
        "store",
        "list_kind",
        "rank",
        "product",
        "suggested_qty",
        "reason_shown",
    ]
    list_filter = ["list_kind", "reason_kind", "day"]
    search_fields = ["store__code", "store__name", "product__sku", "product__name"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product"]
    date_hierarchy = "day"

    @admin.display(description=_("reason"))
    def reason_shown(self, entry: DailyListEntry) -> str:
        return truncated_text(entry.reason)


@admin.register(InsightCard)
class InsightCardAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "day",
        "store",
        "rank",
        "product",
        "reason_shown",
        "broadcast_hour",
        "stock_qty",
        "accepted_at",
        "accepted_by",
    ]
    list_filter = ["reason_kind", "day", "broadcast_hour_source"]
    search_fields = ["store__code", "store__name", "product__sku", "product__name"]
    list_select_related = ["store", "product", "accepted_by"]
    raw_id_fields = ["store", "product", "accepted_by"]
    date_hierarchy = "day"
    actions = ["accept_cards"]

    @admin.display(description=_("reason"))
    def reason_shown(self, card: InsightCard) -> str:
        return truncated_text(card.reason)

    @admin.action(description=_("Accept the selected insight cards"), permissions=["view"])
    def accept_cards(self, request: HttpRequest, queryset: QuerySet[InsightCard]) -> None:
        accepted = sum(insight_card_accept(card=card, by=request.user) for card in queryset)
        self.message_user(
            request,
            gettext("%(count)d insight card(s) accepted.") % {"count": accepted},
            messages.SUCCESS,
        )


@admin.register(DecisionRun)
class DecisionRunAdmin(ReadOnlyAdmin):
    """The nightly runs: failed runs show their error, a running run whose worker stopped
    renewing its lease shows as stalled (the next attempt takes it over and resumes)."""

    list_display = [
        "day",
        "state",
        "stores_done",
        "stores_total",
        "attempt",
        "heartbeat_at",
        "started_at",
        "finished_at",
        "error_summary",
    ]
    list_filter = ["status"]
    search_fields = ["day"]
    date_hierarchy = "started_at"
    readonly_fields = ["stats", "error", "done_store_ids"]

    @admin.display(description=_("status"), ordering="status")
    def state(self, run: DecisionRun) -> str:
        if run.is_stalled:
            return gettext("Stalled: no heartbeat since %(time)s (worker %(worker)s)") % {
                "time": formats.localize(timezone.localtime(run.heartbeat_at)),
                "worker": run.worker or "?",
            }
        return run.get_status_display()

    @admin.display(description=_("error"))
    def error_summary(self, run: DecisionRun) -> str:
        """The last line of the error (the exception, or the latest takeover)."""
        lines = [line for line in run.error.strip().splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""
