from __future__ import annotations

from django.urls import path

from apps.catalog.api import views as api

urlpatterns = [
    path(
        "stores/<int:store_id>/decisions/lists/<str:kind>/",
        api.DecisionListView.as_view(),
        name="api-decisions-list",
    ),
    path(
        "stores/<int:store_id>/decisions/insights/",
        api.InsightCardListView.as_view(),
        name="api-decisions-insights",
    ),
    path(
        "stores/<int:store_id>/decisions/rules/",
        api.StoreRuleListView.as_view(),
        name="api-decisions-rules",
    ),
    path(
        "stores/<int:store_id>/members/<int:member_id>/next-products/",
        api.MemberNextProductsView.as_view(),
        name="api-member-next-products",
    ),
]
