from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.devices import views

app_name = "devices"

urlpatterns = [
    path("stores/<id:store_id>/", views.store_devices, name="store"),
    path("stores/<id:store_id>/live/", views.store_live_lines, name="store-live-lines"),
    path("<id:device_id>/", views.device_detail, name="device"),
    path("alerts/<id:alert_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<id:alert_id>/resolve/", views.alert_resolve, name="alert-resolve"),
]
