"""The stores' part of a shortage the supplier reported (docs/purchasing.md, "A reported
shortage and the allocations").

The data step shares out the shortages already reported on open purchase orders (sent,
confirmed or shipped) by the rule of `allocations_short_update`, with the historical models
and the same pure split; reversing leaves nothing to undo (the column goes).
"""

from collections import defaultdict

from django.db import migrations, models
from django.db.models import F

OPEN_STATUSES = ("sent", "confirmed", "shipped")
SETTLED_ORDER_STATUSES = ("cancelled", "refunded")


def share_out_reported_shortages(apps, schema_editor):
    Line = apps.get_model("procurement", "PurchaseOrderLine")
    Allocation = apps.get_model("procurement", "PurchaseOrderAllocation")
    Source = apps.get_model("procurement", "PurchaseOrderSource")
    beyond = dict(
        Line.objects.filter(
            purchase_order__status__in=OPEN_STATUSES,
            shortage_quantity__gt=F("surplus_quantity"),
        ).values_list("pk", F("shortage_quantity") - F("surplus_quantity"))
    )
    if not beyond:
        return
    # Only where a shortage was reported (never on a new database): the services' own rule.
    from apps.procurement.services.allocations import ShortageBearer, reported_short_split

    bearers = defaultdict(list)
    for line_id, store_id, placed_at, order_id, quantity in (
        Source.objects.filter(line_id__in=list(beyond), cancelled_at__isnull=True)
        .exclude(order_line__order__status__in=SETTLED_ORDER_STATUSES)
        .order_by("pk")
        .values_list(
            "line_id",
            "order_line__order__store_id",
            "order_line__order__placed_at",
            "order_line__order_id",
            "quantity",
        )
    ):
        bearers[line_id].append(ShortageBearer(store_id, placed_at, order_id, quantity))
    allocations = defaultdict(list)
    for allocation in Allocation.objects.filter(line_id__in=list(beyond)).order_by("pk"):
        allocations[allocation.line_id].append(allocation)
    changed = []
    for line_id, rows in allocations.items():
        split = reported_short_split(
            units=beyond[line_id],
            allocations={allocation.store_id: allocation.quantity for allocation in rows},
            bearers=bearers[line_id],
        )
        for allocation in rows:
            allocation.reported_short_quantity = split[allocation.store_id]
            changed.append(allocation)
    Allocation.objects.bulk_update(changed, ["reported_short_quantity"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0004_default_compensation_policies"),
        ("stores", "0008_merge_stop19"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchaseorderallocation",
            name="reported_short_quantity",
            field=models.PositiveIntegerField(
                db_default=0, verbose_name="short (reported by supplier)"
            ),
        ),
        migrations.AddConstraint(
            model_name="purchaseorderallocation",
            constraint=models.CheckConstraint(
                condition=models.Q(("reported_short_quantity__lte", models.F("quantity"))),
                name="purchase_allocation_short_within_quantity",
            ),
        ),
        migrations.RunPython(share_out_reported_shortages, migrations.RunPython.noop),
    ]
