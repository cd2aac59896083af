from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.campaigns.notifications import views

app_name = "notifications"

urlpatterns = [
    path("stores/<id:store_id>/read/", views.notifications_read, name="read"),
]
