from __future__ import annotations

from django.contrib import admin

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


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city"]
    list_filter = ["city"]
    search_fields = ["code", "name", "city"]


class StoreStaffInline(admin.TabularInline):
    model = StoreStaff
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
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
class StockLevelAdmin(admin.ModelAdmin):
    """On-hand is read-only here: it changes only through ledger movements."""

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

    list_display = ["created_at", "store", "product", "kind", "quantity", "order", "note"]
    list_filter = ["kind", "store__region"]
    search_fields = ["store__code", "product__sku", "note"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product", "order", "created_by"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]
    readonly_fields = ["line_total"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
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


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["order", "product", "quantity", "unit_price", "discount", "line_total"]
    search_fields = ["=order__id", "product__sku", "product__name"]
    list_select_related = ["order", "product"]
    raw_id_fields = ["order", "product"]
    show_full_result_count = False


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
