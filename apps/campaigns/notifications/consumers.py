"""Per-store notifications over websockets: alerts, orders, insight cards for the owner's page."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.stores.access import can_see_store
from linli.realtime import store_notifications_group

CLOSE_FORBIDDEN = 4403


class StoreNotificationsConsumer(AsyncWebsocketConsumer):
    """Authenticates in connect() (4403 when not allowed), joins the store's group, forwards."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        store_id = int(self.scope["url_route"]["kwargs"]["store_id"])
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        allowed = await database_sync_to_async(can_see_store)(user, store_id)
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = store_notifications_group(store_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def realtime_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
