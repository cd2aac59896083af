# The rounding surplus goes on the shelf: what stores found short at receiving is kept apart
# from the supplier's report, and a receipt line records the shelf units it accounted for.

import django.db.models.expressions
from django.db import migrations, models


def receiving_short_backfill(apps, schema_editor):
    """What stores already found short at receiving beyond the supplier's report: per receipt
    line, its short + damaged less its allocation's reported short (as receiving adds it to
    the line's shortage), summed per line and capped at the line's shortage."""
    ReceiptLine = apps.get_model("procurement", "ReceiptLine")
    Line = apps.get_model("procurement", "PurchaseOrderLine")
    found = {}
    for line_id, short, damaged, reported in ReceiptLine.objects.values_list(
        "allocation__line_id",
        "short_quantity",
        "damaged_quantity",
        "allocation__reported_short_quantity",
    ).iterator():
        if short + damaged > reported:
            found[line_id] = found.get(line_id, 0) + short + damaged - reported
    lines = list(Line.objects.filter(pk__in=list(found)))
    for line in lines:
        line.receiving_short_quantity = min(found[line.pk], line.shortage_quantity)
    Line.objects.bulk_update(lines, ["receiving_short_quantity"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("procurement", "0008_receiving_damaged_units"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='receiptline',
            name='receipt_line_accounts_for_allocation',
        ),
        migrations.AddField(
            model_name='purchaseorderline',
            name='receiving_short_quantity',
            field=models.PositiveIntegerField(db_default=0, verbose_name='short found at receiving'),
        ),
        migrations.AddField(
            model_name='receiptline',
            name='shelf_quantity',
            field=models.PositiveIntegerField(default=0, verbose_name='for the shelf'),
        ),
        migrations.AddConstraint(
            model_name='receiptline',
            constraint=models.CheckConstraint(condition=models.Q(('allocated_quantity', django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('received_quantity'), '+', models.F('short_quantity')), '+', models.F('damaged_quantity')), '-', models.F('shelf_quantity')))), name='receipt_line_accounts_for_allocation_and_shelf'),
        ),
        migrations.RunPython(receiving_short_backfill, migrations.RunPython.noop),
    ]
