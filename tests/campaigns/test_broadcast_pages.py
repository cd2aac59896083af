"""The owner's broadcast control page: start / end, offers, the 接龙 paste with its report;
refusals for another store's owner, a clerk acting, a supplier user and anonymous users."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.translation import override

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.campaigns.services.broadcasts import BroadcastRefused, broadcast_start
from apps.campaigns.services.packs import campaign_prices, pack_context
from tests.campaigns.factories import BroadcastFactory, GroupBuyJoinFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcast(store):
    return BroadcastFactory(store_campaign__store=store)


@pytest.fixture
def product(store):
    product = ProductFactory(name="蓝莓")
    StockLevelFactory(store=store, product=product, on_hand=30)
    return product


def _urls(broadcast) -> dict[str, str]:
    base = f"/portal/campaigns/broadcasts/{broadcast.pk}/"
    return {
        "start": base + "start",
        "end": base + "end",
        "offers": base + "offers",
        "jielong": base + "jielong",
    }


def _offer_post(product, *, hours_from_now: int = 3, cap: str = "30") -> dict[str, object]:
    """The offer form as the owner posts it: 10 units to form, a deadline `hours_from_now`,
    at ¥19.90, above the factories' list price of ¥10.00, so confirmed as such."""
    deadline = timezone.localtime() + dt.timedelta(hours=hours_from_now)
    return {
        "product": product.pk,
        "price": "19.90",
        "price_above_list_confirmed": "on",
        "threshold_kind": "units",
        "threshold": "10",
        "cap": cap,
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
    }


def test_the_owner_sees_the_page_with_offers_and_member_names(client, owner, broadcast, product):
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    member = MemberFactory(name="李阿姨")
    GroupBuyJoinFactory(offer=offer, member=member, display_name="李阿姨")
    client.force_login(owner)
    response = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "李阿姨" in page
    assert member.member_no in page
    assert f'action="/portal/campaigns/broadcasts/{broadcast.pk}/start"' in page


def test_a_clerk_sees_masked_names_and_no_buttons(client, clerk, broadcast, product):
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    member = MemberFactory(name="李阿姨")
    GroupBuyJoinFactory(offer=offer, member=member, display_name="李阿姨")
    client.force_login(clerk)
    response = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "李**" in page
    assert "李阿姨" not in page
    assert member.member_no not in page
    assert "/start" not in page
    assert "/jielong" not in page


def test_the_store_list_links_the_broadcast(client, owner, store, broadcast):
    client.force_login(owner)
    response = client.get(f"/portal/campaigns/stores/{store.pk}/broadcasts/")
    assert response.status_code == 200
    assert f"/portal/campaigns/broadcasts/{broadcast.pk}/" in response.content.decode()


def test_in_chinese_the_status_and_the_join_read_as_broadcast_words(
    client, owner, store, broadcast, product
):
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    GroupBuyJoinFactory(offer=offer, display_name="李阿姨")
    client.force_login(owner)
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    scheduled = timezone.localtime(broadcast.scheduled_at)

    detail = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/", **chinese)
    listing = client.get(f"/portal/campaigns/stores/{store.pk}/broadcasts/", **chinese)

    page = detail.content.decode()
    assert "<b>待开播</b>" in page
    assert f"计划时间 {scheduled:%Y-%m-%d %H:%M}" in page
    joins = page.split('id="joins"', 1)[1]
    assert '<td class="nowrap">已参团</td>' in joins
    assert "入会时间" not in page
    rows = listing.content.decode()
    assert "<th>计划时间</th>" in rows
    assert "<td>待开播</td>" in rows


def test_the_owner_starts_and_ends_the_broadcast(client, owner, broadcast):
    client.force_login(owner)
    assert client.post(_urls(broadcast)["start"]).status_code == 302
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.LIVE
    assert broadcast.started_at is not None
    assert client.post(_urls(broadcast)["end"]).status_code == 302
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.ENDED
    assert broadcast.ended_at is not None


def test_a_start_35_hours_early_is_refused_naming_when_it_may_start(client, owner, store):
    """The times are written as the portal's other pages write them ("2026-12-08 18:00"),
    not "2026年12月8日 18:00"."""
    scheduled = timezone.localtime().replace(second=0, microsecond=0) + dt.timedelta(hours=35)
    broadcast = BroadcastFactory(store_campaign__store=store, scheduled_at=scheduled)
    client.force_login(owner)

    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    response = client.post(_urls(broadcast)["start"], follow=True)

    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.started_at) == (Broadcast.Status.SCHEDULED, None)
    earliest = scheduled - dt.timedelta(hours=2)
    shown = f"{earliest:%Y-%m-%d %H:%M}"
    assert f"最早可于 {shown} 开始" in page
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"本场直播定于 {scheduled:%Y-%m-%d %H:%M}，最早可于 {shown} 开始（至多提前 2 小时）。"
    ]


def test_a_start_within_two_hours_of_the_schedule_goes_live(owner, store):
    now = timezone.now()
    broadcast = BroadcastFactory(
        store_campaign__store=store, scheduled_at=now + dt.timedelta(hours=2)
    )

    with pytest.raises(BroadcastRefused) as early:
        broadcast_start(broadcast=broadcast, by=owner, now=now - dt.timedelta(minutes=1))
    assert early.value.code == "too_early"
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.started_at) == (Broadcast.Status.SCHEDULED, None)

    broadcast_start(broadcast=broadcast, by=owner, now=now)
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.started_at) == (Broadcast.Status.LIVE, now)


def test_ending_a_scheduled_broadcast_changes_nothing(client, owner, broadcast):
    client.force_login(owner)
    client.post(_urls(broadcast)["end"])
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.ended_at) == (Broadcast.Status.SCHEDULED, None)


def test_the_owner_opens_an_offer(client, owner, broadcast, product):
    client.force_login(owner)
    response = client.post(_urls(broadcast)["offers"], _offer_post(product))
    assert response.status_code == 302
    offer = GroupBuyOffer.objects.get()
    assert (offer.product, offer.threshold, offer.cap) == (product, 10, 30)


def test_an_offer_with_a_cap_below_its_threshold_is_refused(client, owner, broadcast, product):
    client.force_login(owner)
    with override("en"):
        response = client.post(
            _urls(broadcast)["offers"], _offer_post(product, cap="5"), HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 400
    assert "The cap cannot be below the threshold" in response.content.decode()
    assert GroupBuyOffer.objects.count() == 0


def test_the_owner_pastes_a_jielong_and_sees_the_report(client, owner, broadcast, product):
    GroupBuyOfferFactory(broadcast=broadcast, product=product, cap=20)
    client.force_login(owner)
    with override("en"):
        response = client.post(
            _urls(broadcast)["jielong"], {"text": "#接龙\n1. 李阿姨 蓝莓×2\n2、王姐 蓝莓 x3"}
        )
    assert response.status_code == 200
    assert 'id="jielong-report"' in response.content.decode()
    assert sorted(GroupBuyJoin.objects.values_list("display_name", "quantity")) == [
        ("李阿姨", 2),
        ("王姐", 3),
    ]


def test_a_jielong_with_a_bad_line_enters_nothing_and_names_the_line(
    client, owner, broadcast, product
):
    GroupBuyOfferFactory(broadcast=broadcast, product=product, cap=20)
    client.force_login(owner)
    with override("en"):
        response = client.post(
            _urls(broadcast)["jielong"],
            {"text": "1. 李阿姨 蓝莓×2\n2.\n"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    page = response.content.decode()
    assert "The line has no name." in page
    assert "Nothing was entered" in page
    assert GroupBuyJoin.objects.count() == 0


@pytest.mark.parametrize("action", ["start", "end", "offers", "jielong"])
def test_a_clerk_may_not_act(client, clerk, broadcast, action):
    client.force_login(clerk)
    response = client.post(_urls(broadcast)[action], {"text": "1. 李 蓝莓×1"})
    assert response.status_code == 404
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SCHEDULED
    assert (GroupBuyOffer.objects.count(), GroupBuyJoin.objects.count()) == (0, 0)


@pytest.mark.parametrize("action", ["start", "end", "offers", "jielong"])
def test_another_owner_may_not_act(client, other_owner, broadcast, action):
    client.force_login(other_owner)
    response = client.post(_urls(broadcast)[action], {"text": "1. 李 蓝莓×1"})
    assert response.status_code == 404
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SCHEDULED
    assert GroupBuyJoin.objects.count() == 0


@pytest.mark.parametrize("role", ["other_owner", "supplier_user", "inspector"])
def test_others_may_not_read_the_pages(client, request, store, broadcast, role):
    client.force_login(request.getfixturevalue(role))
    detail = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/")
    listing = client.get(f"/portal/campaigns/stores/{store.pk}/broadcasts/")
    assert (detail.status_code, listing.status_code) == (404, 403)


def test_anonymous_users_are_sent_to_log_in(client, store, broadcast):
    detail = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/")
    listing = client.get(f"/portal/campaigns/stores/{store.pk}/broadcasts/")
    start = client.post(_urls(broadcast)["start"])
    assert [detail.status_code, listing.status_code, start.status_code] == [302, 302, 302]
    assert "login" in detail["Location"]
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SCHEDULED


def test_an_unknown_broadcast_is_404(client, owner):
    client.force_login(owner)
    assert client.get("/portal/campaigns/broadcasts/999999/").status_code == 404


def test_get_on_an_action_is_405(client, owner, broadcast):
    client.force_login(owner)
    assert client.get(_urls(broadcast)["start"]).status_code == 405


# --- the offer form: its default deadline and the products it offers ---------------------------


def _offer_form(client, broadcast):
    return client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").context["offer_form"]


def test_the_offer_form_proposes_the_campaigns_cutoff_as_deadline(client, owner, store):
    """A three-day campaign from tomorrow, broadcast tomorrow at 20:00: the deadline proposed
    is its last day at 22:00, the 截单 its 接龙 copy promises (pack_context's `cutoff`)."""
    tz = timezone.get_current_timezone()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    starts = dt.datetime.combine(tomorrow, dt.time(20), tzinfo=tz)
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        store_campaign__campaign__starts_on=tomorrow,
        store_campaign__campaign__ends_on=tomorrow + dt.timedelta(days=2),
        scheduled_at=starts,
    )
    client.force_login(owner)
    deadline = _offer_form(client, broadcast).initial["deadline"]
    assert deadline == f"{tomorrow + dt.timedelta(days=2):%Y-%m-%d}T22:00"
    assert deadline == pack_context(store_campaign=broadcast.store_campaign)["cutoff"].strftime(
        "%Y-%m-%dT%H:%M"
    )


def test_a_one_day_campaign_broadcast_late_gets_a_deadline_hours_after_the_start(
    client, owner, store
):
    tz = timezone.get_current_timezone()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        store_campaign__campaign__starts_on=tomorrow,
        store_campaign__campaign__ends_on=tomorrow,
        scheduled_at=dt.datetime.combine(tomorrow, dt.time(22, 30), tzinfo=tz),
    )
    client.force_login(owner)
    deadline = _offer_form(client, broadcast).initial["deadline"]
    assert deadline == f"{tomorrow + dt.timedelta(days=1):%Y-%m-%d}T02:30"


def test_the_offer_form_proposes_the_first_product_at_its_campaign_price(
    client, owner, store, broadcast
):
    from tests.campaigns.factories import CampaignProductFactory

    campaign = broadcast.store_campaign.campaign
    berries = ProductFactory(name="低糖蓝莓 125g", price=Decimal("19.90"))
    melon = ProductFactory(name="8424西瓜", price=Decimal("39.90"))
    for product in (berries, melon):
        StockLevelFactory(store=store, product=product, on_hand=5)
    CampaignProductFactory(campaign=campaign, product=berries, position=0, price=Decimal("16.90"))
    CampaignProductFactory(campaign=campaign, product=melon, position=1)
    client.force_login(owner)
    initial = _offer_form(client, broadcast).initial
    assert (initial["product"], initial["price"]) == (berries.pk, Decimal("16.90"))
    # Without a price of its own, a product's campaign price is the list price less the
    # campaign's discount (as in the pack's copy).
    assert campaign_prices(broadcast=broadcast)[melon.pk] == Decimal("33.90")


def test_the_offer_form_proposes_no_price_for_a_product_outside_the_campaign(
    client, owner, broadcast, product
):
    client.force_login(owner)
    initial = _offer_form(client, broadcast).initial
    assert "price" not in initial
    assert "product" not in initial


def test_a_broadcast_live_for_hours_gets_a_deadline_hours_from_now(client, owner, store):
    # Started 30 hours ago on its campaign's last day: the cut-off has passed too.
    started = timezone.now() - dt.timedelta(hours=30)
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        store_campaign__campaign__starts_on=timezone.localtime(started).date(),
        store_campaign__campaign__ends_on=timezone.localtime(started).date(),
        scheduled_at=started,
        started_at=started,
        status=Broadcast.Status.LIVE,
    )
    client.force_login(owner)
    deadline = dt.datetime.fromisoformat(_offer_form(client, broadcast).initial["deadline"])
    expected = timezone.localtime() + dt.timedelta(hours=4)
    assert abs(deadline - expected.replace(tzinfo=None)) < dt.timedelta(minutes=2)


def test_the_offer_form_lists_the_campaigns_products_by_name_in_the_campaigns_order(
    client, owner, store, broadcast
):
    """Whatever the store has of them: one it has none of is sold as a pre-order
    (tests/procurement/test_presale.py); a product outside the campaign is not listed."""
    from tests.campaigns.factories import CampaignProductFactory

    campaign = broadcast.store_campaign.campaign
    grapes = ProductFactory(name="阳光玫瑰葡萄", sku="FRUIT-GRAPE-001")
    berries = ProductFactory(name="云南蓝莓 125g", sku="FRUIT-BERRY-003")
    not_stocked = ProductFactory(name="海南芒果")
    elsewhere = ProductFactory(name="鲜牛奶 950ml")
    for product in (grapes, berries, elsewhere):
        StockLevelFactory(store=store, product=product, on_hand=5)
    CampaignProductFactory(campaign=campaign, product=berries, position=1)
    CampaignProductFactory(campaign=campaign, product=grapes, position=2)
    CampaignProductFactory(campaign=campaign, product=not_stocked, position=0)
    client.force_login(owner)
    field = _offer_form(client, broadcast)["product"]
    choices = [(str(value), label) for value, label in field.field.choices if value != ""]
    # Each with what the store has of it: the owner sees which need a pre-order.
    assert choices == [
        (str(not_stocked.pk), f"海南芒果 · ¥{not_stocked.price} · 库存 0"),
        (str(berries.pk), f"云南蓝莓 125g · ¥{berries.price} · 库存 5"),
        (str(grapes.pk), f"阳光玫瑰葡萄 · ¥{grapes.price} · 库存 5"),
    ]


def test_without_campaign_products_the_form_lists_the_stores_stock(
    client, owner, store, broadcast, product
):
    client.force_login(owner)
    field = _offer_form(client, broadcast)["product"]
    labels = [label for value, label in field.field.choices if value != ""]
    assert labels == [f"蓝莓 · ¥{product.price} · 库存 30"]
    assert product.sku not in labels[0]


def test_an_offer_with_a_deadline_before_the_broadcast_starts_is_refused(
    client, owner, store, product
):
    starts = timezone.now() + dt.timedelta(hours=10)
    broadcast = BroadcastFactory(store_campaign__store=store, scheduled_at=starts)
    client.force_login(owner)
    response = client.post(_urls(broadcast)["offers"], _offer_post(product, hours_from_now=2))
    assert response.status_code == 400
    errors = response.context["offer_form"].errors["deadline"]
    assert len(errors) == 1
    assert timezone.localtime(starts).strftime("%m-%d %H:%M") in errors[0]
    assert not GroupBuyOffer.objects.exists()


def test_joins_are_pasted_only_while_an_offer_is_open(client, owner, broadcast, product):
    client.force_login(owner)
    page = f"/portal/campaigns/broadcasts/{broadcast.pk}/"
    assert 'id="jielong"' not in client.get(page).content.decode()  # no offer yet
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    html = client.get(page).content.decode()
    assert 'id="jielong"' in html
    assert "offer-open" in html
    GroupBuyOffer.objects.filter(pk=offer.pk).update(
        status=GroupBuyOffer.Status.FORMED, settled_at=timezone.now()
    )
    html = client.get(page).content.decode()
    assert 'id="jielong"' not in html
    assert "offer-formed" in html


def test_a_refusal_is_shown_as_an_error_not_as_a_success(client, owner, broadcast):
    now = timezone.now()
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.Status.ENDED, started_at=now, ended_at=now
    )
    client.force_login(owner)
    response = client.post(_urls(broadcast)["start"], follow=True)
    html = response.content.decode()
    assert 'class="message-error"' in html
    assert 'class="message-success"' not in html


# --- one open offer per product; withdrawing an offer --------------------------------------


def _withdraw_url(broadcast, offer) -> str:
    return f"/portal/campaigns/broadcasts/{broadcast.pk}/offers/{offer.pk}/withdraw"


def _listed_product_ids(client, broadcast) -> list[str]:
    widget = _offer_form(client, broadcast)["product"].field.widget
    return [str(value) for value, _label in widget.choices if value != ""]


def test_after_opening_an_offer_the_form_proposes_the_next_product(client, owner, store, broadcast):
    from tests.campaigns.factories import CampaignProductFactory

    campaign = broadcast.store_campaign.campaign
    berries = ProductFactory(name="低糖蓝莓 125g")
    melon = ProductFactory(name="8424西瓜")
    for position, item in enumerate((berries, melon)):
        StockLevelFactory(store=store, product=item, on_hand=5)
        CampaignProductFactory(campaign=campaign, product=item, position=position)
    client.force_login(owner)
    assert (
        client.post(_urls(broadcast)["offers"], _offer_post(berries, cap="10")).status_code == 302
    )

    form = _offer_form(client, broadcast)
    assert form.initial["product"] == melon.pk
    assert _listed_product_ids(client, broadcast) == [str(melon.pk)]
    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    assert f'<option value="{berries.pk}"' not in page


def test_a_second_open_offer_of_a_product_is_refused_in_the_form(client, owner, broadcast, product):
    first = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    client.force_login(owner)
    with override("en"):
        response = client.post(
            _urls(broadcast)["offers"], _offer_post(product), HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 400
    assert response.context["offer_form"].errors["product"] == [
        "蓝莓 already has an open offer in this broadcast: joins for it go to that offer. "
        "Withdraw it first to open another."
    ]
    assert list(GroupBuyOffer.objects.values_list("pk", flat=True)) == [first.pk]


def test_the_offer_form_reports_every_error_at_once(client, owner, broadcast, product):
    client.force_login(owner)
    post = _offer_post(product, hours_from_now=-2, cap="5")
    post.update(price="-1", threshold="10")
    with override("en"):
        response = client.post(_urls(broadcast)["offers"], post, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    errors = response.context["offer_form"].errors
    assert sorted(errors) == ["cap", "deadline", "price"]
    assert errors["cap"] == ["The cap cannot be below the threshold: the group could never form."]
    assert errors["deadline"] == ["The deadline must be in the future."]
    assert GroupBuyOffer.objects.count() == 0


def test_the_owner_withdraws_an_offer_nobody_joined_after_confirming(
    client, owner, broadcast, product
):
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    client.force_login(owner)
    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    assert f'action="{_withdraw_url(broadcast, offer)}"' in page

    unconfirmed = client.post(_withdraw_url(broadcast, offer))
    assert unconfirmed.status_code == 302
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.OPEN

    response = client.post(_withdraw_url(broadcast, offer), {"confirm": "yes"}, follow=True)
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.CANCELLED
    assert "蓝莓团购已撤下。" in response.content.decode()
    # The product is proposed again, and a new offer of it may open.
    assert _listed_product_ids(client, broadcast) == [str(product.pk)]
    assert client.post(_urls(broadcast)["offers"], _offer_post(product)).status_code == 302
    assert GroupBuyOffer.objects.filter(status="open").count() == 1


def test_an_offer_with_joins_shows_no_withdraw_button_and_is_not_withdrawn(
    client, owner, broadcast, product
):
    offer = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, units_joined=2, participants=1
    )
    client.force_login(owner)
    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    assert _withdraw_url(broadcast, offer) not in page
    response = client.post(_withdraw_url(broadcast, offer), {"confirm": "yes"}, follow=True)
    assert (
        "蓝莓无法撤下：已有1人参团。该团购将保持进行中，直到截止时间。" in response.content.decode()
    )
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.OPEN


@pytest.mark.parametrize("role", ["clerk", "other_owner", "supplier_user"])
def test_others_may_not_withdraw_an_offer(client, request, broadcast, product, role):
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    client.force_login(request.getfixturevalue(role))
    response = client.post(_withdraw_url(broadcast, offer), {"confirm": "yes"})
    assert response.status_code in (403, 404)
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.OPEN


def test_anonymous_users_may_not_withdraw_an_offer(client, broadcast, product):
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product)
    response = client.post(_withdraw_url(broadcast, offer), {"confirm": "yes"})
    assert response.status_code == 302
    assert "login" in response["Location"]
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.OPEN


def test_an_offer_of_another_broadcast_is_404(client, owner, store, broadcast, product):
    other = GroupBuyOfferFactory(broadcast=BroadcastFactory(store_campaign__store=store))
    client.force_login(owner)
    assert client.post(_withdraw_url(broadcast, other), {"confirm": "yes"}).status_code == 404
    other.refresh_from_db()
    assert other.status == GroupBuyOffer.Status.OPEN


# --- the 接龙 help's example ----------------------------------------------------------------


def test_the_jielong_example_names_the_open_offers_and_joins_them(client, owner, store, broadcast):
    """Two blueberry products on offer: "蓝莓" alone matches both, so the example names the
    first by its item number and the second by its full name, and pasting it joins both."""
    from tests.campaigns.factories import CampaignProductFactory

    campaign = broadcast.store_campaign.campaign
    small = ProductFactory(name="蓝莓 125g")
    large = ProductFactory(name="大果蓝莓 250g")
    for position, item in enumerate((small, large)):
        StockLevelFactory(store=store, product=item, on_hand=10)
        CampaignProductFactory(campaign=campaign, product=item, position=position)
        GroupBuyOfferFactory(broadcast=broadcast, product=item)
    client.force_login(owner)
    with translation.override("zh-hans"):
        response = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/")
    examples = response.context["jielong_examples"]
    assert examples == ["1. 李阿姨 1号×2", "2. 王先生 大果蓝莓 250g×1"]
    page = response.content.decode()
    assert "蓝莓×2" not in page
    # Chinese quotes end with a Chinese full stop, not an ASCII ".".
    assert "“1. 李阿姨 1号×2” “2. 王先生 大果蓝莓 250g×1”。" in page

    client.post(_urls(broadcast)["jielong"], {"text": "\n".join(examples)})
    assert sorted(
        GroupBuyJoin.objects.values_list("offer__product__name", "display_name", "quantity")
    ) == [("大果蓝莓 250g", "王先生", 1), ("蓝莓 125g", "李阿姨", 2)]


def test_without_item_numbers_the_example_names_the_product(client, owner, broadcast, product):
    GroupBuyOfferFactory(broadcast=broadcast, product=product)
    client.force_login(owner)
    examples = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").context[
        "jielong_examples"
    ]
    assert examples == ["1. 李阿姨 蓝莓×2", "2. 王先生 蓝莓×1"]


# --- the join list shows each order's state -------------------------------------------------


def test_the_join_list_shows_each_orders_current_state(client, owner, store, broadcast, product):
    from apps.campaigns.services.group_buys import group_buy_join, group_buy_offer_settle
    from apps.campaigns.sources import settle_sources
    from apps.stores.models import Order
    from tests.procurement.factories import PurchaseOrderSourceFactory

    # A pre-order: its formed orders wait for the supplier's delivery (paid).
    offer = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, threshold=2, cap=20, presale=True
    )
    people = {}
    for key, name, quantity in [
        ("a", "张三", 1),
        ("b", "李四", 3),
        ("c", "王五", 1),
        ("d", "赵六", 2),
    ]:
        people[name] = group_buy_join(
            offer=offer, quantity=quantity, idempotency_key=key, display_name=name
        ).join
    assert (
        group_buy_offer_settle(offer_id=offer.pk, now=offer.deadline, sources=settle_sources())
        == "formed"
    )
    # As receiving and pickup leave them: nothing arrived for 张三 (cancelled as not
    # delivered), 1 of 3 arrived for 李四 (ready, 2 short), 王五 picked up, 赵六 waits.
    Order.objects.filter(pk=people["张三"].order_id).update(status=Order.Status.CANCELLED)
    Order.objects.filter(pk=people["李四"].order_id).update(status=Order.Status.READY)
    Order.objects.filter(pk=people["王五"].order_id).update(status=Order.Status.COMPLETED)
    PurchaseOrderSourceFactory(
        order_line=people["李四"].order.lines.get(), quantity=3, short_quantity=2
    )
    PurchaseOrderSourceFactory(
        order_line=people["张三"].order.lines.get(), quantity=1, short_quantity=1
    )
    client.force_login(owner)
    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    joins = page.split('id="joins"', 1)[1]
    rows = {
        name: joins.split(name, 1)[1].split("</tr>", 1)[0]
        for name in ("张三", "李四", "王五", "赵六")
    }
    assert '<td class="nowrap">已取消</td>' in rows["张三"]
    assert '<td class="nowrap">待自提 · 缺 2</td>' in rows["李四"]
    assert '<td class="nowrap">已自提</td>' in rows["王五"]
    assert '<td class="nowrap">已成团，待到货</td>' in rows["赵六"]
    assert "已确认" not in joins


def test_the_join_list_shows_a_formed_stock_offers_joins_ready_at_once(
    client, owner, store, broadcast, product
):
    """Sold from the shelf: the goods are there when the offer forms, so 待自提 at once."""
    from apps.campaigns.services.group_buys import group_buy_join, group_buy_offer_settle
    from apps.campaigns.sources import settle_sources

    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=1, cap=20)
    group_buy_join(offer=offer, quantity=2, idempotency_key="a", display_name="张三")
    assert (
        group_buy_offer_settle(offer_id=offer.pk, now=offer.deadline, sources=settle_sources())
        == "formed"
    )
    client.force_login(owner)
    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    row = page.split('id="joins"', 1)[1].split("张三", 1)[1].split("</tr>", 1)[0]
    assert '<td class="nowrap">待自提</td>' in row
    assert "待到货" not in row


@pytest.mark.parametrize(
    ("units_joined", "chinese", "english"),
    [
        (4, "已达成团数（4/3）", "Threshold reached (4 of 3)"),
        (3, "已达成团数（3/3）", "Threshold reached (3 of 3)"),
        (2, "2 / 3 份成团", "2 of 3 units to form"),
    ],
)
def test_an_offer_past_its_threshold_reads_threshold_reached(
    client, owner, broadcast, product, units_joined, chinese, english
):
    GroupBuyOfferFactory(
        broadcast=broadcast, product=product, threshold=3, units_joined=units_joined
    )
    client.force_login(owner)
    url = f"/portal/campaigns/broadcasts/{broadcast.pk}/"

    with translation.override("zh-hans"):
        page_zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    page_en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    offers_zh = page_zh.split('id="offers"', 1)[1].split("</ul>", 1)[0]
    offers_en = page_en.split('id="offers"', 1)[1].split("</ul>", 1)[0]
    assert chinese in offers_zh
    assert english in offers_en
    if units_joined >= 3:
        assert "份成团" not in offers_zh
        assert "units to form" not in offers_en


def test_a_price_above_the_list_price_needs_the_owners_confirmation(
    client, owner, broadcast, store
):
    """¥25.00 for a product listed at ¥19.90: the form comes back with the error and a box
    "价格高于标价"; ticked, the offer opens at that price (a premium pre-order can be right).
    At the list price no box is shown."""
    melon = ProductFactory(name="麒麟西瓜", price=Decimal("19.90"))
    StockLevelFactory(store=store, product=melon, on_hand=30)
    client.force_login(owner)
    page = client.get(f"/portal/campaigns/broadcasts/{broadcast.pk}/").content.decode()
    assert 'type="checkbox" name="price_above_list_confirmed"' not in page
    post = _offer_post(melon)
    del post["price_above_list_confirmed"]
    post["price"] = "25.00"

    refused = client.post(_urls(broadcast)["offers"], post)

    assert refused.status_code == 400
    html = refused.content.decode()
    assert "¥25.00 高于麒麟西瓜的标价（¥19.90）" in html
    assert 'type="checkbox" name="price_above_list_confirmed"' in html
    assert "价格高于标价" in html
    assert GroupBuyOffer.objects.count() == 0

    post["price_above_list_confirmed"] = "on"
    assert client.post(_urls(broadcast)["offers"], post).status_code == 302
    offer = GroupBuyOffer.objects.get()
    assert (offer.product, offer.price) == (melon, Decimal("25.00"))

    cantaloupe = ProductFactory(name="香瓜", price=Decimal("19.90"))
    StockLevelFactory(store=store, product=cantaloupe, on_hand=30)
    at_list = _offer_post(cantaloupe)
    del at_list["price_above_list_confirmed"]
    response = client.post(_urls(broadcast)["offers"], at_list)
    assert response.status_code == 302, response.context["offer_form"].errors


def test_the_formation_rate_reads_in_one_language(client, owner, broadcast, product):
    """The English page said "Formation rate (成团率): …": the Chinese term is the Chinese page's
    word, not a gloss the English reader has to skip."""
    GroupBuyOfferFactory(
        broadcast=broadcast,
        product=product,
        status=GroupBuyOffer.Status.FORMED,
        settled_at=timezone.now(),
    )
    client.force_login(owner)
    urls = [
        f"/portal/campaigns/broadcasts/{broadcast.pk}/",
        f"/portal/campaigns/stores/{broadcast.store_id}/broadcasts/",
    ]
    for url in urls:
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "Formation rate: 1 of 1 settled offers formed." in english
        assert "成团率" not in english
        assert "成团率：已结算的 1 个团购中 1 个成团。" in chinese
