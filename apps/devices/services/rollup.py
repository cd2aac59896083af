"""Hourly aggregates (kept for ever) and the retention of raw readings (kept for a window).

The rollup recomputes whole hours from raw rows with SQL aggregates and upserts them, so
running it again — or for an hour that received a late reading — rewrites the same numbers.
Retention deletes a raw reading only when its hour's aggregate was computed after the reading
arrived (with a safety margin for transactions still in flight), rolling such hours up first,
and deletes a device's hour all together or not at all. Ingestion refuses readings older than
the window minus two hours, so an hour whose rows are gone never receives another reading.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncHour
from django.utils import timezone

from apps.devices import conf
from apps.devices.models import DeviceReading, DeviceReadingHourly

HOUR = dt.timedelta(hours=1)
# A reading counts as rolled up only if its hour was computed at least this long after the
# reading was received: an ingest transaction still open while the rollup read the hour is
# then never mistaken for "included".
COVERAGE_MARGIN = dt.timedelta(minutes=10)


def hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _hours_rollup(pairs: Iterable[tuple[int, dt.datetime]], *, now: dt.datetime) -> int:
    """Recompute the given (device id, UTC hour) aggregates from raw rows and upsert them:
    one aggregate query per distinct hour, one upsert for everything. Returns rows written."""
    devices_by_hour: dict[dt.datetime, set[int]] = defaultdict(set)
    for device_id, hour in pairs:
        devices_by_hour[hour_floor(hour)].add(device_id)
    rows: list[DeviceReadingHourly] = []
    for hour, device_ids in sorted(devices_by_hour.items()):
        figures = (
            DeviceReading.objects.filter(
                device_id__in=device_ids, recorded_at__gte=hour, recorded_at__lt=hour + HOUR
            )
            .values("device_id")
            .annotate(
                reading_count=Count("id"),
                temperature_min=Min("temperature_c"),
                temperature_max=Max("temperature_c"),
                temperature_avg=Avg("temperature_c"),
                energy_wh_sum=Sum("energy_wh"),
                door_open_count=Count("id", filter=Q(door_open=True)),
            )
            .order_by()
        )
        rows += [
            DeviceReadingHourly(
                device_id=item["device_id"],
                hour=hour,
                reading_count=item["reading_count"],
                temperature_min=item["temperature_min"],
                temperature_max=item["temperature_max"],
                temperature_avg=item["temperature_avg"],
                energy_wh_sum=item["energy_wh_sum"],
                door_open_count=item["door_open_count"],
                computed_at=now,
            )
            for item in figures
        ]
    if rows:
        with transaction.atomic():
            DeviceReadingHourly.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["device", "hour"],
                update_fields=[
                    "reading_count",
                    "temperature_min",
                    "temperature_max",
                    "temperature_avg",
                    "energy_wh_sum",
                    "door_open_count",
                    "computed_at",
                ],
                batch_size=1000,
            )
    return len(rows)


def device_readings_rollup(
    *, now: dt.datetime | None = None, lookback_hours: int | None = None
) -> int:
    """Roll up every closed hour that received readings in the last `lookback_hours`
    (default `DEVICE_ROLLUP_LOOKBACK_HOURS`), late arrivals included.

    Idempotent: a rerun recomputes the same hours from the same rows. The current (open) hour
    is never rolled up. Returns the number of hourly rows written.
    """
    now = now or timezone.now()
    lookback = dt.timedelta(hours=lookback_hours or conf.rollup_lookback_hours())
    pairs = (
        DeviceReading.objects.filter(
            received_at__gte=now - lookback, recorded_at__lt=hour_floor(now)
        )
        .annotate(hour=TruncHour("recorded_at", tzinfo=dt.UTC))
        .values_list("device_id", "hour")
        .distinct()
        .order_by()
    )
    return _hours_rollup(pairs, now=now)


@dataclass(frozen=True)
class RetentionResult:
    hours_rolled_up: int
    readings_deleted: int


def device_readings_retention_apply(
    *, now: dt.datetime | None = None, retention_days: int | None = None
) -> RetentionResult:
    """Delete raw readings in whole hours older than the retention window
    (`DEVICE_READING_RETENTION_DAYS`), but only readings their hour's aggregate includes;
    hours not yet rolled up (or with readings that arrived after the rollup) are rolled up
    first, in the same run.

    Idempotent: a second run finds nothing left to roll up or delete.
    """
    now = now or timezone.now()
    days = retention_days or conf.reading_retention_days()
    boundary = hour_floor(now - dt.timedelta(days=days))
    old = DeviceReading.objects.filter(recorded_at__lt=boundary).annotate(
        hour=TruncHour("recorded_at", tzinfo=dt.UTC)
    )
    covered = Exists(
        DeviceReadingHourly.objects.filter(
            device_id=OuterRef("device_id"),
            hour=OuterRef("hour"),
            computed_at__gte=ExpressionWrapper(
                OuterRef("received_at") + COVERAGE_MARGIN, output_field=DateTimeField()
            ),
        )
    )
    uncovered = old.filter(~covered).values_list("device_id", "hour").distinct().order_by()
    hours_rolled_up = _hours_rollup(list(uncovered), now=now)
    # A (device, hour) is deleted all together or not at all: when one of its rows is still not
    # covered (it arrived within COVERAGE_MARGIN of this run), the whole hour waits for the next
    # run, so a later recompute of that hour always sees every one of its rows.
    keep = Q(pk__in=[])
    for device_id, hour in set(uncovered.all()):  # re-read after the rollup
        keep |= Q(device_id=device_id, recorded_at__gte=hour, recorded_at__lt=hour + HOUR)
    with transaction.atomic():
        deleted, _per_model = DeviceReading.objects.filter(
            pk__in=old.filter(covered).exclude(keep).values("pk")
        ).delete()
    return RetentionResult(hours_rolled_up=hours_rolled_up, readings_deleted=deleted)
