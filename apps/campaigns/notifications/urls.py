from __future__ import annotations

from django.urls import path

from apps.campaigns.notifications import views

app_name = "notifications"

urlpatterns = [
    path("stores/<int:store_id>/read/", views.notifications_read, name="read"),
]
