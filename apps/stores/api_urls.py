from __future__ import annotations

from django.urls import path

from apps.stores import api, api_pos

urlpatterns = [
    path("stores/", api.StoreListView.as_view(), name="api-stores"),
    path("stores/<int:pk>/", api.StoreDetailView.as_view(), name="api-store"),
    path("pos/orders", api_pos.PosOrderView.as_view(), name="api-pos-orders"),
]
