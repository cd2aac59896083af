"""Portal pages: the store's devices and alerts, a device's chart, acknowledge / resolve."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.campaigns.notifications.models import Notification
from apps.devices.models import DeviceAlert, DeviceReadingHourly
from apps.devices.services import alert_open
from apps.devices.services.rollup import hour_floor
from tests.devices.factories import DeviceFactory, hot_facts, readings_every_minute
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def alert(device: object, owner: object) -> DeviceAlert:
    alert, _created = alert_open(
        device=device,
        kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        facts=hot_facts(12.0),
        value=12,
    )
    return alert


# --- store devices page ----------------------------------------------------------------------


def test_owner_sees_devices_current_temperature_alerts_and_notifications(device, owner, alert):
    readings_every_minute(
        device, start=timezone.now() - dt.timedelta(minutes=3), minutes=3, temperature=6.24
    )
    response = _client(owner).get(f"/portal/devices/stores/{device.store_id}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert device.name in page
    assert "6.2 °C" in page
    assert f'action="/portal/devices/alerts/{alert.pk}/acknowledge/"' in page
    assert f'action="/portal/devices/alerts/{alert.pk}/resolve/"' in page
    assert response.context["unread_count"] == 1
    assert [n.recipient_id for n in response.context["notifications"]] == [owner.pk]
    assert f'href="/portal/stores/{device.store_id}/"' in page  # the way back


@pytest.mark.parametrize("who", ["other_owner", "supplier_user"])
def test_store_devices_page_refuses_other_store_owner_and_supplier(device, who, request):
    user = request.getfixturevalue(who)
    assert _client(user).get(f"/portal/devices/stores/{device.store_id}/").status_code == 403


def test_store_devices_page_sends_anonymous_to_login(device):
    response = _client(None).get(f"/portal/devices/stores/{device.store_id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")


def test_inspector_sees_alerts_but_gets_no_buttons(device, inspector, alert):
    response = _client(inspector).get(f"/portal/devices/stores/{device.store_id}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "12.0 °C" in page
    assert "/acknowledge/" not in page


def test_hq_sees_any_store(device, hq_user):
    assert _client(hq_user).get(f"/portal/devices/stores/{device.store_id}/").status_code == 200


def test_store_page_queries_do_not_grow_with_devices(store, owner):
    DeviceFactory(store=store)
    client = _client(owner)
    url = f"/portal/devices/stores/{store.pk}/"
    client.get(url)  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    DeviceFactory.create_batch(5, store=store)
    with CaptureQueriesContext(connection) as six:
        client.get(url)
    assert len(six) == len(one)


# --- device page -----------------------------------------------------------------------------


def test_device_page_renders_the_24h_chart_from_raw_readings(device, owner):
    readings_every_minute(
        device, start=timezone.now() - dt.timedelta(minutes=30), minutes=30, temperature=4.0
    )
    readings_every_minute(
        device, start=timezone.now() - dt.timedelta(hours=30), minutes=5, temperature=4.0
    )
    response = _client(owner).get(f"/portal/devices/{device.pk}/")
    assert response.status_code == 200
    assert response.context["chart"].point_count == 30
    page = response.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="temperature-chart"' in page
    assert 'data-points="30"' in page
    assert "<polyline" in page


def test_device_page_renders_7_days_from_hourly_aggregates(device, owner):
    last = hour_floor(timezone.now()) - dt.timedelta(hours=1)
    DeviceReadingHourly.objects.bulk_create(
        [
            DeviceReadingHourly(
                device=device,
                hour=last - dt.timedelta(hours=offset),
                reading_count=60,
                temperature_min=2.0,
                temperature_avg=4.0,
                temperature_max=6.0,
            )
            for offset in range(48)
        ]
    )
    response = _client(owner).get(f"/portal/devices/{device.pk}/?range=7d")
    assert response.status_code == 200
    assert response.context["chart"].range_key == "7d"
    assert 'data-points="48"' in response.content.decode()
    assert 'class="spread"' in response.content.decode()


@pytest.mark.parametrize("who", ["other_owner", "supplier_user"])
def test_device_page_refuses_other_store_owner_and_supplier(device, who, request):
    user = request.getfixturevalue(who)
    assert _client(user).get(f"/portal/devices/{device.pk}/").status_code == 403


def test_device_page_anonymous_to_login_and_unknown_id_403(device, owner):
    assert _client(None).get(f"/portal/devices/{device.pk}/").status_code == 302
    assert _client(owner).get("/portal/devices/999999/").status_code == 403


def test_inspector_can_view_the_device_page(device, inspector):
    assert _client(inspector).get(f"/portal/devices/{device.pk}/").status_code == 200


# --- acting on alerts ------------------------------------------------------------------------


def test_owner_acknowledges_then_resolves_with_a_note(device, owner, alert):
    client = _client(owner)
    response = client.post(f"/portal/devices/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 302
    assert response["Location"] == f"/portal/devices/stores/{device.store_id}/"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", owner)
    page = client.get(response["Location"]).content.decode()
    assert f"acknowledged by {owner.username} at" in page
    assert f"/alerts/{alert.pk}/acknowledge/" not in page
    assert f"/alerts/{alert.pk}/resolve/" in page
    client.post(f"/portal/devices/alerts/{alert.pk}/resolve/", {"note": "door closed"})
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, alert.resolution_note) == (
        "resolved",
        owner,
        "door closed",
    )


def test_the_pages_name_who_acted_by_their_display_name(device, owner, alert):
    """A user with a display name is named by it (get_full_name()), not by their login."""
    owner.first_name = "王丽华"
    owner.save(update_fields=["first_name"])
    client = _client(owner)
    client.post(f"/portal/devices/alerts/{alert.pk}/acknowledge/")
    store_page = client.get(f"/portal/devices/stores/{device.store_id}/").content.decode()
    assert "acknowledged by 王丽华 at" in store_page
    client.post(f"/portal/devices/alerts/{alert.pk}/resolve/", {"note": "door closed"})
    device_page = client.get(f"/portal/devices/{device.pk}/").content.decode()
    assert "acknowledged: 王丽华" in device_page
    assert "resolved: 王丽华" in device_page
    assert f"acknowledged by {owner.username}" not in store_page
    assert f"resolved: {owner.username}" not in device_page


def test_clerk_may_act_on_alerts(device, alert):
    from apps.stores.models import StoreStaff

    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=device.store, role=StoreStaff.Role.CLERK)
    _client(clerk).post(f"/portal/devices/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert alert.acknowledged_by == clerk


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
def test_others_cannot_acknowledge_or_resolve(device, alert, who, request):
    client = _client(request.getfixturevalue(who))
    assert client.post(f"/portal/devices/alerts/{alert.pk}/acknowledge/").status_code == 403
    assert client.post(f"/portal/devices/alerts/{alert.pk}/resolve/").status_code == 403
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.resolved_by) == ("open", None, None)


def test_anonymous_cannot_act_and_get_is_not_allowed(device, owner, alert):
    assert _client(None).post(f"/portal/devices/alerts/{alert.pk}/resolve/").status_code == 302
    assert _client(owner).get(f"/portal/devices/alerts/{alert.pk}/resolve/").status_code == 405
    alert.refresh_from_db()
    assert alert.status == "open"


def test_actions_need_the_csrf_token(device, owner, alert):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(f"/portal/devices/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_acting_on_a_resolved_alert_shows_the_reason(device, owner, alert):
    client = _client(owner)
    client.post(f"/portal/devices/alerts/{alert.pk}/resolve/")
    response = client.post(f"/portal/devices/alerts/{alert.pk}/acknowledge/", follow=True)
    assert "Only an open alert can be acknowledged; this one is resolved." in (
        response.content.decode()
    )


def test_owner_marks_notifications_read_and_only_their_own(device, owner, other_owner, alert):
    foreign = Notification.objects.create(
        recipient=other_owner, kind="x", title="other", dedupe_key="other-1"
    )
    page = f"/portal/devices/stores/{device.store_id}/"
    response = _client(owner).post(
        f"/portal/notifications/stores/{device.store_id}/read/", {"next": page}
    )
    assert response.status_code == 302
    assert response["Location"] == page
    assert Notification.objects.get(recipient=owner).read_at is not None
    foreign.refresh_from_db()
    assert foreign.read_at is None
    refused = _client(other_owner).post(f"/portal/notifications/stores/{device.store_id}/read/")
    assert refused.status_code == 403
