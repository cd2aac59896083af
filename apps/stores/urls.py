from __future__ import annotations

from django.urls import path

from apps.stores import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("stores/<int:store_id>/", views.store_detail, name="store"),
    path("stores/<int:store_id>/kpis/", views.store_kpis, name="store_kpis"),
]
