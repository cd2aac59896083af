from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.campaigns.models import Promotion
from apps.campaigns.resources import PromotionResource
from apps.campaigns.services import promotions as services
from linli.admin_helpers import UndeletableAdminMixin
from linli.imports.admin import ImportExportAdminMixin


class PlannedByFilter(admin.SimpleListFilter):
    """HQ's own promotions (planned here or imported) or a confirmed store campaign's offers."""

    title = _("origin")
    parameter_name = "planned_by"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("hq", _("HQ (here or imported)")), ("campaign", _("A store campaign"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Promotion]) -> QuerySet:
        if self.value() == "hq":
            return queryset.filter(store_campaign__isnull=True)
        if self.value() == "campaign":
            return queryset.filter(store_campaign__isnull=False)
        return queryset


@admin.register(Promotion)
class PromotionAdmin(UndeletableAdminMixin, ImportExportAdminMixin, admin.ModelAdmin):
    """HQ plans price promotions and live broadcasts here (or imports them as CSV); the nightly
    forecast reads the planned ones as its promotion feature."""

    resource_classes = [PromotionResource]

    list_display = [
        "name",
        "kind",
        "covers",
        "scope",
        "starts_on",
        "ends_on",
        "discount_percent",
        "status",
    ]
    list_filter = ["kind", "status", PlannedByFilter, "region", "starts_on", "ends_on"]
    search_fields = [
        "name",
        "product__sku",
        "product__name",
        "category__code",
        "category__name",
        "region__name",
        "stores__code",
    ]
    list_select_related = ["product", "category", "region"]
    autocomplete_fields = ["product", "category", "region", "stores"]
    readonly_fields = ["store_campaign", "created_by", "created_at"]
    date_hierarchy = "starts_on"
    show_full_result_count = False
    actions = ["cancel_selected"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "status", "discount_percent"]}),
        (_("What"), {"fields": ["product", "category"]}),
        (_("Where"), {"fields": ["region", "stores"]}),
        (_("When"), {"fields": ["starts_on", "ends_on"]}),
        (None, {"fields": ["store_campaign", "created_by", "created_at"]}),
    ]

    def has_change_permission(self, request: HttpRequest, obj: Promotion | None = None) -> bool:
        """A store campaign's offer is planned from its confirmed pack (its product, days and
        discount): read-only here, changed with its campaign (cancelling it cancels the offer).
        Edited here, the forecast read a discount the pack and the offer did not have."""
        planned_by_campaign = obj is not None and obj.store_campaign_id is not None
        return not planned_by_campaign and super().has_change_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Promotion]:
        # The scope column counts the listed stores in the same query as the rows.
        return super().get_queryset(request).annotate(store_count=Count("stores", distinct=True))

    @admin.display(description=_("product or category"))
    def covers(self, promotion: Promotion) -> str:
        if promotion.product_id is not None:
            return str(promotion.product)
        return _("%(category)s (and subcategories)") % {"category": promotion.category}

    @admin.display(description=_("scope"))
    def scope(self, promotion: Promotion) -> str:
        count = getattr(promotion, "store_count", 0)
        stores = (
            ngettext("%(count)d store", "%(count)d stores", count) % {"count": count}
            if count
            else ""
        )
        if promotion.region_id is not None and stores:
            return f"{promotion.region} + {stores}"
        if promotion.region_id is not None:
            return str(promotion.region)
        return stores or str(_("Whole network"))

    def save_model(self, request: HttpRequest, obj: Promotion, form: object, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Cancel selected promotions"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Promotion]) -> None:
        cancelled = services.promotions_cancel(
            promotion_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            ngettext("Cancelled %(count)d promotion.", "Cancelled %(count)d promotions.", cancelled)
            % {"count": cancelled},
        )


from apps.campaigns.notifications import admin as notification_admin  # noqa: E402, F401  (registers the outbox admin)
