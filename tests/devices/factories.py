"""Factories and helpers for device tests."""

from __future__ import annotations

import datetime as dt

import factory

from apps.devices.models import Device, DeviceKind, DeviceReading
from tests.factories import StoreFactory


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    store = factory.SubFactory(StoreFactory)
    kind = DeviceKind.DISPLAY_CHILLER
    name = factory.Sequence(lambda n: f"Chiller {n}")
    serial = factory.Sequence(lambda n: f"SN-{n:06d}")
    silent_after_minutes = 30


def readings_every_minute(
    device: Device,
    *,
    start: dt.datetime,
    minutes: int,
    temperature: float | None = None,
    energy_wh: float | None = None,
    received_at: dt.datetime | None = None,
) -> list[DeviceReading]:
    """Store one reading a minute for `minutes` minutes from `start` (test data, set-wise)."""
    rows = [
        DeviceReading(
            device=device,
            recorded_at=start + dt.timedelta(minutes=offset),
            received_at=received_at or start + dt.timedelta(minutes=offset),
            temperature_c=temperature,
            energy_wh=energy_wh,
        )
        for offset in range(minutes)
    ]
    return DeviceReading.objects.bulk_create(rows)


def hot_facts(value: float = 12.0, *, minutes: int = 20) -> dict[str, object]:
    """Facts of a display chiller's "temperature out of range" alert: `value` °C outside
    0 to 8 °C for `minutes`, since 2026-07-01 14:03 Shanghai time."""
    return {
        "value": value,
        "unit": "°C",
        "min": 0.0,
        "max": 8.0,
        "minutes": minutes,
        "since": "2026-07-01T14:03:00+08:00",
    }
