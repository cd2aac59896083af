"""Websocket routes. Each consumer checks access in connect()."""

from __future__ import annotations

from django.urls import path

from apps.campaigns.notifications.consumers import StoreNotificationsConsumer

websocket_urlpatterns = [
    path(
        "ws/stores/<int:store_id>/notifications/",
        StoreNotificationsConsumer.as_asgi(),
        name="ws-store-notifications",
    ),
]
