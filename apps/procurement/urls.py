from __future__ import annotations

from django.urls import path

from apps.procurement import views

app_name = "supplier"

urlpatterns = [
    path("", views.home, name="home"),
]
