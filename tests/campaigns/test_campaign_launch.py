"""HQ's launch (drafts per store, defaults from the template, validation), the owner's
confirmation (target snapshot, planned promotions, the scheduled broadcast, the pack; once),
declining, and HQ's cancellation."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.models import (
    Broadcast,
    Campaign,
    CampaignProduct,
    CampaignTarget,
    Promotion,
    ScenarioTemplate,
    StoreCampaign,
)
from apps.campaigns.services.campaigns import (
    CampaignOverlapError,
    CampaignProductSpec,
    campaign_cancel,
    campaign_launch,
    campaign_stores_add,
    store_campaign_confirm,
    store_campaign_decline,
)
from apps.customers.models import MemberTag, Segment, Tag
from apps.ops.demo.campaigns import demo_campaigns_seed
from apps.stores.models import Order, Store
from tests.campaigns.factories import ScenarioTemplateFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    RegionFactory,
    StoreFactory,
    TagFactory,
    UserFactory,
)

JULY_1 = dt.date(2026, 7, 1)


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def world(db: None) -> dict:
    """Region east with two open stores and one closed, region west with one store; a summer
    template (4 days, 19:00, 12% off, tag 水果控); blueberries at ¥20.00."""
    east, west = RegionFactory(name="东区"), RegionFactory(name="西区")
    fruit_fan = TagFactory(name="水果控")
    template = ScenarioTemplateFactory(
        code="summer", name="夏季水果季", duration_days=4, suggested_hour=19
    )
    template.default_discount_percent = 12
    template.save()
    template.target_tags.set([fruit_fan])
    return {
        "east_a": StoreFactory(region=east),
        "east_b": StoreFactory(region=east),
        "east_closed": StoreFactory(region=east, status=Store.Status.CLOSED),
        "west": StoreFactory(region=west),
        "east": east,
        "west_region": west,
        "template": template,
        "fruit_fan": fruit_fan,
        "blueberry": ProductFactory(name="蓝莓", price=Decimal("20.00")),
        "hq": UserFactory(is_staff=True),
    }


def _launch(world: dict, **kwargs: object) -> Campaign:
    arguments = {
        "template": world["template"],
        "starts_on": JULY_1,
        "products": [world["blueberry"]],
        "regions": [world["east"]],
        "by": world["hq"],
    }
    arguments.update(kwargs)
    return campaign_launch(**arguments)


def test_launch_to_a_region_drafts_one_store_campaign_per_open_store(world: dict) -> None:
    campaign = _launch(world, stores=[world["west"]])
    assert campaign.origin == Campaign.Origin.HQ
    assert campaign.name == "夏季水果季"
    assert campaign.ends_on == dt.date(2026, 7, 4)
    assert campaign.broadcast_hour == 19
    assert campaign.discount_percent == 12
    assert campaign.created_by == world["hq"]
    assert list(campaign.target_tags.all()) == [world["fruit_fan"]]
    assert set(campaign.stores.values_list("store_id", "status")) == {
        (world["east_a"].pk, "draft"),
        (world["east_b"].pk, "draft"),
        (world["west"].pk, "draft"),
    }
    assert list(CampaignProduct.objects.filter(campaign=campaign).values_list("product_id")) == [
        (world["blueberry"].pk,)
    ]


def test_launch_takes_explicit_values_over_the_template(world: dict) -> None:
    campaign = _launch(
        world,
        name="蓝莓节",
        ends_on=dt.date(2026, 7, 2),
        broadcast_hour=21,
        discount_percent=30,
        tags=[],
        products=[CampaignProductSpec(world["blueberry"], Decimal("15.00"), 50)],
        regions=[],
        stores=[world["west"]],
    )
    assert (campaign.name, campaign.ends_on, campaign.broadcast_hour) == (
        "蓝莓节",
        dt.date(2026, 7, 2),
        21,
    )
    assert campaign.discount_percent == 30
    assert campaign.target_tags.count() == 0
    item = CampaignProduct.objects.get(campaign=campaign)
    assert (item.price, item.suggested_stock) == (Decimal("15.00"), 50)
    assert list(campaign.stores.values_list("store_id", flat=True)) == [world["west"].pk]


def test_adding_stores_again_is_idempotent(world: dict) -> None:
    campaign = _launch(world)
    StoreCampaign.objects.filter(campaign=campaign, store=world["east_a"]).update(
        status=StoreCampaign.Status.DECLINED
    )
    added = campaign_stores_add(campaign=campaign, stores=[world["east_a"], world["west"]])
    assert added == 1
    assert StoreCampaign.objects.filter(campaign=campaign).count() == 3
    assert StoreCampaign.objects.get(campaign=campaign, store=world["east_a"]).status == "declined"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"ends_on": dt.date(2026, 6, 30)}, "ends_on", "The campaign cannot end before it starts."),
        ({"regions": [], "stores": []}, "stores", "Choose at least one open store"),
        ({"products": [], "template": None, "name": "x"}, "products", "Choose at least one"),
        ({"products": []}, "products", "The scenario template “夏季水果季” has no active products"),
        ({"discount_percent": 95}, "discount_percent", "between 0 and 90"),
        ({"broadcast_hour": 24}, "broadcast_hour", "between 0 and 23"),
    ],
)
def test_launch_refuses_bad_input_and_writes_nothing(
    world: dict, kwargs: dict, field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _launch(world, **kwargs)
    assert message in " ".join(refused.value.message_dict[field])
    assert Campaign.objects.count() == 0
    assert StoreCampaign.objects.count() == 0


def test_launch_refuses_an_inactive_template_and_only_closed_stores(world: dict) -> None:
    world["template"].is_active = False
    world["template"].save()
    with pytest.raises(ValidationError) as refused:
        _launch(world, regions=[], stores=[world["east_closed"]])
    assert "is not active" in refused.value.message_dict["template"][0]
    assert "Choose at least one open store" in refused.value.message_dict["stores"][0]
    assert Campaign.objects.count() == 0


def test_launch_without_products_offers_the_template_s_active_products_by_name(
    world: dict,
) -> None:
    watermelon = ProductFactory(name="西瓜", price=Decimal("30.00"))
    retired = ProductFactory(name="杨梅", is_active=False)
    world["template"].products.set([watermelon, retired, world["blueberry"]])
    campaign = _launch(world, products=[])
    assert list(campaign.products.values_list("product__name", "price", "position")) == [
        ("蓝莓", None, 0),
        ("西瓜", None, 1),
    ]
    # Listed products win over the template's.
    other = _launch(world, products=[watermelon], starts_on=dt.date(2026, 8, 1))
    assert list(other.products.values_list("product__name", flat=True)) == ["西瓜"]


def test_launch_without_products_names_the_template_that_has_none_in_chinese(
    world: dict,
) -> None:
    world["template"].products.set([ProductFactory(name="杨梅", is_active=False)])
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        _launch(world, products=[])
    assert refused.value.message_dict["products"] == [
        "场景模板“夏季水果季”没有在售的商品：请选择商品，或先给模板添加商品。"
    ]
    assert Campaign.objects.count() == 0


# --- the same template, the same stores, overlapping days ----------------------------------


def test_launch_refuses_the_same_template_at_a_store_on_overlapping_days_naming_it(
    world: dict,
) -> None:
    first = _launch(world, name="夏季水果季 · 蓝莓专场")  # east_a and east_b, 7月1日–4日
    with pytest.raises(CampaignOverlapError) as refused:
        _launch(world, starts_on=dt.date(2026, 7, 4), stores=[world["west"]])
    assert refused.value.campaigns == [first]
    assert refused.value.messages == [
        "“夏季水果季 · 蓝莓专场” (2026-07-01 – 2026-07-04) already offers this template at 2 of "
        "the chosen stores on overlapping days."
    ]
    assert Campaign.objects.count() == 1
    assert StoreCampaign.objects.count() == 2


def test_the_overlap_refusal_reads_in_chinese(world: dict) -> None:
    _launch(world, regions=[], stores=[world["east_a"]])
    with translation.override("zh-hans"), pytest.raises(CampaignOverlapError) as refused:
        _launch(world)
    assert refused.value.messages == [
        "“夏季水果季”（2026-07-01 – 2026-07-04）已在所选门店中的 1 家以同一模板开展，日期重叠。"
    ]


def test_launch_goes_ahead_where_nothing_of_the_template_still_runs(world: dict) -> None:
    first = _launch(world, regions=[], stores=[world["east_a"], world["east_b"]])
    StoreCampaign.objects.filter(campaign=first, store=world["east_a"]).update(
        status=StoreCampaign.Status.DECLINED
    )
    # The day after it ends; a store that declined it; another store; another template.
    _launch(world, starts_on=dt.date(2026, 7, 5), regions=[], stores=[world["east_b"]])
    _launch(world, regions=[], stores=[world["east_a"], world["west"]])
    other = ScenarioTemplateFactory(code="weekend", name="周末家庭日")
    _launch(world, template=other, regions=[world["east"]])
    # No template: nothing to compare with.
    _launch(world, template=None, name="蓝莓节", regions=[world["east"]])
    # A cancelled campaign no longer counts.
    campaign_cancel(campaign=first, by=None, today=JULY_1)
    _launch(world, regions=[], stores=[world["east_b"]])
    assert Campaign.objects.count() == 6


def test_launch_beside_the_overlapping_campaigns_hq_confirmed_and_only_those(
    world: dict,
) -> None:
    first = _launch(world, name="蓝莓专场")
    second = _launch(world, name="西瓜专场", overlaps_confirmed=[first])
    assert second.stores.count() == 2
    with pytest.raises(CampaignOverlapError) as refused:
        _launch(world, name="桃子专场", overlaps_confirmed=[first])
    assert refused.value.campaigns == [second]
    assert Campaign.objects.count() == 2


@pytest.fixture
def draft(world: dict) -> StoreCampaign:
    """A draft at east_a of a campaign targeting 水果控, with members in every situation."""
    campaign = _launch(world)
    store = world["east_a"]
    tag = world["fruit_fan"]

    def member(**kwargs: object) -> object:
        person = MemberFactory(**{"home_store": store, "marketing_consent": True, **kwargs})
        MemberTag.objects.create(member=person, tag=tag, source=MemberTag.Source.CHAT)
        return person

    world["targeted"] = member(name="李阿姨")
    world["buyer"] = member(home_store=world["west"], name="王先生")
    Order.objects.create(
        store=store,
        member=world["buyer"],
        channel=Order.Channel.POS,
        total=Decimal("10.00"),
        idempotency_key="buyer-1",
    )
    world["no_consent"] = member(marketing_consent=False)
    world["erased"] = member(is_erased=True)
    world["elsewhere"] = member(home_store=world["west"])
    world["untagged"] = MemberFactory(home_store=store, marketing_consent=True)
    return StoreCampaign.objects.get(campaign=campaign, store=store)


@pytest.mark.parametrize(
    ("project_language", "page_language", "reason"),
    [
        ("zh-hans", "en", "标签：VIP、水果控"),
        ("en", "zh-hans", "Tagged VIP, 水果控"),
    ],
)
def test_target_reasons_are_written_in_the_project_language_whatever_the_page_language(
    world: dict,
    draft: StoreCampaign,
    settings: object,
    project_language: str,
    page_language: str,
    reason: str,
) -> None:
    from django.utils import translation

    settings.LANGUAGE_CODE = project_language
    vip = TagFactory(name="VIP")  # sorts before 水果控 in any collation
    draft.campaign.target_tags.add(vip)
    MemberTag.objects.create(member=world["targeted"], tag=vip, source=MemberTag.Source.CHAT)
    with translation.override(page_language):
        store_campaign_confirm(store_campaign=draft, by=UserFactory())
    assert (
        CampaignTarget.objects.get(store_campaign=draft, member=world["targeted"]).reason == reason
    )


def test_confirm_snapshots_targets_plans_promotions_schedules_the_broadcast_and_makes_the_pack(
    world: dict, draft: StoreCampaign
) -> None:
    owner = UserFactory()
    result = store_campaign_confirm(store_campaign=draft, by=owner)
    draft.refresh_from_db()
    assert result.confirmed is True
    assert (result.targets, result.promotions) == (2, 1)
    assert draft.status == StoreCampaign.Status.CONFIRMED
    assert draft.confirmed_by == owner
    assert draft.confirmed_at is not None
    assert set(
        CampaignTarget.objects.filter(store_campaign=draft).values_list("member_id", "reason")
    ) == {(world["targeted"].pk, "Tagged 水果控"), (world["buyer"].pk, "Tagged 水果控")}
    promotion = Promotion.objects.get(store_campaign=draft)
    assert promotion.kind == Promotion.Kind.GROUP_BUY
    assert promotion.product == world["blueberry"]
    assert (promotion.starts_on, promotion.ends_on) == (JULY_1, dt.date(2026, 7, 4))
    assert promotion.discount_percent == 12
    assert promotion.status == Promotion.Status.PLANNED
    assert list(promotion.stores.all()) == [world["east_a"]]
    broadcast = Broadcast.objects.get(store_campaign=draft)
    assert broadcast.status == Broadcast.Status.SCHEDULED
    assert broadcast.store == world["east_a"]
    assert broadcast.scheduled_at == dt.datetime(2026, 7, 1, 19, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert draft.pack_generated_at is not None
    assert draft.poster.name.endswith(".png")
    assert len(draft.live_script) == 4


def test_a_second_confirm_changes_nothing(world: dict, draft: StoreCampaign) -> None:
    store_campaign_confirm(store_campaign=draft, by=None)
    draft.refresh_from_db()
    generated = draft.pack_generated_at
    again = store_campaign_confirm(store_campaign=draft, by=UserFactory())
    draft.refresh_from_db()
    assert again.confirmed is False
    assert draft.confirmed_by is None
    assert draft.pack_generated_at == generated
    assert CampaignTarget.objects.filter(store_campaign=draft).count() == 2
    assert Promotion.objects.filter(store_campaign=draft).count() == 1
    assert Broadcast.objects.filter(store_campaign=draft).count() == 1


def test_confirm_with_a_segment_targets_its_store_members_only(
    world: dict, draft: StoreCampaign
) -> None:
    segment = Segment.objects.create(name="果粉", marketing_consent_required=False)
    segment.tags_any.set([world["fruit_fan"]])
    Campaign.objects.filter(pk=draft.campaign_id).update(segment=segment)
    store_campaign_confirm(store_campaign=draft, by=None)
    assert set(
        CampaignTarget.objects.filter(store_campaign=draft).values_list("member_id", "reason")
    ) == {(world["targeted"].pk, "Segment: 果粉"), (world["buyer"].pk, "Segment: 果粉")}


def test_confirm_without_tags_or_segment_targets_every_consenting_store_member(
    world: dict, draft: StoreCampaign
) -> None:
    draft.campaign.target_tags.clear()
    world["template"].target_tags.clear()
    store_campaign_confirm(store_campaign=draft, by=None)
    assert set(CampaignTarget.objects.filter(store_campaign=draft).values_list("member_id")) == {
        (world["targeted"].pk,),
        (world["buyer"].pk,),
        (world["untagged"].pk,),
    }


def test_decline_only_a_draft(world: dict, draft: StoreCampaign) -> None:
    assert store_campaign_decline(store_campaign=draft, by=None) is True
    assert store_campaign_decline(store_campaign=draft, by=None) is False
    result = store_campaign_confirm(store_campaign=draft, by=None)
    draft.refresh_from_db()
    assert result.confirmed is False
    assert draft.status == StoreCampaign.Status.DECLINED
    assert CampaignTarget.objects.filter(store_campaign=draft).count() == 0
    assert Promotion.objects.count() == 0


def test_cancel_cancels_store_campaigns_and_their_promotions(
    world: dict, draft: StoreCampaign
) -> None:
    store_campaign_confirm(store_campaign=draft, by=None)
    campaign = draft.campaign
    other = StoreCampaign.objects.get(campaign=campaign, store=world["east_b"])
    store_campaign_decline(store_campaign=other, by=None)
    before = JULY_1 - dt.timedelta(days=1)
    assert campaign_cancel(campaign=campaign, by=world["hq"], today=before) == 1
    assert campaign_cancel(campaign=campaign, by=world["hq"], today=before) == 0
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert dict(
        StoreCampaign.objects.filter(campaign=campaign).values_list("store_id", "status")
    ) == {
        world["east_a"].pk: "cancelled",
        world["east_b"].pk: "declined",
    }
    assert list(Promotion.objects.values_list("status", flat=True)) == ["cancelled"]


def test_cancel_mid_campaign_keeps_the_days_that_ran(world: dict, draft: StoreCampaign) -> None:
    """Cancelled on its third day, the store's promotion ends that day instead of vanishing:
    the days sold at its price stay in the forecast's history."""
    store_campaign_confirm(store_campaign=draft, by=None)
    campaign = draft.campaign
    planned = list(Promotion.objects.values_list("starts_on", "ends_on", "status"))
    assert planned == [(JULY_1, dt.date(2026, 7, 4), "planned")]
    third_day = JULY_1 + dt.timedelta(days=2)
    assert campaign_cancel(campaign=campaign, by=world["hq"], today=third_day) == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert list(Promotion.objects.values_list("starts_on", "ends_on", "status")) == [
        (JULY_1, third_day, "planned")
    ]


def test_a_campaign_that_has_ended_is_not_cancelled(world: dict, draft: StoreCampaign) -> None:
    store_campaign_confirm(store_campaign=draft, by=None)
    campaign = draft.campaign
    after = campaign.ends_on + dt.timedelta(days=1)
    assert campaign_cancel(campaign=campaign, by=world["hq"], today=after) == 0
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE
    assert set(StoreCampaign.objects.values_list("status", flat=True)) == {"confirmed", "draft"}
    assert list(Promotion.objects.values_list("ends_on", "status")) == [
        (dt.date(2026, 7, 4), "planned")
    ]


def test_a_draft_of_a_cancelled_campaign_cannot_be_confirmed(world: dict) -> None:
    campaign = _launch(world)
    draft = StoreCampaign.objects.get(campaign=campaign, store=world["east_b"])
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    assert store_campaign_confirm(store_campaign=draft, by=None).confirmed is False
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.DRAFT
    assert Promotion.objects.count() == 0


# --- the admin ------------------------------------------------------------------------------


def _admin(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_add_opens_the_launch_form_and_launches(world: dict, hq_user: object) -> None:
    client = _admin(hq_user)
    url = reverse("admin:campaigns_campaign_add")
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="products"' in page.content.decode()
    response = client.post(
        url,
        {
            "template": world["template"].pk,
            "starts_on": "2026-07-01",
            "products": [world["blueberry"].pk],
            "regions": [world["east"].pk],
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    assert campaign.created_by == hq_user
    assert campaign.stores.count() == 2


def test_admin_launch_with_a_template_and_no_products_takes_the_template_s(
    world: dict, hq_user: object
) -> None:
    world["template"].products.set([world["blueberry"]])
    client = _admin(hq_user)
    url = reverse("admin:campaigns_campaign_add")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Empty: the template's products." in page
    response = client.post(
        url,
        {"template": world["template"].pk, "starts_on": "2026-07-01", "stores": [world["west"].pk]},
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert list(campaign.products.values_list("product_id", flat=True)) == [world["blueberry"].pk]


def test_admin_launch_of_a_template_without_products_says_so(world: dict, hq_user: object) -> None:
    response = _admin(hq_user).post(
        reverse("admin:campaigns_campaign_add"),
        {"template": world["template"].pk, "starts_on": "2026-07-01", "stores": [world["west"].pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "This field is required." not in text
    assert "The scenario template “夏季水果季” has no active products" in text
    assert Campaign.objects.count() == 0


def test_admin_second_launch_names_the_first_and_launches_only_when_ticked(
    world: dict, hq_user: object
) -> None:
    client = _admin(hq_user)
    url = reverse("admin:campaigns_campaign_add")
    form = {
        "template": world["template"].pk,
        "starts_on": "2026-07-01",
        "products": [world["blueberry"].pk],
        "regions": [world["east"].pk],
    }
    assert client.post(url, form).status_code == 302
    first = Campaign.objects.get()
    assert 'name="overlaps_confirmed"' not in client.get(url).content.decode()

    again = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    text = again.content.decode()
    assert again.status_code == 200
    assert "“夏季水果季” (2026-07-01 – 2026-07-04) already offers this template at 2" in text
    assert f'name="overlaps_confirmed" value="{first.pk}"' in text
    assert Campaign.objects.count() == 1

    confirmed = client.post(url, {**form, "overlaps_confirmed": [first.pk]})
    assert confirmed.status_code == 302
    assert Campaign.objects.count() == 2


def test_admin_launch_form_lays_out_its_pickers_as_the_admin_does(
    world: dict, hq_user: object
) -> None:
    page = _admin(hq_user).get(reverse("admin:campaigns_campaign_add")).content.decode()

    # The admin's form stylesheet (which styles the two-box picker) and its field rows.
    assert "admin/css/forms.css" in page
    assert '<div class="form-row field-products">' in page
    # Each picker sits in the box the picker's script fills, as filter_horizontal does: otherwise
    # the boxes land before the field's label.
    for name in ("products", "stores", "tags"):
        assert re.search(rf'<div class="related-widget-wrapper"><select name="{name}"', page)


def test_admin_launch_form_labels_are_capitalised_as_the_admin_s_own(
    world: dict, hq_user: object
) -> None:
    page = (
        _admin(hq_user)
        .get(reverse("admin:campaigns_campaign_add"), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    for label in ("Scenario template", "Starts on", "Products", "Target tags", "Discount (%)"):
        assert re.search(rf"<label[^>]*>{re.escape(label)}:</label>", page), label


def test_admin_launch_shows_service_errors_and_writes_nothing(world: dict, hq_user: object) -> None:
    response = _admin(hq_user).post(
        reverse("admin:campaigns_campaign_add"),
        {
            "starts_on": "2026-07-01",
            "ends_on": "2026-06-01",
            "products": [world["blueberry"].pk],
            "stores": [world["west"].pk],
            "name": "x",
        },
    )
    assert response.status_code == 200
    assert "The campaign cannot end before it starts." in response.content.decode()
    assert Campaign.objects.count() == 0


def test_admin_refuses_a_template_that_does_not_compile(world: dict, hq_user: object) -> None:
    template = world["template"]
    url = reverse("admin:campaigns_scenariotemplate_change", args=[template.pk])
    response = _admin(hq_user).post(
        url,
        {
            "name": template.name,
            "code": template.code,
            "is_active": "on",
            "suggested_hour": 20,
            "duration_days": 3,
            "offer_hours": 24,
            "default_discount_percent": 10,
            "warmup_copy_template": "{% for p in products %}",
        },
    )
    assert response.status_code == 200
    assert "Template syntax error" in response.content.decode()
    template.refresh_from_db()
    assert template.warmup_copy_template == "今晚{{ hour }}点，{{ store.name }}直播见！"


def test_admin_cancel_action(world: dict, hq_user: object) -> None:
    campaign = _launch(world, starts_on=timezone.localdate() + dt.timedelta(days=3))
    response = _admin(hq_user).post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "cancel_selected", "_selected_action": [campaign.pk]},
    )
    assert response.status_code == 302
    assert set(StoreCampaign.objects.values_list("status", flat=True)) == {"cancelled"}


def test_admin_cancel_action_leaves_an_ended_campaign_and_says_so(
    world: dict, hq_user: object
) -> None:
    ended = _launch(world, name="七月蓝莓")
    response = _admin(hq_user).post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "cancel_selected", "_selected_action": [ended.pk]},
        follow=True,
    )
    ended.refresh_from_db()
    assert ended.status == Campaign.Status.ACTIVE
    assert set(StoreCampaign.objects.values_list("status", flat=True)) == {"draft"}
    assert "1 campaign had already ended and was left as it ran: 七月蓝莓." in [
        str(message) for message in response.context["messages"]
    ]


def test_admin_target_list_masks_phones(world: dict, draft: StoreCampaign, hq_user: object) -> None:
    store_campaign_confirm(store_campaign=draft, by=None)
    page = _admin(hq_user).get(reverse("admin:campaigns_campaigntarget_changelist"))
    text = page.content.decode()
    phone = world["targeted"].phone
    assert page.status_code == 200
    assert f"{phone[3:6]}****{phone[-4:]}" in text
    assert phone[3:] not in text


def test_demo_seeds_five_templates_selling_points_and_a_summer_campaign(world: dict) -> None:
    blueberry = ProductFactory(name="低糖蓝莓（云南蓝莓）125g", price=Decimal("19.90"))
    watermelon = ProductFactory(name="8424西瓜 约5kg", price=Decimal("39.90"))
    stores = [world["east_a"], world["east_b"], world["west"]]
    counts = demo_campaigns_seed(stores=stores, today=dt.date(2026, 6, 30))
    assert counts == {"selling_points": 2, "templates": 5, "campaigns": 1}
    assert ScenarioTemplate.objects.filter(is_active=True).count() == 6  # + the fixture's
    blueberry.refresh_from_db()
    assert blueberry.selling_points.splitlines()[0] == "云南高原种植，昼夜温差大"
    campaign = Campaign.objects.get()
    assert (campaign.template.code, campaign.starts_on) == ("summer-fruit", JULY_1)
    assert set(campaign.template.products.all()) == {blueberry, watermelon}
    assert list(campaign.products.values_list("product_id", "price")) == [
        (blueberry.pk, Decimal("16.90")),
        (watermelon.pk, Decimal("34.90")),
    ]
    assert set(campaign.stores.values_list("store_id", flat=True)) == {
        world["east_a"].pk,
        world["east_b"].pk,
    }


def _campaign_form_post(campaign: Campaign, **changes: object) -> dict:
    """The campaign's change form as HQ would post it, its one product priced and deleted."""
    item = campaign.products.get()
    store_campaigns = list(campaign.stores.order_by("pk").values_list("pk", flat=True))
    data = {
        "name": campaign.name,
        "template": campaign.template_id,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "broadcast_hour": campaign.broadcast_hour,
        "discount_percent": campaign.discount_percent,
        "products-TOTAL_FORMS": 1,
        "products-INITIAL_FORMS": 1,
        "products-0-id": item.pk,
        "products-0-campaign": campaign.pk,
        "products-0-product": item.product_id,
        "products-0-price": "1.00",
        "products-0-suggested_stock": 1,
        "products-0-position": item.position,
        "products-0-DELETE": "on",
        "stores-TOTAL_FORMS": len(store_campaigns),
        "stores-INITIAL_FORMS": len(store_campaigns),
        "_save": "Save",
    }
    for number, pk in enumerate(store_campaigns):
        data[f"stores-{number}-id"] = pk
        data[f"stores-{number}-campaign"] = campaign.pk
    data.update(changes)
    return data


def test_admin_edits_a_campaign_s_terms_until_a_store_confirms(
    world: dict, hq_user: object
) -> None:
    campaign = _launch(world)
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    response = _admin(hq_user).post(url, _campaign_form_post(campaign, ends_on="2026-07-05"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.ends_on == dt.date(2026, 7, 5)
    assert campaign.products.count() == 0


def test_admin_keeps_a_confirmed_campaign_s_products_and_days(
    world: dict, draft: StoreCampaign, hq_user: object
) -> None:
    """Once a store confirmed, its pack numbered the items ("1号"), its offers were planned as
    promotions for the campaign's days: HQ's edits of the products and days would not reach
    them, so the form shows them read-only and a posted change is ignored."""
    store_campaign_confirm(store_campaign=draft, by=UserFactory())
    campaign = draft.campaign
    item = campaign.products.get()
    days = (campaign.starts_on, campaign.ends_on)
    client = _admin(hq_user)
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = client.get(url).content.decode()
    assert 'name="ends_on"' not in page
    assert 'name="products-0-price"' not in page
    response = client.post(
        url, _campaign_form_post(campaign, ends_on="2026-07-20", name="夏季水果季 · 东区")
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "夏季水果季 · 东区"
    assert (campaign.starts_on, campaign.ends_on) == days
    assert list(campaign.products.values_list("pk", "price")) == [(item.pk, item.price)]
    # The products' own list refuses the change and the delete, and adding to the campaign.
    item_url = reverse("admin:campaigns_campaignproduct_change", args=[item.pk])
    assert client.post(item_url, {"price": "1.00"}).status_code == 403
    delete_url = reverse("admin:campaigns_campaignproduct_delete", args=[item.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    added = client.post(
        reverse("admin:campaigns_campaignproduct_add"),
        {
            "campaign": campaign.pk,
            "product": ProductFactory().pk,
            "suggested_stock": 1,
            "position": 2,
        },
    )
    assert added.status_code == 200
    assert list(campaign.products.values_list("pk", "price")) == [(item.pk, item.price)]


def test_admin_campaign_list_says_whether_each_campaign_is_upcoming_running_or_over(
    world: dict, hq_user: object, settings: object
) -> None:
    """An active campaign whose last day is past reads "ended", not "in progress" (进行中)."""
    settings.LANGUAGE_CODE = "zh-hans"
    today = timezone.localdate()
    over = _launch(world, starts_on=today - dt.timedelta(days=20), name="十一月的")
    running = _launch(world, starts_on=today, regions=[world["west_region"]], name="今天的")
    upcoming = _launch(world, starts_on=today + dt.timedelta(days=20), name="下个月的")
    cancelled = _launch(world, starts_on=today + dt.timedelta(days=40), name="取消的")
    campaign_cancel(campaign=cancelled, by=None)
    page = _admin(hq_user).get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    states = {
        campaign.name: re.search(
            rf'{campaign.name}</a></th><td class="field-origin">[^<]*</td>'
            r'<td class="field-state">([^<]*)</td>',
            page,
        ).group(1)
        for campaign in (over, running, upcoming, cancelled)
    }
    assert states == {
        "十一月的": "已结束",
        "今天的": "进行中",
        "下个月的": "未开始",
        "取消的": "已取消",
    }


def test_admin_campaign_list_sorts_by_the_state_it_shows(world: dict, hq_user: object) -> None:
    """The state column sorted by the stored status, "active" for all but a cancelled one, so
    an ended campaign sorted among the upcoming ones. It sorts upcoming, running, ended,
    cancelled (and back)."""
    today = timezone.localdate()
    upcoming = _launch(world, starts_on=today + dt.timedelta(days=20), name="下个月的")
    running = _launch(world, starts_on=today, regions=[world["west_region"]], name="今天的")
    over = _launch(world, starts_on=today - dt.timedelta(days=20), name="十一月的")
    cancelled = _launch(world, starts_on=today + dt.timedelta(days=40), name="取消的")
    campaign_cancel(campaign=cancelled, by=None)
    client = _admin(hq_user)
    url = reverse("admin:campaigns_campaign_changelist")
    # The column's number as the list's sort links count it (the action checkbox first).
    column = client.get(url).context["cl"].list_display.index("state")

    def listed(order: str) -> list[Campaign]:
        return list(client.get(url, {"o": order}).context["cl"].result_list)

    assert listed(f"{column}") == [upcoming, running, over, cancelled]
    assert listed(f"-{column}") == [cancelled, over, running, upcoming]


def test_admin_campaign_list_filters_by_the_state_it_shows(
    world: dict, hq_user: object, settings: object
) -> None:
    """The status filter offered the stored status, active or cancelled, while the column says
    upcoming, running, ended or cancelled. It filters by what the column shows."""
    settings.LANGUAGE_CODE = "zh-hans"
    today = timezone.localdate()
    upcoming = _launch(world, starts_on=today + dt.timedelta(days=20), name="下个月的")
    running = _launch(world, starts_on=today, regions=[world["west_region"]], name="今天的")
    over = _launch(world, starts_on=today - dt.timedelta(days=20), name="十一月的")
    cancelled = _launch(world, starts_on=today + dt.timedelta(days=40), name="取消的")
    campaign_cancel(campaign=cancelled, by=None)
    client = _admin(hq_user)
    url = reverse("admin:campaigns_campaign_changelist")

    def listed(state: str) -> list[Campaign]:
        return list(client.get(url, {"state": state}).context["cl"].result_list)

    assert listed("upcoming") == [upcoming]
    assert listed("running") == [running]
    assert listed("ended") == [over]
    assert listed("cancelled") == [cancelled]
    page = client.get(url).content.decode()
    choices = re.findall(r'<a href="\?state=(\w+)">([^<]*)</a>', page)
    assert choices == [
        ("upcoming", "未开始"),
        ("running", "进行中"),
        ("ended", "已结束"),
        ("cancelled", "已取消"),
    ]


def test_admin_shows_a_store_campaign_s_offer_read_only_and_hq_s_promotions_editable(
    world: dict, draft: StoreCampaign, hq_user: object
) -> None:
    """The offer a confirmed store campaign planned is its pack's (product, days, discount): the
    forecast must read what the store offers, so HQ sees it, with its store campaign, but
    changes it with the campaign."""
    store_campaign_confirm(store_campaign=draft, by=UserFactory())
    offer = Promotion.objects.get(store_campaign=draft)
    own = Promotion.objects.create(
        name="蓝莓特价",
        kind=Promotion.Kind.PRICE,
        product=world["blueberry"],
        starts_on=JULY_1,
        ends_on=JULY_1,
        discount_percent=10,
    )
    client = _admin(hq_user)
    offer_url = reverse("admin:campaigns_promotion_change", args=[offer.pk])
    page = client.get(offer_url).content.decode()
    assert 'name="discount_percent"' not in page
    assert reverse("admin:campaigns_storecampaign_change", args=[draft.pk]) in page
    depth = offer.discount_percent
    assert client.post(offer_url, {"discount_percent": 50}).status_code == 403
    offer.refresh_from_db()
    assert offer.discount_percent == depth
    own_page = client.get(reverse("admin:campaigns_promotion_change", args=[own.pk]))
    assert 'name="discount_percent"' in own_page.content.decode()
    listed = client.get(reverse("admin:campaigns_promotion_changelist"), {"planned_by": "campaign"})
    assert list(listed.context["cl"].result_list) == [offer]


def test_a_segment_a_campaign_targets_cannot_be_deleted_under_it(
    world: dict, hq_user: object
) -> None:
    """Deleted, the segment left the campaign (and its template) with no segment: the drafts'
    target lists became the tags' or every store member's at confirmation. The delete page
    refuses and deletes nothing."""
    segment = Segment.objects.create(name="高价值")
    world["template"].target_segment = segment
    world["template"].save()
    campaign = _launch(world, segment=segment)
    response = _admin(hq_user).post(
        reverse("admin:customers_segment_delete", args=[segment.pk]), {"post": "yes"}
    )
    assert response.status_code == 200
    assert Segment.objects.filter(pk=segment.pk).exists()
    campaign.refresh_from_db()
    world["template"].refresh_from_db()
    assert (campaign.segment, world["template"].target_segment) == (segment, segment)


def test_a_tag_a_campaign_or_template_targets_cannot_be_deleted_under_it(
    world: dict, hq_user: object
) -> None:
    """Deleted, the tag's M2M rows vanished: a draft with no tag left targeted every member of
    the store. The delete page (and "delete selected") refuses, names the campaign and the
    template, and deletes nothing."""
    campaign = _launch(world)
    client = _admin(hq_user)
    tag = world["fruit_fan"]
    response = client.post(reverse("admin:customers_tag_delete", args=[tag.pk]), {"post": "yes"})
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("admin:campaigns_campaign_change", args=[campaign.pk]) in page
    assert reverse("admin:campaigns_scenariotemplate_change", args=[world["template"].pk]) in page
    bulk = client.post(
        reverse("admin:customers_tag_changelist"),
        {"action": "delete_selected", "_selected_action": [tag.pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert reverse("admin:campaigns_campaign_change", args=[campaign.pk]) in bulk.content.decode()
    assert list(campaign.target_tags.all()) == [tag]
    assert list(world["template"].target_tags.all()) == [tag]


def test_a_tag_only_a_cancelled_campaign_targeted_can_be_deleted(
    world: dict, hq_user: object
) -> None:
    campaign = _launch(world)
    world["template"].target_tags.clear()
    campaign_cancel(campaign=campaign, by=None, today=JULY_1)
    tag = world["fruit_fan"]
    response = _admin(hq_user).post(
        reverse("admin:customers_tag_delete", args=[tag.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()


def test_admin_cancel_action_says_why_it_cancelled_no_store_campaign(
    world: dict, hq_user: object
) -> None:
    """It answered "Cancelled 0 store campaigns." for a campaign cancelled before and for one
    every store had declined, without a word why."""
    later = timezone.localdate() + dt.timedelta(days=3)
    cancelled = _launch(world, name="早已取消", starts_on=later)
    campaign_cancel(campaign=cancelled, by=None)
    declined = _launch(world, name="都已婉拒", starts_on=later + dt.timedelta(days=10))
    for store_campaign in declined.stores.all():
        store_campaign_decline(store_campaign=store_campaign, by=None)
    response = _admin(hq_user).post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "cancel_selected", "_selected_action": [cancelled.pk, declined.pk]},
        follow=True,
    )
    shown = [(message.level_tag, str(message)) for message in response.context["messages"]]
    assert shown == [
        ("warning", "1 campaign was already cancelled: 早已取消."),
        (
            "warning",
            "1 campaign was cancelled with no store campaign to cancel (none was a draft or "
            "confirmed; declined ones stay declined): 都已婉拒.",
        ),
    ]
    declined.refresh_from_db()
    assert declined.status == Campaign.Status.CANCELLED
    assert set(declined.stores.values_list("status", flat=True)) == {"declined"}


def test_admin_regenerate_action_says_which_store_campaigns_it_skipped_and_why(
    world: dict, hq_user: object
) -> None:
    campaign = _launch(world)
    first, second = campaign.stores.order_by("pk")
    store_campaign_decline(store_campaign=first, by=None)
    response = _admin(hq_user).post(
        reverse("admin:campaigns_storecampaign_changelist"),
        {"action": "regenerate_packs", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    shown = [(message.level_tag, str(message)) for message in response.context["messages"]]
    assert shown == [
        (
            "warning",
            "Skipped 2 store campaigns that are not confirmed (Draft: 1, Declined: 1): only a "
            "confirmed one has a pack to regenerate; a draft gets its pack when its store "
            "confirms.",
        )
    ]
    second.refresh_from_db()
    assert second.pack_generated_at is None
