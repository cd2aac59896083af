"""Reads for devices: store overviews, alerts, chart points (token lookup: api/auth.py)."""

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
from apps.devices.notification_texts import (
    alert_acknowledged_line,
    alert_opened_line,
    alert_resolved_line,
)
from apps.stores.access import VIEW_DEVICES, StoreAction, stores_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from apps.stores.models import Store

    UserLike = AbstractBaseUser | AnonymousUser


# --- devices and alerts ----------------------------------------------------------------------


def device_thresholds(*, device: Device) -> EffectiveThresholds:
    """The thresholds that apply to `device`: its overrides, else its kind's."""
    return device.thresholds(DeviceKindThreshold.objects.filter(kind=device.kind).first())


def devices_visible(*, user: UserLike) -> QuerySet[Device]:
    """Devices of the stores where this user may VIEW_DEVICES (apps.stores.access decides)."""
    return Device.objects.filter(store__in=stores_for(user, VIEW_DEVICES)).select_related("store")


def device_for_user(*, user: UserLike, device_id: int) -> Device | None:
    return devices_visible(user=user).select_related("store__region").filter(pk=device_id).first()


def alert_for_user(
    *, user: UserLike, alert_id: int, action: StoreAction = VIEW_DEVICES
) -> DeviceAlert | None:
    """The alert if the user may take `action` at its store (e.g. ACT_ON_ALERTS to acknowledge
    it); None otherwise, as for an unknown id."""
    return (
        DeviceAlert.objects.select_related("device", "store")
        .filter(pk=alert_id, store__in=stores_for(user, action))
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


@dataclass(frozen=True)
class LiveLine:
    """One line of the store's live notifications, as its socket sent it: `key` is the event
    and the alert (`device.alert:12`), what the page dedupes by; `text` in the active
    language."""

    key: str
    at: dt.datetime
    text: str


LIVE_LINES_LIMIT = 50


def store_live_lines_since(
    *, store: Store, since: dt.datetime, limit: int = LIVE_LINES_LIMIT
) -> list[LiveLine]:
    """The lines the store's notifications socket sent after `since`, newest first (at most
    `limit`), rebuilt from the alerts' stored times, so a page whose socket was closed gets
    what it missed. Every line the socket sends is an alert opening, being acknowledged or
    being resolved (`apps.devices.services.alerts`); an alert resolved without being
    acknowledged got one line, "resolved" (its acknowledgement is recorded at the same time).
    One query."""
    alerts = (
        DeviceAlert.objects.filter(store=store)
        .filter(Q(opened_at__gt=since) | Q(acknowledged_at__gt=since) | Q(resolved_at__gt=since))
        .select_related("device", "acknowledged_by", "resolved_by")
        .order_by("-pk")[: limit * 3]
    )
    lines = []
    for alert in alerts:
        if alert.opened_at > since:
            lines.append(
                LiveLine(f"device.alert:{alert.pk}", alert.opened_at, alert_opened_line(alert))
            )
        acknowledged = alert.acknowledged_at
        if acknowledged and acknowledged > since and acknowledged != alert.resolved_at:
            lines.append(
                LiveLine(
                    f"device.alert_acknowledged:{alert.pk}",
                    acknowledged,
                    alert_acknowledged_line(alert),
                )
            )
        if alert.resolved_at and alert.resolved_at > since:
            lines.append(
                LiveLine(
                    f"device.alert_resolved:{alert.pk}",
                    alert.resolved_at,
                    alert_resolved_line(alert),
                )
            )
    return sorted(lines, key=lambda line: line.at, reverse=True)[:limit]


# How far before the page's render its replay starts. An alert's times are stamped before its
# transaction commits, by as much as the run that stamps them lasts: the silent sweep stamps
# every alert with its start time and commits at its end (task time limit 300 s); the
# pending evaluation has each device take its own time and commit as it goes. A page cursor
# taken at render time would miss an alert stamped before it and committed after the page's
# queries (and before its socket joined).
LIVE_CURSOR_MARGIN = dt.timedelta(minutes=10)
LIVE_CURSOR_SHOWN_LIMIT = 500
# What one replay returns at most: the lines a page may hold as shown (`shown`) and then
# LIVE_LINES_LIMIT more, so lines the page has shown never crowd out one it has not (an
# alert committed after the page's queries, stamped before lines it did show).
LIVE_REPLAY_LIMIT = LIVE_CURSOR_SHOWN_LIMIT + LIVE_LINES_LIMIT


def store_live_replay_next_since(*, since: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Where a page's next replay may start, after one that read the lines at `now`: a line
    stamped before `now - LIVE_CURSOR_MARGIN` was committed by then (the margin, above) and
    so was in this replay, so the next need not ask for it again; never before `since`."""
    return max(since, now - LIVE_CURSOR_MARGIN)


@dataclass(frozen=True)
class LiveCursor:
    """Where a page's live replay starts: `since` (an aware time) and the keys of the lines
    from then that were already committed when the page was drawn (`shown`), which the page's
    script drops from the replay."""

    since: dt.datetime
    shown: tuple[str, ...]


def store_live_cursor(*, store: Store, now: dt.datetime | None = None) -> LiveCursor:
    """The replay cursor of a store page, to take before the page's other queries: `since`
    is LIVE_CURSOR_MARGIN before `now`, and `shown` the lines after it this query sees (it
    sees what was committed before it). A line stamped after `since` but committed after this
    query is not in `shown`, so the page replays it; one committed before is dropped as seen
    (on the devices page it is in the page's lists; on the store page it is older than the
    page). Nothing is missed unless a transaction stamps an alert more than the margin before
    it commits. One query."""
    since = (now or timezone.now()) - LIVE_CURSOR_MARGIN
    lines = store_live_lines_since(store=store, since=since, limit=LIVE_CURSOR_SHOWN_LIMIT)
    return LiveCursor(since=since, shown=tuple(line.key for line in lines))


def alerts_open_for_user(*, user: UserLike, limit: int = 20) -> list[DeviceAlert]:
    """The newest open or acknowledged alerts at every store where `user` may VIEW_DEVICES
    (the landing page's "needs attention"); one query whatever the number of stores."""
    return list(
        DeviceAlert.objects.filter(
            store__in=stores_for(user, VIEW_DEVICES),
            status__in=DeviceAlert.ACTIVE_STATUSES,
        )
        .select_related("device", "store")
        .order_by("-opened_at", "-pk")[:limit]
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
