from __future__ import annotations

from django.urls import path

from apps.devices.api import views as api

urlpatterns = [
    path("devices/readings", api.DeviceReadingsView.as_view(), name="api-device-readings"),
    path("devices/me", api.DeviceMeView.as_view(), name="api-device-me"),
]
