"""Accepting an insight card drafts exactly one campaign for its store: the card's product,
hour, stock and tags, the template of the product's category when one fits. Through the portal
and the API (same path as before), idempotent, refused to other users."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import Campaign, CampaignProduct, ScenarioTemplate, StoreCampaign
from apps.campaigns.selectors.campaigns import campaign_launch_overlaps
from apps.campaigns.services.campaigns import (
    CampaignOverlapError,
    InsightOverlapError,
    InsightStoreClosedError,
    campaign_draft_from_insight,
    campaign_launch,
    store_campaign_decline,
)
from tests.campaigns.factories import ScenarioTemplateFactory
from tests.catalog.factories import InsightCardFactory
from tests.factories import CategoryFactory, ProductFactory, TagFactory


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    settings.LANGUAGE_CODE = "en"


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def card(store: object) -> object:
    """A card for 低糖蓝莓 (category berries under fruit) at 19:00, stock 15, tag 有孩家庭; a
    summer template covers fruit."""
    fruit = CategoryFactory(code="FRUIT", name="水果")
    berries = CategoryFactory(code="FRUIT-BERRY", name="浆果", parent=fruit)
    template = ScenarioTemplateFactory(code="summer-fruit", name="夏季水果季", duration_days=3)
    template.categories.set([fruit])
    ScenarioTemplateFactory(code="school", name="开学季").categories.set([CategoryFactory()])
    family = TagFactory(name="有孩家庭")
    return InsightCardFactory(
        store=store,
        product=ProductFactory(name="低糖蓝莓", category=berries),
        broadcast_hour=19,
        stock_qty=15,
        tags=[{"id": family.pk, "name": "有孩家庭", "lift": 2.1}],
    )


def test_card_becomes_a_draft_with_its_product_hour_stock_tags_and_template(
    card: object, owner: object
) -> None:
    draft = campaign_draft_from_insight(card=card, by=owner).store_campaign
    campaign = draft.campaign
    assert draft.status == StoreCampaign.Status.DRAFT
    assert draft.store == card.store
    assert campaign.origin == Campaign.Origin.INSIGHT
    assert campaign.insight_card == card
    assert campaign.template.code == "summer-fruit"
    assert campaign.broadcast_hour == 19
    assert campaign.ends_on - campaign.starts_on == dt.timedelta(days=2)
    assert campaign.name == "低糖蓝莓 (insight)"
    assert list(campaign.target_tags.values_list("name", flat=True)) == ["有孩家庭"]
    assert list(
        CampaignProduct.objects.filter(campaign=campaign).values_list(
            "product_id", "suggested_stock"
        )
    ) == [(card.product_id, 15)]


def test_no_fitting_template_leaves_it_empty(store: object) -> None:
    card = InsightCardFactory(store=store)
    draft = campaign_draft_from_insight(card=card, by=None).store_campaign
    assert draft.campaign.template is None
    assert draft.campaign.starts_on == draft.campaign.ends_on


def test_accepting_twice_in_the_portal_makes_one_draft(card: object, owner: object) -> None:
    client = _client(owner)
    url = reverse("campaigns:insight-accept", args=[card.store_id, card.pk])
    first = client.post(url)
    second = client.post(url)
    draft = StoreCampaign.objects.get()
    assert Campaign.objects.count() == 1
    detail = reverse("campaigns:detail", args=[card.store_id, draft.pk])
    assert first["Location"] == detail
    assert second["Location"] == detail
    card.refresh_from_db()
    assert card.accepted_by == owner


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
def test_other_users_cannot_accept(who: str, request: pytest.FixtureRequest, card: object) -> None:
    url = reverse("campaigns:insight-accept", args=[card.store_id, card.pk])
    assert _client(request.getfixturevalue(who)).post(url).status_code == 403
    card.refresh_from_db()
    assert card.accepted_at is None
    assert Campaign.objects.count() == 0


def test_anonymous_cannot_accept(card: object) -> None:
    url = reverse("campaigns:insight-accept", args=[card.store_id, card.pk])
    response = Client().post(url)
    assert response.status_code == 302
    assert Campaign.objects.count() == 0


def test_api_accepts_once_and_answers_the_same_draft(
    card: object, owner: object, other_owner: object, supplier_user: object
) -> None:
    url = reverse("api-decisions-insight-accept", args=[card.store_id, card.pk])
    assert url == f"/api/v1/stores/{card.store_id}/decisions/insights/{card.pk}/accept/"
    for refused in (other_owner, supplier_user, None):
        assert _client(refused).post(url).status_code in {401, 403}
    assert Campaign.objects.count() == 0
    first = _client(owner).post(url)
    second = _client(owner).post(url)
    assert first.status_code == 200
    assert first.json()["accepted"] is True
    assert second.json()["accepted"] is False
    assert first.json()["card"]["accepted_at"] is not None
    draft = StoreCampaign.objects.get()
    assert first.json()["store_campaign"]["id"] == draft.pk
    assert second.json()["store_campaign"]["id"] == draft.pk
    assert first.json()["store_campaign"]["status"] == "draft"
    assert first.json()["store_campaign"]["broadcast_hour"] == 19


def test_api_refuses_a_card_of_another_store(
    card: object, owner: object, other_store: object
) -> None:
    stranger = InsightCardFactory(store=other_store)
    url = reverse("api-decisions-insight-accept", args=[card.store_id, stranger.pk])
    assert _client(owner).post(url).status_code == 404
    stranger.refresh_from_db()
    assert stranger.accepted_at is None
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize(
    ("project_language", "page_language", "name"),
    [("zh-hans", "en", "低糖蓝莓（洞察）"), ("en", "zh-hans", "低糖蓝莓 (insight)")],
)
def test_the_drafted_campaign_is_named_in_the_project_language_whatever_the_page_language(
    card: object,
    owner: object,
    settings: object,
    project_language: str,
    page_language: str,
    name: str,
) -> None:
    from django.utils import translation

    settings.LANGUAGE_CODE = project_language
    with translation.override(page_language):
        draft = campaign_draft_from_insight(card=card, by=owner).store_campaign
    assert draft.campaign.name == name


# --- The template's overlap rule, as HQ's launch has it (docs/campaigns.md) -----------------


def _hq_launch(card: object, *, stores: list[object] | None = None) -> Campaign:
    """HQ launches the card's template (夏季水果季) for three days from today at the stores:
    whatever the hour, the card's campaign (today or tomorrow) overlaps it."""
    template = ScenarioTemplate.objects.get(code="summer-fruit")
    return campaign_launch(
        template=template,
        starts_on=timezone.localdate(),
        products=[ProductFactory(name="西瓜")],
        stores=stores if stores is not None else [card.store],
        by=None,
    )


def test_a_card_is_not_accepted_while_the_store_takes_part_in_a_campaign_of_its_template(
    card: object, owner: object
) -> None:
    hq = _hq_launch(card)
    with pytest.raises(InsightOverlapError) as refusal:
        campaign_draft_from_insight(card=card, by=owner)
    assert refusal.value.campaigns == [hq]
    assert refusal.value.store_campaigns == [StoreCampaign.objects.get(campaign=hq)]
    assert refusal.value.messages == [
        f"Not accepted: this store already takes part in “夏季水果季” ({hq.starts_on} – "
        f"{hq.ends_on}), a campaign of the same template (夏季水果季) on overlapping days, and "
        "only one runs at a time. A declined draft does not count."
    ]
    card.refresh_from_db()
    assert (card.accepted_at, card.accepted_by) == (None, None)
    assert list(Campaign.objects.all()) == [hq]


def test_the_overlap_refusal_is_read_by_the_acceptance_not_by_the_error(
    card: object, owner: object, django_assert_num_queries: object
) -> None:
    """The error is a value: it ran a query (the store's rows) in its constructor, and one
    more per campaign for the template its message names. The acceptance reads them before
    it raises; building the error runs none."""
    hq = _hq_launch(card)
    overlaps = list(
        campaign_launch_overlaps(
            template=hq.template,
            store_ids=[card.store_id],
            starts_on=hq.starts_on,
            ends_on=hq.ends_on,
        )
    )
    taking_part = [StoreCampaign.objects.get(campaign=hq)]
    with django_assert_num_queries(0):
        error = InsightOverlapError(overlaps, store_campaigns=taking_part)
    assert (error.campaigns, error.store_campaigns) == ([hq], taking_part)
    assert "a campaign of the same template (夏季水果季)" in error.messages[0]


def test_the_portal_refusal_names_the_campaign_and_opens_it(card: object, owner: object) -> None:
    hq = _hq_launch(card)
    hq_draft = StoreCampaign.objects.get(campaign=hq)
    client = _client(owner)
    response = client.post(reverse("campaigns:insight-accept", args=[card.store_id, card.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[card.store_id, hq_draft.pk])
    page = client.get(response["Location"])
    assert "Not accepted: this store already takes part in “夏季水果季”" in page.content.decode()
    card.refresh_from_db()
    assert card.accepted_at is None
    assert list(Campaign.objects.all()) == [hq]


def test_the_api_refuses_with_409_overlap_naming_the_campaign(card: object, owner: object) -> None:
    hq = _hq_launch(card)
    hq_draft = StoreCampaign.objects.get(campaign=hq)
    url = reverse("api-decisions-insight-accept", args=[card.store_id, card.pk])
    response = _client(owner).post(url)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "overlap"
    assert body["detail"].startswith("Not accepted: this store already takes part in “夏季水果季”")
    assert [
        (error["code"], error["campaign"], error["store_campaign"], error["starts_on"])
        for error in body["errors"]
    ] == [("overlap", hq.pk, hq_draft.pk, hq.starts_on.isoformat())]
    card.refresh_from_db()
    assert card.accepted_at is None
    assert Campaign.objects.count() == 1


def test_a_declined_draft_or_another_stores_campaign_does_not_block_the_card(
    card: object, owner: object, other_store: object
) -> None:
    hq = _hq_launch(card)
    elsewhere = _hq_launch(card, stores=[other_store])
    store_campaign_decline(store_campaign=StoreCampaign.objects.get(campaign=hq), by=owner)
    draft = campaign_draft_from_insight(card=card, by=owner)
    assert draft.accepted is True
    assert draft.store_campaign.campaign.template.code == "summer-fruit"
    assert (
        Campaign.objects.exclude(pk__in=[hq.pk, elsewhere.pk]).get()
        == draft.store_campaign.campaign
    )


def test_a_second_card_of_the_same_template_is_refused_naming_the_first(
    card: object, owner: object, store: object
) -> None:
    first = campaign_draft_from_insight(card=card, by=owner)
    watermelon = InsightCardFactory(
        store=store, product=ProductFactory(name="西瓜", category=card.product.category)
    )
    with pytest.raises(InsightOverlapError) as refusal:
        campaign_draft_from_insight(card=watermelon, by=owner)
    assert refusal.value.campaigns == [first.store_campaign.campaign]
    watermelon.refresh_from_db()
    assert watermelon.accepted_at is None
    assert Campaign.objects.count() == 1


def test_hq_cannot_launch_the_template_over_an_accepted_card_without_launching_alongside(
    card: object, owner: object
) -> None:
    draft = campaign_draft_from_insight(card=card, by=owner)
    with pytest.raises(CampaignOverlapError) as refusal:
        _hq_launch(card)
    assert refusal.value.campaigns == [draft.store_campaign.campaign]
    assert Campaign.objects.count() == 1


# --- HQ's admin action: the same acceptance as the portal -----------------------------------


def _admin_accept(hq_user: object, *cards: object) -> list[str]:
    """HQ runs "Accept the selected insight cards" on the cards: the messages shown."""
    client = _client(hq_user)
    response = client.post(
        reverse("admin:catalog_insightcard_changelist"),
        {"action": "accept_cards", "_selected_action": [card.pk for card in cards]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_the_admin_accept_drafts_the_cards_campaign_as_the_portal_does(
    card: object, hq_user: object
) -> None:
    assert _admin_accept(hq_user, card) == ["1 insight card accepted and its campaign drafted."]
    card.refresh_from_db()
    assert card.accepted_by == hq_user
    draft = StoreCampaign.objects.get()
    assert (draft.store, draft.status) == (card.store, StoreCampaign.Status.DRAFT)
    assert draft.campaign.insight_card == card
    assert draft.campaign.template.code == "summer-fruit"
    # Again: nothing changes, and the message says why rather than "0 accepted".
    assert _admin_accept(hq_user, card) == [
        f"低糖蓝莓 ({card.store.code} {card.day}): Already accepted: its campaign "
        "“低糖蓝莓 (insight)” was drafted earlier."
    ]
    assert Campaign.objects.count() == 1


def test_hq_procurement_reads_the_cards_but_may_not_accept_them(
    card: object, roles: None, store: object
) -> None:
    """Accepting drafts a campaign, and HQ procurement holds no campaign permission: the admin
    does not offer the action (a forged POST changes nothing) and the portal refuses it."""
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    buyer = UserFactory(is_staff=True, username="buyer")
    buyer.groups.add(Group.objects.get(name="HQ procurement"))
    client = _client(buyer)
    changelist = reverse("admin:catalog_insightcard_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert "accept_cards" not in page.content.decode()
    client.post(changelist, {"action": "accept_cards", "_selected_action": [card.pk]})
    portal = client.post(
        reverse("campaigns:insight-accept", args=[store.pk, card.pk]), follow=False
    )
    assert portal.status_code == 403
    card.refresh_from_db()
    assert (card.accepted_at, card.accepted_by) == (None, None)
    assert Campaign.objects.count() == 0


def test_the_admin_accept_refuses_an_overlapping_card_naming_the_campaign(
    card: object, hq_user: object, other_store: object
) -> None:
    hq = _hq_launch(card)
    elsewhere = InsightCardFactory(store=other_store, product=card.product)
    messages = _admin_accept(hq_user, card, elsewhere)
    assert messages == [
        "1 insight card accepted and its campaign drafted.",
        f"低糖蓝莓 ({card.store.code} {card.day}): Not accepted: this store already takes part "
        f"in “夏季水果季” ({hq.starts_on} – {hq.ends_on}), a campaign of the same template "
        "(夏季水果季) on overlapping days, and only one runs at a time. A declined draft does "
        "not count.",
    ]
    card.refresh_from_db()
    assert card.accepted_at is None
    elsewhere.refresh_from_db()
    assert elsewhere.accepted_by == hq_user
    assert StoreCampaign.objects.get(campaign__insight_card=elsewhere).store == other_store
    assert Campaign.objects.count() == 2


# --- A store not open for trade: no campaign, by any door -----------------------------------


def _store_status(card: object, status: str) -> None:
    card.store.status = status
    card.store.save(update_fields=["status"])


@pytest.mark.parametrize("status", ["preparing", "suspended", "closed"])
def test_a_card_of_a_store_not_open_for_trade_is_not_accepted(
    card: object, owner: object, status: str
) -> None:
    _store_status(card, status)
    with pytest.raises(InsightStoreClosedError) as refusal:
        campaign_draft_from_insight(card=card, by=owner)
    assert refusal.value.code == "store_closed"
    assert refusal.value.messages == [
        f"Not accepted: store {card.store.code} is not open for trade "
        f"({card.store.get_status_display()}), so no campaign can be drafted for it."
    ]
    card.refresh_from_db()
    assert (card.accepted_at, card.accepted_by) == (None, None)
    assert Campaign.objects.count() == 0


def test_a_card_accepted_while_open_still_answers_its_draft_after_the_store_closes(
    card: object, owner: object
) -> None:
    first = campaign_draft_from_insight(card=card, by=owner)
    _store_status(card, "suspended")
    again = campaign_draft_from_insight(card=card, by=owner)
    assert (again.accepted, again.store_campaign) == (False, first.store_campaign)
    assert Campaign.objects.count() == 1


def test_the_portal_refuses_a_closed_stores_card_and_hides_accept(
    card: object, owner: object
) -> None:
    _store_status(card, "suspended")
    client = _client(owner)
    response = client.post(reverse("campaigns:insight-accept", args=[card.store_id, card.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("decisions:store", args=[card.store_id])
    messages = [str(message) for message in client.get(response["Location"]).context["messages"]]
    assert messages == [
        f"Not accepted: store {card.store.code} is not open for trade (Suspended), so no "
        "campaign can be drafted for it."
    ]
    card.refresh_from_db()
    assert card.accepted_at is None
    assert Campaign.objects.count() == 0


def test_the_api_refuses_a_closed_stores_card_with_409_store_closed(
    card: object, owner: object
) -> None:
    _store_status(card, "closed")
    url = reverse("api-decisions-insight-accept", args=[card.store_id, card.pk])
    response = _client(owner).post(url)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "store_closed"
    assert body["detail"] == (
        f"Not accepted: store {card.store.code} is not open for trade (Closed), so no "
        "campaign can be drafted for it."
    )
    assert [(error["code"], error["store_status"]) for error in body["errors"]] == [
        ("store_closed", "closed")
    ]
    card.refresh_from_db()
    assert card.accepted_at is None
    assert Campaign.objects.count() == 0


def test_the_admin_accept_refuses_a_closed_stores_card(
    card: object, hq_user: object, other_store: object
) -> None:
    _store_status(card, "preparing")
    elsewhere = InsightCardFactory(store=other_store, product=card.product)
    assert _admin_accept(hq_user, card, elsewhere) == [
        "1 insight card accepted and its campaign drafted.",
        f"低糖蓝莓 ({card.store.code} {card.day}): Not accepted: store {card.store.code} is "
        "not open for trade (Preparing), so no campaign can be drafted for it.",
    ]
    card.refresh_from_db()
    assert card.accepted_at is None
    assert StoreCampaign.objects.get().store == other_store
