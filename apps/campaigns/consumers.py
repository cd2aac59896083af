"""The live dashboard over websockets: one broadcast's page (ws/broadcasts/<id>/live/) and the HQ
overview of every live broadcast (ws/broadcasts/live/).

Each socket gets the feed's latest snapshot on connect, then the coalesced updates of its group
(services/live.py), and a fresh snapshot whenever it sends a `resync` frame (the page does when
a version is missed or after a reconnect). Refusal is accept-then-close 4403, nothing joined or
sent before it; the origin is checked before routing (linli/asgi.py). Logging out closes the
session's sockets (the user's sessions group), and access is re-checked before forwarding once
the last check is older than the socket's recheck interval (at most RECHECK_SECONDS; spread over
the second half of it, so that hundreds of sockets opened together do not all re-check at once).

Fan-out is per process (`_LocalFanout`): the feed's group has one member per daphne process, a
relay channel, which re-sends each message to the process's own sockets of that feed. So one
update costs the channel layer one delivery per process, not one per viewer (with channels-redis,
one Redis pop and decode per viewer made a 300-viewer page wait for 300 round trips).
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import random
import time
import weakref
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth

from apps.campaigns.models import Broadcast
from apps.campaigns.services import live as live_services
from apps.stores.access import VIEW_CAMPAIGNS, hq_may, may
from linli.realtime import user_sessions_group

CLOSE_FORBIDDEN = 4403
RECHECK_SECONDS = 60.0
RESYNC = "resync"
RELAY_RETRY_SECONDS = 1.0

logger = logging.getLogger(__name__)


class _LocalFanout:
    """The live feeds' sockets of this process (one event loop), by group. The first socket of a
    group makes a relay channel join the group; the relay receives each group message once and
    hands it to every socket of the group here, in order; the last socket to leave discards the
    relay. A relay whose layer fails (Redis down) logs, waits and receives again."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.sockets: dict[str, set[_LiveConsumer]] = {}
        self.relays: dict[str, tuple[str, asyncio.Task[None]]] = {}

    async def join(self, layer: Any, group: str, socket: _LiveConsumer) -> None:
        async with self.lock:
            self.sockets.setdefault(group, set()).add(socket)
            if group in self.relays:
                return
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            task = asyncio.ensure_future(self._relay(layer, group, channel))
            self.relays[group] = (channel, task)

    async def leave(self, layer: Any, group: str, socket: _LiveConsumer) -> None:
        async with self.lock:
            sockets = self.sockets.get(group, set())
            sockets.discard(socket)
            if sockets or group not in self.relays:
                return
            del self.sockets[group]
            channel, task = self.relays.pop(group)
            task.cancel()
            await layer.group_discard(group, channel)

    async def _relay(self, layer: Any, group: str, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the layer is unreachable: the pages resync later
                logger.warning("live relay of %s: %s: %s", group, type(error).__name__, error)
                await asyncio.sleep(RELAY_RETRY_SECONDS)
                continue
            for socket in list(self.sockets.get(group, ())):
                try:
                    await socket.relayed(message)
                except Exception as error:  # one closing socket must not starve the others
                    logger.warning("live relay to a socket of %s: %s", group, error)


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LocalFanout] = (
    weakref.WeakKeyDictionary()
)


def _local_fanout() -> _LocalFanout:
    loop = asyncio.get_running_loop()
    if loop not in _fanouts:
        _fanouts[loop] = _LocalFanout()
    return _fanouts[loop]


def _session_user(session_key: str | None, user_id: int | None) -> Any:
    """The user the session still signs in (read afresh: the scope's copy would not notice a
    logout), or None."""
    if not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    return user if user.is_authenticated and user.pk == user_id else None


def broadcast_viewable(*, user: Any, broadcast_id: int) -> bool:
    """The user may see this broadcast's live page (VIEW_CAMPAIGNS at its store)."""
    if user is None or not user.is_authenticated:
        return False
    store_id = Broadcast.objects.filter(pk=broadcast_id).values_list("store_id", flat=True).first()
    return store_id is not None and may(user, VIEW_CAMPAIGNS, store_id)


def overview_viewable(*, user: Any) -> bool:
    """The user may see the HQ overview: HQ staff with campaigns.view_storecampaign."""
    return bool(user is not None and user.is_authenticated and hq_may(user, VIEW_CAMPAIGNS))


class _LiveConsumer(AsyncWebsocketConsumer, abc.ABC):
    """Shared by both feeds: join, snapshot, forward, resync, re-check, leave. A feed says who
    may watch it, its group and its current snapshot."""

    user_id: int | None = None
    session_key: str | None = None
    checked_at: float = 0.0
    recheck_seconds: float = RECHECK_SECONDS
    joined: tuple[str, ...] = ()
    # Relayed messages that arrive before the snapshot frame is sent wait here (None: sent).
    pending: list[dict[str, Any]] | None = None

    @abc.abstractmethod
    async def allowed(self, user: Any) -> bool:
        """May `user` watch this feed (checked at connect and again before forwarding)."""

    @abc.abstractmethod
    def group(self) -> str:
        """The channel-layer group of this feed."""

    @abc.abstractmethod
    def current(self) -> dict[str, Any] | None:
        """The feed's latest snapshot (sync: reads Redis and maybe the database)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self.allowed(user):
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user_id = user.pk
        self.session_key = self.scope["session"].session_key
        self.checked_at = time.monotonic()
        self.recheck_seconds = RECHECK_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 — spread
        self.joined = (self.group(), user_sessions_group(user.pk))
        self.pending = []
        await self.channel_layer.group_add(user_sessions_group(user.pk), self.channel_name)
        await _local_fanout().join(self.channel_layer, self.group(), self)
        # Read before the handshake completes, so the snapshot is the first frame the page
        # receives, right after it (relayed updates wait in `pending` until then).
        snapshot = await database_sync_to_async(self.current)()
        await self.accept()
        await self._send_snapshot_frame(snapshot)
        pending, self.pending = self.pending or [], None
        for event in pending:
            await self.realtime_message(event)

    async def relayed(self, event: dict[str, Any]) -> None:
        """A message of the feed's group, from this process's relay."""
        if self.pending is not None:
            self.pending.append(event)
        else:
            await self.realtime_message(event)

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.joined or text_data is None:
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            frame = text_data
        kind = frame.get("type") if isinstance(frame, dict) else frame
        if kind == RESYNC:
            await self.send_snapshot()

    async def send_snapshot(self) -> None:
        await self._send_snapshot_frame(await database_sync_to_async(self.current)())

    async def _send_snapshot_frame(self, snapshot: dict[str, Any] | None) -> None:
        if snapshot is None or not self.joined:
            return
        payload = {"kind": "snapshot", "sent_at": time.time(), "snapshot": snapshot}
        await self.send(
            text_data=json.dumps(
                {"event": live_services.SNAPSHOT_EVENT, "payload": payload}, ensure_ascii=False
            )
        )

    async def realtime_message(self, event: dict[str, Any]) -> None:
        if not self.joined:
            return
        if time.monotonic() - self.checked_at >= self.recheck_seconds and not await self._recheck():
            return
        await self.send(text_data=event["text"])

    async def realtime_session_ended(self, event: dict[str, Any]) -> None:
        if self.joined:
            await self._recheck()

    async def _recheck(self) -> bool:
        user = await database_sync_to_async(_session_user)(self.session_key, self.user_id)
        if user is not None and await self.allowed(user):
            self.checked_at = time.monotonic()
            return True
        # Close first: the socket stops at once; leaving the groups follows. A message
        # already in flight is dropped by `joined` being cleared.
        joined = self.joined
        await self.close(code=CLOSE_FORBIDDEN)
        if joined:
            await self._leave()
        return False

    async def _leave(self) -> None:
        joined, self.joined = self.joined, ()
        if not joined:
            return
        feed_group, sessions_group = joined
        await _local_fanout().leave(self.channel_layer, feed_group, self)
        await self.channel_layer.group_discard(sessions_group, self.channel_name)


class LiveBroadcastConsumer(_LiveConsumer):
    """One broadcast's live page, for the staff who may view campaigns at its store (and HQ).
    Its sockets are staff watching the figures, not the stream's viewers: they change nothing
    (the viewers shown are the platform's reports, services/broadcasts.py)."""

    broadcast_id: int = 0

    async def allowed(self, user: Any) -> bool:
        self.broadcast_id = int(self.scope["url_route"]["kwargs"]["broadcast_id"])
        return await database_sync_to_async(broadcast_viewable)(
            user=user, broadcast_id=self.broadcast_id
        )

    def group(self) -> str:
        return live_services.live_broadcast_group(self.broadcast_id)

    def current(self) -> dict[str, Any] | None:
        return live_services.live_broadcast_current(broadcast_id=self.broadcast_id)


class LiveOverviewConsumer(_LiveConsumer):
    """HQ's overview of every live broadcast (HQ staff with campaigns.view_storecampaign)."""

    async def allowed(self, user: Any) -> bool:
        return await database_sync_to_async(overview_viewable)(user=user)

    def group(self) -> str:
        return live_services.live_overview_group()

    def current(self) -> dict[str, Any] | None:
        return live_services.live_overview_current()
