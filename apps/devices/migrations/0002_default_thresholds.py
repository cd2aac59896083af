"""Default alert thresholds per device kind; HQ edits them in the admin afterwards.

Only missing kinds are created, so rerunning (or migrating a database where HQ already changed
a threshold) never overwrites HQ's values.
"""

from decimal import Decimal

from django.db import migrations

DEFAULTS = {
    # kind: (min °C, max °C, minutes out of range before alerting)
    "display_chiller": (Decimal("0.0"), Decimal("8.0"), 15),
    "fridge": (Decimal("0.0"), Decimal("10.0"), 20),
    "freezer": (Decimal("-25.0"), Decimal("-15.0"), 30),
    "pos_terminal": (None, None, 15),
}


def create_defaults(apps, schema_editor):
    Threshold = apps.get_model("devices", "DeviceKindThreshold")
    existing = set(Threshold.objects.values_list("kind", flat=True))
    Threshold.objects.bulk_create(
        [
            Threshold(
                kind=kind,
                min_temperature_c=low,
                max_temperature_c=high,
                minutes_out_of_range=minutes,
            )
            for kind, (low, high, minutes) in DEFAULTS.items()
            if kind not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0001_devices_readings_alerts"),
    ]

    operations = [
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
    ]
