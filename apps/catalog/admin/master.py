from __future__ import annotations

from django.contrib import admin

from apps.catalog.models import Category, Product, WeatherObservation
from apps.catalog.resources import CategoryResource, ProductResource, WeatherResource
from linli.imports.admin import ImportExportAdminMixin


@admin.register(Category)
class CategoryAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    resource_classes = [CategoryResource]
    list_display = ["code", "name", "parent", "is_fresh"]
    list_filter = ["is_fresh", "parent"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]


@admin.register(Product)
class ProductAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    resource_classes = [ProductResource]
    list_display = [
        "sku",
        "name",
        "category",
        "unit",
        "price",
        "cost",
        "shelf_life_days",
        "is_new",
        "is_high_value",
        "is_active",
    ]
    list_filter = ["is_active", "is_new", "is_high_value", "category__is_fresh", "category"]
    search_fields = ["sku", "barcode", "name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]
    show_full_result_count = False


@admin.register(WeatherObservation)
class WeatherObservationAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    resource_classes = [WeatherResource]
    list_display = ["city", "day", "kind", "temp_max_c", "temp_min_c", "precipitation_mm"]
    list_filter = ["kind", "city"]
    search_fields = ["city"]
    date_hierarchy = "day"


# The decision engine's admin classes (rules, forecasts, lists, insight cards, runs).
