from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.stores.api import mini_program as api_mini_program
from apps.stores.api import pos as api_pos
from apps.stores.api import stores as api

urlpatterns = [
    path("stores/", api.StoreListView.as_view(), name="api-stores"),
    path("stores/<id:pk>/", api.StoreDetailView.as_view(), name="api-store"),
    path("pos/orders", api_pos.PosOrderView.as_view(), name="api-pos-orders"),
    path(
        "mini-program/orders",
        api_mini_program.MiniProgramOrdersView.as_view(),
        name="api-mini-program-orders",
    ),
    path(
        "mini-program/orders/<str:reference>",
        api_mini_program.MiniProgramOrderView.as_view(),
        name="api-mini-program-order",
    ),
    path(
        "mini-program/orders/<str:reference>/cancel",
        api_mini_program.MiniProgramOrderCancelView.as_view(),
        name="api-mini-program-order-cancel",
    ),
]
