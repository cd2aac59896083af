"""Hourly rollup (idempotent upsert) and raw-reading retention (only rolled-up rows go)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.devices.models import DeviceReading, DeviceReadingHourly
from apps.devices.services import device_readings_retention_apply, device_readings_rollup
from apps.devices.services.rollup import hour_floor
from apps.devices.tasks import device_readings_retention_task, device_readings_rollup_task
from tests.devices.factories import DeviceFactory

pytestmark = pytest.mark.django_db

FIELDS = (
    "device_id",
    "hour",
    "reading_count",
    "temperature_min",
    "temperature_max",
    "temperature_avg",
    "energy_wh_sum",
    "door_open_count",
)


def _reading(device, at, *, temperature=None, energy=None, door=None, received=None):
    return DeviceReading(
        device=device,
        recorded_at=at,
        received_at=received or at,
        temperature_c=temperature,
        energy_wh=energy,
        door_open=door,
    )


def _aggregates() -> list[tuple]:
    return list(DeviceReadingHourly.objects.order_by("device_id", "hour").values_list(*FIELDS))


def test_rollup_aggregates_closed_hours_set_wise_and_skips_the_open_hour(store):
    chiller, fridge = DeviceFactory.create_batch(2, store=store)
    current = hour_floor(timezone.now())
    previous = current - dt.timedelta(hours=1)
    earlier = current - dt.timedelta(hours=2)
    DeviceReading.objects.bulk_create(
        [
            _reading(
                chiller, earlier + dt.timedelta(minutes=10), temperature=2.0, energy=5, door=True
            ),
            _reading(
                chiller, earlier + dt.timedelta(minutes=20), temperature=4.0, energy=7, door=False
            ),
            _reading(
                chiller, earlier + dt.timedelta(minutes=59), temperature=9.0, energy=3, door=True
            ),
            _reading(chiller, previous, temperature=5.0),
            _reading(fridge, previous + dt.timedelta(minutes=30), energy=12.5),
            _reading(chiller, current + dt.timedelta(seconds=1), temperature=30.0),
        ]
    )
    written = device_readings_rollup(lookback_hours=3)
    assert written == 3
    assert _aggregates() == [
        (chiller.pk, earlier, 3, 2.0, 9.0, 5.0, 15.0, 2),
        (chiller.pk, previous, 1, 5.0, 5.0, 5.0, None, 0),
        (fridge.pk, previous, 1, None, None, None, 12.5, 0),
    ]


def test_rollup_run_twice_gives_the_same_aggregates(device):
    current = hour_floor(timezone.now())
    DeviceReading.objects.bulk_create(
        [
            _reading(device, current - dt.timedelta(minutes=m), temperature=float(m % 7))
            for m in range(1, 120)
        ]
    )
    first_count = device_readings_rollup_task()
    first = _aggregates()
    second_count = device_readings_rollup_task()
    assert first_count == second_count == 2
    assert _aggregates() == first
    assert DeviceReadingHourly.objects.count() == 2


def test_rollup_includes_a_late_reading_in_an_already_rolled_hour(device):
    now = timezone.now()
    hour = hour_floor(now) - dt.timedelta(hours=5)
    DeviceReading.objects.bulk_create(
        [
            _reading(
                device,
                hour + dt.timedelta(minutes=5),
                temperature=3.0,
                received=now - dt.timedelta(hours=2),
            )
        ]
    )
    device_readings_rollup(lookback_hours=3)
    assert _aggregates()[0][2:5] == (1, 3.0, 3.0)
    DeviceReading.objects.bulk_create(
        [_reading(device, hour + dt.timedelta(minutes=50), temperature=7.0, received=now)]
    )
    device_readings_rollup(lookback_hours=3)
    assert _aggregates() == [(device.pk, hour, 2, 3.0, 7.0, 5.0, None, 0)]


def test_retention_deletes_only_old_rolled_up_rows_and_keeps_the_aggregates(device, settings):
    settings.DEVICE_READING_RETENTION_DAYS = 14
    now = timezone.now()
    old_hour = hour_floor(now - dt.timedelta(days=15))
    unrolled_hour = old_hour + dt.timedelta(hours=1)
    recent = now - dt.timedelta(days=2)
    DeviceReading.objects.bulk_create(
        [
            _reading(device, old_hour + dt.timedelta(minutes=1), temperature=1.0),
            _reading(device, old_hour + dt.timedelta(minutes=2), temperature=3.0),
            _reading(device, unrolled_hour + dt.timedelta(minutes=1), temperature=6.0),
            _reading(device, recent, temperature=4.0),
        ]
    )
    # Only old_hour was rolled up by the hourly task (back then).
    DeviceReadingHourly.objects.create(
        device=device,
        hour=old_hour,
        reading_count=2,
        temperature_min=1.0,
        temperature_max=3.0,
        temperature_avg=2.0,
        computed_at=old_hour + dt.timedelta(hours=1),
    )
    result = device_readings_retention_apply(now=now)
    assert (result.hours_rolled_up, result.readings_deleted) == (1, 3)
    assert list(DeviceReading.objects.values_list("recorded_at", flat=True)) == [recent]
    assert _aggregates() == [
        (device.pk, old_hour, 2, 1.0, 3.0, 2.0, None, 0),
        (device.pk, unrolled_hour, 1, 6.0, 6.0, 6.0, None, 0),
    ]


def test_retention_keeps_an_old_row_its_hours_aggregate_does_not_include_yet(device):
    now = timezone.now()
    old_hour = hour_floor(now - dt.timedelta(days=20))
    DeviceReading.objects.bulk_create(
        [
            _reading(device, old_hour + dt.timedelta(minutes=1), temperature=1.0),
            # Arrived after the aggregate below was computed: not in it.
            _reading(device, old_hour + dt.timedelta(minutes=9), temperature=9.0, received=now),
        ]
    )
    DeviceReadingHourly.objects.create(
        device=device,
        hour=old_hour,
        reading_count=1,
        temperature_avg=1.0,
        computed_at=now - dt.timedelta(days=1),
    )
    result = device_readings_retention_apply(now=now)
    # The hour is recomputed with both rows, but neither row goes while one of them is not
    # safely included: a device's hour is deleted all together or not at all.
    assert (result.hours_rolled_up, result.readings_deleted) == (1, 0)
    assert DeviceReading.objects.count() == 2
    assert _aggregates()[0][2] == 2
    later = device_readings_retention_apply(now=now + dt.timedelta(minutes=30))
    assert (later.hours_rolled_up, later.readings_deleted) == (1, 2)
    assert DeviceReading.objects.count() == 0
    assert _aggregates() == [(device.pk, old_hour, 2, 1.0, 9.0, 5.0, None, 0)]


def test_retention_task_twice_deletes_nothing_more(device):
    now = timezone.now()
    old = hour_floor(now - dt.timedelta(days=16))
    DeviceReading.objects.bulk_create(
        [_reading(device, old + dt.timedelta(minutes=m), temperature=2.0) for m in range(30)]
        + [_reading(device, now - dt.timedelta(hours=3), temperature=2.0)]
    )
    first = device_readings_retention_task()
    second = device_readings_retention_task()
    assert first == {"hours_rolled_up": 1, "readings_deleted": 30}
    assert second == {"hours_rolled_up": 0, "readings_deleted": 0}
    assert DeviceReading.objects.count() == 1
    assert _aggregates() == [(device.pk, old, 30, 2.0, 2.0, 2.0, None, 0)]


def test_retention_window_is_configurable(device, settings):
    settings.DEVICE_READING_RETENTION_DAYS = 2
    now = timezone.now()
    DeviceReading.objects.bulk_create(
        [
            _reading(device, now - dt.timedelta(days=3), temperature=1.0),
            _reading(device, now - dt.timedelta(days=1), temperature=1.0),
        ]
    )
    assert device_readings_retention_apply(now=now).readings_deleted == 1
    assert DeviceReading.objects.count() == 1
