from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.stores.api import pos as api_pos
from apps.stores.api import stores as api

urlpatterns = [
    path("stores/", api.StoreListView.as_view(), name="api-stores"),
    path("stores/<id:pk>/", api.StoreDetailView.as_view(), name="api-store"),
    path("pos/orders", api_pos.PosOrderView.as_view(), name="api-pos-orders"),
]
