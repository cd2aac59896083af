"""Alerts are pushed to the store's websocket group (the owner's store page listens there)."""

from __future__ import annotations

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import Client
from django.utils import timezone

from apps.devices.services import alert_acknowledge, alert_resolve, device_alerts_evaluate
from linli.asgi import application
from linli.realtime import broadcast, store_notifications_group
from tests.devices.factories import DeviceFactory, readings_every_minute
from tests.factories import SupplierUserFactory, UserFactory, owner_of

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_FORBIDDEN = 4403


def _session_cookie(user: object) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _communicator(
    store_id: int,
    cookie: str | None,
    *,
    language_cookie: str | None = None,
    accept_language: str | None = None,
) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver")]
    if cookie is not None:
        cookies = f"sessionid={cookie}"
        if language_cookie is not None:
            cookies += f"; {settings.LANGUAGE_COOKIE_NAME}={language_cookie}"
        headers.append((b"cookie", cookies.encode()))
    if accept_language is not None:
        headers.append((b"accept-language", accept_language.encode()))
    return WebsocketCommunicator(
        application, f"/ws/stores/{store_id}/notifications/", headers=headers
    )


@pytest.fixture(autouse=True)
async def _close_worker_thread_connections():
    """database_sync_to_async keeps a connection open in its worker thread (CONN_MAX_AGE);
    close it so the test database can be dropped at the end of the run."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def scene(db: None) -> dict:
    device = DeviceFactory(name="Dairy chiller")
    other = DeviceFactory()
    owner = owner_of(device.store)
    other_owner = owner_of(other.store)
    start = timezone.now() - dt.timedelta(minutes=20)
    readings_every_minute(device, start=start, minutes=20, temperature=12.0)
    return {
        "device": device,
        "owner_cookie": _session_cookie(owner),
        "other_owner_cookie": _session_cookie(other_owner),
        "other_store_id": other.store_id,
        "owner": owner,
        "supplier_cookie": _session_cookie(SupplierUserFactory().user),
    }


async def test_opened_alert_is_pushed_to_the_owners_store_page(scene):
    device = scene["device"]
    own = _communicator(device.store_id, scene["owner_cookie"])
    elsewhere = _communicator(scene["other_store_id"], scene["other_owner_cookie"])
    assert (await own.connect(timeout=10))[0] is True
    assert (await elsewhere.connect(timeout=10))[0] is True

    await database_sync_to_async(device_alerts_evaluate)(device=device)

    message = await own.receive_json_from(timeout=5)
    assert message["event"] == "device.alert"
    payload = message["payload"]
    assert (payload["device_id"], payload["store_id"], payload["kind"], payload["status"]) == (
        device.pk,
        device.store_id,
        "temperature_out_of_range",
        "open",
    )
    assert payload["text"].startswith("Dairy chiller: Temperature out of range — 12.0 °C")
    assert await elsewhere.receive_nothing(timeout=0.3)

    # Evaluating again opens nothing, so nothing more is pushed.
    await database_sync_to_async(device_alerts_evaluate)(device=device)
    assert await own.receive_nothing(timeout=0.3)
    await own.disconnect()
    await elsewhere.disconnect()


async def test_acknowledgement_is_pushed_too(scene):
    device = scene["device"]
    await database_sync_to_async(device_alerts_evaluate)(device=device)
    own = _communicator(device.store_id, scene["owner_cookie"])
    assert (await own.connect(timeout=10))[0] is True
    alert = await database_sync_to_async(lambda: device.alerts.get())()
    await database_sync_to_async(alert_acknowledge)(alert=alert, by=scene["owner"])
    message = await own.receive_json_from(timeout=5)
    assert message["event"] == "device.alert_acknowledged"
    assert message["payload"]["status"] == "acknowledged"
    await own.disconnect()


async def test_each_socket_gets_the_alert_in_its_readers_language(scene, settings):
    """The language cookie (the portal's switch) first, then the browser's Accept-Language,
    then the project language (Chinese here)."""
    settings.LANGUAGE_CODE = "zh-hans"
    device, cookie = scene["device"], scene["owner_cookie"]
    sockets = {
        "cookie en": _communicator(
            device.store_id, cookie, language_cookie="en", accept_language="zh-CN,zh;q=0.9"
        ),
        "browser en": _communicator(device.store_id, cookie, accept_language="en-US,en;q=0.9"),
        "cookie zh": _communicator(
            device.store_id, cookie, language_cookie="zh-hans", accept_language="en"
        ),
        "no preference": _communicator(device.store_id, cookie),
    }
    for socket in sockets.values():
        assert (await socket.connect(timeout=10))[0] is True

    await database_sync_to_async(device_alerts_evaluate)(device=device)
    texts = {
        name: (await socket.receive_json_from(timeout=5))["payload"]["text"]
        for name, socket in sockets.items()
    }
    english = "Dairy chiller: Temperature out of range — 12.0 °C, outside 0 to 8 °C"
    chinese = "Dairy chiller：温度超出范围 — 12.0 °C，已超出 0 至 8 °C"
    assert texts["cookie en"].startswith(english)
    assert texts["browser en"].startswith(english)
    assert texts["cookie zh"].startswith(chinese)
    assert texts["no preference"].startswith(chinese)

    alert = await database_sync_to_async(lambda: device.alerts.get())()
    await database_sync_to_async(alert_acknowledge)(alert=alert, by=scene["owner"])
    name = scene["owner"].get_username()
    acknowledged = {
        key: (await socket.receive_json_from(timeout=5))["payload"]["text"]
        for key, socket in sockets.items()
    }
    assert acknowledged["cookie en"] == f"Dairy chiller: alert acknowledged by {name}"
    assert acknowledged["cookie zh"] == f"Dairy chiller：告警已由 {name} 确认"
    for socket in sockets.values():
        await socket.disconnect()


async def test_other_owner_supplier_and_anonymous_cannot_listen_to_the_store(scene):
    device = scene["device"]
    for cookie in (scene["other_owner_cookie"], scene["supplier_cookie"], None):
        communicator = _communicator(device.store_id, cookie)
        # Refusal is accept-then-close 4403 (README, "Health and realtime").
        assert (await communicator.connect(timeout=10))[0] is True
        output = await communicator.receive_output(timeout=5)
        assert output == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
        await communicator.disconnect()


async def test_the_lines_a_closed_page_missed_are_replayed_as_the_socket_sent_them(scene):
    """store-live.js asks devices:store-live-lines on every (re)connect for what the socket
    sent since the page was rendered: the same lines, keyed by event and alert, newest first,
    an alert resolved without acknowledgement once ("resolved"), none from before `since`."""
    device, owner = scene["device"], scene["owner"]
    earlier = await database_sync_to_async(DeviceFactory)(store=device.store, name="Freezer")
    await database_sync_to_async(readings_every_minute)(
        earlier, start=timezone.now() - dt.timedelta(minutes=20), minutes=20, temperature=12.0
    )
    await database_sync_to_async(device_alerts_evaluate)(device=earlier)  # before `since`
    since = timezone.localtime()
    second = await database_sync_to_async(DeviceFactory)(store=device.store, name="Drinks chiller")
    await database_sync_to_async(readings_every_minute)(
        second, start=timezone.now() - dt.timedelta(minutes=20), minutes=20, temperature=12.0
    )
    socket = _communicator(device.store_id, scene["owner_cookie"], language_cookie="en")
    assert (await socket.connect(timeout=10))[0] is True

    await database_sync_to_async(device_alerts_evaluate)(device=device)
    alert = await database_sync_to_async(lambda: device.alerts.get())()
    await database_sync_to_async(alert_acknowledge)(alert=alert, by=owner)
    await database_sync_to_async(readings_every_minute)(
        device, start=timezone.now() - dt.timedelta(minutes=1), minutes=1, temperature=4.0
    )
    await database_sync_to_async(device_alerts_evaluate)(device=device)  # cleared
    await database_sync_to_async(device_alerts_evaluate)(device=second)
    other = await database_sync_to_async(lambda: second.alerts.get())()
    await database_sync_to_async(alert_resolve)(alert=other, by=owner)  # not acknowledged first
    sent = []
    for _ in range(5):
        message = await socket.receive_json_from(timeout=5)
        sent.append(
            {
                "key": f"{message['event']}:{message['payload']['alert_id']}",
                "text": message["payload"]["text"],
            }
        )
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()

    def replayed(user: object, store_id: int) -> tuple[int, object]:
        client = Client()
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get(
            f"/portal/devices/stores/{store_id}/live/", {"since": since.isoformat()}
        )
        return response.status_code, response.json() if response.status_code == 200 else None

    status, body = await database_sync_to_async(replayed)(owner, device.store_id)
    assert status == 200
    assert body["lines"] == list(reversed(sent))
    assert [line["key"].split(":")[0] for line in body["lines"]] == [
        "device.alert_resolved",
        "device.alert",
        "device.alert_resolved",
        "device.alert_acknowledged",
        "device.alert",
    ]
    assert body["lines"][0]["text"] == f"Drinks chiller: alert resolved by {owner.get_username()}"
    assert "Freezer" not in str(body)


async def test_the_replay_is_refused_to_other_owners_suppliers_and_anonymous(scene):
    device = scene["device"]
    since = timezone.localtime().isoformat()
    url = f"/portal/devices/stores/{device.store_id}/live/"

    def statuses() -> list[int]:
        other_owner = owner_of(DeviceFactory().store)
        supplier = SupplierUserFactory().user
        codes = []
        for user in (other_owner, supplier, None):
            client = Client()
            if user is not None:
                client.force_login(user)
            codes.append(client.get(url, {"since": since}).status_code)
        owner = Client()
        owner.force_login(scene["owner"])
        refused = owner.get(url, {"since": "yesterday"})
        assert "since" in refused.json()["detail"]
        codes.append(refused.status_code)
        codes.append(owner.get(url, {"since": "2026-12-06T10:00:00"}).status_code)  # no offset
        return codes

    assert await database_sync_to_async(statuses)() == [403, 403, 302, 400, 400]


def _hq_with(*permissions: str) -> object:
    """An HQ user (active staff) holding exactly these admin permissions."""
    user = UserFactory(is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


async def test_alert_lines_reach_only_readers_who_may_view_devices(scene):
    """The store page's socket is VIEW_STORE's, its alert lines VIEW_DEVICES': an HQ user with
    stores.view_store but not devices.view_device stays connected and gets the store's other
    lines, not its alerts; one who holds both gets them."""
    device = scene["device"]
    hq_store_only = await database_sync_to_async(_hq_with)("stores.view_store")
    hq_devices = await database_sync_to_async(_hq_with)("stores.view_store", "devices.view_device")
    readers = {}
    for name, user in (("store_only", hq_store_only), ("devices", hq_devices)):
        cookie = await database_sync_to_async(_session_cookie)(user)
        readers[name] = _communicator(device.store_id, cookie)
        assert (await readers[name].connect(timeout=10))[0] is True

    await database_sync_to_async(device_alerts_evaluate)(device=device)
    # Sent after the alert: messages keep their order, so the first one the store-only reader
    # gets shows the alert was never forwarded to it.
    await database_sync_to_async(broadcast)(
        store_notifications_group(device.store_id), event="order.created", payload={"text": "¥9"}
    )
    first = await readers["store_only"].receive_json_from(timeout=5)
    assert first == {"event": "order.created", "payload": {"text": "¥9"}}
    assert [(await readers["devices"].receive_json_from(timeout=5))["event"] for _ in range(2)] == [
        "device.alert",
        "order.created",
    ]
    for reader in readers.values():
        assert await reader.receive_nothing(timeout=0.3)
        await reader.disconnect()


@pytest.mark.redis
async def test_revoking_view_device_stops_alert_lines_at_the_sockets_next_recheck(
    scene, monkeypatch
):
    """An HQ reader holding stores.view_store and devices.view_device loses the latter while
    connected: once the socket's recheck is due (RECHECK_SECONDS, here at once), the next
    alert is not forwarded; the socket stays open (VIEW_STORE holds) and gets the store's
    other lines."""
    from apps.campaigns.notifications import consumers

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)
    device = scene["device"]
    hq = await database_sync_to_async(_hq_with)("stores.view_store", "devices.view_device")
    reader = _communicator(device.store_id, await database_sync_to_async(_session_cookie)(hq))
    assert (await reader.connect(timeout=10))[0] is True

    def revoke() -> None:
        hq.user_permissions.remove(
            Permission.objects.get(content_type__app_label="devices", codename="view_device")
        )

    await database_sync_to_async(revoke)()
    await database_sync_to_async(device_alerts_evaluate)(device=device)
    await database_sync_to_async(broadcast)(
        store_notifications_group(device.store_id), event="order.created", payload={"text": "¥9"}
    )
    # Messages keep their order: the first one received shows the alert was not forwarded.
    assert await reader.receive_json_from(timeout=5) == {
        "event": "order.created",
        "payload": {"text": "¥9"},
    }
    assert await reader.receive_nothing(timeout=0.3)
    await reader.disconnect()


async def test_the_replay_is_refused_to_hq_who_may_see_the_store_but_not_its_devices(scene):
    device = scene["device"]
    url = f"/portal/devices/stores/{device.store_id}/live/"

    def statuses() -> list[int]:
        codes = []
        for permissions in (("stores.view_store",), ("stores.view_store", "devices.view_device")):
            client = Client()
            client.force_login(_hq_with(*permissions))
            codes.append(client.get(url, {"since": timezone.now().isoformat()}).status_code)
        return codes

    assert await database_sync_to_async(statuses)() == [403, 200]


def test_the_store_page_has_no_live_card_for_hq_who_may_not_see_its_devices():
    """Every line the store page's socket sends is a device alert's: an HQ reader without
    devices.view_device (HQ procurement) gets no live card and no script that would open a
    socket carrying nothing; one who holds it gets both."""
    store = DeviceFactory().store

    def page(*permissions: str) -> str:
        client = Client()
        client.force_login(_hq_with(*permissions))
        response = client.get(f"/portal/stores/{store.pk}/")
        assert response.status_code == 200
        return response.content.decode()

    procurement = page("stores.view_store")
    assert 'id="live-notifications"' not in procurement
    assert "data-live-store" not in procurement
    assert "store-live" not in procurement
    devices = page("stores.view_store", "devices.view_device")
    assert f'data-live-store="{store.pk}"' in devices
    assert "linli/store-live" in devices
