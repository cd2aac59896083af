from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.catalog.api import views as api

urlpatterns = [
    path(
        "stores/<id:store_id>/decisions/lists/<str:kind>/",
        api.DecisionListView.as_view(),
        name="api-decisions-list",
    ),
    path(
        "stores/<id:store_id>/decisions/insights/",
        api.InsightCardListView.as_view(),
        name="api-decisions-insights",
    ),
    path(
        "stores/<id:store_id>/decisions/rules/",
        api.StoreRuleListView.as_view(),
        name="api-decisions-rules",
    ),
    path(
        "stores/<id:store_id>/members/<id:member_id>/next-products/",
        api.MemberNextProductsView.as_view(),
        name="api-member-next-products",
    ),
]
