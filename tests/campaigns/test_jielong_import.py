"""jielong_import: all-or-nothing, names resolved to the store's members, products matched to
the broadcast's offers, idempotent re-pastes; and the broadcast services around it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.campaigns.models import Broadcast, GroupBuyJoin
from apps.campaigns.services.broadcasts import BroadcastRefused, broadcast_end, broadcast_start
from apps.campaigns.services.group_buys import jielong_import
from apps.customers.models import CommunityMessage
from apps.stores.models import Order
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcast(store):
    return BroadcastFactory(store_campaign__store=store)


def _offer(broadcast, name: str, *, cap: int = 20, on_hand: int = 50):
    product = ProductFactory(name=name)
    StockLevelFactory(store=broadcast.store, product=product, on_hand=on_hand)
    return GroupBuyOfferFactory(broadcast=broadcast, product=product, cap=cap, threshold=1)


CHAT = "#接龙\n例：1. 张三 蓝莓×2\n1. 李阿姨 蓝莓×2\n2、王姐 樱桃 x3\n3.张三蓝莓*1\n"


def test_a_clean_paste_joins_every_line_to_its_offer(owner, broadcast):
    blueberries = _offer(broadcast, "蓝莓")
    cherries = _offer(broadcast, "樱桃")
    report = jielong_import(broadcast=broadcast, text=CHAT, by=owner)
    assert report.written is True
    assert [(line.line_no, line.status) for line in report.lines] == [
        (3, "new"),
        (4, "new"),
        (5, "new"),
    ]
    assert sorted(
        GroupBuyJoin.objects.values_list("offer_id", "display_name", "quantity", "source")
    ) == sorted(
        [
            (blueberries.pk, "李阿姨", 2, "jielong"),
            (cherries.pk, "王姐", 3, "jielong"),
            (blueberries.pk, "张三", 1, "jielong"),
        ]
    )
    assert Order.objects.filter(channel="group_buy", status="pending").count() == 3


def test_pasting_the_same_chat_twice_adds_nothing_and_new_lines_are_added(owner, broadcast):
    _offer(broadcast, "蓝莓")
    _offer(broadcast, "樱桃")
    jielong_import(broadcast=broadcast, text=CHAT, by=owner)
    again = jielong_import(broadcast=broadcast, text=CHAT, by=owner)
    assert [line.status for line in again.lines] == ["already"] * 3
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (3, 3)
    more = jielong_import(broadcast=broadcast, text=CHAT + "4. 赵六 蓝莓+1", by=owner)
    assert (more.new_count, more.already_count) == (1, 3)
    assert GroupBuyJoin.objects.count() == 4


def test_one_unreadable_line_enters_nothing_and_is_reported(owner, broadcast):
    _offer(broadcast, "蓝莓")
    _offer(broadcast, "樱桃")
    report = jielong_import(broadcast=broadcast, text=CHAT + "4.\n聊天\n", by=owner)
    assert report.written is False
    assert [(line.line_no, line.status, line.code) for line in report.lines][-2:] == [
        (6, "unreadable", "no_name"),
        (7, "unreadable", "no_number"),
    ]
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)


def test_one_report_names_an_unreadable_line_and_a_line_over_the_cap(owner, broadcast):
    _offer(broadcast, "蓝莓", cap=5)
    _offer(broadcast, "樱桃")
    text = "1. 李阿姨 蓝莓×2\n2. 赵四 蓝莓×100\n3.\n"
    report = jielong_import(broadcast=broadcast, text=text, by=owner)
    assert report.written is False
    assert [(line.line_no, line.status) for line in report.lines] == [
        (1, "new"),
        (2, "refused"),
        (3, "unreadable"),
    ]
    assert report.problem_count == 2
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)


def test_an_unknown_product_is_reported_and_nothing_entered(owner, broadcast):
    _offer(broadcast, "蓝莓")
    report = jielong_import(broadcast=broadcast, text="1. 李阿姨 榴莲×1\n2. 王姐 蓝莓×1", by=owner)
    assert [(line.status, line.code) for line in report.lines] == [
        ("unreadable", "unknown_product"),
        ("new", ""),
    ]
    assert GroupBuyJoin.objects.count() == 0


def test_a_refused_line_rolls_back_the_lines_before_it(owner, broadcast):
    offer = _offer(broadcast, "蓝莓", cap=4)
    report = jielong_import(
        broadcast=broadcast, text="1. 李阿姨 蓝莓×2\n2. 王姐 蓝莓×2\n3. 张三 蓝莓×1", by=owner
    )
    assert report.written is False
    assert [(line.status, line.code) for line in report.lines] == [
        ("new", ""),
        ("new", ""),
        ("refused", "sold_out"),
    ]
    offer.refresh_from_db()
    assert (offer.units_joined, offer.participants) == (0, 0)
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)


def test_a_dry_run_reports_and_writes_nothing(owner, broadcast):
    _offer(broadcast, "蓝莓")
    report = jielong_import(broadcast=broadcast, text="1. 李阿姨 蓝莓×2", by=owner, dry_run=True)
    assert (report.written, report.new_count) == (False, 1)
    assert GroupBuyJoin.objects.count() == 0


def test_names_resolve_to_the_stores_members_but_never_guess(owner, store, broadcast):
    _offer(broadcast, "蓝莓")
    home = MemberFactory(name="李阿姨", home_store=store)
    chatter = MemberFactory(name="王姐")
    CommunityMessage.objects.create(
        store=store, group_name="邻里群", member=chatter, text="hi", sent_at=broadcast.scheduled_at
    )
    MemberFactory(name="张三", home_store=store)
    MemberFactory(name="张三", home_store=store)
    MemberFactory(name="赵六")  # another store's member
    jielong_import(
        broadcast=broadcast,
        text="1. 李阿姨 蓝莓×1\n2. 王姐 蓝莓×1\n3. 张三 蓝莓×1\n4. 赵六 蓝莓×1",
        by=owner,
    )
    members = dict(GroupBuyJoin.objects.values_list("display_name", "member_id"))
    assert members == {"李阿姨": home.pk, "王姐": chatter.pk, "张三": None, "赵六": None}


def test_another_owner_may_not_import(other_owner, broadcast):
    _offer(broadcast, "蓝莓")
    with pytest.raises(ValidationError):
        jielong_import(broadcast=broadcast, text="1. 李阿姨 蓝莓×1", by=other_owner)
    assert GroupBuyJoin.objects.count() == 0


def test_start_and_end_are_conditional_and_owner_only(owner, other_owner, broadcast):
    with pytest.raises(PermissionDenied):
        broadcast_start(broadcast=broadcast, by=other_owner)
    with pytest.raises(BroadcastRefused) as not_live:
        broadcast_end(broadcast=broadcast, by=owner)
    assert not_live.value.code == "not_live"
    broadcast_start(broadcast=broadcast, by=owner)
    with pytest.raises(BroadcastRefused) as again:
        broadcast_start(broadcast=broadcast, by=owner)
    assert again.value.code == "not_scheduled"
    broadcast_end(broadcast=broadcast, by=owner)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.ENDED
