from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.catalog import views

app_name = "decisions"

urlpatterns = [
    path("stores/<id:store_id>/", views.store_decisions, name="store"),
]
