"""import-export resource for planned promotions (admin import / export), through
`promotions_import`."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Prefetch, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from apps.campaigns.models import Promotion
from apps.campaigns.services.promotion_import import promotions_import
from apps.stores.models import Store
from linli.imports.admin import ServiceResource

PROMOTION_FIELDS = (
    "kind",
    "sku",
    "category",
    "stores",
    "region",
    "starts_on",
    "ends_on",
    "promo_price",
    "discount_percent",
    "name",
    "status",
)


class PromotionResource(ServiceResource):
    """Columns of docs/csv-formats.md § promotions. An export gives the discount percent (never
    a promotional price), so it imports back unchanged."""

    column_labels: ClassVar[dict[str, Promise]] = {
        "sku": _("SKU"),
        "promo_price": _("Promotional price (yuan)"),
    }

    kind = Field(attribute="kind", column_name="kind")
    sku = Field(column_name="sku")
    category = Field(column_name="category")
    stores = Field(column_name="stores")
    region = Field(column_name="region")
    starts_on = Field(column_name="starts_on")
    ends_on = Field(column_name="ends_on")
    promo_price = Field(column_name="promo_price")
    discount_percent = Field(column_name="discount_percent")
    name = Field(attribute="name", column_name="name")
    status = Field(attribute="status", column_name="status")

    class Meta:
        model = Promotion
        fields = PROMOTION_FIELDS
        export_order = PROMOTION_FIELDS
        name = _("Promotions")

    import_service = staticmethod(promotions_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        stores = Store.objects.only("pk", "code").order_by("code")
        return queryset.select_related("product", "category", "region").prefetch_related(
            Prefetch("stores", queryset=stores)
        )

    def dehydrate_sku(self, promotion: Promotion) -> str:
        return promotion.product.sku if promotion.product_id else ""

    def dehydrate_category(self, promotion: Promotion) -> str:
        return promotion.category.code if promotion.category_id else ""

    def dehydrate_stores(self, promotion: Promotion) -> str:
        return " ".join(store.code for store in promotion.stores.all())

    def dehydrate_region(self, promotion: Promotion) -> str:
        return promotion.region.code if promotion.region_id else ""

    def dehydrate_starts_on(self, promotion: Promotion) -> str:
        return promotion.starts_on.isoformat()

    def dehydrate_ends_on(self, promotion: Promotion) -> str:
        return promotion.ends_on.isoformat()

    def dehydrate_promo_price(self, promotion: Promotion) -> str:
        return ""

    def dehydrate_discount_percent(self, promotion: Promotion) -> str:
        return "" if promotion.discount_percent is None else str(promotion.discount_percent)
