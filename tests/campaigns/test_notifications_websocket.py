"""ws/stores/<id>/notifications/: origin check, session authentication, access per store, and
delivery of `linli.realtime.broadcast` messages after commit.

Refusal is accept-then-close 4403 (README, "Health and realtime"): the handshake succeeds and the
first frame is the close with its code — a close before accept would reach a browser as an HTTP
403 handshake rejection without any code. A foreign or missing origin is still refused at the
handshake. A path with no route is accepted and closed with 4404. Logging out closes the
session's sockets; access is re-checked before forwarding once the last check is old.

Run against the full `linli.asgi.application` (origin validator + auth middleware + router).
Data is committed (`transaction=True`) because the consumer reads the session and the store
staffing from a worker thread with its own database connection.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from apps.campaigns.notifications import consumers
from apps.campaigns.notifications.consumers import CLOSE_FORBIDDEN
from apps.stores.models import StoreStaff
from linli.asgi import application
from linli.realtime import broadcast, store_notifications_group
from linli.routing import CLOSE_NOT_FOUND

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://testserver"


def _path(store: object) -> str:
    return f"/ws/stores/{store.pk}/notifications/"


def _session_cookie(client: object, user: object) -> bytes:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _communicator(
    store: object, *, cookie: bytes | None = None, origin: bytes | None = ORIGIN
) -> WebsocketCommunicator:
    headers = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, _path(store), headers=headers)


async def _closed_after_accept(communicator: WebsocketCommunicator) -> int | None:
    """The declared refusal: the handshake is accepted, then the first frame is a close. Returns
    its code (None when the socket stayed open and silent)."""
    connected, _subprotocol = await communicator.connect(timeout=10)
    assert connected is True, "refusals are accept-then-close, not an HTTP 403 handshake"
    if await communicator.receive_nothing(timeout=0.5):
        return None
    output = await communicator.receive_output(timeout=1)
    assert output["type"] == "websocket.close", output
    return output.get("code")


def _broadcast_committed(store_id: int, event: str, text: str) -> None:
    with transaction.atomic():
        broadcast(store_notifications_group(store_id), event=event, payload={"text": text})


class _Rollback(Exception):
    pass


def _broadcast_rolled_back(store_id: int) -> None:
    try:
        with transaction.atomic():
            broadcast(store_notifications_group(store_id), event="lost", payload={"text": "x"})
            raise _Rollback
    except _Rollback:
        pass


async def test_anonymous_is_accepted_then_closed_with_4403(store):
    communicator = _communicator(store)
    assert await _closed_after_accept(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


async def test_foreign_origin_is_refused_even_for_the_owner(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie, origin=b"http://evil.example.com")
    connected, _code = await communicator.connect(timeout=10)
    assert connected is False
    await communicator.disconnect()


async def test_missing_origin_is_refused(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie, origin=None)
    connected, _code = await communicator.connect(timeout=10)
    assert connected is False
    await communicator.disconnect()


async def test_another_stores_owner_is_closed_with_4403(client, other_owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, other_owner)
    communicator = _communicator(store, cookie=cookie)
    assert await _closed_after_accept(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


async def test_supplier_user_is_closed_with_4403(client, supplier_user, store):
    cookie = await database_sync_to_async(_session_cookie)(client, supplier_user)
    communicator = _communicator(store, cookie=cookie)
    assert await _closed_after_accept(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


async def test_unknown_store_is_closed_with_4403(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    headers = [(b"host", b"testserver"), (b"origin", ORIGIN), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(
        application, f"/ws/stores/{store.pk + 1000}/notifications/", headers=headers
    )
    assert await _closed_after_accept(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


async def test_inactive_owner_is_closed_with_4403(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)

    def deactivate() -> None:
        owner.is_active = False
        owner.save(update_fields=["is_active"])

    await database_sync_to_async(deactivate)()
    communicator = _communicator(store, cookie=cookie)
    assert await _closed_after_accept(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


@pytest.mark.parametrize(
    "path", ["/ws/nope/", "/ws/stores/-1/notifications/", "/ws/stores/1/notifications/x/", "/"]
)
async def test_unknown_path_is_accepted_then_closed_with_4404_without_an_error(client, owner, path):
    """Before: the router raised ValueError (an HTTP 500 and a traceback); `connect()` re-raises
    any exception the application raised, so passing here means none escaped."""
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    headers = [(b"host", b"testserver"), (b"origin", ORIGIN), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    assert await _closed_after_accept(communicator) == CLOSE_NOT_FOUND
    await communicator.disconnect()


def _log_out(client: object) -> int:
    return client.post("/portal/logout/").status_code


async def test_owners_socket_is_closed_when_they_log_out_through_the_portal(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie)
    assert (await communicator.connect(timeout=10))[0] is True
    assert await database_sync_to_async(_log_out)(client) == 302
    output = await communicator.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    # Closed for good: a later broadcast to the store is not forwarded.
    await database_sync_to_async(_broadcast_committed)(store.pk, "order.created", "登出后")
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_logging_out_elsewhere_keeps_this_sessions_socket_open(owner, store):
    from django.test import Client

    here, elsewhere = Client(), Client()
    cookie = await database_sync_to_async(_session_cookie)(here, owner)
    await database_sync_to_async(_session_cookie)(elsewhere, owner)
    communicator = _communicator(store, cookie=cookie)
    assert (await communicator.connect(timeout=10))[0] is True
    assert await database_sync_to_async(_log_out)(elsewhere) == 302
    await database_sync_to_async(_broadcast_committed)(store.pk, "order.created", "还在")
    message = json.loads(await communicator.receive_from(timeout=5))
    assert message == {"event": "order.created", "payload": {"text": "还在"}}
    await communicator.disconnect()


async def test_removed_owner_is_closed_at_the_next_event_once_the_check_is_due(
    client, owner, store, monkeypatch
):
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie)
    assert (await communicator.connect(timeout=10))[0] is True

    def remove_owner() -> None:
        StoreStaff.objects.filter(user=owner, store=store).delete()

    await database_sync_to_async(remove_owner)()
    await database_sync_to_async(_broadcast_committed)(store.pk, "order.created", "不该看到")
    output = await communicator.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    await communicator.disconnect()


async def _owner_receives_committed_broadcasts_only(client, owner, store, other_store) -> None:
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie)
    connected, _subprotocol = await communicator.connect(timeout=10)
    assert connected is True
    # Rolled back, then sent to another store, then committed for this store: messages arrive
    # in order, so the first one received proves the first two were never delivered here.
    await database_sync_to_async(_broadcast_rolled_back)(store.pk)
    await database_sync_to_async(_broadcast_committed)(other_store.pk, "order.created", "别店")
    await database_sync_to_async(_broadcast_committed)(store.pk, "order.created", "新团购订单")
    message = json.loads(await communicator.receive_from(timeout=5))
    assert message == {"event": "order.created", "payload": {"text": "新团购订单"}}
    await communicator.disconnect()


async def test_owner_connects_and_receives_a_broadcast_after_commit(
    client, owner, store, other_store
):
    await _owner_receives_committed_broadcasts_only(client, owner, store, other_store)


async def test_inspector_of_the_store_connects(client, inspector, store):
    cookie = await database_sync_to_async(_session_cookie)(client, inspector)
    communicator = _communicator(store, cookie=cookie)
    connected, _subprotocol = await communicator.connect(timeout=10)
    assert connected is True
    await communicator.disconnect()


async def test_client_messages_are_ignored_not_echoed(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie)
    assert (await communicator.connect(timeout=10))[0] is True
    await communicator.send_to(text_data='{"event": "spoof"}')
    await database_sync_to_async(_broadcast_committed)(store.pk, "ping", "真的")
    message = json.loads(await communicator.receive_from(timeout=5))
    assert message == {"event": "ping", "payload": {"text": "真的"}}
    await communicator.disconnect()


@pytest.mark.redis
async def test_owner_receives_a_broadcast_through_channels_redis(
    client, owner, store, other_store, settings
):
    from channels_redis.core import RedisChannelLayer

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert isinstance(get_channel_layer(), RedisChannelLayer)
    await _owner_receives_committed_broadcasts_only(client, owner, store, other_store)
