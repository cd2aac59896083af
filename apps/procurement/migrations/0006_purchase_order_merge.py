"""One open consolidated purchase order per supplier and delivery date (docs/purchasing.md,
"Consolidation"): a later consolidation run adds to it instead of making another.

Before the constraint, the data step merges what earlier runs made: of the sent consolidated
orders of one supplier and delivery date, the first (lowest id, the one the supplier heard of
first) keeps its number and takes the others' lines — a product it already has grows (demand,
allocations per store, source links and reported shortage added; rounded again on the total
with the kept line's pack size and minimum), a product it has not comes over as it is — and
the others, left empty, are deleted (a sent order has no receipt nor exception yet; the
supplier's notification of one leads to a missing page). The kept order's revision goes up by
the number of orders merged into it and it is marked updated; a reported shortage is shared out
again over the merged lines by the rule of `allocations_short_update`, with the historical
models and the same pure split. Reversing leaves the orders merged.
"""

from collections import defaultdict

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone

SETTLED_ORDER_STATUSES = ("cancelled", "refunded")


def merge_open_consolidations(apps, schema_editor):
    PurchaseOrder = apps.get_model("procurement", "PurchaseOrder")
    Line = apps.get_model("procurement", "PurchaseOrderLine")
    Allocation = apps.get_model("procurement", "PurchaseOrderAllocation")
    Source = apps.get_model("procurement", "PurchaseOrderSource")
    open_orders = PurchaseOrder.objects.filter(run__isnull=False, status="sent")
    groups = list(
        open_orders.values_list("supplier_id", "delivery_date")
        .annotate(orders=Count("pk"))
        .filter(orders__gt=1)
        .order_by("supplier_id", "delivery_date")
    )
    if not groups:
        return
    # Only where there is something to merge (never on a new database): the project's own
    # rounding and shortage rule, as the services apply them.
    from apps.procurement.services.allocations import ShortageBearer, reported_short_split
    from apps.procurement.services.consolidation import order_quantity_rounded

    now = timezone.now()
    grown = set()
    for supplier_id, delivery_date, _orders in groups:
        keep, *absorbed = open_orders.filter(
            supplier_id=supplier_id, delivery_date=delivery_date
        ).order_by("pk")
        kept_lines = {line.product_id: line for line in Line.objects.filter(purchase_order=keep)}
        for other in absorbed:
            for line in Line.objects.filter(purchase_order=other).order_by("pk"):
                target = kept_lines.get(line.product_id)
                if target is None:
                    line.purchase_order = keep
                    line.save(update_fields=["purchase_order"])
                    kept_lines[line.product_id] = line
                    grown.add(line.pk)
                    continue
                kept_allocations = {
                    allocation.store_id: allocation
                    for allocation in Allocation.objects.filter(line=target)
                }
                for allocation in Allocation.objects.filter(line=line).order_by("pk"):
                    kept = kept_allocations.get(allocation.store_id)
                    if kept is None:
                        allocation.line = target
                        allocation.save(update_fields=["line"])
                        continue
                    kept.quantity += allocation.quantity
                    kept.reported_short_quantity += allocation.reported_short_quantity
                    kept.save(update_fields=["quantity", "reported_short_quantity"])
                    allocation.delete()
                Source.objects.filter(line=line).update(line=target)
                target.demanded_quantity += line.demanded_quantity
                target.ordered_quantity = order_quantity_rounded(
                    demanded=target.demanded_quantity,
                    pack_size=target.pack_size,
                    min_order_qty=target.min_order_qty,
                )
                target.surplus_quantity = target.ordered_quantity - target.demanded_quantity
                target.shortage_quantity = min(
                    target.shortage_quantity + line.shortage_quantity, target.ordered_quantity
                )
                target.save(
                    update_fields=[
                        "demanded_quantity",
                        "ordered_quantity",
                        "surplus_quantity",
                        "shortage_quantity",
                    ]
                )
                line.delete()
                grown.add(target.pk)
            if other.has_shortage:
                keep.has_shortage = True
                keep.shortage_note = keep.shortage_note or other.shortage_note
            other.delete()
        keep.updated_at = now
        keep.revision += len(absorbed)
        keep.save(update_fields=["has_shortage", "shortage_note", "updated_at", "revision"])
    _share_out_reported_shortages(
        Line=Line,
        Allocation=Allocation,
        Source=Source,
        line_ids=grown,
        split_for=reported_short_split,
        bearer=ShortageBearer,
    )
    if schema_editor.connection.vendor == "postgresql":
        # The foreign-key checks of the moves run now, not at commit: the constraint below
        # builds an index on the table, which PostgreSQL refuses while checks are pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _share_out_reported_shortages(*, Line, Allocation, Source, line_ids, split_for, bearer):
    """`allocations_short_update` for these lines, with the historical models."""
    beyond = {
        pk: max(0, shortage - surplus)
        for pk, shortage, surplus in Line.objects.filter(pk__in=line_ids).values_list(
            "pk", "shortage_quantity", "surplus_quantity"
        )
    }
    allocations = defaultdict(list)
    for allocation in Allocation.objects.filter(line_id__in=list(beyond)).order_by("pk"):
        allocations[allocation.line_id].append(allocation)
    bearers = defaultdict(list)
    for line_id, store_id, placed_at, order_id, quantity in (
        Source.objects.filter(
            line_id__in=[pk for pk, units in beyond.items() if units > 0],
            cancelled_at__isnull=True,
        )
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
        bearers[line_id].append(bearer(store_id, placed_at, order_id, quantity))
    changed = []
    for line_id, rows in allocations.items():
        split = split_for(
            units=beyond[line_id],
            allocations={allocation.store_id: allocation.quantity for allocation in rows},
            bearers=bearers[line_id],
        )
        for allocation in rows:
            if allocation.reported_short_quantity != split[allocation.store_id]:
                allocation.reported_short_quantity = split[allocation.store_id]
                changed.append(allocation)
    Allocation.objects.bulk_update(changed, ["reported_short_quantity"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('procurement', '0005_allocation_reported_short'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='consolidationrun',
            name='purchase_order_updated_count',
            field=models.PositiveIntegerField(default=0, verbose_name='purchase orders added to'),
        ),
        migrations.AddField(
            model_name='purchaseorder',
            name='revision',
            field=models.PositiveIntegerField(default=1, verbose_name='revision'),
        ),
        migrations.AddField(
            model_name='purchaseorder',
            name='updated_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last updated'),
        ),
        migrations.AlterField(
            model_name='consolidationrun',
            name='purchase_order_count',
            field=models.PositiveIntegerField(default=0, verbose_name='purchase orders created'),
        ),
        migrations.AlterField(
            model_name='consolidationrun',
            name='purchase_order_line_count',
            field=models.PositiveIntegerField(default=0, verbose_name='purchase order lines created or added to'),
        ),
        migrations.RunPython(merge_open_consolidations, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='purchaseorder',
            constraint=models.UniqueConstraint(condition=models.Q(('run__isnull', False), ('status', 'sent')), fields=('supplier', 'delivery_date'), name='purchase_order_one_open_consolidation'),
        ),
    ]
