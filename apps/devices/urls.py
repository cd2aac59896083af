from __future__ import annotations

from django.urls import path

from apps.devices import views

app_name = "devices"

urlpatterns = [
    path("stores/<int:store_id>/", views.store_devices, name="store"),
    path("<int:device_id>/", views.device_detail, name="device"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve, name="alert-resolve"),
]
