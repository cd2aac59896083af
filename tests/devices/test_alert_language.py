"""An alert stores facts; every page words them in its viewer's language, and what is stored
or sent as text (notifications, the websocket line) in the project's language. Old alerts'
sentences are read back into facts by migration 0005."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.notifications.models import Notification
from apps.devices.models import DeviceAlert
from apps.devices.services import device_alerts_evaluate
from tests.devices.factories import readings_every_minute

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENGLISH = "11.5 °C, outside 0 to 8 °C for 15 minutes (since {since})"
CHINESE = "11.5 °C，已超出 0 至 8 °C 达 15 分钟（自 {since} 起）"


def _client(user: object, language: str) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def raised(device: object, owner: object) -> tuple[DeviceAlert, str]:
    """A display chiller (0–8 °C, 15 minutes) at 11.5 °C for 15 minutes, evaluated by a
    process running in Chinese (as the Celery worker does in a Chinese deployment)."""
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=16)
    readings_every_minute(device, start=start, minutes=16, temperature=11.5)
    with translation.override("zh-hans"):
        device_alerts_evaluate(device=device)
    since = timezone.localtime(start).strftime("%m-%d %H:%M")
    return DeviceAlert.objects.get(), since


def _pages(alert: DeviceAlert) -> list[str]:
    return [
        reverse("admin:devices_devicealert_changelist"),
        reverse("admin:devices_devicealert_change", args=[alert.pk]),
        reverse("devices:store", args=[alert.store_id]),
        reverse("devices:device", args=[alert.device_id]),
        reverse("portal:home"),
    ]


@pytest.mark.parametrize(("language", "sentence"), [("en", ENGLISH), ("zh-hans", CHINESE)])
def test_an_alert_raised_by_the_rule_reads_in_the_viewers_language(
    raised, hq_user, language, sentence
):
    alert, since = raised
    expected, other = (
        sentence.format(since=since),
        (CHINESE if sentence == ENGLISH else ENGLISH).format(since=since),
    )
    for path in _pages(alert):
        page = _client(hq_user, language).get(path).content.decode()
        assert expected in page, path
        assert other not in page, path


def test_the_owner_reads_the_alert_in_english_on_an_english_portal(raised, owner):
    alert, since = raised
    for path in _pages(alert)[2:]:
        response = _client(owner, "en").get(path)
        assert response.status_code == 200
        assert ENGLISH.format(since=since) in response.content.decode(), path


def test_notifications_are_written_in_the_project_language_whatever_the_process_speaks(
    settings, device, owner
):
    settings.LANGUAGE_CODE = "zh-hans"
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=16)
    readings_every_minute(device, start=start, minutes=16, temperature=11.5)
    with translation.override("en"):
        device_alerts_evaluate(device=device)
    since = timezone.localtime(start).strftime("%m-%d %H:%M")
    notification = Notification.objects.get()
    assert (notification.recipient_id, notification.body) == (owner.pk, CHINESE.format(since=since))
    assert notification.title.startswith(f"{device.name}：")
    assert notification.title.endswith(CHINESE.format(since=since))


# --- migration 0005: facts read back from the old sentences ------------------------------------


def _backfill() -> None:
    migration = importlib.import_module("apps.devices.migrations.0005_alert_facts")
    migration.backfill_facts(apps, None)


def _old(device: object, kind: str, detail: str, *, value: float | None, opened: dt.datetime):
    return DeviceAlert.objects.create(
        device=device,
        store_id=device.store_id,
        kind=kind,
        status=DeviceAlert.Status.RESOLVED,
        resolved_at=opened,
        opened_at=opened,
        value=value,
        detail=detail,
    )


def test_the_backfill_reads_facts_from_chinese_and_english_sentences(device):
    opened = dt.datetime(2026, 7, 1, 14, 30, tzinfo=SHANGHAI)
    kinds = DeviceAlert.Kind
    hot_zh = _old(
        device,
        kinds.TEMPERATURE_OUT_OF_RANGE,
        "11.5 °C，已超出 0 至 8 °C 达 15 分钟（自 07-01 14:03 起）",
        value=11.54,
        opened=opened,
    )
    cold_en = _old(
        device,
        kinds.TEMPERATURE_OUT_OF_RANGE,
        "1.0 °C, outside at least 2 °C for 6 minutes (since 07-01 14:03)",
        value=1.0,
        opened=opened,
    )
    high_zh = _old(
        device,
        kinds.TEMPERATURE_OUT_OF_RANGE,
        "-12.0 °C，已超出 不高于 -15 °C 达 30 分钟（自 07-01 14:03 起）",
        value=-12.0,
        opened=opened,
    )
    quiet_zh = _old(
        device,
        kinds.DEVICE_SILENT,
        "已 45 分钟无读数（最后上报于 07-01 13:45）",
        value=45,
        opened=opened,
    )
    spike_en = _old(
        device,
        kinds.ENERGY_SPIKE,
        "360 Wh in the last hour, 3.6× the usual 100 Wh per hour",
        value=360.0,
        opened=opened,
    )
    spike_zh = _old(
        device,
        kinds.ENERGY_SPIKE,
        "最近一小时 360 Wh，是平时每小时 100 Wh 的 3.6 倍",
        value=360.0,
        opened=opened,
    )
    by_hand = _old(device, kinds.DEVICE_SILENT, "门没关好", value=None, opened=opened)
    _backfill()
    since = "2026-07-01T14:03:00+08:00"
    for alert in (hot_zh, cold_en, high_zh, quiet_zh, spike_en, spike_zh, by_hand):
        alert.refresh_from_db()
    assert hot_zh.facts == {
        "value": 11.54,
        "unit": "°C",
        "min": 0.0,
        "max": 8.0,
        "minutes": 15,
        "since": since,
    }
    assert (cold_en.facts["min"], cold_en.facts["max"], cold_en.facts["minutes"]) == (2.0, None, 6)
    assert (high_zh.facts["min"], high_zh.facts["max"], high_zh.facts["value"]) == (
        None,
        -15.0,
        -12.0,
    )
    assert quiet_zh.facts == {"minutes": 45, "last_seen": "2026-07-01T13:45:00+08:00"}
    assert (
        spike_en.facts == spike_zh.facts == {"recent_wh": 360.0, "median_wh": 100.0, "unit": "Wh"}
    )
    assert by_hand.facts == {}
    with translation.override("en"):
        assert [a.detail_text for a in (hot_zh, high_zh, quiet_zh, spike_zh, by_hand)] == [
            "11.5 °C, outside 0 to 8 °C for 15 minutes (since 07-01 14:03)",
            "-12.0 °C, outside at most -15 °C for 30 minutes (since 07-01 14:03)",
            "no reading for 45 minutes (last seen 07-01 13:45)",
            "360 Wh in the last hour, 3.6× the usual 100 Wh per hour",
            "门没关好",  # not parsed: the text it was stored with
        ]
    with translation.override("zh-hans"):
        assert cold_en.detail_text == "1.0 °C，已超出 不低于 2 °C 达 6 分钟（自 07-01 14:03 起）"
    assert hot_zh.detail == "11.5 °C，已超出 0 至 8 °C 达 15 分钟（自 07-01 14:03 起）"  # kept


def test_the_backfill_puts_a_new_years_eve_start_in_the_year_before(device):
    opened = dt.datetime(2027, 1, 1, 0, 10, tzinfo=SHANGHAI)
    alert = _old(
        device,
        DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        "9.0 °C, outside 0 to 8 °C for 20 minutes (since 12-31 23:50)",
        value=9.0,
        opened=opened,
    )
    _backfill()
    alert.refresh_from_db()
    assert alert.facts["since"] == "2026-12-31T23:50:00+08:00"


def test_the_backfill_leaves_rows_with_facts_alone_and_a_rerun_changes_nothing(device):
    opened = dt.datetime(2026, 7, 1, 14, 30, tzinfo=SHANGHAI)
    alert = _old(
        device,
        DeviceAlert.Kind.DEVICE_SILENT,
        "no reading for 45 minutes (last seen 07-01 13:45)",
        value=45,
        opened=opened,
    )
    DeviceAlert.objects.filter(pk=alert.pk).update(facts={"minutes": 50, "last_seen": "x"})
    _backfill()
    _backfill()
    alert.refresh_from_db()
    assert alert.facts == {"minutes": 50, "last_seen": "x"}


# --- the note of an alert the system resolves ----------------------------------------------------

RESOLVED_EN = "back in range at 4.0 °C"
RESOLVED_ZH = "已恢复正常，当前 4.0 °C"


def _hot_then_back(device: object) -> None:
    """20 minutes at 12 °C raise the alert; a reading at 4 °C resolves it."""
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
    readings_every_minute(device, start=start, minutes=20, temperature=12.0)
    device_alerts_evaluate(device=device)
    readings_every_minute(device, start=start + dt.timedelta(minutes=25), minutes=1, temperature=4)


def test_the_note_of_an_alert_resolved_by_the_rule_reads_in_the_viewers_language(
    settings, device, hq_user, owner
):
    """Resolved by a process running in English in a Chinese deployment: the note is stored
    in Chinese (the record) and every page words it in its reader's language."""
    settings.LANGUAGE_CODE = "zh-hans"
    _hot_then_back(device)
    with translation.override("en"):
        device_alerts_evaluate(device=device)
    alert = DeviceAlert.objects.get()
    assert (alert.status, alert.resolution_code, alert.resolution_facts) == (
        "resolved",
        "back_in_range",
        {"value": 4.0},
    )
    assert alert.resolution_note == RESOLVED_ZH
    admin_page = reverse("admin:devices_devicealert_change", args=[alert.pk])
    device_page = reverse("devices:device", args=[alert.device_id])
    for user, path in ((hq_user, admin_page), (owner, device_page)):
        english = _client(user, "en").get(path).content.decode()
        assert RESOLVED_EN in english, path
        assert RESOLVED_ZH not in english, path
        chinese = _client(user, "zh-hans").get(path).content.decode()
        assert RESOLVED_ZH in chinese, path
        assert RESOLVED_EN not in chinese, path


def test_the_note_of_a_silent_alert_the_sweep_resolves_reads_in_the_viewers_language(
    settings, device, device_token, hq_user
):
    from apps.devices.models import Device
    from apps.devices.services import devices_silent_sweep

    settings.LANGUAGE_CODE = "zh-hans"
    Device.objects.filter(pk=device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=45)
    )
    devices_silent_sweep()
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    with translation.override("en"):
        assert devices_silent_sweep().resolved == 1
    alert = DeviceAlert.objects.get()
    assert (alert.resolution_code, alert.resolution_note) == ("posting_again", "已恢复上报")
    page = reverse("admin:devices_devicealert_change", args=[alert.pk])
    assert "posting again" in _client(hq_user, "en").get(page).content.decode()
    assert "已恢复上报" in _client(hq_user, "zh-hans").get(page).content.decode()


def test_a_note_stored_without_a_code_shows_as_stored(device, hq_user, owner):
    """A person's note, and an automatic note written before the codes, in any language."""
    alert = DeviceAlert.objects.create(
        device=device,
        store_id=device.store_id,
        kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        status=DeviceAlert.Status.RESOLVED,
        resolved_at=timezone.now(),
        resolution_note="已恢复正常，当前 3.0 °C",
    )
    assert (
        _client(owner, "en")
        .get(reverse("devices:device", args=[alert.device_id]))
        .content.decode()
        .count("已恢复正常，当前 3.0 °C")
        == 1
    )
    page = reverse("admin:devices_devicealert_change", args=[alert.pk])
    assert "已恢复正常，当前 3.0 °C" in _client(hq_user, "en").get(page).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_cleared_line_on_each_socket_is_worded_in_its_language(settings, device):
    """The websocket line of an alert the rule resolves: the note too is in each socket's
    language, not the resolving process's."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from linli.realtime import store_notifications_group

    settings.LANGUAGE_CODE = "zh-hans"
    _hot_then_back(device)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(store_notifications_group(device.store_id), channel)
    with translation.override("en"):
        device_alerts_evaluate(device=device)
    message = async_to_sync(layer.receive)(channel)
    lines = {
        language: json.loads(text)["payload"]["text"] for language, text in message["texts"].items()
    }
    assert lines == {
        "en": f"{device.name}: Temperature out of range cleared — {RESOLVED_EN}",
        "zh-hans": f"{device.name}：温度超出范围已恢复 — {RESOLVED_ZH}",
    }


def test_the_admin_cannot_change_the_facts_an_alert_recorded(raised, hq_user):
    """The facts are the readings the detail and resolution sentences state: HQ reads them,
    worded, but a POST to the change form cannot rewrite them."""
    alert, _since = raised
    recorded = alert.facts
    assert recorded
    client = _client(hq_user, "en")
    page = reverse("admin:devices_devicealert_change", args=[alert.pk])
    assert 'name="facts"' not in client.get(page).content.decode()
    response = client.post(page, {"facts": json.dumps({"value": 99.0}), "_save": "Save"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.facts == recorded
