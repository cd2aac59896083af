from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.customers.models import MemberProfile, MemberTag, NpsAnswer
from apps.customers.services.erasure import member_erase
from apps.stores.models import Order, OrderLine, StockLevel
from tests.factories import (
    MemberFactory,
    MemberIdentityFactory,
    ProductFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


def buy(member, store, key, product, *, when=None):
    order = Order.objects.create(
        store=store,
        member=member,
        channel=Order.Channel.POS,
        idempotency_key=key,
        total=Decimal("12.80"),
        placed_at=when or timezone.now(),
    )
    OrderLine.objects.create(
        order=order,
        product=product,
        quantity=1,
        unit_price=Decimal("12.80"),
        line_total=Decimal("12.80"),
    )
    return order


@pytest.fixture
def members(store, other_store):
    """A home member, a member who only bought here, and a member of the other store only."""
    home = MemberFactory(name="王芳", phone=PHONE, home_store=store)
    MemberIdentityFactory(member=home, kind="phone", value=PHONE)
    MemberIdentityFactory(member=home, kind="wechat", value="wx_openid_abcdef")
    MemberIdentityFactory(member=home, kind="member_card", value="CARD-778899")
    MemberTag.objects.create(
        member=home, tag=TagFactory(name="有孩家庭"), source="chat", evidence="宝宝 ×3"
    )
    MemberProfile.objects.create(member=home, trust_level=MemberProfile.TrustLevel.TRUSTED)
    buy(home, store, "here-1", ProductFactory(name="云南蓝莓"))
    buy(home, other_store, "there-1", ProductFactory(name="别店的西瓜"))
    NpsAnswer.objects.create(member=home, store=store, score=10, comment="新鲜")
    NpsAnswer.objects.create(member=home, store=other_store, score=2, comment="别店评价")

    visitor = MemberFactory(name="李雷", phone="+8613911112222", home_store=other_store)
    buy(visitor, store, "here-2", ProductFactory())

    stranger = MemberFactory(name="陌生人", phone="+8613733334444", home_store=other_store)
    buy(stranger, other_store, "there-2", ProductFactory())
    return {"home": home, "visitor": visitor, "stranger": stranger}


def list_url(store):
    return reverse("members:list", args=[store.pk])


def detail_url(store, member):
    return reverse("members:detail", args=[store.pk, member.member_no])


def test_owner_lists_home_members_and_buyers_only(client, owner, store, members):
    client.force_login(owner)
    response = client.get(list_url(store))
    assert response.status_code == 200
    listed = [member.member_no for member in response.context["page"].object_list]
    assert sorted(listed) == sorted([members["home"].member_no, members["visitor"].member_no])
    html = response.content.decode()
    assert members["stranger"].member_no not in html
    assert reverse("portal:store", args=[store.pk]) in html  # a way back


def test_erased_members_are_not_listed(client, owner, store, members):
    member_erase(member=members["visitor"], by=None, requested_via="letter")
    client.force_login(owner)
    listed = [m.pk for m in client.get(list_url(store)).context["page"].object_list]
    assert listed == [members["home"].pk]


def test_phones_are_masked_in_the_list_and_on_the_member_page(client, owner, store, members):
    client.force_login(owner)
    for url in (list_url(store), detail_url(store, members["home"])):
        html = client.get(url).content.decode()
        assert "138****8000" in html
        assert "13800138000" not in html
        assert "8613800138000" not in html
    detail = client.get(detail_url(store, members["home"])).content.decode()
    assert "wx_openid_abcdef" not in detail
    assert "****cdef" in detail
    assert "CARD-778899" not in detail
    assert "****8899" in detail


def test_phones_the_member_wrote_are_masked_on_the_member_page(client, owner, store, members):
    """An NPS comment and a chat quote kept as a tag's evidence are the member's own words; a
    phone number in them is masked like the member's phone (owners never see it whole)."""
    home = members["home"]
    NpsAnswer.objects.filter(member=home, store=store).update(comment="送货打 13912345678 谢谢")
    MemberTag.objects.filter(member=home).update(evidence="群里说：宝宝 +86 139 0000 1234")
    client.force_login(owner)
    html = client.get(detail_url(store, home)).content.decode()
    assert "送货打 139****5678 谢谢" in html
    assert "139****1234" in html
    assert "13912345678" not in html
    assert "139 0000 1234" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("王芳", ["home"]),
        ("王", ["home"]),
        ("8000", ["home"]),
        ("２２２２", ["visitor"]),
        ("", None),
    ],
)
def test_search_by_name_number_or_last_four_digits(client, owner, store, members, query, expected):
    client.force_login(owner)
    found = client.get(list_url(store), {"q": query}).context["page"].object_list
    if expected is None:
        expected = ["home", "visitor"]
    assert sorted(m.pk for m in found) == sorted(members[key].pk for key in expected)


def test_search_by_member_number(client, owner, store, members):
    client.force_login(owner)
    found = client.get(list_url(store), {"q": members["visitor"].member_no}).context["page"]
    assert [m.pk for m in found.object_list] == [members["visitor"].pk]


def test_search_by_the_whole_card_number(client, owner, store, members):
    # A member imported by card alone has no name or phone: the card is what the owner has.
    client.force_login(owner)
    found = client.get(list_url(store), {"q": "CARD-778899"}).context["page"].object_list
    assert [m.pk for m in found] == [members["home"].pk]
    found = client.get(list_url(store), {"q": "CARD-7788"}).context["page"].object_list
    assert list(found) == []  # the whole number only, as a till reads it
    found = client.get(list_url(store), {"q": "wx_openid_abcdef"}).context["page"].object_list
    assert list(found) == []  # WeChat ids are not typed in


def test_search_cannot_reach_another_stores_member(client, owner, store, members):
    client.force_login(owner)
    found = client.get(list_url(store), {"q": "陌生人"}).context["page"].object_list
    assert list(found) == []
    found = client.get(list_url(store), {"q": "4444"}).context["page"].object_list
    assert list(found) == []


def test_members_are_paginated(client, owner, store):
    for _n in range(30):
        MemberFactory(home_store=store)
    client.force_login(owner)
    first = client.get(list_url(store)).context["page"]
    second = client.get(list_url(store), {"page": 2}).context["page"]
    assert (len(first.object_list), len(second.object_list)) == (25, 5)
    assert first.paginator.num_pages == 2


def test_member_page_shows_this_stores_history_only(client, owner, store, members):
    client.force_login(owner)
    response = client.get(detail_url(store, members["home"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "有孩家庭" in html
    assert "宝宝 ×3" in html
    assert str(MemberProfile.TrustLevel.TRUSTED.label) in html
    assert "云南蓝莓" in html
    assert "别店的西瓜" not in html
    assert "新鲜" in html
    assert "别店评价" not in html
    page = response.context["page"]
    assert [order.idempotency_key for order in page.recent_orders] == ["here-1"]
    assert [answer.score for answer in page.nps_answers] == [10]
    assert page.offers == []
    assert 'id="member-offers"' in html


def test_an_nps_comment_keeps_its_line_breaks_and_escapes_its_markup(client, owner, store, members):
    NpsAnswer.objects.filter(member=members["home"], store=store).update(
        comment="新鲜\r\n下次还来<script>alert(1)</script>"
    )
    client.force_login(owner)
    html = client.get(detail_url(store, members["home"])).content.decode()
    assert "<br>新鲜<br>下次还来&lt;script&gt;alert(1)&lt;/script&gt;</li>" in html


def test_member_page_shows_lifetime_figures_next_to_the_90_day_ones(client, owner, store, members):
    from apps.customers.services.profiles import member_profiles_recompute

    home = members["home"]
    # An old purchase outside the 90-day window counts in the lifetime figures only.
    buy(home, store, "here-old", ProductFactory(), when=timezone.now() - dt.timedelta(days=400))
    member_profiles_recompute(as_of=timezone.now() + dt.timedelta(days=1))
    profile = MemberProfile.objects.get(member=home)
    assert (profile.frequency_90d, profile.orders_lifetime) == (2, 3)
    assert profile.spend_lifetime == Decimal("38.40")
    client.force_login(owner)
    with translation.override("en"):
        html = client.get(detail_url(store, home)).content.decode()
    first = timezone.localtime(profile.first_purchase_at).date().isoformat()
    assert 'id="member-lifetime"' in html
    assert "38.40" in html
    assert first in html


def test_member_page_groups_the_thousands_of_its_money_figures(client, owner, store, members):
    """The profile's spend and basket read like every other amount in the portal (¥4,515.39),
    not as the bare decimal (¥4515.39) they are stored as."""
    MemberProfile.objects.filter(member=members["home"]).update(
        frequency_90d=72,
        spend_90d=Decimal("4515.39"),
        average_basket=Decimal("1062.71"),
        orders_lifetime=80,
        spend_lifetime=Decimal("12345.60"),
        first_purchase_at=timezone.now() - dt.timedelta(days=200),
        last_purchase_at=timezone.now(),
    )
    client.force_login(owner)
    for language in ("zh-hans", "en"):
        response = client.get(detail_url(store, members["home"]), HTTP_ACCEPT_LANGUAGE=language)
        html = response.content.decode()
        assert f'<html lang="{language}">' in html
        assert "¥4,515.39" in html
        assert "¥1,062.71" in html
        assert "¥12,345.60" in html
        assert "4515.39" not in html


def test_member_page_counts_orders_with_one_wording(client, owner, store, members):
    """The 90-day line read "72笔订单", the lifetime line "80 单" (and "消费 ¥" beside "消费¥"):
    both count orders, so both say 笔订单; English says "1 order", not "1 orders"."""
    first = timezone.localtime(timezone.now() - dt.timedelta(days=200))
    MemberProfile.objects.filter(member=members["home"]).update(
        frequency_90d=72,
        spend_90d=Decimal("4515.39"),
        average_basket=Decimal("62.71"),
        orders_lifetime=1,
        spend_lifetime=Decimal("12345.60"),
        first_purchase_at=first,
        last_purchase_at=first,
    )
    client.force_login(owner)
    url = detail_url(store, members["home"])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    day = first.date().isoformat()
    assert "近90天（全部门店）：72笔订单，消费¥4,515.39，客单价¥62.71" in chinese
    assert f"累计（全部门店）：1笔订单，消费¥12,345.60，首次购买 {day}，最近购买 {day}" in chinese
    assert "Last 90 days, all stores: 72 orders, ¥4,515.39 spent" in english
    assert f"Lifetime, all stores: 1 order, ¥12,345.60 spent, first purchase {day}" in english


def test_member_page_of_a_buyer_without_profile(client, owner, store, members):
    client.force_login(owner)
    response = client.get(detail_url(store, members["visitor"]))
    assert response.status_code == 200
    assert response.context["page"].profile is None


def test_another_stores_member_is_not_found(client, owner, store, members):
    client.force_login(owner)
    assert client.get(detail_url(store, members["stranger"])).status_code == 404
    assert client.get(reverse("members:detail", args=[store.pk, "M-NOPE"])).status_code == 404


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
def test_other_users_are_refused(request, client, store, members, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(list_url(store)).status_code == 403
    assert client.get(detail_url(store, members["home"])).status_code == 403


def test_a_clerk_is_refused(client, store, members):
    from apps.stores.models import StoreStaff

    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    client.force_login(clerk)
    assert client.get(list_url(store)).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, store, members):
    for url in (list_url(store), detail_url(store, members["home"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))


def test_hq_may_look(client, hq_user, store, members):
    client.force_login(hq_user)
    assert client.get(list_url(store)).status_code == 200


def test_unknown_store_is_refused_like_a_foreign_one(client, owner):
    client.force_login(owner)
    assert client.get(reverse("members:list", args=[999999])).status_code == 403


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_count_does_not_grow_with_rows(client, owner, store):
    member = MemberFactory(home_store=store)
    MemberProfile.objects.create(member=member)
    product = ProductFactory()
    buy(member, store, "q-0", product)
    MemberTag.objects.create(member=member, tag=TagFactory(), source="manual")
    client.force_login(owner)
    list_small = _queries(client, list_url(store))
    _queries(client, detail_url(store, member))  # warms the day's cached suggestion facts
    detail_small = _queries(client, detail_url(store, member))

    for n in range(1, 8):
        other = MemberFactory(home_store=store)
        MemberProfile.objects.create(member=other)
        buy(member, store, f"q-{n}", ProductFactory(), when=timezone.now() - dt.timedelta(hours=n))
        MemberTag.objects.create(member=member, tag=TagFactory(), source="manual")
        MemberIdentityFactory(member=member)
        NpsAnswer.objects.create(member=member, store=store, score=n)
    assert _queries(client, list_url(store)) == list_small
    assert _queries(client, detail_url(store, member)) == detail_small


def _store_rule(store, antecedent, consequent, *, confidence=0.7):
    from apps.catalog.models import CoPurchaseRule, RuleRun, RuleScope

    now = timezone.now()
    run = RuleRun.objects.create(
        scope=RuleScope.STORE,
        store=store,
        window_start=now - dt.timedelta(days=90),
        window_end=now,
        min_support=0.0,
        min_confidence=0.0,
        min_pair_count=1,
        basket_count=100,
        rule_count=1,
    )
    return CoPurchaseRule.objects.create(
        run=run,
        scope=RuleScope.STORE,
        store=store,
        antecedent=antecedent,
        antecedent_item=antecedent.pk,
        consequent=consequent,
        consequent_item=consequent.pk,
        pair_count=round(confidence * 20),
        antecedent_count=20,
        consequent_count=25,
        basket_count=100,
        support=confidence * 0.2,
        confidence=confidence,
        lift=confidence / 0.25,
        member_count=12,  # carried by enough distinct members to be shown (RULES_MIN_MEMBERS)
        antecedent_member_count=15,
    )


@pytest.fixture
def regular(store):
    """A home member who bought 低糖蓝莓 ten days ago."""
    member = MemberFactory(home_store=store)
    blueberry = ProductFactory(name="低糖蓝莓")
    buy(member, store, "reg-1", blueberry, when=timezone.now() - dt.timedelta(days=10))
    yogurt = ProductFactory(name="酸奶")
    StockLevel.objects.create(store=store, product=yogurt, on_hand=10)  # the store sells it
    return {"member": member, "blueberry": blueberry, "yogurt": yogurt}


def test_member_page_offers_what_the_stores_rules_suggest(client, owner, store, regular):
    _store_rule(store, regular["blueberry"], regular["yogurt"], confidence=0.7)
    client.force_login(owner)
    response = client.get(detail_url(store, regular["member"]))
    assert response.status_code == 200
    page = response.context["page"]
    # Buy again: what they bought; you may also like: what the rule adds (the store stocks it).
    assert [offer.product for offer in page.buy_again] == [regular["blueberry"]]
    offers = page.also_like
    assert [offer.product for offer in offers] == [regular["yogurt"]]
    assert offers[0].because_of == regular["blueberry"]
    html = response.content.decode()
    assert "<b>酸奶</b>" in html
    assert "买了低糖蓝莓的顾客有70%也买了酸奶" in html
    assert "No suggestions yet" not in html
    with translation.override("en"):
        assert offers[0].reason == "70% of customers who bought 低糖蓝莓 also bought 酸奶"


def test_member_page_of_a_member_whose_only_order_was_cancelled(client, owner, store, regular):
    """A home member with no bought history (their one order cancelled: a pre-order the
    supplier could not deliver) in a store that sells: the page showed a 500 (the blend's
    history of no order lines)."""
    member = MemberFactory(home_store=store)
    order = buy(member, store, "cancelled-1", regular["yogurt"])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    client.force_login(owner)
    response = client.get(detail_url(store, member))
    assert response.status_code == 200
    page = response.context["page"]
    assert page.buy_again == []
    # The store's bestseller is still offered.
    assert [offer.product for offer in page.also_like] == [regular["blueberry"]]
    # The cancelled order is marked in Chinese brackets on a Chinese page, not ASCII ones.
    chinese = client.get(detail_url(store, member), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert '<b>¥12.80</b><span class="muted">（已取消）</span>' in chinese.content.decode()
    english = client.get(detail_url(store, member), HTTP_ACCEPT_LANGUAGE="en")
    assert '<b>¥12.80</b><span class="muted"> (Cancelled)</span>' in english.content.decode()


def test_member_page_says_so_when_there_are_no_rules(client, owner, store, regular):
    client.force_login(owner)
    response = client.get(detail_url(store, regular["member"]))
    page = response.context["page"]
    assert [offer.product for offer in page.buy_again] == [regular["blueberry"]]
    assert page.also_like == []
    offers_card = response.content.decode().split('id="member-offers"')[1]
    assert 'id="offers-also-like"><li class="muted">' in offers_card


def test_another_stores_rules_are_not_offered(client, owner, store, other_store, regular):
    _store_rule(other_store, regular["blueberry"], regular["yogurt"])
    client.force_login(owner)
    response = client.get(detail_url(store, regular["member"]))
    assert response.context["page"].also_like == []
    assert "也买了酸奶" not in response.content.decode()


def test_another_stores_owner_does_not_see_the_offers(client, other_owner, store, regular):
    _store_rule(store, regular["blueberry"], regular["yogurt"])
    client.force_login(other_owner)
    response = client.get(detail_url(store, regular["member"]))
    assert response.status_code == 403
    assert "酸奶" not in response.content.decode()


def test_offers_keep_the_query_count_bounded(
    client, owner, store, regular, django_assert_max_num_queries
):
    member = regular["member"]
    _store_rule(store, regular["blueberry"], regular["yogurt"])
    client.force_login(owner)
    with django_assert_max_num_queries(30) as few:
        assert len(client.get(detail_url(store, member)).context["page"].also_like) == 1
    for n in range(4):
        bought, offered = ProductFactory(), ProductFactory()
        buy(member, store, f"more-{n}", bought, when=timezone.now() - dt.timedelta(days=9))
        _store_rule(store, bought, offered, confidence=0.5)
        for product in (bought, offered):  # the store sells both
            StockLevel.objects.create(store=store, product=product, on_hand=3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(detail_url(store, member)).context["page"]
    assert len(page.also_like) == 5
    assert len(page.buy_again) == 5


def _cold_queries(client, url) -> list[str]:
    """The SQL of one request with every cache emptied (the first request of a day)."""
    for alias in settings.CACHES:
        caches[alias].clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_member_page_does_no_network_wide_work_on_a_cold_cache(
    client, owner, store, other_store, regular
):
    member, blueberry = regular["member"], regular["blueberry"]
    buy(member, store, "reg-2", blueberry, when=timezone.now() - dt.timedelta(days=40))
    client.force_login(owner)
    few = _cold_queries(client, detail_url(store, member))
    # The rest of the network buys the same product again and again.
    for n in range(6):
        shopper = MemberFactory(home_store=other_store)
        for days in (3, 9, 15):
            buy(
                shopper,
                other_store,
                f"net-{n}-{days}",
                blueberry,
                when=timezone.now() - dt.timedelta(days=days),
            )
    many = _cold_queries(client, detail_url(store, member))
    assert len(many) == len(few)
    # Every read of order lines is this member's, this store's or of orders already read:
    # none aggregates the network (a product's repurchase interval over every member is the
    # nightly run's work).
    lines = [sql for sql in many if '"stores_orderline"' in sql]
    assert lines
    for sql in lines:
        assert (
            re.search(rf'"member_id" = {member.pk}\b', sql)
            or re.search(rf'"store_id" (= |IN \(){store.pk}\b', sql)
            or re.search(r'WHERE "stores_orderline"."order_id" IN \([\d, ]+\)', sql)
        ), sql


def test_member_page_shows_the_repurchase_interval_the_nightly_run_stored(
    client, owner, store, regular
):
    from apps.catalog.models import ProductRepurchaseInterval

    member, blueberry = regular["member"], regular["blueberry"]
    buy(member, store, "reg-2", blueberry, when=timezone.now() - dt.timedelta(days=40))
    client.force_login(owner)
    caches["default"].clear()
    before = client.get(detail_url(store, member)).context["page"].buy_again
    # Bought on two days 30 days apart, but no nightly run has computed intervals yet.
    assert [(offer.product, offer.bought, offer.interval_days) for offer in before] == [
        (blueberry, 2, None)
    ]
    ProductRepurchaseInterval.objects.create(
        product=blueberry, day=timezone.localdate(), interval_days=12.4
    )
    after = client.get(detail_url(store, member)).context["page"].buy_again
    assert [(offer.product, offer.interval_days) for offer in after] == [(blueberry, 12.4)]
    with translation.override("en"):
        assert after[0].reason == "Bought 2 times this year; people re-buy it about every 12 days"


def test_the_list_joins_only_this_stores_orders_for_the_last_visit(
    client, owner, store, other_store
):
    """ "Last visit here" must not join every order of the store's members at every store
    (1.5 s a page on the 200-store demo): each join of the orders table carries the store
    in its own condition. The figure stays this store's latest order."""
    member = MemberFactory(home_store=store)
    product = ProductFactory()
    here = buy(member, store, "here-1", product, when=timezone.now() - dt.timedelta(days=3))
    buy(member, other_store, "there-1", product, when=timezone.now() - dt.timedelta(days=1))
    client.force_login(owner)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(list_url(store))
    assert response.status_code == 200
    [row] = list(response.context["page"].object_list)
    assert row.last_visit_here == here.placed_at
    joins = [
        match.group(1)
        for query in captured
        for match in re.finditer(r'JOIN "stores_order" (?:\S+ )?ON \((.*?)\)(?: |$)', query["sql"])
    ]
    assert joins
    assert all(f'store_id" = {store.pk}' in condition for condition in joins), joins
