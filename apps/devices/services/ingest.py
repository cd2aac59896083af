"""Reading ingestion: validate a whole batch, then store it in one set-wise INSERT.

All or nothing: when any item is bad, nothing is stored and every problem is reported with
its index and field. A reading repeated by a retry — same device, same `recorded_at` — is
stored once (unique constraint + `ON CONFLICT DO NOTHING`), and counted as a duplicate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.devices import conf
from apps.devices.models import TEMPERATURE_MAX_C, TEMPERATURE_MIN_C, Device, DeviceReading
from linli.api_fields import UNKNOWN_FIELD, UNKNOWN_FIELD_MESSAGE, unknown_keys

READING_FIELDS = frozenset({"recorded_at", "temperature_c", "energy_wh", "door_open"})
VALUE_FIELDS = ("temperature_c", "energy_wh", "door_open")
ENERGY_MAX_WH = 1_000_000  # per reading; more is a broken meter, not a fridge
# Late readings are accepted up to the retention window minus this margin, so an hour whose raw
# rows the retention task deletes can never receive another reading (which would make the
# rollup recompute that hour from a partial set of rows).
LATE_MARGIN = dt.timedelta(hours=2)
MAX_PROBLEMS_REPORTED = 100


@dataclass(frozen=True)
class ReadingProblem:
    index: int | None  # None: the problem is with the batch, not one item
    field: str
    code: str  # for a program: required, invalid, no_time_zone, in_future, too_old, …
    message: str


class ReadingsRejected(ValidationError):
    """The batch was refused; `problems` names each bad item's index and field."""

    def __init__(self, problems: list[ReadingProblem]) -> None:
        self.problems = problems
        super().__init__(
            [
                f"readings[{p.index}].{p.field}: {p.message}"
                if p.index is not None
                else f"{p.field}: {p.message}"
                for p in problems[:MAX_PROBLEMS_REPORTED]
            ]
        )


@dataclass(frozen=True)
class ParsedReading:
    recorded_at: dt.datetime
    temperature_c: float | None
    energy_wh: float | None
    door_open: bool | None


@dataclass(frozen=True)
class IngestResult:
    received: int
    accepted: int
    duplicates: int


def max_reading_age() -> dt.timedelta:
    return dt.timedelta(days=conf.reading_retention_days()) - LATE_MARGIN


QUOTED_DIGITS_MAX = 15


def _quoted(value: float) -> str:
    """The number as a message quotes it: an integer of more than QUOTED_DIGITS_MAX digits (a
    JSON integer may have hundreds) in scientific notation with four significant digits,
    truncated, not rounded (1.234e+399); any other number as sent (a float's repr is short)."""
    text = str(value)
    digits = text.lstrip("-")
    if not isinstance(value, int) or len(digits) <= QUOTED_DIGITS_MAX:
        return text
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_time(
    value: Any, *, index: int, now: dt.datetime, problems: list[ReadingProblem]
) -> dt.datetime | None:
    field = "recorded_at"
    if value is None:
        problems.append(ReadingProblem(index, field, "required", _("This field is required.")))
        return None
    if not isinstance(value, str):
        problems.append(
            ReadingProblem(index, field, "invalid", _("Must be an ISO 8601 text timestamp."))
        )
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        problems.append(
            ReadingProblem(index, field, "invalid", _("Not an ISO 8601 timestamp: %s") % value)
        )
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problems.append(
            ReadingProblem(
                index,
                field,
                "no_time_zone",
                _("The timestamp needs a time zone (e.g. +08:00 or Z)."),
            )
        )
        return None
    if moment > now + dt.timedelta(minutes=conf.FUTURE_TOLERANCE_MINUTES):
        problems.append(
            ReadingProblem(
                index,
                field,
                "in_future",
                _("The timestamp is more than %(minutes)d minutes in the future.")
                % {"minutes": conf.FUTURE_TOLERANCE_MINUTES},
            )
        )
        return None
    oldest = now - max_reading_age()
    if moment < oldest:
        problems.append(
            ReadingProblem(
                index,
                field,
                "too_old",
                _("The timestamp is older than %(hours)d hours; such readings are not kept.")
                % {"hours": int(max_reading_age().total_seconds() // 3600)},
            )
        )
        return None
    return moment.astimezone(dt.UTC)


def _parse_number(
    value: Any,
    *,
    index: int,
    field: str,
    low: float,
    high: float,
    problems: list[ReadingProblem],
) -> float | None:
    if value is None:
        return None
    # A JSON integer may be beyond any float (10**400): math.isfinite would raise on it; an
    # int is finite, and compares exactly with the range below.
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        problems.append(ReadingProblem(index, field, "invalid", _("Must be a number or null.")))
        return None
    if not low <= value <= high:
        problems.append(
            ReadingProblem(
                index,
                field,
                "out_of_range",
                _("%(value)s is outside the plausible range %(low)s to %(high)s.")
                % {"value": _quoted(value), "low": low, "high": high},
            )
        )
        return None
    return float(value)


def readings_parse(*, readings: Any, now: dt.datetime | None = None) -> list[ParsedReading]:
    """Validate a batch as posted (a list of JSON objects) and return typed readings.

    Raises ReadingsRejected listing every problem (index + field + reason). Rules: each item
    is an object with only the known fields; `recorded_at` is ISO 8601 with a time zone, not
    more than 5 minutes in the future and not older than the retention window allows;
    `temperature_c` within −60…80, `energy_wh` ≥ 0, `door_open` a boolean; each may be null
    but not all three.
    """
    now = now or timezone.now()
    if not isinstance(readings, list):
        raise ReadingsRejected(
            [
                ReadingProblem(
                    None, "readings", "not_a_list", _("Must be a list of reading objects.")
                )
            ]
        )
    limit = conf.readings_max_batch()
    if len(readings) > limit:
        raise ReadingsRejected(
            [
                ReadingProblem(
                    None,
                    "readings",
                    "too_many",
                    _("At most %(limit)d readings per request; this one has %(count)d.")
                    % {"limit": limit, "count": len(readings)},
                )
            ]
        )
    problems: list[ReadingProblem] = []
    parsed: list[ParsedReading] = []
    for index, item in enumerate(readings):
        if not isinstance(item, dict):
            problems.append(
                ReadingProblem(index, "", "not_an_object", _("Each reading must be an object."))
            )
            continue
        before = len(problems)
        for unknown in unknown_keys(item, READING_FIELDS):
            problems.append(
                ReadingProblem(index, unknown, UNKNOWN_FIELD, str(UNKNOWN_FIELD_MESSAGE))
            )
        recorded_at = _parse_time(item.get("recorded_at"), index=index, now=now, problems=problems)
        temperature = _parse_number(
            item.get("temperature_c"),
            index=index,
            field="temperature_c",
            low=TEMPERATURE_MIN_C,
            high=TEMPERATURE_MAX_C,
            problems=problems,
        )
        energy = _parse_number(
            item.get("energy_wh"),
            index=index,
            field="energy_wh",
            low=0,
            high=ENERGY_MAX_WH,
            problems=problems,
        )
        door = item.get("door_open")
        if door is not None and not isinstance(door, bool):
            problems.append(
                ReadingProblem(index, "door_open", "invalid", _("Must be true, false or null."))
            )
        if len(problems) == before and all(item.get(name) is None for name in VALUE_FIELDS):
            problems.append(
                ReadingProblem(
                    index,
                    "temperature_c|energy_wh|door_open",
                    "no_value",
                    _("A reading needs at least one of temperature_c, energy_wh, door_open."),
                )
            )
        if len(problems) == before and recorded_at is not None:
            parsed.append(ParsedReading(recorded_at, temperature, energy, door))
    if problems:
        raise ReadingsRejected(problems)
    return parsed


def _chunks(rows: Sequence[tuple[Any, ...]], size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


_COLUMNS = ("device_id", "recorded_at", "received_at", "temperature_c", "energy_wh", "door_open")


def _insert_ignoring_duplicates(rows: Sequence[tuple[Any, ...]]) -> int:
    """INSERT … ON CONFLICT (device_id, recorded_at) DO NOTHING, in multi-row chunks.

    Returns the number of rows actually inserted (the driver's rowcount), which is how the
    response can say exactly how many readings were duplicates — `bulk_create` with
    `ignore_conflicts` cannot tell. Works on PostgreSQL and SQLite ≥ 3.24.
    """
    quote = connection.ops.quote_name
    table = quote(DeviceReading._meta.db_table)
    columns = ", ".join(quote(column) for column in _COLUMNS)
    row_sql = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    max_params = connection.features.max_query_params or 6000
    chunk_size = max(1, min(1000, max_params // len(_COLUMNS)))
    inserted = 0
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, chunk_size):
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - identifiers quoted
                + ", ".join([row_sql] * len(chunk))
                + f" ON CONFLICT ({quote('device_id')}, {quote('recorded_at')}) DO NOTHING"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            inserted += max(cursor.rowcount, 0)
    return inserted


def device_readings_ingest(
    *, device: Device, readings: Any, now: dt.datetime | None = None
) -> IngestResult:
    """Validate and store a batch of readings for `device`; mark the device seen.

    All or nothing (ReadingsRejected, nothing stored, last_seen_at unchanged). Idempotent
    per reading: retrying a batch stores nothing new and reports the readings as duplicates.
    An empty list is a heartbeat. Alert evaluation is not done here: the caller enqueues
    `device_alerts_evaluate` after commit (see apps/devices/api/views.py for why).
    """
    now = now or timezone.now()
    parsed = readings_parse(readings=readings, now=now)
    # A retry may repeat a reading inside one batch too: keep the first per timestamp.
    unique: dict[dt.datetime, ParsedReading] = {}
    for reading in parsed:
        unique.setdefault(reading.recorded_at, reading)
    adapt = connection.ops.adapt_datetimefield_value
    received_at = adapt(now)
    rows = [
        (
            device.pk,
            adapt(reading.recorded_at),
            received_at,
            reading.temperature_c,
            reading.energy_wh,
            reading.door_open,
        )
        for reading in unique.values()
    ]
    with transaction.atomic():
        accepted = _insert_ignoring_duplicates(rows) if rows else 0
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    device.last_seen_at = now
    return IngestResult(received=len(parsed), accepted=accepted, duplicates=len(parsed) - accepted)
