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
