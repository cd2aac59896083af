from __future__ import annotations

from django.contrib import admin

from apps.procurement.models import Supplier, SupplierProduct, SupplierUser
from apps.procurement.resources import SupplierProductResource, SupplierResource
from linli.admin_helpers import PhoneMaskingAdminMixin
from linli.imports.admin import ImportExportAdminMixin


class SupplierProductInline(admin.TabularInline):
    model = SupplierProduct
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Supplier)
class SupplierAdmin(ImportExportAdminMixin, PhoneMaskingAdminMixin, admin.ModelAdmin):
    resource_classes = [SupplierResource]
    list_display = ["code", "name", "kind", "contact_name", "phone", "province", "is_active"]
    list_filter = ["kind", "is_active", "province"]
    search_fields = ["code", "name", "contact_name"]
    inlines = [SupplierProductInline]


@admin.register(SupplierProduct)
class SupplierProductAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    # SupplierProduct has no import/export permissions of its own: those of suppliers apply.
    resource_classes = [SupplierProductResource]
    import_permission = "procurement.import_supplier"
    export_permission = "procurement.export_supplier"
    list_display = [
        "supplier",
        "product",
        "cost",
        "lead_time_days",
        "min_order_qty",
        "pack_size",
        "is_preferred",
    ]
    list_filter = ["is_preferred", "supplier"]
    search_fields = ["supplier__name", "product__sku", "product__name"]
    list_select_related = ["supplier", "product"]
    raw_id_fields = ["supplier", "product"]


@admin.register(SupplierUser)
class SupplierUserAdmin(admin.ModelAdmin):
    list_display = ["user", "supplier"]
    search_fields = ["user__username", "supplier__name"]
    list_select_related = ["user", "supplier"]
    raw_id_fields = ["user", "supplier"]
