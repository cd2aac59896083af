from django.db import migrations

# The demo templates' texts (apps/ops/demo/campaigns.py, template "summer-fruit" and every
# template's 接龙 text) said "团购价¥…（原价¥…）" and "团购价只在直播间" whatever the price: a
# campaign offered at its list price claimed a discount it did not give. As 0011 and 0012 did:
# a template still holding the former default gets the current one, which guards those words
# with `p.discounted` / `discounted`; a text HQ edited matches neither and is left alone.
_PICKUP = (
    "{{ cutoff_text }}截单，"
    "{% if pickup_date %}{{ pickup_text }}起到店自提{% else %}到货后通知自提{% endif %}"
)
_EXAMPLE = "格式：序号. 名字 商品编号×数量（例：1. 李阿姨 {{ products.0.number }}号×2）\n"
FORMER_JIELONG = (
    "#接龙 {{ campaign.name }}｜{{ store.name }}\n"
    "{% for p in products %}{{ p.number }}️⃣ {{ p.name }} 团购价¥{{ p.campaign_price }}"
    "（原价¥{{ p.price }}）\n{% endfor %}" + _EXAMPLE + _PICKUP
)
JIELONG = (
    "#接龙 {{ campaign.name }}｜{{ store.name }}\n"
    "{% for p in products %}{{ p.number }}️⃣ {{ p.name }} "
    "{% if p.discounted %}团购价¥{{ p.campaign_price }}（原价¥{{ p.price }}）"
    "{% else %}¥{{ p.campaign_price }}{% endif %}\n{% endfor %}" + _EXAMPLE + _PICKUP
)
_OPENING_HEAD = "各位邻居晚上好，欢迎来到{{ store.name }}的直播间！\n"
_OPENING_TAIL = "这场专为店里{{ target_count }}位老邻居准备，咱们马上开始！"
FORMER_OPENING = (
    _OPENING_HEAD
    + "今天是{{ campaign.name }}，{{ products|length }}款当季水果，团购价只在直播间。\n"
    + _OPENING_TAIL
)
OPENING = (
    _OPENING_HEAD
    + "今天是{{ campaign.name }}，{{ products|length }}款当季水果"
    + "{% if discounted %}，团购价只在直播间{% endif %}。\n"
    + _OPENING_TAIL
)


def discount_guard_set(apps, schema_editor):
    ScenarioTemplate = apps.get_model("campaigns", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(jielong_copy_template=FORMER_JIELONG).update(
        jielong_copy_template=JIELONG
    )
    ScenarioTemplate.objects.filter(live_script_template=FORMER_OPENING).update(
        live_script_template=OPENING
    )


def discount_guard_unset(apps, schema_editor):
    ScenarioTemplate = apps.get_model("campaigns", "ScenarioTemplate")
    ScenarioTemplate.objects.filter(jielong_copy_template=JIELONG).update(
        jielong_copy_template=FORMER_JIELONG
    )
    ScenarioTemplate.objects.filter(live_script_template=OPENING).update(
        live_script_template=FORMER_OPENING
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0013_offer_one_open_per_product"),
    ]

    operations = [
        migrations.RunPython(discount_guard_set, discount_guard_unset),
    ]
