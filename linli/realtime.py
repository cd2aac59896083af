"""The one helper through which every websocket broadcast goes.

Group names are built here, payloads are serialised here (so a bad payload fails at the caller,
not inside the channel layer), and messages are sent only after the surrounding transaction
commits, so a rolled-back change is never announced.

A broadcast is a notice, not the record: the change it announces is already committed when it
is sent. So a channel layer that cannot be reached (Redis down) is logged as one warning line and
the message is dropped; the caller's request or task carries on as if it had been delivered
(pages reload their state on connect, so a missed notice is repaired by the next visit).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import translation

logger = logging.getLogger(__name__)

_GROUP_PART = re.compile(r"^[A-Za-z0-9_\-]+$")

# Message types the consumers handle (`realtime.message` → `realtime_message`).
MESSAGE_TYPE = "realtime.message"
SESSION_ENDED_TYPE = "realtime.session_ended"

_thread_state = threading.local()

# The names a broadcast may require (`requires=`): the store actions of apps.stores.access,
# registered by the stores app when Django starts (linli imports no app). A name not among
# them raises at the call: a consumer would otherwise drop the message for every reader.
_known_requirements: frozenset[str] = frozenset()


def requirements_register(names: Iterable[str]) -> None:
    """Add `names` to the actions a broadcast may require (`apps.stores.apps.StoresConfig`)."""
    global _known_requirements
    _known_requirements = _known_requirements | frozenset(names)


def group_name(*parts: str | int) -> str:
    """`group_name("store", 7, "notifications")` → `linli.store.7.notifications`."""
    text_parts = [str(part) for part in parts]
    for part in text_parts:
        if not _GROUP_PART.match(part):
            raise ValueError(f"invalid group name part: {part!r}")
    return ".".join(["linli", *text_parts])


def store_notifications_group(store_id: int) -> str:
    return group_name("store", store_id, "notifications")


def user_sessions_group(user_id: int) -> str:
    """Every websocket of one user joins this group, so logging out can reach them."""
    return group_name("user", user_id, "sessions")


def keep_event_loop() -> None:
    """From now on, this thread sends on one event loop of its own, so the channel layer's
    connections (channels-redis keeps a pool per loop) are reused. Without it a send from a
    thread that runs no loop makes a new loop, thread and Redis connection each time
    (`async_to_sync`). For a sync thread that lives as long as its process (the live
    dashboard's window thread); never call it from a thread that runs an event loop."""
    if getattr(_thread_state, "loop", None) is None:
        _thread_state.loop = asyncio.new_event_loop()


def _group_send(layer: Any, group: str, message: dict[str, Any]) -> None:
    loop = getattr(_thread_state, "loop", None)
    if loop is None:
        async_to_sync(layer.group_send)(group, message)
    else:
        loop.run_until_complete(layer.group_send(group, message))


def _send_on_commit(group: str, message: dict[str, Any], *, event: str) -> None:
    """Send `message` to `group` after commit. Never raises once the transaction has committed:
    an unreachable layer is logged (group, event, error; no traceback) and the message dropped."""

    def send() -> None:
        try:
            layer = get_channel_layer()
            if layer is None:
                return
            _group_send(layer, group, message)
        # Any failure of the layer (refused, timeout, full): the change is already committed.
        except Exception as error:
            logger.warning(
                "realtime: broadcast %s to %s dropped, channel layer unreachable: %s: %s",
                event,
                group,
                type(error).__name__,
                error,
            )

    transaction.on_commit(send)


def broadcast(
    group: str, *, event: str, payload: dict[str, Any], requires: str | None = None
) -> None:
    """Send `{"event": ..., "payload": ...}` to a group once the current transaction commits.

    Consumers receive it as a `realtime.message` with the JSON text ready to forward. A payload
    that cannot be serialised raises here, at the caller; a layer that cannot be reached after
    commit is logged and the message dropped (see the module docstring).

    `requires` names the store action (`apps.stores.access`, e.g. "view_devices") a reader must
    hold at the group's store to be forwarded the message, when the group's own rule (who may
    join it) is not enough: the store's notifications socket drops it for the others. A name
    that is no store action raises ValueError here.
    """
    _checked_requirement(requires)
    text = json.dumps(
        {"event": event, "payload": payload}, cls=DjangoJSONEncoder, ensure_ascii=False
    )
    _send_on_commit(group, _message(text=text, requires=requires), event=event)


def _checked_requirement(requires: str | None) -> None:
    if requires is not None and requires not in _known_requirements:
        raise ValueError(f"broadcast requires an unknown store action: {requires!r}")


def _message(*, text: str, requires: str | None, **more: Any) -> dict[str, Any]:
    message = {"type": MESSAGE_TYPE, "text": text, **more}
    if requires is not None:
        message["requires"] = requires
    return message


def broadcast_in_languages(
    group: str,
    *,
    event: str,
    payload: Callable[[], dict[str, Any]],
    requires: str | None = None,
) -> None:
    """`broadcast`, with a payload worded in each language: `payload()` is called once per
    language in `LANGUAGES`, that language active, and each socket forwards the version in its
    reader's language (`texts[language]`; `text` is the project language's, for a consumer that
    does not choose). A payload that cannot be serialised raises here, at the caller.
    `requires`: as for `broadcast`."""
    _checked_requirement(requires)
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = json.dumps(
                {"event": event, "payload": payload()}, cls=DjangoJSONEncoder, ensure_ascii=False
            )
    default = texts.get(settings.LANGUAGE_CODE) or next(iter(texts.values()))
    _send_on_commit(group, _message(text=default, requires=requires, texts=texts), event=event)


def session_ended_broadcast(*, user_id: int) -> None:
    """Tell the user's websockets that one of their sessions ended (after commit). Each socket
    then checks whether its own session still holds, and closes (4403) if not — so logging out
    in one browser leaves the user's other browsers connected."""
    _send_on_commit(
        user_sessions_group(user_id), {"type": SESSION_ENDED_TYPE}, event="session.ended"
    )
