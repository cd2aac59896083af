from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.stores import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("stores/<id:store_id>/", views.store_detail, name="store"),
    path("stores/<id:store_id>/kpis/", views.store_kpis, name="store_kpis"),
    path("stores/<id:store_id>/stock/", views.store_stock, name="store_stock"),
    path(
        "stores/<id:store_id>/stock/<id:product_id>/",
        views.store_stock_product,
        name="store_stock_product",
    ),
]
