"""The one helper through which every websocket broadcast goes.

Group names are built here, payloads are serialised here (so a bad payload fails at the caller,
not inside the channel layer), and messages are sent only after the surrounding transaction
commits, so a rolled-back change is never announced.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

_GROUP_PART = re.compile(r"^[A-Za-z0-9_\-]+$")


def group_name(*parts: str | int) -> str:
    """`group_name("store", 7, "notifications")` → `linli.store.7.notifications`."""
    text_parts = [str(part) for part in parts]
    for part in text_parts:
        if not _GROUP_PART.match(part):
            raise ValueError(f"invalid group name part: {part!r}")
    return ".".join(["linli", *text_parts])


def store_notifications_group(store_id: int) -> str:
    return group_name("store", store_id, "notifications")


def broadcast(group: str, *, event: str, payload: dict[str, Any]) -> None:
    """Send `{"event": ..., "payload": ...}` to a group once the current transaction commits.

    Consumers receive it as a `realtime.message` with the JSON text ready to forward.
    """
    text = json.dumps(
        {"event": event, "payload": payload}, cls=DjangoJSONEncoder, ensure_ascii=False
    )

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(group, {"type": "realtime.message", "text": text})

    transaction.on_commit(send)
