"""import-export resources for suppliers and what they sell (admin import / export)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from apps.procurement.access import may_see_supplier_phones
from apps.procurement.models import Supplier, SupplierProduct
from apps.procurement.services.imports import supplier_products_import, suppliers_import
from linli.imports.admin import ServiceResource
from linli.phones import phone_for_viewer

SUPPLIER_FIELDS = ("code", "name", "kind", "contact_name", "phone", "province", "is_active")
SUPPLIER_PRODUCT_FIELDS = (
    "supplier_code",
    "sku",
    "cost",
    "lead_time_days",
    "min_order_qty",
    "pack_size",
    "is_preferred",
)


class SupplierResource(ServiceResource):
    """Columns of docs/csv-formats.md § suppliers; the contact phone whole for HQ staff with
    `procurement.view_supplier_phone` (`may_see_supplier_phones`), masked for anyone else
    without `view_phone`."""

    code = Field(attribute="code", column_name="code")
    name = Field(attribute="name", column_name="name")
    kind = Field(attribute="kind", column_name="kind")
    contact_name = Field(attribute="contact_name", column_name="contact_name")
    phone = Field(column_name="phone")
    province = Field(attribute="province", column_name="province")
    is_active = Field(column_name="is_active")

    class Meta:
        model = Supplier
        fields = SUPPLIER_FIELDS
        export_order = SUPPLIER_FIELDS
        name = _("Suppliers")

    import_service = staticmethod(suppliers_import)

    def dehydrate_phone(self, supplier: Supplier) -> str:
        # A supplier's business contact, not member data: its own explicit permission.
        if self.user is not None and may_see_supplier_phones(self.user):
            return (supplier.phone or "").removeprefix("+86")
        return phone_for_viewer(supplier.phone, user=self.user)

    def dehydrate_is_active(self, supplier: Supplier) -> str:
        return "1" if supplier.is_active else "0"


class SupplierProductResource(ServiceResource):
    """Columns of docs/csv-formats.md § supplier products."""

    column_labels: ClassVar[dict[str, Promise]] = {
        "supplier_code": _("Supplier code"),
        "sku": _("SKU"),
    }

    supplier_code = Field(column_name="supplier_code")
    sku = Field(column_name="sku")
    cost = Field(column_name="cost")
    lead_time_days = Field(column_name="lead_time_days")
    min_order_qty = Field(column_name="min_order_qty")
    pack_size = Field(column_name="pack_size")
    is_preferred = Field(column_name="is_preferred")

    class Meta:
        model = SupplierProduct
        fields = SUPPLIER_PRODUCT_FIELDS
        export_order = SUPPLIER_PRODUCT_FIELDS
        name = _("Supplier products")

    import_service = staticmethod(supplier_products_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related("supplier", "product")

    def dehydrate_supplier_code(self, offer: SupplierProduct) -> str:
        return offer.supplier.code

    def dehydrate_sku(self, offer: SupplierProduct) -> str:
        return offer.product.sku

    def dehydrate_cost(self, offer: SupplierProduct) -> str:
        return str(offer.cost)

    def dehydrate_lead_time_days(self, offer: SupplierProduct) -> str:
        return str(offer.lead_time_days)

    def dehydrate_min_order_qty(self, offer: SupplierProduct) -> str:
        return str(offer.min_order_qty)

    def dehydrate_pack_size(self, offer: SupplierProduct) -> str:
        return str(offer.pack_size)

    def dehydrate_is_preferred(self, offer: SupplierProduct) -> str:
        return "1" if offer.is_preferred else "0"
