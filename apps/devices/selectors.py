"""Reads for devices: token lookup, store overviews, alerts, chart points."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from apps.devices.charts import ChartPoint, temperature_chart_svg
from apps.devices.models import (
    Device,
    DeviceAlert,
    DeviceKindThreshold,
    DeviceReading,
    DeviceReadingHourly,
    EffectiveThresholds,
)
from apps.stores.access import stores_for, user_is_hq
from linli.tokens import token_hash

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from apps.stores.models import Store

    UserLike = AbstractBaseUser | AnonymousUser


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    device: Device | None
    reason: str  # empty when the token is good

    @property
    def is_valid(self) -> bool:
        return self.device is not None and not self.reason


def device_for_token(*, token: str) -> TokenCheck:
    """The device a token belongs to, or why it authenticates nothing (unknown, revoked,
    device deactivated). One indexed lookup by hash; the clear token is never stored."""
    if not token:
        return TokenCheck(None, _("No device token given."))
    device = Device.objects.select_related("store").filter(token_hash=token_hash(token)).first()
    if device is None:
        return TokenCheck(None, _("Unknown device token."))
    if device.revoked_at is not None:
        return TokenCheck(None, _("This device token has been revoked."))
    if not device.is_active:
        return TokenCheck(None, _("This device is deactivated."))
    return TokenCheck(device, "")


# --- devices and alerts ----------------------------------------------------------------------


def device_thresholds(*, device: Device) -> EffectiveThresholds:
    """The thresholds that apply to `device`: its overrides, else its kind's."""
    return device.thresholds(DeviceKindThreshold.objects.filter(kind=device.kind).first())


def devices_visible(*, user: UserLike) -> QuerySet[Device]:
    """Devices of the stores this user may see (apps.stores.access decides)."""
    return Device.objects.filter(store__in=stores_for(user)).select_related("store")


def device_for_user(*, user: UserLike, device_id: int) -> Device | None:
    return devices_visible(user=user).select_related("store__region").filter(pk=device_id).first()


def alert_for_user(
    *, user: UserLike, alert_id: int, roles: tuple[str, ...] | None = None
) -> DeviceAlert | None:
    """The alert if its store is visible to the user (HQ: any), optionally only through the
    given staff roles (e.g. owners and clerks may act on alerts, inspectors only look)."""
    stores = stores_for(user) if user_is_hq(user) else stores_for(user, roles=roles)
    return (
        DeviceAlert.objects.select_related("device", "store")
        .filter(pk=alert_id, store__in=stores)
        .first()
    )


def store_devices_overview(*, store: Store) -> list[Device]:
    """The store's devices with their latest temperature and active alert count, one query."""
    latest = DeviceReading.objects.filter(
        device=OuterRef("pk"), temperature_c__isnull=False
    ).order_by("-recorded_at")
    return list(
        Device.objects.filter(store=store)
        .annotate(
            latest_temperature=Subquery(latest.values("temperature_c")[:1]),
            latest_recorded_at=Subquery(latest.values("recorded_at")[:1]),
            active_alert_count=Count(
                "alerts", filter=Q(alerts__status__in=DeviceAlert.ACTIVE_STATUSES)
            ),
        )
        .order_by("-is_active", "name")
    )


def store_active_alerts(*, store: Store) -> list[DeviceAlert]:
    return list(
        DeviceAlert.objects.filter(store=store, status__in=DeviceAlert.ACTIVE_STATUSES)
        .select_related("device", "acknowledged_by")
        .order_by("-opened_at")
    )


def device_recent_alerts(*, device: Device, limit: int = 20) -> list[DeviceAlert]:
    return list(
        DeviceAlert.objects.filter(device=device)
        .select_related("acknowledged_by", "resolved_by")
        .order_by("-opened_at")[:limit]
    )


# --- charts ----------------------------------------------------------------------------------

CHART_RANGES = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7)}


@dataclass(frozen=True)
class DeviceChart:
    range_key: str
    start: dt.datetime
    end: dt.datetime
    point_count: int
    svg: SafeString


def device_temperature_points(
    *, device: Device, start: dt.datetime, end: dt.datetime
) -> list[ChartPoint]:
    """Raw temperature readings in [start, end), oldest first."""
    rows = (
        DeviceReading.objects.filter(
            device=device, recorded_at__gte=start, recorded_at__lt=end, temperature_c__isnull=False
        )
        .order_by("recorded_at")
        .values_list("recorded_at", "temperature_c")
    )
    return [ChartPoint(at=at, value=value) for at, value in rows]


def device_hourly_points(
    *, device: Device, start: dt.datetime, end: dt.datetime
) -> list[ChartPoint]:
    """Hourly average temperature with the hour's min and max, oldest first (the point sits in
    the middle of its hour)."""
    rows = (
        DeviceReadingHourly.objects.filter(
            device=device, hour__gte=start, hour__lt=end, temperature_avg__isnull=False
        )
        .order_by("hour")
        .values_list("hour", "temperature_avg", "temperature_min", "temperature_max")
    )
    return [
        ChartPoint(at=hour + dt.timedelta(minutes=30), value=avg, low=low, high=high)
        for hour, avg, low, high in rows
    ]


def device_chart(
    *, device: Device, range_key: str = "24h", now: dt.datetime | None = None
) -> DeviceChart:
    """The device's temperature chart: the last 24 h from raw readings, or the last 7 days
    from hourly aggregates (kept for ever, while raw rows expire)."""
    if range_key not in CHART_RANGES:
        range_key = "24h"
    end = now or timezone.now()
    start = end - CHART_RANGES[range_key]
    thresholds = device_thresholds(device=device)
    if range_key == "7d":
        points = device_hourly_points(device=device, start=start, end=end)
        gap, label_every, label_format = dt.timedelta(hours=3), dt.timedelta(days=1), "%m-%d"
    else:
        points = device_temperature_points(device=device, start=start, end=end)
        gap, label_every, label_format = dt.timedelta(minutes=20), dt.timedelta(hours=6), "%H:%M"
    svg = temperature_chart_svg(
        points=points,
        start=start,
        end=end,
        min_ok=thresholds.min_temperature_c,
        max_ok=thresholds.max_temperature_c,
        gap=gap,
        label_every=label_every,
        label_format=label_format,
        empty_text=_("No temperature readings in this period."),
        title=_("%(device)s: temperature, last %(range)s")
        % {"device": device.name, "range": range_key},
    )
    return DeviceChart(range_key=range_key, start=start, end=end, point_count=len(points), svg=svg)
