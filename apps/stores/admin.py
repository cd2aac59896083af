from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.stores.models import (
    Order,
    OrderLine,
    Region,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
    StoreStaff,
    StoreTerminal,
)
from apps.stores.resources import (
    RegionResource,
    SalesHistoryResource,
    StockLevelResource,
    StoreResource,
)
from apps.stores.services.terminals import terminal_issue, terminal_revoke
from linli.imports.admin import ImportAdminMixin, ImportExportAdminMixin


@admin.register(Region)
class RegionAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    resource_classes = [RegionResource]
    list_display = ["code", "name", "city"]
    list_filter = ["city"]
    search_fields = ["code", "name", "city"]


class StoreStaffInline(admin.TabularInline):
    model = StoreStaff
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Store)
class StoreAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    resource_classes = [StoreResource]
    list_display = ["code", "name", "region", "status", "opened_on"]
    list_filter = ["status", "region"]
    search_fields = ["code", "name", "address"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]
    inlines = [StoreStaffInline]


@admin.register(StoreStaff)
class StoreStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store__region"]
    search_fields = ["user__username", "user__first_name", "store__code", "store__name"]
    list_select_related = ["user", "store"]
    raw_id_fields = ["user", "store"]


@admin.register(StockLevel)
class StockLevelAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    """On-hand is read-only here: it changes only through ledger movements (a CSV stock
    count writes one ADJUSTMENT movement per change)."""

    resource_classes = [StockLevelResource]

    list_display = ["store", "product", "on_hand", "updated_at"]
    list_filter = ["store__region", "product__category"]
    search_fields = ["store__code", "product__sku", "product__name"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product"]
    readonly_fields = ["on_hand", "updated_at"]
    show_full_result_count = False


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger is append-only: rows are written by services, never edited."""

    list_display = [
        "created_at",
        "store",
        "product",
        "kind",
        "reason",
        "quantity",
        "order",
        "note",
    ]
    list_filter = ["kind", "reason", "store__region"]
    search_fields = ["store__code", "product__sku", "note"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product", "order", "created_by"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: object) -> bool:
        # A row added here would not move on-hand: the ledger is written by stock_move only.
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "unit_price", "discount", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ImportAdminMixin, admin.ModelAdmin):
    # Sales history CSV import, with its own permission: stores.import_order.
    resource_classes = [SalesHistoryResource]
    list_display = [
        "id",
        "placed_at",
        "store",
        "member",
        "channel",
        "fulfilment",
        "status",
        "total",
    ]
    list_filter = ["channel", "fulfilment", "status", "store__region"]
    search_fields = ["=id", "reference", "idempotency_key", "store__code", "member__member_no"]
    list_select_related = ["store", "member"]
    raw_id_fields = ["store", "member"]
    readonly_fields = ["total", "discount_total", "created_at"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline]
    show_full_result_count = False

    # Orders are made by order_create (POS API, group buys, imports), which takes stock and
    # totals the lines; an order typed in here would do neither.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[str]:
        return [field.name for field in Order._meta.fields if field.name != "status"]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    """Order lines are read-only history: they are written with their order."""

    list_display = ["order", "product", "quantity", "unit_price", "discount", "line_total"]
    search_fields = ["=order__id", "product__sku", "product__name"]
    list_select_related = ["order", "product"]
    raw_id_fields = ["order", "product"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StoreKpiSnapshot)
class StoreKpiSnapshotAdmin(admin.ModelAdmin):
    list_display = ["day", "store", "order_count", "revenue", "member_count", "average_basket"]
    list_filter = ["store__region"]
    search_fields = ["store__code", "store__name"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]
    date_hierarchy = "day"
    readonly_fields = ["computed_at"]


@admin.register(StoreTerminal)
class StoreTerminalAdmin(admin.ModelAdmin):
    list_display = ["store", "name", "token_prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store__region"]
    search_fields = ["store__code", "name", "token_prefix"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens", "reissue_tokens"]

    # Tokens come only from terminal_issue and are shown once, on the page right after adding
    # (or re-issuing); only their hash is stored, so that page is never cached or redisplayed.

    def save_model(self, request: HttpRequest, obj: StoreTerminal, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        terminal, token = terminal_issue(store=obj.store, name=obj.name)
        for field in StoreTerminal._meta.concrete_fields:
            setattr(obj, field.attname, getattr(terminal, field.attname))
        obj._state.adding = False
        obj._state.db = terminal._state.db
        request._issued_terminal_tokens = [(terminal, token)]

    def response_add(
        self, request: HttpRequest, obj: StoreTerminal, post_url_continue: str | None = None
    ) -> HttpResponse:
        issued = getattr(request, "_issued_terminal_tokens", None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        return self._tokens_page(request, issued)

    @admin.action(description=_("Revoke the selected terminals' tokens"), permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[StoreTerminal]) -> None:
        revoked = sum(terminal_revoke(terminal=terminal, by=request.user) for terminal in queryset)
        self.message_user(
            request, gettext("Revoked %(count)d terminal tokens.") % {"count": revoked}
        )

    @admin.action(
        description=_("Issue new tokens for the selected terminals (revokes the current ones)"),
        permissions=["change"],
    )
    def reissue_tokens(
        self, request: HttpRequest, queryset: QuerySet[StoreTerminal]
    ) -> HttpResponse:
        issued = []
        with transaction.atomic():
            for terminal in queryset.select_related("store").order_by("pk"):
                terminal_revoke(terminal=terminal, by=request.user)
                issued.append(terminal_issue(store=terminal.store, name=terminal.name))
        return self._tokens_page(request, issued)

    def _tokens_page(
        self, request: HttpRequest, issued: list[tuple[StoreTerminal, str]]
    ) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/stores/storeterminal/tokens_issued.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Terminal tokens: copy them now"),
                "opts": self.model._meta,
                "issued": [{"terminal": terminal, "token": token} for terminal, token in issued],
            },
        )
        add_never_cache_headers(response)
        return response


from apps.stores.inspections import admin as inspection_admin  # noqa: E402, F401  (registers the inspection admins)
from apps.stores.kpis import admin as kpi_admin  # noqa: E402, F401  (registers the KPI snapshot admin)

# --- pickup codes and delivery status (read-only: written by the pickup services) ----------------
from apps.stores.models import OrderFulfilment  # noqa: E402


@admin.register(OrderFulfilment)
class OrderFulfilmentAdmin(admin.ModelAdmin):
    """Pickup codes and delivery status, for HQ to look up; changed only at the store's pickup
    counter (apps.procurement.services.pickup), never here."""

    list_display = [
        "order",
        "store",
        "pickup_code",
        "status",
        "ready_at",
        "ready_notified_at",
        "completed_at",
        "completed_by",
    ]
    list_filter = ["status", "store__region", "store"]
    search_fields = ["=pickup_code", "=order__id", "store__code"]
    list_select_related = ["order", "store", "completed_by"]
    raw_id_fields = ["order", "store", "completed_by"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
