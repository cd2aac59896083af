"""Accepting an insight card drafts exactly one campaign for its store: the card's product,
hour, stock and tags, the template of the product's category when one fits. Through the portal
and the API (same path as before), idempotent, refused to other users."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from apps.campaigns.models import Campaign, CampaignProduct, StoreCampaign
from apps.campaigns.services.campaigns import campaign_draft_from_insight
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
    draft = campaign_draft_from_insight(card=card, by=owner)
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
    draft = campaign_draft_from_insight(card=card, by=None)
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
        draft = campaign_draft_from_insight(card=card, by=owner)
    assert draft.campaign.name == name
