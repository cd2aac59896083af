"""Default compensation policy rows (docs/after-sales.md); HQ edits the table in the admin.

Idempotent: a row is created only when its (kind, up-to amount) is missing, so rerunning (or
migrating a database where HQ already changed a row) never overwrites HQ's values. Reversing
leaves the rows: they may have been edited and cases point at them.
"""

from decimal import Decimal

from django.db import migrations

# (kind, up to yuan or None for any amount, remedy, charged to)
DEFAULTS = [
    # A small quality complaint: refund at once, the store bears it (it sold the goods).
    ("quality", Decimal("30.00"), "refund", "store"),
    # A larger one: the supplier replaces the goods.
    ("quality", None, "replacement", "supplier"),
    # Missing from what the supplier shipped: refund, charged to the supplier.
    ("missing", None, "refund", "supplier"),
    # Damaged in the regional delivery (small): replaced, HQ runs the delivery.
    ("damaged", Decimal("50.00"), "replacement", "hq"),
    # Damaged beyond that: refund, charged to the supplier (packing).
    ("damaged", None, "refund", "supplier"),
    # Late: a coupon as an apology, HQ bears it.
    ("late", None, "coupon", "hq"),
]


def create_defaults(apps, schema_editor):
    Policy = apps.get_model("procurement", "CompensationPolicy")
    for kind, max_amount, remedy, charged_to in DEFAULTS:
        Policy.objects.get_or_create(
            kind=kind,
            max_amount=max_amount,
            defaults={"remedy": remedy, "charged_to": charged_to, "needs_approval": True},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0003_fulfilment"),
    ]

    operations = [
        migrations.RunPython(create_defaults, migrations.RunPython.noop),
    ]
