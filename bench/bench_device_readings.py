"""Benchmark: device reading ingestion, batch service path vs one ORM insert per reading.

Runs on PostgreSQL only, in a throwaway test database (`test_<your database name>`, created
and migrated here, dropped at the end), so it never touches real data:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli python bench/bench_device_readings.py
    ... --readings 50000 --single-readings 10000 --batch-size 1000 --devices 50

Both paths run in the same process against the same database. The batch path is the one the
API uses (`device_readings_ingest`: validation of every item, then a multi-row
INSERT … ON CONFLICT DO NOTHING), fed with JSON-like dicts; the baseline gets already-parsed
values and does `DeviceReading.objects.create()` per reading in autocommit, as a naive
endpoint would. Prints readings/s for both, the ratio, and whether the target (≥ 2,000
readings/s for the batch path) is met; exits 1 when it is not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

TARGET_PER_SECOND = 2000


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=50_000, help="readings, batch path")
    parser.add_argument(
        "--single-readings", type=int, default=10_000, help="readings, single-row baseline"
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="readings per request")
    parser.add_argument("--devices", type=int, default=50, help="devices sharing the readings")
    parser.add_argument("--keepdb", action="store_true", help="keep the test database")
    return parser.parse_args()


def _payload(count: int, *, end: dt.datetime) -> list[dict]:
    """`count` readings one minute apart ending at `end`, as the API receives them."""
    start = end - dt.timedelta(minutes=count)
    return [
        {
            "recorded_at": (start + dt.timedelta(minutes=i)).isoformat(),
            "temperature_c": 3.0 + (i % 50) / 10,
            "energy_wh": 12.0 + (i % 7),
            "door_open": i % 30 == 0,
        }
        for i in range(count)
    ]


def run(args: argparse.Namespace) -> bool:
    from apps.devices.models import Device, DeviceKind, DeviceReading
    from apps.devices.services import device_readings_ingest
    from apps.stores.models import Region, Store

    region = Region.objects.create(code="BENCH", name="Bench", city="Bench")
    store = Store.objects.create(code="BENCH-1", name="Bench store", region=region)

    def make_devices(prefix: str, count: int) -> list[Device]:
        return Device.objects.bulk_create(
            [
                Device(
                    store=store,
                    kind=DeviceKind.FRIDGE,
                    name=f"{prefix} {i}",
                    serial=f"{prefix}-{i}",
                )
                for i in range(count)
            ]
        )

    now = timezone.now()
    devices = make_devices("batch", args.devices)
    per_device = -(-args.readings // args.devices)
    batches = []
    for device in devices:
        payload = _payload(per_device, end=now)
        for start in range(0, len(payload), args.batch_size):
            batches.append((device, payload[start : start + args.batch_size]))
    batches_total = sum(len(batch) for _device, batch in batches)

    started = time.perf_counter()
    accepted = 0
    for device, batch in batches:
        accepted += device_readings_ingest(device=device, readings=batch, now=now).accepted
    batch_seconds = time.perf_counter() - started
    assert accepted == batches_total == DeviceReading.objects.count()

    retried = batches[:5]
    duplicates = sum(
        device_readings_ingest(device=device, readings=batch, now=now).duplicates
        for device, batch in retried
    )
    assert duplicates == sum(len(batch) for _device, batch in retried)
    assert DeviceReading.objects.count() == batches_total

    singles = make_devices("single", args.devices)
    per_single = -(-args.single_readings // args.devices)
    rows = []
    for device in singles:
        start = now - dt.timedelta(minutes=per_single)
        rows += [
            (
                device,
                start + dt.timedelta(minutes=i),
                3.0 + (i % 50) / 10,
                12.0 + (i % 7),
                i % 30 == 0,
            )
            for i in range(per_single)
        ]
    started = time.perf_counter()
    for device, recorded_at, temperature, energy, door in rows:
        DeviceReading.objects.create(
            device=device,
            recorded_at=recorded_at,
            received_at=now,
            temperature_c=temperature,
            energy_wh=energy,
            door_open=door,
        )
    single_seconds = time.perf_counter() - started

    batch_rate = batches_total / batch_seconds
    single_rate = len(rows) / single_seconds
    version, name = connection.pg_version, connection.settings_dict["NAME"]
    print(f"database: PostgreSQL {version // 10000}.{version % 10000} ({name})")
    print(
        f"batch service path:    {batches_total:>7,} readings in {batch_seconds:6.2f} s = "
        f"{batch_rate:>9,.0f} readings/s ({len(batches)} batches of ≤ {args.batch_size:,}, "
        f"validation included)"
    )
    print(
        f"single-row ORM create: {len(rows):>7,} readings in {single_seconds:6.2f} s = "
        f"{single_rate:>9,.0f} readings/s"
    )
    print(f"ratio batch / single:  {batch_rate / single_rate:.1f}×")
    print(f"retry of {len(retried)} batches:    {duplicates:,} duplicates reported, 0 stored")
    passed = batch_rate >= TARGET_PER_SECOND
    print(f"target ≥ {TARGET_PER_SECOND:,} readings/s: {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    args = _arguments()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    database = settings.DATABASES["default"]
    # Its own throwaway database, distinct from the one pytest uses for the same DATABASE_URL.
    database.setdefault("TEST", {})["NAME"] = f"bench_{database['NAME']}"
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=args.keepdb)
    try:
        return 0 if run(args) else 1
    finally:
        teardown_databases(old_config, verbosity=0, keepdb=args.keepdb)


if __name__ == "__main__":
    sys.exit(main())
