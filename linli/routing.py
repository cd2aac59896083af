"""Websocket routes. Each consumer checks access in connect().

`websocket_fallback` goes last in the router (linli/asgi.py): a path no route matches is
accepted and closed with 4404, instead of the router raising (an HTTP 500 and a traceback).
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.campaigns.consumers import LiveBroadcastConsumer, LiveOverviewConsumer
from apps.campaigns.notifications.consumers import StoreNotificationsConsumer

CLOSE_NOT_FOUND = 4404


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Accept-then-close 4404, so the client sees the code (as with 4403 refusals)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


websocket_urlpatterns = [
    path(
        "ws/stores/<id:store_id>/notifications/",
        StoreNotificationsConsumer.as_asgi(),
        name="ws-store-notifications",
    ),
    # The live dashboard (apps/campaigns/consumers.py; docs/live-dashboard.md).
    path(
        "ws/broadcasts/live/",
        LiveOverviewConsumer.as_asgi(),
        name="ws-broadcasts-live-overview",
    ),
    path(
        "ws/broadcasts/<id:broadcast_id>/live/",
        LiveBroadcastConsumer.as_asgi(),
        name="ws-broadcast-live",
    ),
]

websocket_fallback = re_path(r"", UnknownPathConsumer.as_asgi(), name="ws-unknown")
