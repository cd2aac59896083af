"""A confirmed store campaign planned every product as a group buy, even one sold at its list
price (an insight card's draft without a template): the owner's promotions table read
"团购 0%". Such a row is a live broadcast with no discount (what `_promotions_plan` now plans);
rewrite the rows already planned. Only rows a store campaign planned, and only at 0 %."""

from django.db import migrations


def zero_group_buys_to_broadcasts(apps, schema_editor):
    Promotion = apps.get_model("campaigns", "Promotion")
    Promotion.objects.filter(
        store_campaign__isnull=False, kind="group_buy", discount_percent=0
    ).update(kind="broadcast", discount_percent=None)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0017_scenario_template_products")]

    operations = [
        migrations.RunPython(zero_group_buys_to_broadcasts, migrations.RunPython.noop),
    ]
