from django.db import migrations

# The demo's 端午节 warm-up text (apps/ops/demo/campaigns.py, template "dragon-boat") promised
# "节前到店自提" (pickup before the festival) whatever the suppliers' lead times give. As 0011
# did for the 接龙 text: a template still holding that former default gets the current one,
# which names the day consolidation delivers (`pickup_text`) or promises none; a text HQ edited
# matches neither and is left alone.
_HEAD = (
    "🐉 端午安康｜{{ starts_on|date:'n月j日' }}起 {{ store.name }}端午预售\n"
    "{% for p in products %}· {{ p.name }} ¥{{ p.campaign_price }}\n{% endfor %}"
)
FORMER_DEFAULT = _HEAD + "节前到店自提，接龙锁定名额～"
DEFAULT = (
    _HEAD + "{% if pickup_date %}{{ pickup_text }}起到店自提{% else %}到货后通知自提{% endif %}，"
    "接龙锁定名额～"
)


def pickup_day_set(apps, schema_editor):
    ScenarioTemplate = apps.get_model("campaigns", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(warmup_copy_template=FORMER_DEFAULT).update(
        warmup_copy_template=DEFAULT
    )


def pickup_day_unset(apps, schema_editor):
    ScenarioTemplate = apps.get_model("campaigns", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(warmup_copy_template=DEFAULT).update(
        warmup_copy_template=FORMER_DEFAULT
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0011_jielong_pickup_day"),
    ]

    operations = [
        migrations.RunPython(pickup_day_set, pickup_day_unset),
    ]
