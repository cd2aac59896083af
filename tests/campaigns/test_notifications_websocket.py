"""ws/stores/<id>/notifications/: origin check, session authentication, access per store, and
delivery of `linli.realtime.broadcast` messages after commit.

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

from apps.campaigns.notifications.consumers import CLOSE_FORBIDDEN
from linli.asgi import application
from linli.realtime import broadcast, store_notifications_group

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


async def test_anonymous_is_closed_with_4403(store):
    communicator = _communicator(store)
    connected, code = await communicator.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)
    await communicator.disconnect()


async def test_foreign_origin_is_refused_even_for_the_owner(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie, origin=b"http://evil.example.com")
    connected, _code = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


async def test_missing_origin_is_refused(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie, origin=None)
    connected, _code = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


async def test_another_stores_owner_is_closed_with_4403(client, other_owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, other_owner)
    communicator = _communicator(store, cookie=cookie)
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)
    await communicator.disconnect()


async def test_supplier_user_is_closed_with_4403(client, supplier_user, store):
    cookie = await database_sync_to_async(_session_cookie)(client, supplier_user)
    communicator = _communicator(store, cookie=cookie)
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)
    await communicator.disconnect()


async def test_unknown_store_is_closed_with_4403(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    headers = [(b"host", b"testserver"), (b"origin", ORIGIN), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(
        application, f"/ws/stores/{store.pk + 1000}/notifications/", headers=headers
    )
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)
    await communicator.disconnect()


async def test_inactive_owner_is_closed_with_4403(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)

    def deactivate() -> None:
        owner.is_active = False
        owner.save(update_fields=["is_active"])

    await database_sync_to_async(deactivate)()
    communicator = _communicator(store, cookie=cookie)
    assert await communicator.connect() == (False, CLOSE_FORBIDDEN)
    await communicator.disconnect()


async def _owner_receives_committed_broadcasts_only(client, owner, store, other_store) -> None:
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie)
    connected, _subprotocol = await communicator.connect()
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
    connected, _subprotocol = await communicator.connect()
    assert connected is True
    await communicator.disconnect()


async def test_client_messages_are_ignored_not_echoed(client, owner, store):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(store, cookie=cookie)
    assert (await communicator.connect())[0] is True
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
