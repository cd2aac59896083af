from django.db import migrations

# The demo templates' 接龙 text (apps/ops/demo/campaigns.py `_JIELONG`) promised "次日到店自提"
# (pickup the day after the cut-off) whatever the supplier's lead time. Templates still holding
# one of its former defaults get the current one, which names the day consolidation delivers
# (`pickup_text`) or promises none; a text HQ edited matches none of these and is left alone.
_HEAD = (
    "#接龙 {{ campaign.name }}｜{{ store.name }}\n"
    "{% for p in products %}{{ forloop.counter }}️⃣ {{ p.name }} 团购价¥{{ p.campaign_price }}"
    "（原价¥{{ p.price }}）\n{% endfor %}"
    "格式：序号. 名字 商品×数量（例：1. 李阿姨 蓝莓×2）\n"
)
_NUMBERED_HEAD = (
    "#接龙 {{ campaign.name }}｜{{ store.name }}\n"
    "{% for p in products %}{{ p.number }}️⃣ {{ p.name }} 团购价¥{{ p.campaign_price }}"
    "（原价¥{{ p.price }}）\n{% endfor %}"
    "格式：序号. 名字 商品编号×数量（例：1. 李阿姨 {{ products.0.number }}号×2）\n"
)
FORMER_DEFAULTS = (
    _HEAD + "{{ ends_on|date:'n月j日' }}截单，次日到店自提",
    _HEAD + "{{ cutoff_text }}截单，次日到店自提",
    _NUMBERED_HEAD + "{{ cutoff_text }}截单，次日到店自提",
)
PREVIOUS_DEFAULT = FORMER_DEFAULTS[-1]
DEFAULT = (
    _NUMBERED_HEAD + "{{ cutoff_text }}截单，"
    "{% if pickup_date %}{{ pickup_text }}起到店自提{% else %}到货后通知自提{% endif %}"
)


def pickup_day_set(apps, schema_editor):
    ScenarioTemplate = apps.get_model("campaigns", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(jielong_copy_template__in=FORMER_DEFAULTS).update(
        jielong_copy_template=DEFAULT
    )


def pickup_day_unset(apps, schema_editor):
    ScenarioTemplate = apps.get_model("campaigns", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(jielong_copy_template=DEFAULT).update(
        jielong_copy_template=PREVIOUS_DEFAULT
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_broadcast_viewers_reported_at"),
    ]

    operations = [
        migrations.RunPython(pickup_day_set, pickup_day_unset),
    ]
