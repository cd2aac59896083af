"""import-export resources for products, categories and weather (admin import / export),
through the import services of `apps.catalog.services.imports`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from apps.catalog.models import Category, Product, WeatherObservation
from apps.catalog.services.imports import categories_import, products_import, weather_import
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


CATEGORY_FIELDS = ("code", "name", "parent", "is_fresh")


class CategoryResource(ServiceResource):
    """Columns of docs/csv-formats.md § categories; an export imports back unchanged."""

    code = Field(attribute="code", column_name="code")
    name = Field(attribute="name", column_name="name")
    parent = Field(column_name="parent")
    is_fresh = Field(column_name="is_fresh")

    class Meta:
        model = Category
        fields = CATEGORY_FIELDS
        export_order = CATEGORY_FIELDS
        name = _("Categories")

    import_service = staticmethod(categories_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        return queryset.select_related("parent")

    def dehydrate_parent(self, category: Category) -> str:
        return category.parent.code if category.parent_id else ""

    def dehydrate_is_fresh(self, category: Category) -> str:
        return _flag(category.is_fresh)


WEATHER_FIELDS = (
    "city",
    "day",
    "temp_max_c",
    "temp_min_c",
    "precipitation_mm",
    "condition",
    "kind",
    "issued_on",
)


class WeatherResource(ServiceResource):
    """Columns of docs/csv-formats.md § weather; an export imports back unchanged."""

    city = Field(attribute="city", column_name="city")
    day = Field(column_name="day")
    temp_max_c = Field(column_name="temp_max_c")
    temp_min_c = Field(column_name="temp_min_c")
    precipitation_mm = Field(column_name="precipitation_mm")
    condition = Field(attribute="condition", column_name="condition")
    kind = Field(attribute="kind", column_name="kind")
    issued_on = Field(column_name="issued_on")

    class Meta:
        model = WeatherObservation
        fields = WEATHER_FIELDS
        export_order = WEATHER_FIELDS
        name = _("Weather")

    import_service = staticmethod(weather_import)

    def dehydrate_day(self, observation: WeatherObservation) -> str:
        return observation.day.isoformat()

    def dehydrate_temp_max_c(self, observation: WeatherObservation) -> str:
        return str(observation.temp_max_c)

    def dehydrate_temp_min_c(self, observation: WeatherObservation) -> str:
        return str(observation.temp_min_c)

    def dehydrate_precipitation_mm(self, observation: WeatherObservation) -> str:
        return str(observation.precipitation_mm)

    def dehydrate_issued_on(self, observation: WeatherObservation) -> str:
        return "" if observation.issued_on is None else observation.issued_on.isoformat()
