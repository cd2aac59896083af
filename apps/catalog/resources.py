"""import-export resource for products (admin import / export), through `products_import`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from apps.catalog.models import Product
from apps.catalog.services.imports import products_import
from linli.imports.admin import ServiceResource

PRODUCT_FIELDS = (
    "sku",
    "name",
    "category",
    "price",
    "unit",
    "cost",
    "barcode",
    "shelf_life_days",
    "is_new",
    "is_high_value",
    "is_active",
)


def _flag(value: bool) -> str:
    return "1" if value else "0"


class ProductResource(ServiceResource):
    """Columns of docs/csv-formats.md § products; an export imports back unchanged."""

    sku = Field(attribute="sku", column_name="sku")
    name = Field(attribute="name", column_name="name")
    category = Field(column_name="category")
    price = Field(column_name="price")
    unit = Field(attribute="unit", column_name="unit")
    cost = Field(column_name="cost")
    barcode = Field(column_name="barcode")
    shelf_life_days = Field(column_name="shelf_life_days")
    is_new = Field(column_name="is_new")
    is_high_value = Field(column_name="is_high_value")
    is_active = Field(column_name="is_active")

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS
        export_order = PRODUCT_FIELDS
        name = _("Products")

    import_service = staticmethod(products_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related("category")

    def dehydrate_category(self, product: Product) -> str:
        return product.category.code

    def dehydrate_price(self, product: Product) -> str:
        return str(product.price)

    def dehydrate_cost(self, product: Product) -> str:
        return str(product.cost)

    def dehydrate_barcode(self, product: Product) -> str:
        return product.barcode or ""

    def dehydrate_shelf_life_days(self, product: Product) -> str:
        return "" if product.shelf_life_days is None else str(product.shelf_life_days)

    def dehydrate_is_new(self, product: Product) -> str:
        return _flag(product.is_new)

    def dehydrate_is_high_value(self, product: Product) -> str:
        return _flag(product.is_high_value)

    def dehydrate_is_active(self, product: Product) -> str:
        return _flag(product.is_active)
