"""import-export resources for regions and stores, stock levels (import / export) and sales
history (import)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from apps.stores.models import OrderLine, Region, StockLevel, Store
from apps.stores.services.master_import import regions_import, stores_import
from apps.stores.services.sales_import import sales_history_import
from apps.stores.services.stock_import import stock_levels_import
from linli.imports.admin import ServiceResource
from linli.imports.contract import (
    ImportReport,
    Table,
)

REGION_FIELDS = ("code", "name", "city")
STORE_FIELDS = (
    "code",
    "name",
    "region",
    "address",
    "latitude",
    "longitude",
    "status",
    "opened_on",
)
STOCK_FIELDS = ("store_code", "sku", "on_hand", "note")
SALES_FIELDS = (
    "store_code",
    "order_ref",
    "member_identity",
    "sku",
    "quantity",
    "unit_price",
    "discount",
    "sold_at",
)


class RegionResource(ServiceResource):
    """Columns of docs/csv-formats.md § regions; an export imports back unchanged."""

    code = Field(attribute="code", column_name="code")
    name = Field(attribute="name", column_name="name")
    city = Field(attribute="city", column_name="city")

    class Meta:
        model = Region
        fields = REGION_FIELDS
        export_order = REGION_FIELDS
        name = _("Regions")

    import_service = staticmethod(regions_import)


class StoreResource(ServiceResource):
    """Columns of docs/csv-formats.md § stores; an export imports back unchanged."""

    code = Field(attribute="code", column_name="code")
    name = Field(attribute="name", column_name="name")
    region = Field(column_name="region")
    address = Field(attribute="address", column_name="address")
    latitude = Field(column_name="latitude")
    longitude = Field(column_name="longitude")
    status = Field(attribute="status", column_name="status")
    opened_on = Field(column_name="opened_on")

    class Meta:
        model = Store
        fields = STORE_FIELDS
        export_order = STORE_FIELDS
        name = _("Stores")

    import_service = staticmethod(stores_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related("region")

    def dehydrate_region(self, store: Store) -> str:
        return store.region.code

    def dehydrate_latitude(self, store: Store) -> str:
        return "" if store.latitude is None else str(store.latitude)

    def dehydrate_longitude(self, store: Store) -> str:
        return "" if store.longitude is None else str(store.longitude)

    def dehydrate_opened_on(self, store: Store) -> str:
        return "" if store.opened_on is None else store.opened_on.isoformat()


class StockLevelResource(ServiceResource):
    """A stock count (docs/csv-formats.md § stock levels); every change is a ledger row."""

    column_labels: ClassVar[dict[str, Promise]] = {
        "store_code": _("Store code"),
        "sku": _("SKU"),
        "note": _("Note"),
    }

    store_code = Field(column_name="store_code")
    sku = Field(column_name="sku")
    on_hand = Field(column_name="on_hand")
    note = Field(column_name="note")

    class Meta:
        model = StockLevel
        fields = STOCK_FIELDS
        export_order = STOCK_FIELDS
        name = _("Stock levels")

    import_service = staticmethod(stock_levels_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related("store", "product")

    def dehydrate_store_code(self, level: StockLevel) -> str:
        return level.store.code

    def dehydrate_sku(self, level: StockLevel) -> str:
        return level.product.sku

    def dehydrate_on_hand(self, level: StockLevel) -> str:
        return str(level.on_hand)

    def dehydrate_note(self, level: StockLevel) -> str:
        return ""


class SalesHistoryResource(ServiceResource):
    """POS sales history, one row per order line (docs/csv-formats.md § sales history).

    Import only; big files go through `manage.py import_sales`, which runs the same service.
    """

    store_code = Field(column_name="store_code")
    order_ref = Field(column_name="order_ref")
    member_identity = Field(column_name="member_identity")
    sku = Field(column_name="sku")
    quantity = Field(column_name="quantity")
    unit_price = Field(column_name="unit_price")
    discount = Field(column_name="discount")
    sold_at = Field(column_name="sold_at")

    class Meta:
        model = OrderLine
        fields = SALES_FIELDS
        export_order = SALES_FIELDS
        name = _("Sales history")

    def run_import(self, *, table: Table, dry_run: bool, by: Any) -> ImportReport:
        return sales_history_import(
            table=table, dry_run=dry_run, keep_errors=None, with_row_actions=True, by=by
        )
