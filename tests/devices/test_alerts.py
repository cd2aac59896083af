"""Alert rules (temperature, silence, energy), no duplicates, lifecycle, outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from apps.campaigns.notifications.models import Notification
from apps.devices.models import (
    Device,
    DeviceAlert,
    DeviceKind,
    DeviceKindThreshold,
    DeviceReadingHourly,
    EffectiveThresholds,
)
from apps.devices.services import (
    alert_acknowledge,
    alert_open,
    alert_resolve,
    alert_text,
    device_alerts_evaluate,
    device_token_issue,
    device_token_revoke,
    devices_silent_sweep,
)
from apps.devices.tasks import device_alerts_evaluate_task, devices_silent_sweep_task
from apps.stores.models import Store, StoreStaff
from linli.realtime import store_notifications_group
from tests.devices.factories import DeviceFactory, hot_facts, readings_every_minute
from tests.factories import UserFactory, owner_of

pytestmark = pytest.mark.django_db

TEMPERATURE = DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE
SILENT = DeviceAlert.Kind.DEVICE_SILENT
ENERGY = DeviceAlert.Kind.ENERGY_SPIKE


def _minutes_ago(minutes: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


# --- temperature -----------------------------------------------------------------------------


def test_temperature_out_of_range_for_n_minutes_opens_an_alert(device, owner):
    # Display chiller: 0–8 °C, 15 minutes. 16 readings a minute apart span exactly 15 minutes.
    readings_every_minute(device, start=_minutes_ago(16), minutes=16, temperature=11.5)
    result = device_alerts_evaluate(device=device)
    alert = DeviceAlert.objects.get()
    assert [a.pk for a in result.opened] == [alert.pk]
    assert (alert.kind, alert.status, alert.value, alert.store_id) == (
        TEMPERATURE,
        "open",
        11.5,
        device.store_id,
    )
    assert "11.5 °C, outside 0 to 8 °C for 15 minutes" in alert.detail_text
    assert (alert.facts["value"], alert.facts["unit"], alert.facts["minutes"]) == (11.5, "°C", 15)
    assert (alert.facts["min"], alert.facts["max"], alert.detail) == (0.0, 8.0, "")


def test_temperature_out_of_range_for_less_than_n_minutes_opens_nothing(device, owner):
    readings_every_minute(device, start=_minutes_ago(15), minutes=15, temperature=11.5)
    result = device_alerts_evaluate(device=device)
    assert result.opened == []
    assert DeviceAlert.objects.count() == 0
    assert Notification.objects.count() == 0


def test_an_in_range_reading_restarts_the_streak(device):
    start = _minutes_ago(30)
    readings_every_minute(device, start=start, minutes=12, temperature=12.0)
    readings_every_minute(device, start=start + dt.timedelta(minutes=12), minutes=1, temperature=5)
    readings_every_minute(
        device, start=start + dt.timedelta(minutes=13), minutes=12, temperature=12
    )
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 0


def test_too_cold_counts_as_out_of_range(store):
    freezer = DeviceFactory(store=store, kind=DeviceKind.FREEZER)  # −25 … −15 °C, 30 minutes
    readings_every_minute(freezer, start=_minutes_ago(40), minutes=35, temperature=-30.0)
    device_alerts_evaluate(device=freezer)
    assert DeviceAlert.objects.get().kind == TEMPERATURE


def test_device_override_wins_over_kind_threshold(store):
    device = DeviceFactory(
        store=store,
        min_temperature_c=Decimal("2.0"),
        max_temperature_c=Decimal("4.0"),
        minutes_out_of_range=5,
    )
    readings_every_minute(device, start=_minutes_ago(7), minutes=7, temperature=6.0)
    device_alerts_evaluate(device=device)
    assert DeviceAlert.objects.get().detail_text.startswith(
        "6.0 °C, outside 2 to 4 °C for 6 minutes"
    )


def test_thresholds_include_both_limits():
    chiller = EffectiveThresholds(
        min_temperature_c=0.0,
        max_temperature_c=8.0,
        minutes_out_of_range=15,
        energy_spike_factor=3.0,
        energy_baseline_min_hours=24,
    )
    assert [chiller.temperature_in_range(value) for value in (-0.1, 0.0, 8.0, 8.1)] == [
        False,
        True,
        True,
        False,
    ]


def test_device_without_overrides_takes_its_kinds_thresholds(store):
    freezer = DeviceFactory(store=store, kind=DeviceKind.FREEZER)
    kind = DeviceKindThreshold.objects.get(kind=DeviceKind.FREEZER)
    kind.energy_spike_factor = Decimal("2.5")
    kind.energy_baseline_min_hours = 12
    assert freezer.thresholds(kind) == EffectiveThresholds(
        min_temperature_c=-25.0,
        max_temperature_c=-15.0,
        minutes_out_of_range=30,
        energy_spike_factor=2.5,
        energy_baseline_min_hours=12,
    )


def test_device_without_a_kind_threshold_uses_the_built_in_defaults(store):
    device = DeviceFactory(store=store)
    assert device.thresholds(None) == EffectiveThresholds(
        min_temperature_c=None,
        max_temperature_c=None,
        minutes_out_of_range=15,
        energy_spike_factor=3.0,
        energy_baseline_min_hours=24,
    )


def test_a_device_override_of_one_limit_replaces_the_kinds_whole_range(store):
    # The range is overridden as a pair (min < max is checked per pair): a device with only a
    # maximum has no minimum, rather than its kind's minimum.
    device = DeviceFactory(store=store, max_temperature_c=Decimal("4.0"))
    kind = DeviceKindThreshold.objects.get(kind=DeviceKind.DISPLAY_CHILLER)
    thresholds = device.thresholds(kind)
    assert (thresholds.min_temperature_c, thresholds.max_temperature_c) == (None, 4.0)


@pytest.mark.parametrize("temperature", [0.0, 8.0])
def test_readings_exactly_at_a_limit_open_no_alert(device, owner, temperature):
    # docs/devices.md: the display chiller's allowed range is "0 to 8 °C", limits included.
    readings_every_minute(device, start=_minutes_ago(30), minutes=30, temperature=temperature)
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 0
    assert Notification.objects.count() == 0


def test_a_reading_exactly_at_the_limit_restarts_the_streak(device):
    start = _minutes_ago(30)
    readings_every_minute(device, start=start, minutes=12, temperature=12.0)
    readings_every_minute(device, start=start + dt.timedelta(minutes=12), minutes=1, temperature=8)
    readings_every_minute(
        device, start=start + dt.timedelta(minutes=13), minutes=12, temperature=12
    )
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 0


def test_a_reading_exactly_at_the_limit_resolves_the_alert(device):
    readings_every_minute(device, start=_minutes_ago(30), minutes=20, temperature=10.0)
    device_alerts_evaluate(device=device)
    readings_every_minute(device, start=_minutes_ago(5), minutes=1, temperature=8.0)
    result = device_alerts_evaluate(device=device)
    alert = DeviceAlert.objects.get()
    assert [a.pk for a in result.resolved] == [alert.pk]
    assert (alert.status, alert.resolution_note) == ("resolved", "back in range at 8.0 °C")


def test_pos_terminal_has_no_temperature_rule(store):
    terminal = DeviceFactory(store=store, kind=DeviceKind.POS_TERMINAL)
    readings_every_minute(terminal, start=_minutes_ago(60), minutes=60, temperature=45.0)
    assert device_alerts_evaluate(device=terminal).opened == []
    assert DeviceAlert.objects.count() == 0


def test_repeated_evaluation_opens_no_duplicate_and_notifies_once(device, owner):
    second_owner = owner_of(device.store)
    readings_every_minute(device, start=_minutes_ago(20), minutes=20, temperature=10.0)
    first = device_alerts_evaluate(device=device)
    readings_every_minute(device, start=_minutes_ago(0.5), minutes=1, temperature=10.5)
    second = device_alerts_evaluate(device=device)
    device_alerts_evaluate_task(device.pk)
    assert (len(first.opened), len(second.opened)) == (1, 0)
    assert DeviceAlert.objects.count() == 1
    notifications = Notification.objects.order_by("recipient_id")
    assert [(n.recipient_id, n.store_id, n.channel, n.status) for n in notifications] == [
        (owner.pk, device.store_id, "portal", "sent"),
        (second_owner.pk, device.store_id, "portal", "sent"),
    ]
    alert = DeviceAlert.objects.get()
    assert notifications[0].payload == {
        "alert_id": alert.pk,
        "device_id": device.pk,
        "device": device.name,
        "kind": TEMPERATURE,
        "facts": alert.facts,
    }
    assert alert.facts["value"] == 10.0
    assert device.name in notifications[0].title


def test_acknowledged_alert_still_blocks_a_duplicate(device, owner):
    readings_every_minute(device, start=_minutes_ago(20), minutes=20, temperature=10.0)
    device_alerts_evaluate(device=device)
    alert_acknowledge(alert=DeviceAlert.objects.get(), by=owner)
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 1


def test_back_in_range_resolves_automatically_and_a_new_streak_opens_a_new_alert(device):
    readings_every_minute(device, start=_minutes_ago(60), minutes=20, temperature=10.0)
    device_alerts_evaluate(device=device)
    readings_every_minute(device, start=_minutes_ago(40), minutes=1, temperature=4.0)
    result = device_alerts_evaluate(device=device)
    first = DeviceAlert.objects.get()
    assert [a.pk for a in result.resolved] == [first.pk]
    assert (first.status, first.resolved_by, first.resolution_note) == (
        "resolved",
        None,
        "back in range at 4.0 °C",
    )
    assert first.resolved_at is not None
    readings_every_minute(device, start=_minutes_ago(30), minutes=20, temperature=9.0)
    device_alerts_evaluate(device=device)
    assert list(DeviceAlert.objects.order_by("pk").values_list("status", flat=True)) == [
        "resolved",
        "open",
    ]


def test_database_refuses_a_second_active_alert_for_the_same_condition(device):
    DeviceAlert.objects.create(device=device, store=device.store, kind=TEMPERATURE)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceAlert.objects.create(device=device, store=device.store, kind=TEMPERATURE)
    DeviceAlert.objects.create(device=device, store=device.store, kind=SILENT)
    assert DeviceAlert.objects.count() == 2


def test_alert_open_returns_the_active_alert(device):
    first, created = alert_open(device=device, kind=TEMPERATURE, facts=hot_facts(9.0), value=9.0)
    again, created_again = alert_open(
        device=device, kind=TEMPERATURE, facts=hot_facts(9.5), value=9.5
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert DeviceAlert.objects.get().facts == hot_facts(9.0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_opens_make_one_alert():
    device = DeviceFactory()
    owner = owner_of(device.store)
    barrier = threading.Barrier(4)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            barrier.wait()
            alert, created = alert_open(device=device, kind=TEMPERATURE, value=12.0)
            results.append((alert.pk, created))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert DeviceAlert.objects.count() == 1
    winner = DeviceAlert.objects.get().pk
    assert sorted(results) == [(winner, False), (winner, False), (winner, False), (winner, True)]
    assert Notification.objects.filter(recipient=owner).count() == 1


# --- silence ---------------------------------------------------------------------------------


def _seen(device: Device, minutes_ago: float) -> None:
    Device.objects.filter(pk=device.pk).update(last_seen_at=_minutes_ago(minutes_ago))
    device.refresh_from_db()


def test_silent_sweep_opens_one_alert_when_called_twice(device, device_token, owner):
    _seen(device, 45)
    first = devices_silent_sweep_task()
    second = devices_silent_sweep_task()
    assert first == {"opened": 1, "resolved": 0}
    assert second == {"opened": 0, "resolved": 0}
    alert = DeviceAlert.objects.get()
    assert (alert.kind, alert.status, alert.value) == (SILENT, "open", 45)
    assert "no reading for 45 minutes" in alert.detail_text
    assert Notification.objects.filter(recipient=owner, kind="device_alert").count() == 1


def test_silent_sweep_uses_each_devices_own_window(store):
    patient = DeviceFactory(store=store, silent_after_minutes=120)
    hasty = DeviceFactory(store=store, silent_after_minutes=10)
    for device in (patient, hasty):
        device_token_issue(device=device)
        _seen(device, 60)
    result = devices_silent_sweep()
    assert result.opened == 1
    assert list(DeviceAlert.objects.values_list("device_id", flat=True)) == [hasty.pk]


def test_silent_sweep_skips_recent_never_seen_revoked_and_inactive_devices(store):
    recent, never, revoked, inactive = DeviceFactory.create_batch(4, store=store)
    for device in (recent, never, revoked, inactive):
        device_token_issue(device=device)
    _seen(recent, 5)
    _seen(revoked, 90)
    device_token_revoke(device=revoked)
    _seen(inactive, 90)
    Device.objects.filter(pk=inactive.pk).update(is_active=False)
    assert devices_silent_sweep().opened == 0
    assert DeviceAlert.objects.count() == 0


def test_device_posting_again_resolves_the_silent_alert(device, device_token):
    _seen(device, 45)
    devices_silent_sweep()
    _seen(device, 1)
    assert devices_silent_sweep().resolved == 1
    alert = DeviceAlert.objects.get()
    assert (alert.status, alert.resolved_by, alert.resolution_note) == (
        "resolved",
        None,
        "posting again",
    )
    assert devices_silent_sweep().resolved == 0


def test_evaluation_after_posting_resolves_the_silent_alert(device, device_token):
    _seen(device, 45)
    devices_silent_sweep()
    _seen(device, 0)
    result = device_alerts_evaluate(device=device)
    assert [alert.kind for alert in result.resolved] == [SILENT]
    assert DeviceAlert.objects.get().status == "resolved"


# --- energy ----------------------------------------------------------------------------------


def _baseline(
    device: Device, *, hours: int, energy_wh: float, end: dt.datetime, spread: bool = True
) -> None:
    """Hourly aggregates for the `hours` closed hours before `end`'s previous hour; with
    `spread`, energy_wh + 0, 1, 2 in turn (median energy_wh + 1), else energy_wh every hour."""
    last = end.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    DeviceReadingHourly.objects.bulk_create(
        [
            DeviceReadingHourly(
                device=device,
                hour=last - dt.timedelta(hours=offset),
                reading_count=60,
                energy_wh_sum=energy_wh + (offset % 3 if spread else 0),
            )
            for offset in range(hours)
        ]
    )


def test_energy_far_above_the_devices_baseline_opens_an_alert(device):
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=6.0)
    result = device_alerts_evaluate(device=device)  # 360 Wh in the last hour > 3 × 101
    alert = DeviceAlert.objects.get()
    assert [a.kind for a in result.opened] == [ENERGY]
    assert alert.value == pytest.approx(360.0)
    assert "360 Wh in the last hour, 3.6× the usual 101 Wh per hour" in alert.detail_text


def test_energy_within_the_factor_opens_nothing(device):
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=5.0)
    assert device_alerts_evaluate(device=device).opened == []  # 300 Wh ≤ 303
    assert DeviceAlert.objects.count() == 0


def test_energy_exactly_at_the_limit_opens_nothing(device):
    # docs/devices.md: a spike is energy *above* factor × median, so exactly 3 × 100 Wh is not.
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now, spread=False)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=5.0)
    assert device_alerts_evaluate(device=device).opened == []  # 300 Wh == 3 × 100
    assert DeviceAlert.objects.count() == 0


def test_energy_exactly_at_the_limit_resolves_an_open_spike(device):
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now, spread=False)
    alert, _created = alert_open(device=device, kind=ENERGY, value=400.0)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=5.0)
    result = device_alerts_evaluate(device=device)
    assert [a.pk for a in result.resolved] == [alert.pk]
    alert.refresh_from_db()
    assert (alert.status, alert.resolution_note) == ("resolved", "300 Wh in the last hour")


def test_energy_without_enough_baseline_history_opens_nothing(device):
    now = timezone.now()
    _baseline(device, hours=23, energy_wh=100, end=now)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=50.0)
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 0


def test_energy_baseline_is_the_devices_own(store):
    busy, quiet = DeviceFactory.create_batch(2, store=store)
    now = timezone.now()
    _baseline(busy, hours=48, energy_wh=1000, end=now)
    _baseline(quiet, hours=48, energy_wh=10, end=now)
    for device in (busy, quiet):
        readings_every_minute(
            device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=6.0
        )
        device_alerts_evaluate(device=device)
    assert list(DeviceAlert.objects.values_list("device_id", "kind")) == [(quiet.pk, ENERGY)]


def test_energy_back_to_normal_resolves_the_spike(device):
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now)
    # 360 Wh in the half hour up to 150 minutes ago: a spike ...
    readings_every_minute(device, start=now - dt.timedelta(minutes=179), minutes=30, energy_wh=12.0)
    device_alerts_evaluate(device=device)
    assert DeviceAlert.objects.get().status == "open"
    # ... then a normal last hour (60 Wh).
    readings_every_minute(device, start=now - dt.timedelta(minutes=60), minutes=60, energy_wh=1.0)
    result = device_alerts_evaluate(device=device)
    assert [a.kind for a in result.resolved] == [ENERGY]
    alert = DeviceAlert.objects.get()
    assert (alert.status, alert.resolved_by, alert.resolution_note) == (
        "resolved",
        None,
        "60 Wh in the last hour",
    )


# --- lifecycle -------------------------------------------------------------------------------


def test_alert_lifecycle_records_who_and_when(device, owner, hq_user):
    alert, _created = alert_open(device=device, kind=TEMPERATURE, value=12.0)
    acknowledged_at = timezone.now()
    alert_acknowledge(alert=alert, by=owner, now=acknowledged_at)
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_at) == (
        "acknowledged",
        owner,
        acknowledged_at,
    )
    resolved_at = acknowledged_at + dt.timedelta(minutes=5)
    alert_resolve(alert=alert, by=hq_user, note="door seal replaced", now=resolved_at)
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, alert.resolved_at, alert.resolution_note) == (
        "resolved",
        hq_user,
        resolved_at,
        "door seal replaced",
    )
    assert alert.acknowledged_by == owner


def test_acknowledging_twice_or_after_resolution_is_refused(device, owner, other_owner):
    alert, _created = alert_open(device=device, kind=TEMPERATURE)
    alert_acknowledge(alert=alert, by=owner)
    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alert, by=other_owner)
    alert.refresh_from_db()
    assert alert.acknowledged_by == owner
    alert_resolve(alert=alert, by=owner)
    with pytest.raises(ValidationError):
        alert_resolve(alert=alert, by=other_owner)
    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alert, by=other_owner)
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by) == ("resolved", owner)


def test_resolving_an_open_alert_also_records_the_acknowledgement(device, owner):
    alert, _created = alert_open(device=device, kind=SILENT)
    alert_resolve(alert=alert, by=owner)
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.resolved_by) == ("resolved", owner, owner)
    assert alert.acknowledged_at == alert.resolved_at


# --- what each step changes and announces ----------------------------------------------------


class StoreGroupListener:
    """A channel on the real channel layer in the store's notifications group: every
    announcement the alert services make there, as (group, event, payload) once their
    transaction commits (the tests using it run in autocommit: `transaction=True`)."""

    def __init__(self, store_id: int) -> None:
        self.group = store_notifications_group(store_id)
        self.layer = get_channel_layer()
        self._heard: list[tuple[str, str, dict]] = []
        self._listen()

    def _listen(self) -> None:
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(self.group, self.channel)

    def _drain(self) -> list[tuple[str, str, dict]]:
        async def received() -> list[dict]:
            messages = []
            while True:
                try:
                    messages.append(
                        await asyncio.wait_for(self.layer.receive(self.channel), timeout=0.3)
                    )
                except TimeoutError:
                    return messages

        for message in async_to_sync(received)():
            sent = json.loads(message["text"])
            self._heard.append((self.group, sent["event"], sent["payload"]))
        # A channel waited on while empty belongs to that event loop: go on with a new one.
        self.close()
        self._listen()
        return self._heard

    def __iter__(self):
        return iter(list(self._drain()))

    def __getitem__(self, index: int) -> tuple[str, str, dict]:
        return self._drain()[index]

    def __eq__(self, other: object) -> bool:
        return self._drain() == other

    def clear(self) -> None:
        self._drain().clear()

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)


@pytest.fixture
def broadcasts(store: Store):
    """What the store's group hears on the real channel layer."""
    listener = StoreGroupListener(store.pk)
    yield listener
    listener.close()


def test_acknowledging_and_resolving_touch_only_that_alert(store, owner):
    first, second = DeviceFactory.create_batch(2, store=store)
    mine, _created = alert_open(device=first, kind=TEMPERATURE)
    other, _created = alert_open(device=second, kind=TEMPERATURE)
    alert_acknowledge(alert=mine, by=owner)
    other.refresh_from_db()
    assert (other.status, other.acknowledged_by) == ("open", None)
    alert_resolve(alert=mine, by=owner)
    other.refresh_from_db()
    assert (other.status, other.acknowledged_by, other.resolved_by) == ("open", None, None)


def test_refusals_say_what_state_the_alert_is_in(device, owner):
    alert, _created = alert_open(device=device, kind=TEMPERATURE)
    alert_resolve(alert=alert, by=owner)
    with translation.override("en"):
        with pytest.raises(ValidationError) as acknowledging:
            alert_acknowledge(alert=alert, by=owner)
        with pytest.raises(ValidationError) as resolving:
            alert_resolve(alert=alert, by=owner)
    assert acknowledging.value.messages == [
        "Only an open alert can be acknowledged; this one is resolved."
    ]
    assert resolving.value.messages == ["This alert is already resolved."]


def test_resolution_note_is_empty_by_default_and_cut_at_300_characters(device, owner):
    quiet, _created = alert_open(device=device, kind=SILENT)
    hot, _created = alert_open(device=device, kind=TEMPERATURE)
    alert_resolve(alert=quiet, by=owner)
    alert_resolve(alert=hot, by=owner, note="x" * 400)
    quiet.refresh_from_db()
    hot.refresh_from_db()
    assert (quiet.resolution_note, hot.resolution_note) == ("", "x" * 300)


HOT_12_5 = "12.5 °C, outside 0 to 8 °C for 20 minutes (since 07-01 14:03)"


@pytest.mark.django_db(transaction=True)
def test_each_step_is_broadcast_to_the_stores_group(device, owner, broadcasts):
    group = f"linli.store.{device.store_id}.notifications"
    with translation.override("en"):
        alert, _created = alert_open(
            device=device, kind=TEMPERATURE, facts=hot_facts(12.5), value=12.5
        )
        alert_acknowledge(alert=alert, by=owner)
        alert_resolve(alert=alert, by=owner)
    assert [(sent_group, event) for sent_group, event, _payload in broadcasts] == [
        (group, "device.alert"),
        (group, "device.alert_acknowledged"),
        (group, "device.alert_resolved"),
    ]
    assert [payload["text"] for _group, _event, payload in broadcasts] == [
        f"{device.name}: Temperature out of range — {HOT_12_5}",
        f"{device.name}: alert acknowledged by {owner.username}",
        f"{device.name}: alert resolved by {owner.username}",
    ]
    assert broadcasts[0][2] == {
        "text": f"{device.name}: Temperature out of range — {HOT_12_5}",
        "alert_id": alert.pk,
        "device_id": device.pk,
        "device": device.name,
        "store_id": device.store_id,
        "kind": TEMPERATURE,
        "status": "open",
        "value": 12.5,
        "facts": hot_facts(12.5),
        "opened_at": DjangoJSONEncoder().default(alert.opened_at),  # as it travels, in JSON
    }
    assert [payload["status"] for _group, _event, payload in broadcasts] == [
        "open",
        "acknowledged",
        "resolved",
    ]


# --- rules look at their own device, kind and window -------------------------------------------


def test_rules_read_only_the_evaluated_devices_readings(store):
    hot, cool = DeviceFactory.create_batch(2, store=store)
    now = timezone.now()
    _baseline(hot, hours=48, energy_wh=100, end=now)
    _baseline(cool, hours=48, energy_wh=100, end=now)
    readings_every_minute(hot, start=_minutes_ago(30), minutes=20, temperature=12.0, energy_wh=30)
    readings_every_minute(cool, start=_minutes_ago(30), minutes=20, temperature=4.0, energy_wh=0.5)
    assert device_alerts_evaluate(device=cool).opened == []
    assert len(device_alerts_evaluate(device=hot).opened) == 2
    assert sorted(DeviceAlert.objects.values_list("device_id", "kind")) == sorted(
        [(hot.pk, TEMPERATURE), (hot.pk, ENERGY)]
    )


def test_alert_open_finds_the_active_alert_of_that_device_and_kind_only(store):
    first, second = DeviceFactory.create_batch(2, store=store)
    hot, _created = alert_open(device=first, kind=TEMPERATURE)
    quiet, created_quiet = alert_open(device=first, kind=SILENT)
    other, created_other = alert_open(device=second, kind=TEMPERATURE)
    assert (created_quiet, created_other) == (True, True)
    assert len({hot.pk, quiet.pk, other.pk}) == 3


def test_alert_open_records_the_time_and_the_facts_given(device):
    at = timezone.now() - dt.timedelta(hours=3)
    alert, _created = alert_open(device=device, kind=TEMPERATURE, facts=hot_facts(), now=at)
    alert.refresh_from_db()
    assert (alert.opened_at, alert.facts, alert.detail) == (at, hot_facts(), "")


def test_evaluation_opens_alerts_at_the_evaluation_time(device):
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=6.0)
    readings_every_minute(device, start=_minutes_ago(80), minutes=20, temperature=12.0)
    evaluated_at = now + dt.timedelta(seconds=7)
    device_alerts_evaluate(device=device, now=evaluated_at)
    assert list(DeviceAlert.objects.values_list("opened_at", flat=True).distinct()) == [
        evaluated_at
    ]


@pytest.mark.django_db(transaction=True)
def test_back_in_range_resolves_only_that_devices_alert_of_that_kind(store, broadcasts):
    first, second = DeviceFactory.create_batch(2, store=store)
    for device in (first, second):
        readings_every_minute(device, start=_minutes_ago(40), minutes=20, temperature=12.0)
        device_alerts_evaluate(device=device)
    energy, _created = alert_open(device=first, kind=ENERGY)
    # An older-looking resolved alert of the same kind is not the active one.
    stale = DeviceAlert.objects.create(
        device=first,
        store=store,
        kind=TEMPERATURE,
        status="resolved",
        opened_at=timezone.now() + dt.timedelta(minutes=1),
        resolved_at=timezone.now() + dt.timedelta(minutes=2),
    )
    broadcasts.clear()
    readings_every_minute(first, start=_minutes_ago(5), minutes=1, temperature=4.0)
    with translation.override("en"):
        result = device_alerts_evaluate(device=first)
    resolved = DeviceAlert.objects.exclude(pk=stale.pk).get(device=first, kind=TEMPERATURE)
    assert [a.pk for a in result.resolved] == [resolved.pk]
    assert resolved.status == "resolved"
    assert DeviceAlert.objects.get(device=second).status == "open"
    energy.refresh_from_db()
    assert energy.status == "open"
    assert [(event, payload["alert_id"], payload["text"]) for _g, event, payload in broadcasts] == [
        (
            "device.alert_resolved",
            resolved.pk,
            f"{first.name}: Temperature out of range cleared — back in range at 4.0 °C",
        )
    ]


def _aligned_spike(device: Device) -> dt.datetime:
    """360 Wh in the hour up to an exact hour T (the latest energy reading); returns T."""
    latest = timezone.now().astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    latest -= dt.timedelta(hours=1)
    readings_every_minute(
        device, start=latest - dt.timedelta(minutes=59), minutes=60, energy_wh=6.0
    )
    return latest


def _hours(device: Device, hours: list[dt.datetime], energy_wh: float | None = 100.0) -> None:
    DeviceReadingHourly.objects.bulk_create(
        [
            DeviceReadingHourly(device=device, hour=hour, reading_count=60, energy_wh_sum=energy_wh)
            for hour in hours
        ]
    )


def test_energy_baseline_includes_both_edges_of_its_window(device):
    # The baseline is the hours from 7 days + 1 hour before the last hour's start up to the hour
    # before it: the newest and the oldest such hour make the 24 needed.
    latest = _aligned_spike(device)
    window_start = latest - dt.timedelta(hours=1)
    newest = window_start - dt.timedelta(hours=1)
    oldest = window_start - dt.timedelta(days=7)
    _hours(device, [newest, oldest])
    _hours(device, [newest - dt.timedelta(hours=n) for n in range(1, 23)])
    assert [a.kind for a in device_alerts_evaluate(device=device).opened] == [ENERGY]


@pytest.mark.parametrize(
    "outside",
    [dt.timedelta(hours=0), dt.timedelta(hours=1), -dt.timedelta(days=7, hours=1)],
    ids=["the-last-hours-start", "inside-the-last-hour", "older-than-7-days"],
)
def test_energy_baseline_leaves_out_hours_outside_its_window(device, outside):
    latest = _aligned_spike(device)
    window_start = latest - dt.timedelta(hours=1)
    _hours(device, [window_start - dt.timedelta(hours=n) for n in range(2, 25)])  # 23 hours
    _hours(device, [window_start + outside])
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 0


def test_energy_baseline_ignores_hours_without_energy(device):
    latest = _aligned_spike(device)
    window_start = latest - dt.timedelta(hours=1)
    _hours(device, [window_start - dt.timedelta(hours=n) for n in range(1, 24)])  # 23 hours
    _hours(device, [window_start - dt.timedelta(hours=n) for n in range(24, 48)], energy_wh=None)
    assert device_alerts_evaluate(device=device).opened == []
    assert DeviceAlert.objects.count() == 0


def test_energy_last_hour_ends_at_the_latest_energy_reading(device):
    # Temperature-only readings after the spike do not move the energy window.
    latest = _aligned_spike(device)
    _hours(device, [latest - dt.timedelta(hours=n) for n in range(2, 50)])
    readings_every_minute(
        device, start=latest + dt.timedelta(minutes=1), minutes=50, temperature=4.0
    )
    with translation.override("en"):
        device_alerts_evaluate(device=device)
    alert = DeviceAlert.objects.get()
    assert (alert.kind, alert.value) == (ENERGY, pytest.approx(360.0))
    assert alert.detail_text == "360 Wh in the last hour, 3.6× the usual 100 Wh per hour"
    assert alert.facts == {
        "recent_wh": pytest.approx(360.0),
        "median_wh": pytest.approx(100.0),
        "factor": 3.0,
        "unit": "Wh",
    }


def test_an_idle_last_hour_resolves_the_spike_at_zero(device):
    now = timezone.now()
    _baseline(device, hours=48, energy_wh=100, end=now)
    alert, _created = alert_open(device=device, kind=ENERGY)
    readings_every_minute(device, start=now - dt.timedelta(minutes=59), minutes=60, energy_wh=0.0)
    with translation.override("en"):
        device_alerts_evaluate(device=device)
    alert.refresh_from_db()
    assert (alert.status, alert.resolution_note) == ("resolved", "0 Wh in the last hour")


@pytest.mark.parametrize(
    ("override", "temperature", "detail"),
    [
        ({"max_temperature_c": Decimal("4.0")}, 6.0, "6.0 °C, outside at most 4 °C for 6 minutes"),
        ({"min_temperature_c": Decimal("2.0")}, 1.0, "1.0 °C, outside at least 2 °C for 6 minutes"),
    ],
)
def test_a_one_sided_range_is_named_in_the_detail(store, override, temperature, detail):
    device = DeviceFactory(store=store, minutes_out_of_range=5, **override)
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=7)
    readings_every_minute(device, start=start, minutes=7, temperature=temperature)
    with translation.override("en"):
        device_alerts_evaluate(device=device)
    since = timezone.localtime(start).strftime("%m-%d %H:%M")
    assert DeviceAlert.objects.get().detail_text == f"{detail} (since {since})"


def test_silence_ends_only_once_the_device_posted_within_its_window(device, device_token):
    now = timezone.now()
    Device.objects.filter(pk=device.pk).update(last_seen_at=now - dt.timedelta(minutes=45))
    devices_silent_sweep(now=now)
    exactly = now - dt.timedelta(minutes=device.silent_after_minutes)
    Device.objects.filter(pk=device.pk).update(last_seen_at=exactly)
    device.refresh_from_db()
    assert device_alerts_evaluate(device=device, now=now).resolved == []
    assert DeviceAlert.objects.get().status == "open"
    Device.objects.filter(pk=device.pk).update(last_seen_at=exactly + dt.timedelta(seconds=1))
    device.refresh_from_db()
    with translation.override("en"):
        result = device_alerts_evaluate(device=device, now=now)
    alert = DeviceAlert.objects.get()
    assert [a.pk for a in result.resolved] == [alert.pk]
    assert (alert.status, alert.resolution_note) == ("resolved", "posting again")


def test_only_the_stores_owners_are_notified_with_the_detail(device, owner, other_owner):
    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=device.store, role=StoreStaff.Role.CLERK)
    alert_open(device=device, kind=TEMPERATURE, facts=hot_facts(12.0))
    assert list(Notification.objects.values_list("recipient_id", "body")) == [
        (owner.pk, "12.0 °C, outside 0 to 8 °C for 20 minutes (since 07-01 14:03)")
    ]


# --- the silent sweep ------------------------------------------------------------------------


def test_silent_sweep_skips_closed_stores_and_devices_without_a_token(store, other_store):
    closed = DeviceFactory(store=other_store)
    device_token_issue(device=closed)
    Store.objects.filter(pk=other_store.pk).update(status=Store.Status.CLOSED)
    never_issued = DeviceFactory(store=store)
    for device in (closed, never_issued):
        _seen(device, 90)
    assert devices_silent_sweep().opened == 0
    assert DeviceAlert.objects.count() == 0


def test_silent_sweep_looks_for_an_active_silent_alert_of_each_device(store):
    already, again, hot = DeviceFactory.create_batch(3, store=store)
    for device in (already, again, hot):
        device_token_issue(device=device)
        _seen(device, 90)
    alert_open(device=already, kind=SILENT)
    old, _created = alert_open(device=again, kind=SILENT)
    alert_resolve(alert=old, by=UserFactory())
    alert_open(device=hot, kind=TEMPERATURE)
    assert devices_silent_sweep().opened == 2
    assert sorted(
        DeviceAlert.objects.filter(kind=SILENT, status="open").values_list("device_id", flat=True)
    ) == sorted([already.pk, again.pk, hot.pk])


def test_silent_alert_detail_says_how_long_and_since_when(device, device_token):
    now = timezone.now()
    last_seen = now - dt.timedelta(minutes=45, seconds=30)
    Device.objects.filter(pk=device.pk).update(last_seen_at=last_seen)
    with translation.override("en"):
        devices_silent_sweep(now=now)
    since = timezone.localtime(last_seen).strftime("%m-%d %H:%M")
    assert DeviceAlert.objects.get().detail_text == f"no reading for 45 minutes (last seen {since})"


@pytest.mark.django_db(transaction=True)
def test_silent_sweep_resolves_per_silence_setting(store, broadcasts):
    hasty = DeviceFactory(store=store, silent_after_minutes=10)
    patient_back = DeviceFactory(store=store, silent_after_minutes=120)
    patient_quiet = DeviceFactory(store=store, silent_after_minutes=120)
    slow_back = DeviceFactory(store=store, silent_after_minutes=240)
    for device in (hasty, patient_back, patient_quiet, slow_back):
        device_token_issue(device=device)
        _seen(device, 300)
    assert devices_silent_sweep().opened == 4
    _seen(hasty, 60)  # posted, but still silent by its own 10 minutes
    _seen(patient_back, 1)
    _seen(slow_back, 1)
    broadcasts.clear()
    with translation.override("en"):
        result = devices_silent_sweep()
    assert result.resolved == 2
    assert dict(DeviceAlert.objects.values_list("device_id", "status")) == {
        hasty.pk: "open",
        patient_back.pk: "resolved",
        patient_quiet.pk: "open",
        slow_back.pk: "resolved",
    }
    assert sorted(
        (event, payload["device_id"], payload["status"], payload["text"])
        for _group, event, payload in broadcasts
    ) == sorted(
        (
            "device.alert_resolved",
            device.pk,
            "resolved",
            f"{device.name}: Device silent cleared — posting again",
        )
        for device in (patient_back, slow_back)
    )
    broadcasts.clear()
    assert devices_silent_sweep().resolved == 0
    assert broadcasts == []


def test_silent_sweep_resolves_only_silent_alerts(device, device_token):
    _seen(device, 1)
    alert_open(device=device, kind=TEMPERATURE)
    assert devices_silent_sweep().resolved == 0
    assert DeviceAlert.objects.get().status == "open"


def test_the_chinese_alert_title_joins_device_and_kind_with_a_full_width_colon(device):
    device.name = "风幕柜"
    device.save(update_fields=["name"])
    alert, _created = alert_open(device=device, kind=TEMPERATURE, facts=hot_facts(9.1), value=9.1)
    with translation.override("zh-hans"):
        text = alert_text(alert)
        kind = alert.get_kind_display()
    assert text == f"风幕柜：{kind} — 9.1 °C，已超出 0 至 8 °C 达 20 分钟（自 07-01 14:03 起）"
    with translation.override("en"):
        assert alert_text(alert) == (
            "风幕柜: Temperature out of range — 9.1 °C, outside 0 to 8 °C for 20 minutes "
            "(since 07-01 14:03)"
        )


@pytest.mark.django_db(transaction=True)
def test_the_broadcast_names_who_acted_by_their_display_name(device, owner, broadcasts):
    owner.first_name = "王丽华"
    owner.save(update_fields=["first_name"])
    with translation.override("en"):
        alert, _created = alert_open(
            device=device, kind=TEMPERATURE, facts=hot_facts(12.5), value=12.5
        )
        alert_acknowledge(alert=alert, by=owner)
        alert_resolve(alert=alert, by=owner)
    assert [payload["text"] for _group, _event, payload in broadcasts][1:] == [
        f"{device.name}: alert acknowledged by 王丽华",
        f"{device.name}: alert resolved by 王丽华",
    ]
