"""HQ admin: every changelist and form loads; actions call the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from apps.campaigns.notifications.models import Notification
from apps.devices.models import DeviceAlert, DeviceReading, DeviceReadingHourly
from apps.devices.services import alert_open
from apps.devices.services.rollup import hour_floor
from linli.tokens import token_hash
from tests.devices.factories import readings_every_minute

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_hq(hq_user: object) -> Client:
    client = Client()
    client.force_login(hq_user)
    return client


@pytest.fixture
def data(device: object, owner: object) -> dict:
    readings_every_minute(
        device, start=timezone.now() - dt.timedelta(minutes=20), minutes=20, temperature=3.0
    )
    hourly = DeviceReadingHourly.objects.create(
        device=device,
        hour=hour_floor(timezone.now()) - dt.timedelta(hours=1),
        reading_count=60,
        temperature_avg=3.0,
        temperature_min=2.0,
        temperature_max=4.0,
    )
    alert, _created = alert_open(device=device, kind=DeviceAlert.Kind.DEVICE_SILENT)
    return {
        "device": device,
        "reading": DeviceReading.objects.first(),
        "hourly": hourly,
        "alert": alert,
        "notification": Notification.objects.get(),
    }


@pytest.mark.parametrize(
    "path",
    [
        "devices/device",
        "devices/devicekindthreshold",
        "devices/devicereading",
        "devices/devicereadinghourly",
        "devices/devicealert",
        "campaigns/notification",
    ],
)
def test_changelists_load(admin_client_hq, data, path):
    response = admin_client_hq.get(f"/admin/{path}/")
    assert response.status_code == 200
    filtered = admin_client_hq.get(f"/admin/{path}/?q=SN")
    assert filtered.status_code == 200


def test_change_forms_load(admin_client_hq, data):
    urls = [
        f"/admin/devices/device/{data['device'].pk}/change/",
        "/admin/devices/device/add/",
        f"/admin/devices/devicereading/{data['reading'].pk}/change/",
        f"/admin/devices/devicereadinghourly/{data['hourly'].pk}/change/",
        f"/admin/devices/devicealert/{data['alert'].pk}/change/",
        f"/admin/campaigns/notification/{data['notification'].pk}/change/",
    ]
    for url in urls:
        assert admin_client_hq.get(url).status_code == 200, url


def test_device_change_page_shows_both_charts(admin_client_hq, data):
    page = admin_client_hq.get(f"/admin/devices/device/{data['device'].pk}/change/")
    html = page.content.decode()
    assert html.count('class="temperature-chart"') == 2
    assert 'data-points="20"' in html  # 24 h: raw readings
    assert 'data-points="1"' in html  # 7 d: hourly aggregates


def test_open_alerts_filter_and_region_filter(admin_client_hq, data):
    region = data["device"].store.region_id
    response = admin_client_hq.get(
        f"/admin/devices/devicealert/?active=yes&store__region__id__exact={region}"
    )
    assert list(response.context["cl"].result_list) == [data["alert"]]
    resolved = admin_client_hq.get("/admin/devices/devicealert/?active=no")
    assert list(resolved.context["cl"].result_list) == []


def test_issue_token_action_shows_the_token_once_and_stores_its_hash(admin_client_hq, device):
    response = admin_client_hq.post(
        "/admin/devices/device/",
        {"action": "issue_token", "_selected_action": [device.pk]},
        follow=True,
    )
    shown = [m for m in response.content.decode().split("\n") if "New token for" in m]
    assert len(shown) == 1
    device.refresh_from_db()
    token = shown[0].split(": ", 1)[1].split(" — ")[0].strip()
    assert token_hash(token) == device.token_hash
    assert token.startswith(device.token_prefix)
    again = admin_client_hq.get("/admin/devices/device/")
    assert token not in again.content.decode()
    assert (
        token
        not in admin_client_hq.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    )


def test_revoke_token_action(admin_client_hq, device, device_token):
    admin_client_hq.post(
        "/admin/devices/device/", {"action": "revoke_token", "_selected_action": [device.pk]}
    )
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_alert_actions_call_the_lifecycle_services(admin_client_hq, hq_user, data):
    alert = data["alert"]
    admin_client_hq.post(
        "/admin/devices/devicealert/", {"action": "acknowledge", "_selected_action": [alert.pk]}
    )
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", hq_user)
    admin_client_hq.post(
        "/admin/devices/devicealert/", {"action": "resolve", "_selected_action": [alert.pk]}
    )
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by) == ("resolved", hq_user)
    response = admin_client_hq.post(
        "/admin/devices/devicealert/",
        {"action": "resolve", "_selected_action": [alert.pk]},
        follow=True,
    )
    page = response.content.decode()
    # Named by its device and kind, not by its id.
    assert f"{alert.device} " in page
    assert "This alert is already resolved." in page
    assert f"#{alert.pk}:" not in page


def test_readings_are_read_only_in_the_admin(admin_client_hq, data):
    reading = data["reading"]
    response = admin_client_hq.post(
        f"/admin/devices/devicereading/{reading.pk}/change/", {"temperature_c": 50}
    )
    assert response.status_code == 403
    reading.refresh_from_db()
    assert reading.temperature_c == 3.0
    assert admin_client_hq.get("/admin/devices/devicereading/add/").status_code == 403


def test_thresholds_are_editable_by_hq(admin_client_hq):
    from apps.devices.models import DeviceKindThreshold

    threshold = DeviceKindThreshold.objects.get(kind="display_chiller")
    response = admin_client_hq.post(
        f"/admin/devices/devicekindthreshold/{threshold.pk}/change/",
        {
            "kind": "display_chiller",
            "min_temperature_c": "1.0",
            "max_temperature_c": "7.0",
            "minutes_out_of_range": "10",
            "energy_spike_factor": "3.0",
            "energy_baseline_min_hours": "24",
        },
    )
    assert response.status_code == 302
    threshold.refresh_from_db()
    assert (float(threshold.min_temperature_c), float(threshold.max_temperature_c)) == (1.0, 7.0)


def test_store_owner_gets_no_admin(owner, device):
    client = Client()
    client.force_login(owner)
    response = client.get("/admin/devices/device/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_hq_operations_registers_a_device_in_the_admin(store):
    """HQ operations registers the stores' devices (docs/devices.md, docs/access.md); the
    group held "view" and "change" only, so its staff got a 403 on the add page."""
    from django.contrib.auth.models import Group

    from apps.devices.models import Device
    from linli.roles import HQ_OPERATIONS, roles_sync
    from tests.factories import UserFactory

    roles_sync()
    staff = UserFactory(is_staff=True, username="hq-ops-devices")
    staff.groups.add(Group.objects.get(name=HQ_OPERATIONS))
    client = Client()
    client.force_login(staff)

    page = client.get("/admin/devices/device/add/")
    response = client.post(
        "/admin/devices/device/add/",
        {
            "store": store.pk,
            "kind": "display_chiller",
            "name": "Chiller by the door",
            "serial": "SN-HQ-OPS-1",
            "is_active": "on",
            "silent_after_minutes": "30",
        },
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert Device.objects.filter(serial="SN-HQ-OPS-1", store=store).count() == 1


def test_alert_page_names_its_recorded_facts_in_the_viewers_language(admin_client_hq, data):
    """The facts an alert recorded were shown as stored JSON, English keys and all
    ({"minutes": 30, "last_seen": …}) on the Chinese page."""
    alert = data["alert"]
    # What the silence rule records (apps.devices.services.alerts).
    alert.facts = {"minutes": 30, "last_seen": "2026-12-06T13:10:00+00:00"}
    alert.save(update_fields=["facts"])
    admin_client_hq.cookies["django_language"] = "zh-hans"

    page = admin_client_hq.get(f"/admin/devices/devicealert/{alert.pk}/change/").content.decode()

    assert f"持续分钟数：{alert.facts['minutes']}" in page
    assert "最后上报：" in page
    assert "last_seen" not in page
    assert "&quot;minutes&quot;" not in page


def test_alert_page_shows_its_recorded_times_in_local_time(admin_client_hq, data):
    """The "since" and "last seen" facts were shown as stored, ISO 8601 in UTC
    (2026-12-06T13:10:00+00:00); the page shows them in Asia/Shanghai as the admin's own
    date-time fields are shown."""
    alert = data["alert"]
    alert.facts = {
        "minutes": 30,
        "since": "2026-12-06T12:40:00+00:00",
        "last_seen": "2026-12-06T13:10:00+00:00",
    }
    alert.save(update_fields=["facts"])
    admin_client_hq.cookies["django_language"] = "zh-hans"

    page = admin_client_hq.get(f"/admin/devices/devicealert/{alert.pk}/change/").content.decode()

    assert "起始时间：2026年12月6日 20:40" in page
    assert "最后上报：2026年12月6日 21:10" in page
    assert "+00:00" not in page
