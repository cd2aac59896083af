from __future__ import annotations

from django.urls import path

from apps.catalog import views

app_name = "decisions"

urlpatterns = [
    path("stores/<int:store_id>/", views.store_decisions, name="store"),
]
