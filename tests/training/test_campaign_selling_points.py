"""Knowledge-base selling points flow into campaign live scripts and live talking points; a
product without a published article keeps its own selling points."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.campaigns.models import Broadcast, StoreCampaign
from apps.campaigns.selectors.live import broadcast_snapshot
from apps.campaigns.services.packs import pack_context, store_campaign_pack_generate
from apps.training import selectors
from tests.campaigns.factories import (
    BroadcastCommentFactory,
    BroadcastFactory,
    CampaignFactory,
    CampaignProductFactory,
    GroupBuyOfferFactory,
    StoreCampaignFactory,
)
from tests.factories import ProductFactory, StoreFactory
from tests.training.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> dict:
    blueberry = ProductFactory(name="云南蓝莓 125g", selling_points="旧卖点")
    yogurt = ProductFactory(name="无糖酸奶", selling_points="0 蔗糖\n")
    article = ArticleFactory(
        title="云南蓝莓卖点",
        selling_points="高原直采，甜度 14+\n\n冷链 48 小时到店\n",
    )
    article.products.add(blueberry)
    hidden = ArticleFactory(title="草稿", selling_points="不该出现", is_published=False)
    hidden.products.add(yogurt)
    return {"blueberry": blueberry, "yogurt": yogurt, "article": article}


def test_selector_returns_published_article_points_per_product(products: dict) -> None:
    newer = ArticleFactory(title="蓝莓补充卖点", selling_points="颗颗带白霜\n高原直采，甜度 14+")
    newer.products.add(products["blueberry"])
    points = selectors.product_selling_points(
        product_ids=[products["blueberry"].pk, products["yogurt"].pk]
    )
    # both articles' lines, duplicates dropped; the yogurt's only article is unpublished
    assert sorted(points) == [products["blueberry"].pk]
    assert set(points[products["blueberry"].pk]) == {
        "高原直采，甜度 14+",
        "冷链 48 小时到店",
        "颗颗带白霜",
    }
    assert len(points[products["blueberry"].pk]) == 3


def test_the_live_script_takes_the_knowledge_base_points(products: dict, settings) -> None:
    settings.LANGUAGE_CODE = "en"
    campaign = CampaignFactory(broadcast_hour=20)
    CampaignProductFactory(campaign=campaign, product=products["blueberry"], position=0)
    CampaignProductFactory(campaign=campaign, product=products["yogurt"], position=1)
    store_campaign = StoreCampaignFactory(
        campaign=campaign,
        store=StoreFactory(),
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    context = pack_context(store_campaign=store_campaign)
    assert [product["selling_points"] for product in context["products"]] == [
        ["高原直采，甜度 14+", "冷链 48 小时到店"],
        ["0 蔗糖"],  # no published article: the product's own
    ]
    store_campaign_pack_generate(store_campaign=store_campaign)
    store_campaign.refresh_from_db()
    blueberry_step = store_campaign.live_script[1]
    assert blueberry_step["title"] == "云南蓝莓 125g"
    assert blueberry_step["lines"][:2] == ["高原直采，甜度 14+", "冷链 48 小时到店"]
    assert "旧卖点" not in blueberry_step["lines"]


def test_live_talking_points_answer_from_the_knowledge_base(products: dict) -> None:
    broadcast = BroadcastFactory(
        status=Broadcast.Status.LIVE, started_at=timezone.now() - dt.timedelta(minutes=5)
    )
    GroupBuyOfferFactory(broadcast=broadcast, product=products["blueberry"], price=Decimal("19.90"))
    BroadcastCommentFactory(broadcast=broadcast, text="蓝莓甜不甜？")
    snapshot = broadcast_snapshot(broadcast=broadcast)
    [point] = snapshot["talking_points"]
    assert point["intent"] == "taste"
    assert point["message"] == "selling_point"
    assert point["args"]["name"] == "云南蓝莓 125g"
    assert point["args"]["point"] in {"高原直采，甜度 14+", "冷链 48 小时到店"}
