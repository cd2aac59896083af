"""Per-store notifications over websockets: alerts, orders, insight cards for the owner's page."""

from __future__ import annotations

import time
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.utils import translation

from apps.stores.access import VIEW_STORE, actions_at
from linli.realtime import store_notifications_group, user_sessions_group

CLOSE_FORBIDDEN = 4403
# Access is re-checked before forwarding an event when the last check is older than this.
RECHECK_SECONDS = 60.0


def session_actions(*, session_key: str | None, user_id: int, store_id: int) -> frozenset[str]:
    """What the socket's user may still do at the store (`actions_at`), or nothing when the
    socket's session is gone or signs in someone else (a logout, a changed password, a
    deactivated user). Reads the session afresh: the copy in the socket's scope was loaded at
    connect and would not notice a logout."""
    if not session_key:
        return frozenset()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    if not user.is_authenticated or user.pk != user_id:
        return frozenset()
    return actions_at(user, store_id)


def reader_language(scope: dict[str, Any]) -> str:
    """The socket reader's language, chosen as LocaleMiddleware chooses a page's: the language
    cookie (the portal's language switch), then the browser's Accept-Language, then
    LANGUAGE_CODE."""
    headers = dict(scope.get("headers") or ())
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    request = SimpleNamespace(
        COOKIES=scope.get("cookies") or {}, META={"HTTP_ACCEPT_LANGUAGE": accept}
    )
    return translation.get_language_from_request(request)  # type: ignore[arg-type]


class StoreNotificationsConsumer(AsyncWebsocketConsumer):
    """Authenticates in connect(), joins the store's group and the user's sessions group,
    forwards (a message worded in each language, `linli.realtime.broadcast_in_languages`, in
    the reader's: `reader_language`, read at connect). Joining is VIEW_STORE's; a message that
    `requires` another action (device alerts: VIEW_DEVICES) is forwarded only to a reader who
    may take it there (`actions`, read at connect and at every recheck). Refusal is
    accept-then-close with 4403: a close before accept reaches the browser as an HTTP 403
    handshake rejection with no code, which a page cannot tell from a network error. Nothing
    is joined or sent before the refusal.

    Access is checked again (session still there, user still allowed) when the user's session
    group says a session of theirs ended (portal logout), and before forwarding an event once
    the last check is older than RECHECK_SECONDS — so a removed role or an expired session
    stops the stream at the next event, at the cost of one check a minute per busy socket.
    """

    store_id: int | None = None
    user_id: int | None = None
    session_key: str | None = None
    language: str = ""
    actions: frozenset[str] = frozenset()
    checked_at: float = 0.0
    joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        store_id = int(self.scope["url_route"]["kwargs"]["store_id"])
        if user is None or not user.is_authenticated:
            await self._refuse()
            return
        actions = await database_sync_to_async(actions_at)(user, store_id)
        if VIEW_STORE.name not in actions:
            await self._refuse()
            return
        self.store_id, self.user_id, self.actions = store_id, user.pk, actions
        self.session_key = self.scope["session"].session_key
        self.language = reader_language(self.scope)
        self.checked_at = time.monotonic()
        self.joined = (store_notifications_group(store_id), user_sessions_group(user.pk))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def realtime_message(self, event: dict[str, Any]) -> None:
        if not self.joined:
            return  # closed already; a message still in flight is dropped
        if time.monotonic() - self.checked_at >= RECHECK_SECONDS and not await self._recheck():
            return
        required = event.get("requires")
        if required is not None and required not in self.actions:
            return
        await self.send(text_data=event.get("texts", {}).get(self.language, event["text"]))

    async def realtime_session_ended(self, event: dict[str, Any]) -> None:
        """One of this user's sessions ended: close if it was this socket's."""
        if self.joined:
            await self._recheck()

    async def _recheck(self) -> bool:
        actions = await database_sync_to_async(session_actions)(
            session_key=self.session_key, user_id=self.user_id, store_id=self.store_id
        )
        if VIEW_STORE.name in actions:
            self.actions, self.checked_at = actions, time.monotonic()
            return True
        await self._leave()
        await self.close(code=CLOSE_FORBIDDEN)
        return False

    async def _refuse(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_FORBIDDEN)

    async def _leave(self) -> None:
        joined, self.joined = self.joined, ()
        for group in joined:
            await self.channel_layer.group_discard(group, self.channel_name)
