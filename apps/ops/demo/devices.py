"""Demo cold chain: every store's three cabinets (冷藏柜, 冷冻柜, 风幕柜) with a week of
temperature history, so the devices pages, charts and alerts are filled after `make run`.

- Readings: a cabinet holds its set point with a small daily swing (the shop is warmer in the
  afternoon, the compressor cycles) and noise. The login stores' devices (the first
  `DETAILED_STORES`) carry a raw reading every 10 minutes for the whole week; the other stores'
  every 30 minutes for the last day only (raw rows expire after 14 days in real use too). The
  hourly aggregates of the week are computed from the same series, so they agree with the raw
  rows the hourly roll-up would read.
- Alerts: the first store's 风幕柜 has been warming for the last 40 minutes (a door left open on
  a busy evening): its alert is opened by the real rule (`device_alerts_evaluate`), so the owner
  gets it on the devices page and in the notifications, as from a real device. The second
  store's 冷藏柜 had a night excursion two days ago, acknowledged by its owner and resolved, and
  a few other stores carry resolved alerts of the week for HQ's list.
- No device gets a token: HQ issues one when a real device is installed (docs/devices.md), and
  the silent-device sweep only watches devices with a live token, so the demo's cabinets do not
  turn "silent" when their seeded history ends.

Deterministic for the same arguments (its own random stream mixed with the demo's seed); the
history ends at `until` (the seed passes the current time, or the end of the demo's last day
when that is earlier).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext as _

from apps.devices.models import (
    Device,
    DeviceAlert,
    DeviceKind,
    DeviceReading,
    DeviceReadingHourly,
)
from apps.devices.selectors import device_thresholds
from apps.devices.services.alerts import device_alerts_evaluate, temperature_facts
from apps.ops.demo.bulk import rows_insert
from apps.stores.models import Store

STREAM = 3_384  # "devi": the stream of this part, mixed with the demo's seed
DETAILED_STORES = 10  # the stores the demo logins see
# (name, kind, set point °C, noise σ, daily swing amplitude °C)
CABINETS = (
    ("冷藏柜", DeviceKind.FRIDGE, 4.0, 0.35, 0.6),
    ("冷冻柜", DeviceKind.FREEZER, -18.5, 0.5, 0.8),
    ("风幕柜", DeviceKind.DISPLAY_CHILLER, 4.5, 0.45, 1.0),
)
HISTORY_DAYS = 7
LOCAL = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has no daylight saving
DETAILED_STEP = dt.timedelta(minutes=10)
OTHER_STEP = dt.timedelta(minutes=30)
OTHER_RAW = dt.timedelta(days=1)
# The first store's display chiller, warming over its last readings (°C).
WARMING = (7.2, 8.6, 9.4, 10.1, 10.8)
# Resolved alerts of the week: (store index, cabinet index, days ago, local hour, peak °C,
# minutes out of range, acknowledged by the store's owner first).
RESOLVED = (
    (1, 0, 2, 23, 12.4, 40, True),
    (4, 2, 5, 15, 9.6, 25, False),
    (7, 1, 3, 3, -12.8, 50, False),
    (12, 0, 6, 19, 11.2, 30, False),
    (25, 2, 1, 14, 9.1, 20, False),
)


def _floor(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    seconds = int(step.total_seconds())
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, tz=dt.UTC)


def _series(
    rng: np.random.Generator, times: np.ndarray, set_point: float, noise: float, swing: float
) -> np.ndarray:
    """Temperatures at `times` (epoch seconds): the set point, a daily swing peaking at 15:00
    local (UTC+8), noise, rounded to 0.1 °C."""
    local_hours = ((times / 3600.0) + 8) % 24
    daily = swing * np.cos((local_hours - 15) / 24 * 2 * np.pi)
    return np.round(set_point + daily + rng.normal(0, noise, times.shape[0]), 1)


def demo_devices_seed(*, stores: list[Store], until: dt.datetime, seed: int) -> dict[str, int]:
    """Write the cabinets, their readings and hourly aggregates, and the week's alerts; return
    counts. Precondition: the demo accounts exist (the second store's owner acknowledges)."""
    if not stores:
        return {}
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM]))
    devices = Device.objects.bulk_create(
        Device(
            store=store,
            kind=kind,
            name=name,
            serial=f"DEMO-{store.code}-{number + 1}",
            last_seen_at=None,
        )
        for store in stores
        for number, (name, kind, *_rest) in enumerate(CABINETS)
    )
    end = _floor(until, DETAILED_STEP)
    start = end - dt.timedelta(days=HISTORY_DAYS)
    readings: list[tuple[object, ...]] = []
    hourly: list[tuple[object, ...]] = []
    last_seen: dict[int, dt.datetime] = {}
    for index, device in enumerate(devices):
        store_index, cabinet = divmod(index, len(CABINETS))
        _name, _kind, set_point, noise, swing = CABINETS[cabinet]
        detailed = store_index < DETAILED_STORES
        step = DETAILED_STEP if detailed else OTHER_STEP
        first = _floor(start, step) + step
        times = np.arange(
            int(first.timestamp()), int(end.timestamp()) + 1, int(step.total_seconds())
        )
        values = _series(rng, times, set_point, noise, swing)
        if store_index == 0 and cabinet == 2:
            values[-len(WARMING) :] = WARMING
        for where, cabinet_at, days_ago, hour, peak, minutes, _acknowledged in RESOLVED:
            if (where, cabinet_at) == (store_index, cabinet):
                began = _excursion_start(end, days_ago, hour).timestamp()
                values[(times >= began) & (times < began + minutes * 60)] = peak
        raw_from = start if detailed else end - OTHER_RAW
        for moment, value in zip(times.tolist(), values.tolist(), strict=True):
            recorded = dt.datetime.fromtimestamp(moment, tz=dt.UTC)
            if recorded > raw_from:
                readings.append((device.pk, recorded, recorded, value))
        hours = times - times % 3600
        for hour in np.unique(hours).tolist():
            chunk = values[hours == hour]
            hourly.append(
                (
                    device.pk,
                    dt.datetime.fromtimestamp(hour, tz=dt.UTC),
                    int(chunk.size),
                    float(chunk.min()),
                    float(chunk.max()),
                    round(float(chunk.mean()), 2),
                    0,
                    end,
                )
            )
        last_seen[device.pk] = dt.datetime.fromtimestamp(int(times[-1]), tz=dt.UTC)
    rows_insert(
        DeviceReading, ("device_id", "recorded_at", "received_at", "temperature_c"), readings
    )
    rows_insert(
        DeviceReadingHourly,
        (
            "device_id",
            "hour",
            "reading_count",
            "temperature_min",
            "temperature_max",
            "temperature_avg",
            "door_open_count",
            "computed_at",
        ),
        hourly,
    )
    for device in devices:
        device.last_seen_at = last_seen[device.pk]
    Device.objects.bulk_update(devices, ["last_seen_at"])
    alerts = _alerts(devices=devices, end=end)
    return {"devices": len(devices), "readings": len(readings), "alerts": alerts}


def _excursion_start(end: dt.datetime, days_ago: int, hour: int) -> dt.datetime:
    local = (end - dt.timedelta(days=days_ago)).astimezone(LOCAL)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def _alerts(*, devices: list[Device], end: dt.datetime) -> int:
    """The first store's open alert through the real rule, and the week's resolved ones."""
    with translation.override(settings.LANGUAGE_CODE):
        warming = devices[2]  # the first store's 风幕柜
        device_alerts_evaluate(device=warming, now=warming.last_seen_at)
        owner2 = get_user_model().objects.filter(username="owner2").first()
        resolved = []
        for store_index, cabinet, days_ago, hour, peak, minutes, acknowledged in RESOLVED:
            position = store_index * len(CABINETS) + cabinet
            if position >= len(devices):
                continue
            device = devices[position]
            thresholds = device_thresholds(device=device)
            if not thresholds.has_temperature_range:
                continue  # HQ removed the kind's range: no such alert could have been raised
            _name, _kind, set_point, *_rest = CABINETS[cabinet]
            began = _excursion_start(end, days_ago, hour)
            opened = began + dt.timedelta(minutes=minutes // 2)
            cleared = began + dt.timedelta(minutes=minutes)
            by = owner2 if acknowledged and store_index == 1 else None
            resolved.append(
                DeviceAlert(
                    device=device,
                    store_id=device.store_id,
                    kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
                    status=DeviceAlert.Status.RESOLVED,
                    opened_at=opened,
                    value=peak,
                    facts=temperature_facts(
                        value=peak,
                        thresholds=thresholds,
                        minutes=minutes // 2,
                        since=began,
                    ),
                    acknowledged_by=by,
                    acknowledged_at=opened + dt.timedelta(minutes=5) if by else None,
                    resolved_at=cleared + dt.timedelta(minutes=10),
                    resolution_code=DeviceAlert.Cleared.BACK_IN_RANGE,
                    resolution_facts={"value": set_point},
                    resolution_note=_("back in range at %(value).1f °C") % {"value": set_point},
                )
            )
        DeviceAlert.objects.bulk_create(resolved)
    return DeviceAlert.objects.filter(device__in=devices).count()
