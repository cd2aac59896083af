"""The pack's pickup day: the 接龙 copy promises the day consolidation delivers what members
ordered by the cut-off (the cut-off's day + the longest lead time among the campaign's
products' preferred active offers), and no day when no product has a supplier."""

from __future__ import annotations

import datetime as dt
import importlib
import json

from django.apps import apps as django_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from apps.campaigns.models import ScenarioTemplate, StoreCampaign
from apps.campaigns.services.packs import (
    pack_context,
    store_campaign_pack_generate,
    template_render,
)
from apps.campaigns.sources import pack_sources
from apps.campaigns.views.broadcasts import default_deadline
from apps.ops.demo.campaigns import TEMPLATES as DEMO_TEMPLATES
from apps.procurement.models import PurchaseOrder
from apps.procurement.services.consolidation import purchase_orders_consolidate
from tests.campaigns.factories import (
    BroadcastFactory,
    CampaignFactory,
    CampaignProductFactory,
    ScenarioTemplateFactory,
    StoreCampaignFactory,
)
from tests.factories import (
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
)
from tests.procurement.factories import supply_order

ZONE = timezone.get_current_timezone()
# A campaign from 6 to 8 December (future: the offer form proposes its cut-off as deadline).
STARTS_ON = dt.date(2026, 12, 6)
ENDS_ON = dt.date(2026, 12, 8)
SUMMER_JIELONG = next(spec for spec in DEMO_TEMPLATES if spec.code == "summer-fruit").jielong


def _store_campaign(
    *, jielong: str = "", status: str = StoreCampaign.Status.CONFIRMED
) -> StoreCampaign:
    """A store campaign (6–8 December, broadcast on the 6th at 20:00) offering blueberries and
    milk, neither with a supplier yet; the template's 接龙 text is `jielong` ("" = default)."""
    template = ScenarioTemplateFactory(jielong_copy_template=jielong)
    campaign = CampaignFactory(
        template=template, name="蓝莓季", starts_on=STARTS_ON, ends_on=ENDS_ON, broadcast_hour=20
    )
    CampaignProductFactory(
        campaign=campaign, product=ProductFactory(name="低糖蓝莓 125g"), position=0
    )
    CampaignProductFactory(campaign=campaign, product=ProductFactory(name="鲜牛奶 1L"), position=1)
    store_campaign = StoreCampaignFactory(
        campaign=campaign,
        store=StoreFactory(name="邻里优选·和睦店"),
        status=status,
        confirmed_at=timezone.now() if status == StoreCampaign.Status.CONFIRMED else None,
    )
    BroadcastFactory(
        store_campaign=store_campaign,
        store=store_campaign.store,
        scheduled_at=dt.datetime.combine(STARTS_ON, dt.time(20), tzinfo=ZONE),
    )
    return store_campaign


def _products(store_campaign: StoreCampaign) -> dict[str, object]:
    return {item.product.name: item.product for item in store_campaign.campaign.products.all()}


def _supply(store_campaign: StoreCampaign) -> None:
    """The blueberry farm delivers 3 days after the order, the dairy 1 day after."""
    products = _products(store_campaign)
    SupplierProductFactory(
        supplier=SupplierFactory(name="云南蓝莓果园"),
        product=products["低糖蓝莓 125g"],
        lead_time_days=3,
    )
    SupplierProductFactory(
        supplier=SupplierFactory(name="杭州鲜奶工厂"),
        product=products["鲜牛奶 1L"],
        lead_time_days=1,
    )


def test_a_three_day_lead_time_promises_pickup_three_days_after_the_cutoff(db: None) -> None:
    store_campaign = _store_campaign()
    _supply(store_campaign)

    with override("zh-hans"):
        context = pack_context(store_campaign=store_campaign, sources=pack_sources())

    assert context["cutoff"] == dt.datetime.combine(ENDS_ON, dt.time(22), tzinfo=ZONE)
    assert context["pickup_date"] == dt.date(2026, 12, 11)
    assert context["pickup_text"] == "12月11日"
    # The deadline the owner's offer form proposes is the copy's cut-off, so the day holds.
    broadcast = store_campaign.broadcast
    deadline = default_deadline(
        broadcast=broadcast, now=dt.datetime.combine(STARTS_ON, dt.time(19), tzinfo=ZONE)
    )
    assert deadline == context["cutoff"]
    assert timezone.localdate(deadline) + dt.timedelta(days=3) == context["pickup_date"]


def test_the_pickup_day_is_the_delivery_date_consolidation_gives_orders_placed_by_the_cutoff(
    db: None,
) -> None:
    store_campaign = _store_campaign()
    _supply(store_campaign)
    context = pack_context(store_campaign=store_campaign, sources=pack_sources())
    products = _products(store_campaign)
    supply_order(
        store=store_campaign.store,
        lines=[(products["低糖蓝莓 125g"], 2), (products["鲜牛奶 1L"], 1)],
        placed_at=context["cutoff"] - dt.timedelta(minutes=5),
    )

    purchase_orders_consolidate(cutoff=context["cutoff"])

    delivery = dict(PurchaseOrder.objects.values_list("supplier__name", "delivery_date"))
    assert delivery == {"云南蓝莓果园": dt.date(2026, 12, 11), "杭州鲜奶工厂": dt.date(2026, 12, 9)}
    assert context["pickup_date"] == max(delivery.values())


def test_without_a_supplier_no_pickup_day_is_promised(db: None) -> None:
    store_campaign = _store_campaign(jielong=SUMMER_JIELONG)
    products = _products(store_campaign)
    # Offers consolidation would not use: not preferred, or from an inactive supplier.
    SupplierProductFactory(product=products["低糖蓝莓 125g"], lead_time_days=3, is_preferred=False)
    SupplierProductFactory(
        supplier=SupplierFactory(is_active=False), product=products["鲜牛奶 1L"], lead_time_days=1
    )

    with override("zh-hans"):
        context = pack_context(store_campaign=store_campaign, sources=pack_sources())
    store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())

    assert context["pickup_date"] is None
    assert context["pickup_text"] == ""
    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.endswith("12月8日 22:00截单，到货后通知自提")
    assert "次日" not in store_campaign.jielong_copy


def test_the_demo_jielong_copy_names_the_pickup_day(db: None) -> None:
    store_campaign = _store_campaign(jielong=SUMMER_JIELONG)
    _supply(store_campaign)

    store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())

    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.endswith("12月8日 22:00截单，12月11日起到店自提")


def test_the_default_jielong_copy_names_the_pickup_day_in_chinese(db: None) -> None:
    store_campaign = _store_campaign()
    _supply(store_campaign)

    store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())

    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.splitlines()[-1] == "12月8日 22:00截单，12月11日起到店自提。"


def test_the_default_jielong_copy_names_the_pickup_day_in_english(
    db: None, settings: object
) -> None:
    settings.LANGUAGE_CODE = "en"
    store_campaign = _store_campaign()
    _supply(store_campaign)

    store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())

    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.splitlines()[-1] == (
        "Orders close December 8 22:00; pick up at the store from December 11."
    )


def test_the_default_jielong_copy_without_a_supplier_promises_no_day_in_either_language(
    db: None, settings: object
) -> None:
    store_campaign = _store_campaign()
    store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())
    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.splitlines()[-1] == "12月8日 22:00截单，到货后通知自提。"

    settings.LANGUAGE_CODE = "en"
    store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())
    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.splitlines()[-1] == (
        "Orders close December 8 22:00; we will tell you when it arrives for pickup."
    )


def test_the_owners_one_click_confirm_promises_the_suppliers_day(db: None) -> None:
    from tests.factories import owner_of

    store_campaign = _store_campaign(jielong=SUMMER_JIELONG, status=StoreCampaign.Status.DRAFT)
    store_campaign.broadcast.delete()
    _supply(store_campaign)
    client = Client()
    client.force_login(owner_of(store_campaign.store))

    response = client.post(
        reverse("campaigns:confirm", args=[store_campaign.store_id, store_campaign.pk])
    )

    assert response.status_code == 302
    store_campaign.refresh_from_db()
    assert store_campaign.status == StoreCampaign.Status.CONFIRMED
    assert store_campaign.jielong_copy.endswith("12月8日 22:00截单，12月11日起到店自提")


def test_the_admins_regenerate_action_promises_the_suppliers_day(db: None) -> None:
    store_campaign = _store_campaign(jielong=SUMMER_JIELONG)
    _supply(store_campaign)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:campaigns_storecampaign_changelist"),
        {"action": "regenerate_packs", ACTION_CHECKBOX_NAME: [store_campaign.pk]},
    )

    assert response.status_code == 302
    store_campaign.refresh_from_db()
    assert store_campaign.jielong_copy.endswith("12月8日 22:00截单，12月11日起到店自提")


def test_the_migration_gives_templates_with_the_old_default_the_pickup_day(db: None) -> None:
    migration = importlib.import_module("apps.campaigns.migrations.0011_jielong_pickup_day")
    old = ScenarioTemplateFactory(
        code="summer-fruit", jielong_copy_template=migration.FORMER_DEFAULTS[-1]
    )
    older = ScenarioTemplateFactory(
        code="family-weekend", jielong_copy_template=migration.FORMER_DEFAULTS[0]
    )
    edited_text = migration.FORMER_DEFAULTS[-1] + "\n满3件送小礼物"
    edited = ScenarioTemplateFactory(code="hq-own", jielong_copy_template=edited_text)

    migration.pickup_day_set(django_apps, None)
    migration.pickup_day_set(django_apps, None)

    texts = dict(ScenarioTemplate.objects.values_list("code", "jielong_copy_template"))
    assert texts[old.code] == migration.DEFAULT
    assert texts[older.code] == migration.DEFAULT
    assert texts[edited.code] == edited_text

    migration.pickup_day_unset(django_apps, None)

    texts = dict(ScenarioTemplate.objects.values_list("code", "jielong_copy_template"))
    assert texts[old.code] == texts[older.code] == migration.PREVIOUS_DEFAULT
    assert texts[edited.code] == edited_text


DRAGON_BOAT_WARMUP = next(spec for spec in DEMO_TEMPLATES if spec.code == "dragon-boat").warmup


def test_the_dragon_boat_warm_up_promises_the_suppliers_day_not_before_the_festival(
    db: None,
) -> None:
    store_campaign = _store_campaign()
    _supply(store_campaign)

    with override("zh-hans"):
        context = pack_context(store_campaign=store_campaign, sources=pack_sources())
    warmup = template_render(source=DRAGON_BOAT_WARMUP, context=context)

    assert "节前" not in warmup
    assert warmup.endswith("12月11日起到店自提，接龙锁定名额～")


def test_the_dragon_boat_warm_up_promises_no_day_without_a_supplier(db: None) -> None:
    store_campaign = _store_campaign()

    with override("zh-hans"):
        context = pack_context(store_campaign=store_campaign, sources=pack_sources())
    warmup = template_render(source=DRAGON_BOAT_WARMUP, context=context)

    assert warmup.endswith("到货后通知自提，接龙锁定名额～")


def test_the_migration_gives_the_untouched_dragon_boat_warm_up_the_pickup_day(db: None) -> None:
    migration = importlib.import_module("apps.campaigns.migrations.0012_dragon_boat_pickup_day")
    old = ScenarioTemplateFactory(code="dragon-boat", warmup_copy_template=migration.FORMER_DEFAULT)
    edited_text = migration.FORMER_DEFAULT.replace("节前到店自提", "6月18日前到店自提")
    edited = ScenarioTemplateFactory(code="hq-own", warmup_copy_template=edited_text)

    migration.pickup_day_set(django_apps, None)
    migration.pickup_day_set(django_apps, None)

    texts = dict(ScenarioTemplate.objects.values_list("code", "warmup_copy_template"))
    assert texts[old.code] == DRAGON_BOAT_WARMUP
    assert texts[edited.code] == edited_text

    migration.pickup_day_unset(django_apps, None)

    texts = dict(ScenarioTemplate.objects.values_list("code", "warmup_copy_template"))
    assert texts[old.code] == migration.FORMER_DEFAULT
    assert texts[edited.code] == edited_text


# --- no discount claimed without one (migration 0014) ----------------------------------------

SUMMER_OPENING = next(spec for spec in DEMO_TEMPLATES if spec.code == "summer-fruit").live_script


def _summer_pack(*, discount_percent: int) -> StoreCampaign:
    """The summer template's texts on a campaign at `discount_percent` off, its pack made."""
    store_campaign = _store_campaign(jielong=SUMMER_JIELONG)
    template = store_campaign.campaign.template
    template.live_script_template = SUMMER_OPENING
    template.save(update_fields=["live_script_template"])
    campaign = store_campaign.campaign
    campaign.discount_percent = discount_percent
    campaign.save(update_fields=["discount_percent"])
    _supply(store_campaign)
    with override("zh-hans"):
        store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())
    store_campaign.refresh_from_db()
    return store_campaign


def test_the_demo_texts_claim_no_discount_at_the_list_price(db: None) -> None:
    at_list_price = _summer_pack(discount_percent=0)
    blueberries = _products(at_list_price)["低糖蓝莓 125g"]

    assert "团购价" not in at_list_price.jielong_copy
    assert "原价" not in at_list_price.jielong_copy
    assert f"低糖蓝莓 125g ¥{blueberries.price}" in at_list_price.jielong_copy
    assert "团购价只在直播间" not in json.dumps(at_list_price.live_script, ensure_ascii=False)
    assert "2款当季水果。" in json.dumps(at_list_price.live_script, ensure_ascii=False)

    discounted = _summer_pack(discount_percent=20)
    assert "团购价¥" in discounted.jielong_copy
    assert "原价¥" in discounted.jielong_copy
    assert "2款当季水果，团购价只在直播间。" in json.dumps(
        discounted.live_script, ensure_ascii=False
    )


def test_the_migration_guards_the_discount_words_of_untouched_templates(db: None) -> None:
    migration = importlib.import_module(
        "apps.campaigns.migrations.0014_no_discount_claimed_without_one"
    )
    pickup_day = importlib.import_module("apps.campaigns.migrations.0011_jielong_pickup_day")
    # What 0011 left is what this one takes, and what it writes is the demo's current text.
    assert migration.FORMER_JIELONG == pickup_day.DEFAULT
    assert migration.JIELONG == SUMMER_JIELONG
    assert migration.OPENING == SUMMER_OPENING
    old = ScenarioTemplateFactory(
        code="summer-fruit",
        jielong_copy_template=migration.FORMER_JIELONG,
        live_script_template=migration.FORMER_OPENING,
    )
    edited_text = migration.FORMER_JIELONG + "\n满3件送小礼物"
    edited = ScenarioTemplateFactory(
        code="hq-own",
        jielong_copy_template=edited_text,
        live_script_template="HQ 自己写的开场",
    )

    migration.discount_guard_set(django_apps, None)
    migration.discount_guard_set(django_apps, None)

    rows = {
        code: (jielong, script)
        for code, jielong, script in ScenarioTemplate.objects.values_list(
            "code", "jielong_copy_template", "live_script_template"
        )
    }
    assert rows[old.code] == (migration.JIELONG, migration.OPENING)
    assert rows[edited.code] == (edited_text, "HQ 自己写的开场")

    migration.discount_guard_unset(django_apps, None)

    rows = {
        code: (jielong, script)
        for code, jielong, script in ScenarioTemplate.objects.values_list(
            "code", "jielong_copy_template", "live_script_template"
        )
    }
    assert rows[old.code] == (migration.FORMER_JIELONG, migration.FORMER_OPENING)
    assert rows[edited.code] == (edited_text, "HQ 自己写的开场")
