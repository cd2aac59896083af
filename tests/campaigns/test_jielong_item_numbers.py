"""The 接龙 copy and the 接龙 import agree: the copy numbers a campaign's items in one order
(`campaign_item_numbers`), a pasted line may name its product by that number ("2号×1",
"2️⃣×1"), and the copy's own example line joins in a campaign whose products share a word.
Also: 接龙 names match every member the store serves, and a cap refusal names the line's
person."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from apps.campaigns.analytics.jielong import item_number
from apps.campaigns.models import CampaignTarget, GroupBuyJoin
from apps.campaigns.services.group_buys import jielong_import, store_members_by_name
from apps.campaigns.services.packs import store_campaign_pack_generate
from apps.ops.demo.campaigns import TEMPLATES as DEMO_TEMPLATES
from apps.stores.models import Order
from tests.campaigns.factories import (
    BroadcastFactory,
    CampaignProductFactory,
    GroupBuyOfferFactory,
    ScenarioTemplateFactory,
)
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcast(store):
    """A broadcast whose campaign lists 大果蓝莓 (item 1) and 蓝莓小盒 (item 2): both match
    "蓝莓", so the name alone is ambiguous. Positions are given out of pk order on purpose."""
    broadcast = BroadcastFactory(store_campaign__store=store)
    campaign = broadcast.store_campaign.campaign
    small = ProductFactory(name="蓝莓小盒 125g", price=Decimal("12.90"))
    large = ProductFactory(name="大果蓝莓 250g", price=Decimal("19.90"))
    CampaignProductFactory(campaign=campaign, product=small, position=2)
    CampaignProductFactory(campaign=campaign, product=large, position=1)
    for product in (large, small):
        StockLevelFactory(store=store, product=product, on_hand=50)
        GroupBuyOfferFactory(broadcast=broadcast, product=product, cap=20, threshold=1)
    return broadcast


def _joined(broadcast) -> list[tuple[str, str, int]]:
    return sorted(
        GroupBuyJoin.objects.filter(offer__broadcast=broadcast).values_list(
            "display_name", "offer__product__name", "quantity"
        )
    )


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        ("2号", 2),
        ("#2", 2),
        ("2️⃣", 2),
        ("２号", 2),
        ("蓝莓", None),
        ("8424西瓜", None),
        ("", None),
    ],
)
def test_item_number_reads_the_numbers_the_copy_prints(text, number):
    assert item_number(text) == number


def test_lines_may_name_the_product_by_its_item_number(owner, broadcast):
    text = "1. 李阿姨 1号×2\n2. 王姐 2️⃣×1\n3. 张三 2号 x3\n4. 赵六 大果蓝莓 250g×1"
    report = jielong_import(broadcast=broadcast, text=text, by=owner)
    assert report.written is True
    assert _joined(broadcast) == [
        ("张三", "蓝莓小盒 125g", 3),
        ("李阿姨", "大果蓝莓 250g", 2),
        ("王姐", "蓝莓小盒 125g", 1),
        ("赵六", "大果蓝莓 250g", 1),
    ]


def test_an_item_number_the_copy_does_not_print_enters_nothing(owner, broadcast):
    report = jielong_import(broadcast=broadcast, text="1. 李阿姨 1号×2\n2. 王姐 3号×1", by=owner)
    assert report.written is False
    assert [(line.status, line.code) for line in report.lines] == [
        ("new", ""),
        ("unreadable", "unknown_product"),
    ]
    assert GroupBuyJoin.objects.count() == Order.objects.count() == 0


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_default_copy_numbers_the_items_and_its_example_joins(owner, broadcast, language):
    store_campaign = broadcast.store_campaign
    store_campaign.campaign.template.jielong_copy_template = ""
    store_campaign.campaign.template.save()
    with translation.override(language):
        store_campaign_pack_generate(store_campaign=store_campaign)
    store_campaign.refresh_from_db()
    copy = store_campaign.jielong_copy
    # Same order as the import's numbers: position, not pk.
    assert copy.index("1号 大果蓝莓 250g") < copy.index("2号 蓝莓小盒 125g")
    # The example ends its line; the cut-off and pickup line follows.
    example = copy[copy.index("1. 李阿姨") :].splitlines()[0].rstrip(")）")
    assert example == "1. 李阿姨 1号×2"
    # A member replies in the chat: the whole copy, then the lines (the example's form).
    chat = f"{copy}\n1. {example[3:]}\n2. 王姐 2号×1"
    report = jielong_import(broadcast=broadcast, text=chat, by=owner)
    assert [(line.status, line.code) for line in report.lines] == [("new", ""), ("new", "")]
    assert _joined(broadcast) == [("李阿姨", "大果蓝莓 250g", 2), ("王姐", "蓝莓小盒 125g", 1)]


def test_the_demo_copy_keycaps_are_item_numbers_and_its_example_joins(owner, broadcast):
    spec = next(spec for spec in DEMO_TEMPLATES if spec.code == "summer-fruit")
    template = ScenarioTemplateFactory(jielong_copy_template=spec.jielong)
    campaign = broadcast.store_campaign.campaign
    campaign.template = template
    campaign.save()
    store_campaign_pack_generate(store_campaign=broadcast.store_campaign)
    broadcast.store_campaign.refresh_from_db()
    copy = broadcast.store_campaign.jielong_copy
    assert "1️⃣ 大果蓝莓 250g" in copy
    assert "2️⃣ 蓝莓小盒 125g" in copy
    assert "（例：1. 李阿姨 1号×2）" in copy
    chat = f"{copy}\n1. 李阿姨 1号×2\n2. 王姐 2️⃣×1"
    report = jielong_import(broadcast=broadcast, text=chat, by=owner)
    assert report.written is True
    assert _joined(broadcast) == [("李阿姨", "大果蓝莓 250g", 2), ("王姐", "蓝莓小盒 125g", 1)]


def test_a_cap_refusal_names_the_lines_person(owner, store):
    broadcast = BroadcastFactory(store_campaign__store=store)
    product = ProductFactory(name="蓝莓")
    StockLevelFactory(store=store, product=product, on_hand=50)
    GroupBuyOfferFactory(broadcast=broadcast, product=product, cap=3, threshold=1)
    with translation.override("zh-hans"):
        report = jielong_import(broadcast=broadcast, text="1. 李阿姨 蓝莓×5", by=owner)
    [line] = report.lines
    assert (line.status, line.code) == ("refused", "sold_out")
    assert line.message == "李阿姨 要 5 份，仅剩 3 份。"
    assert GroupBuyJoin.objects.count() == 0


def test_names_match_every_member_the_store_serves_and_never_guess(store, owner):
    elsewhere = StoreFactory()
    home = MemberFactory(name="李阿姨", home_store=store)
    bought_here = MemberFactory(name="王姐", home_store=elsewhere)
    Order.objects.create(
        store=store,
        member=bought_here,
        channel=Order.Channel.POS,
        status=Order.Status.COMPLETED,
        idempotency_key="served-1",
    )
    targeted = MemberFactory(name="孙阿姨", home_store=elsewhere)
    broadcast = BroadcastFactory(store_campaign__store=store)
    CampaignTarget.objects.create(store_campaign=broadcast.store_campaign, member=targeted)
    # Targeted at another store only: not served here.
    other_broadcast = BroadcastFactory(store_campaign__store=elsewhere)
    stranger = MemberFactory(name="赵六", home_store=elsewhere)
    CampaignTarget.objects.create(store_campaign=other_broadcast.store_campaign, member=stranger)
    # A name shared by a home member and a member who only bought here: never guess.
    MemberFactory(name="张三", home_store=store)
    shared = MemberFactory(name="张三", home_store=elsewhere)
    Order.objects.create(
        store=store,
        member=shared,
        channel=Order.Channel.POS,
        status=Order.Status.COMPLETED,
        idempotency_key="served-2",
    )
    found = store_members_by_name(
        store_id=store.pk, names={"李阿姨", "王姐", "孙阿姨", "赵六", "张三"}
    )
    assert found == {"李阿姨": home, "王姐": bought_here, "孙阿姨": targeted, "张三": None}
