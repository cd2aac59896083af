"""The live dashboard pages: who may open them, and what they render (the latest snapshot, the
script and styles from static files only)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.models import Broadcast
from apps.stores.models import StoreStaff
from tests.campaigns.factories import (
    BroadcastCommentFactory,
    BroadcastFactory,
    GroupBuyJoinFactory,
    GroupBuyOfferFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _prefix(settings: Any) -> None:
    settings.LIVE_DASHBOARD_PREFIX = f"test-{uuid.uuid4().hex}"


@pytest.fixture
def broadcast(store: Any) -> Broadcast:
    return BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=3),
    )


def _get(client: Any, user: Any | None, url: str) -> Any:
    if user is not None:
        client.force_login(user)
    return client.get(url)


def test_owner_sees_the_live_page_with_the_latest_figures(client, owner, broadcast):
    GroupBuyJoinFactory(offer=GroupBuyOfferFactory(broadcast=broadcast), quantity=3)

    with translation.override("en"):
        response = _get(client, owner, reverse("campaigns:live", args=[broadcast.pk]))

    assert response.status_code == 200
    snapshot = response.context["snapshot"]
    assert (snapshot["broadcast_id"], snapshot["orders"], snapshot["joined_value"]) == (
        broadcast.pk,
        1,
        "59.70",
    )
    html = response.content.decode()
    assert f'data-live-url="/ws/broadcasts/{broadcast.pk}/live/"' in html
    assert 'id="live-initial"' in html
    assert "live-dashboard.js" in html
    assert "style=" not in html


def test_the_status_badge_is_in_the_viewers_language_and_no_version_is_shown(
    client, settings, owner, broadcast
):
    client.force_login(owner)
    # A Chinese viewer first: the snapshot kept for every viewer carries codes, not words.
    chinese = client.get(reverse("campaigns:live", args=[broadcast.pk])).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse("campaigns:live", args=[broadcast.pk]))

    html = response.content.decode()
    assert response.context["snapshot"]["status"] == "live"
    assert "status_label" not in response.context["snapshot"]
    assert '<span class="live-status" data-live-status>Live</span>' in html
    assert response.context["labels"]["statuses"] == {
        "scheduled": "Scheduled",
        "live": "Live",
        "ended": "Ended",
    }
    assert '<span class="live-status" data-live-status>直播中</span>' in chinese
    # The version counter is the script's business: an attribute, not words on the page.
    version = response.context["snapshot"]["version"]
    assert f'data-live-version="{version}"' in html
    assert "version" not in html.replace("data-live-version", "").replace('"version"', "")
    assert "版本" not in chinese


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_the_pages_words_for_offers_and_talking_points_are_in_the_viewers_language(
    client, settings, owner, broadcast
):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("campaigns:live", args=[broadcast.pk])).context["labels"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(reverse("campaigns:live", args=[broadcast.pk])).context["labels"]

    assert english["offerStatuses"] == {
        "open": "Open",
        "formed": "Formed",
        "failed": "Not formed",
        "cancelled": "Cancelled",
    }
    assert chinese["offerStatuses"] == {
        "open": "进行中",
        "formed": "已成团",
        "failed": "未成团",
        "cancelled": "已取消",
    }
    assert english["toForm"] == "to form the group"
    assert chinese["toForm"] == "待成团"
    # An open offer at its threshold has not formed: it forms at the deadline.
    assert english["thresholdReached"] == "Threshold reached: forms at the deadline"
    assert chinese["thresholdReached"] == "已达成团数，截单后成团"
    # A formed offer that sold from stock: its orders are ready for pickup (the join list's
    # 待自提), not a group waiting for its goods; a formed pre-order keeps 已成团.
    assert english["formedFromStock"] == "Sold, ready for pickup"
    assert chinese["formedFromStock"] == "已成交，待自提"
    assert "formed" not in english
    assert english["talkingPoints"]["price_regular"] == (
        "%(name)s is %(price)s yuan in this group buy (usually %(regular)s yuan)."
    )
    assert chinese["talkingPoints"]["price_regular"] == (
        "%(name)s 本次团购价 %(price)s 元（平时 %(regular)s 元）。"
    )
    english_words = [
        english["thresholdReached"],
        english["toForm"],
        english["talkingPointRemaining"],
        english["formedFromStock"],
        *english["offerStatuses"].values(),
        *english["talkingPoints"].values(),
    ]
    assert not [word for word in english_words if CJK.search(word)]
    # Every Chinese sentence is translated (more than its placeholders) and keeps them.
    for code, english_format in english["talkingPoints"].items():
        chinese_format = chinese["talkingPoints"][code]
        assert sorted(re.findall(r"%\(\w+\)s", chinese_format)) == sorted(
            re.findall(r"%\(\w+\)s", english_format)
        )
        assert code == "name" or CJK.search(chinese_format), code


def test_clerk_sees_the_live_page(client, store, broadcast):
    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    assert _get(client, clerk, reverse("campaigns:live", args=[broadcast.pk])).status_code == 200


def test_hq_user_sees_any_live_page(client, hq_user, broadcast):
    assert _get(client, hq_user, reverse("campaigns:live", args=[broadcast.pk])).status_code == 200


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
def test_live_page_answers_404_to_users_without_view_campaigns(client, broadcast, who, request):
    user = request.getfixturevalue(who)
    response = _get(client, user, reverse("campaigns:live", args=[broadcast.pk]))
    assert response.status_code == 404


def test_live_page_sends_anonymous_users_to_log_in(client, broadcast):
    response = _get(client, None, reverse("campaigns:live", args=[broadcast.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_unknown_broadcast_answers_404(client, owner, broadcast):
    response = _get(client, owner, reverse("campaigns:live", args=[broadcast.pk + 1000]))
    assert response.status_code == 404


def test_hq_user_sees_the_overview_of_live_broadcasts(client, hq_user, broadcast):
    BroadcastFactory()  # scheduled: not listed
    response = _get(client, hq_user, reverse("campaigns:live-overview"))
    assert response.status_code == 200
    rows = response.context["snapshot"]["broadcasts"]
    assert [row["broadcast_id"] for row in rows] == [broadcast.pk]
    assert reverse("campaigns:live", args=[broadcast.pk]) in response.content.decode()


@pytest.mark.parametrize("who", ["owner", "supplier_user", "inspector"])
def test_overview_is_refused_to_everyone_but_hq(client, broadcast, who, request):
    user = request.getfixturevalue(who)
    assert _get(client, user, reverse("campaigns:live-overview")).status_code == 403


def test_overview_sends_anonymous_users_to_log_in(client):
    response = _get(client, None, reverse("campaigns:live-overview"))
    assert response.status_code == 302


# --- where HQ finds the overview: admin index, Broadcasts changelist, portal home --------------


@pytest.fixture
def procurement_user(roles: None) -> Any:
    """HQ staff of the procurement group: the admin, but no campaigns permission."""
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="HQ procurement"))
    return user


def _links_to_overview(client: Any, url: str) -> bool:
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    return f'href="{reverse("campaigns:live-overview")}"' in page


def test_hq_finds_the_overview_on_the_admin_index_broadcasts_and_portal_home(client, hq_user):
    client.force_login(hq_user)
    assert _links_to_overview(client, reverse("admin:index"))
    assert _links_to_overview(client, reverse("admin:campaigns_broadcast_changelist"))
    assert _links_to_overview(client, reverse("portal:home"))
    assert client.get(reverse("campaigns:live-overview")).status_code == 200


def test_hq_staff_the_overview_refuses_see_no_link_to_it(client, procurement_user):
    client.force_login(procurement_user)
    assert client.get(reverse("campaigns:live-overview")).status_code == 403
    assert not _links_to_overview(client, reverse("admin:index"))
    assert not _links_to_overview(client, reverse("portal:home"))


def test_a_store_owner_sees_no_link_to_the_overview(client, owner, other_store):
    # Two stores, so the portal home is shown rather than a redirect to the store's page.
    StoreStaff.objects.create(user=owner, store=other_store, role=StoreStaff.Role.OWNER)
    client.force_login(owner)
    assert client.get(reverse("campaigns:live-overview")).status_code == 403
    assert not _links_to_overview(client, reverse("portal:home"))


@pytest.mark.parametrize(
    ("language", "label", "note"),
    [
        ("en", "Joined value (yuan)", "Includes joins of offers not yet formed."),
        ("zh-hans", "接龙金额（元）", "含尚未成团的接龙金额。"),
    ],
)
def test_the_value_is_labelled_as_joined_not_sales_and_viewers_unknown_show_a_dash(
    client, settings, owner, hq_user, broadcast, language, label, note
):
    GroupBuyJoinFactory(offer=GroupBuyOfferFactory(broadcast=broadcast), quantity=3)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(owner)

    html = client.get(reverse("campaigns:live", args=[broadcast.pk])).content.decode()

    assert (
        f'<span class="live-label">{label}</span><b data-live-field="joined_value">59.70</b>'
        in (html)
    )
    assert note in html
    assert "GMV" not in html
    assert "成交额" not in html
    assert '<b data-live-field="viewers">—</b>' in html
    assert '<span data-live-field="peak_viewers">—</span>' in html

    client.force_login(hq_user)
    overview = client.get(reverse("campaigns:live-overview")).content.decode()
    assert (
        f'<span class="live-label">{label}</span><b data-live-total="joined_value">59.70</b>'
        in (overview)
    )
    assert '<b data-live-total="viewers">—</b>' in overview
    assert "GMV" not in overview
    assert "成交额" not in overview


def test_the_viewers_say_when_they_were_reported_and_a_stale_count_is_marked(
    client, settings, owner, hq_user, broadcast
):
    """ "N viewers · reported 3 min ago"; past LIVE_VIEWERS_STALE_SECONDS the count is marked
    stale on the broadcast page and on the overview (left out of its total)."""
    settings.LIVE_VIEWERS_STALE_SECONDS = 300
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    Broadcast.objects.filter(pk=broadcast.pk).update(
        viewers=40,
        peak_viewers=52,
        viewers_reported_at=timezone.now() - dt.timedelta(minutes=3, seconds=10),
    )
    url = reverse("campaigns:live", args=[broadcast.pk])
    warning = "超过 2 分钟未上报"

    html = _get(client, owner, url).content.decode()
    assert '<b data-live-field="viewers">40</b>' in html
    assert "3 分钟前上报" in html
    assert re.search(r"data-live-viewers-stale hidden>", html)
    assert "live-number-stale" not in html

    # Past the threshold with no report since (the stored snapshot is the one made while the
    # count was current: the threshold lowered under the report's age is time passing).
    settings.LIVE_VIEWERS_STALE_SECONDS = 120
    response = _get(client, owner, url)
    assert response.context["snapshot"]["viewers_stale"] is True
    html = response.content.decode()
    assert '<b data-live-field="viewers">40</b>' in html  # the last count, marked
    assert "3 分钟前上报" in html
    assert "live-number-stale" in html
    assert f"data-live-viewers-stale>{warning}" in html
    assert re.search(r'data-server-now="\d+"', html)

    overview = _get(client, hq_user, reverse("campaigns:live-overview"))
    assert overview.context["snapshot"]["totals"]["viewers"] is None
    text = overview.content.decode()
    assert '40 人观看 (3 分钟前上报, <span class="live-stale">已过时</span>)' in text
    assert "1 场已过时，未计入" in text


def test_withdrawn_offers_are_counted_not_drawn_among_the_rings(
    client, owner, broadcast, django_capture_on_commit_callbacks
):
    """An offer nobody joined, withdrawn by the owner, is no live offer: the page (and the
    snapshot its websocket updates diff) leaves it out of the rings and the bars and says
    "已撤回 1 个商品" instead; the HQ overview does not count it as offered."""
    from apps.campaigns.selectors.live import live_overview
    from apps.campaigns.services.group_buys import offer_withdraw

    kept = GroupBuyOfferFactory(broadcast=broadcast)
    GroupBuyJoinFactory(offer=kept, quantity=2)
    withdrawn = GroupBuyOfferFactory(broadcast=broadcast)
    url = reverse("campaigns:live", args=[broadcast.pk])
    first = _get(client, owner, url)
    assert [row["id"] for row in first.context["snapshot"]["offers"]] == [kept.pk, withdrawn.pk]
    assert "已撤回" not in first.content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # the dashboard is told on commit
        offer_withdraw(offer=withdrawn, by=owner)
    response = client.get(url)

    snapshot = response.context["snapshot"]
    assert [row["id"] for row in snapshot["offers"]] == [kept.pk]
    assert snapshot["withdrawn"] == 1
    assert [row["product_id"] for row in snapshot["units_by_product"]] == [kept.product_id]
    html = response.content.decode()
    assert "已撤回 1 个商品（无人参团）。" in html
    assert response.context["labels"]["withdrawn"] == "已撤回 %(count)s 个商品（无人参团）。"
    overview = live_overview(stores=None)
    assert [row["offers"] for row in overview["broadcasts"]] == [1]


def test_a_comments_line_breaks_are_kept_and_its_markup_escaped(client, owner, broadcast):
    BroadcastCommentFactory(
        broadcast=broadcast, author="王先生", text="蓝莓甜不甜？\n<b>要两盒</b>"
    )
    html = _get(client, owner, reverse("campaigns:live", args=[broadcast.pk])).content.decode()
    assert "<b>王先生</b> 蓝莓甜不甜？<br>&lt;b&gt;要两盒&lt;/b&gt;</li>" in html
