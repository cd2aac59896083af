"""The owner's campaign pages: the list (drafts first), one-click confirm (idempotent), decline,
the pack page (copy parts, posters, target list with masked phones, delivery counts, preview),
and refusals: another store's owner, a clerk for owner actions and member data, a supplier user,
an anonymous user; downloads are access-checked like the pages."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from PIL import Image
from pypdf import PdfReader

from apps.campaigns.models import (
    Broadcast,
    Campaign,
    CampaignTarget,
    Notification,
    Promotion,
    StoreCampaign,
)
from apps.customers.models import MemberTag
from tests.campaigns.factories import (
    CampaignFactory,
    CampaignProductFactory,
    ScenarioTemplateFactory,
    StoreCampaignFactory,
)
from tests.factories import (
    CategoryFactory,
    MemberFactory,
    ProductFactory,
    TagFactory,
)


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    settings.LANGUAGE_CODE = "en"


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def draft(store: object) -> StoreCampaign:
    """A draft at `store` of a 蓝莓季 campaign targeting 水果控, with one tagged consenting
    member of the store (phone 13800001234) and one older confirmed campaign."""
    tag = TagFactory(name="水果控")
    template = ScenarioTemplateFactory(code="berries", name="蓝莓季")
    template.target_tags.set([tag])
    campaign = CampaignFactory(template=template, name="蓝莓季 第1期")
    campaign.target_tags.set([tag])
    CampaignProductFactory(campaign=campaign, product=ProductFactory(name="低糖蓝莓 125g"))
    member = MemberFactory(
        home_store=store, marketing_consent=True, name="李阿姨", phone="+8613800001234"
    )
    MemberTag.objects.create(member=member, tag=tag, source=MemberTag.Source.CHAT)
    older = CampaignFactory(template=template, name="端午节", starts_on=campaign.starts_on)
    StoreCampaignFactory(
        campaign=older,
        store=store,
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    return StoreCampaignFactory(campaign=campaign, store=store)


def _url(name: str, draft: StoreCampaign) -> str:
    return reverse(f"campaigns:{name}", args=[draft.store_id, draft.pk])


def test_list_shows_drafts_first_with_a_confirm_button(owner: object, draft: StoreCampaign) -> None:
    response = _client(owner).get(reverse("campaigns:store", args=[draft.store_id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("蓝莓季 第1期") < page.index("端午节")
    assert page.count(_url("confirm", draft)) == 1
    assert "/confirm/" in page


def _promotion_section(client: Client, store: object) -> str:
    response = client.get(reverse("campaigns:store", args=[store.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('id="promotions"')
    return page[start : page.index("</section>", start)]


def test_list_shows_hq_promotions_in_which_the_store_takes_part_this_week(
    owner: object, other_owner: object, store: object, other_store: object
) -> None:
    today = timezone.localdate()
    berries = ProductFactory(name="低糖蓝莓 125g")
    fruit = CategoryFactory(name="时令水果")

    def plan(name: str, first: int = 0, last: int = 2, stores: tuple = (), **fields: object):
        promotion = Promotion.objects.create(
            name=name,
            starts_on=today + dt.timedelta(days=first),
            ends_on=today + dt.timedelta(days=last),
            **fields,
        )
        promotion.stores.set(stores)

    price = {"kind": Promotion.Kind.PRICE, "product": berries, "discount_percent": 20}
    plan("全网特价", **price)  # the whole network
    plan("本店堆头", stores=(store,), kind=Promotion.Kind.FEATURE, category=fruit)
    plan("本区直播", region=store.region, kind=Promotion.Kind.BROADCAST, product=berries)
    plan("周日特价", first=6, last=6, **price)  # the seventh day, the last one shown
    plan("他店特价", stores=(other_store,), **price)
    plan("他区特价", region=other_store.region, **price)
    plan("已取消", status=Promotion.Status.CANCELLED, **price)
    plan("上周特价", first=-9, last=-1, **price)
    plan("下周特价", first=7, last=9, **price)

    section = _promotion_section(_client(owner), store)
    shown = ("全网特价", "本店堆头", "本区直播", "周日特价")
    for name in shown:
        assert name in section, name
    for name in ("他店特价", "他区特价", "已取消", "上周特价", "下周特价"):
        assert name not in section, name
    assert "all of 时令水果" in section
    assert "Live broadcast" in section
    assert section.count("20%") == 2
    assert section.index("全网特价") < section.index("周日特价")  # soonest first
    # The other store's owner sees their store's plan, not this one's.
    other = _promotion_section(_client(other_owner), other_store)
    for name in ("全网特价", "他店特价", "他区特价"):
        assert name in other, name
    for name in ("本店堆头", "本区直播"):
        assert name not in other, name


def test_list_shows_the_soonest_promotions_and_counts_the_rest(
    owner: object, store: object
) -> None:
    today = timezone.localdate()
    Promotion.objects.bulk_create(
        Promotion(
            name=f"特价{number:02d}",
            kind=Promotion.Kind.PRICE,
            product=ProductFactory(),
            discount_percent=10,
            starts_on=today + dt.timedelta(days=number % 7),
            ends_on=today + dt.timedelta(days=number % 7),
        )
        for number in range(53)
    )
    section = _promotion_section(_client(owner), store)
    assert section.count("特价") == 50
    assert "And 3 more." in section
    # Soonest first, then in the order planned: the seventh day's last three are the rest.
    assert "特价06" in section
    for number in (34, 41, 48):
        assert f"特价{number}" not in section


def test_list_says_when_hq_plans_no_promotion(owner: object, store: object) -> None:
    section = _promotion_section(_client(owner), store)
    assert "No promotion planned for these days." in section
    chinese = _client(owner).get(
        reverse("campaigns:store", args=[store.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "本店计划中的促销与直播" in chinese.content.decode()
    assert "这几天没有安排促销。" in chinese.content.decode()


def test_store_page_links_to_campaigns(owner: object, draft: StoreCampaign) -> None:
    response = _client(owner).get(reverse("portal:store", args=[draft.store_id]))
    assert reverse("campaigns:store", args=[draft.store_id]) in response.content.decode()


def test_one_click_confirm_makes_the_pack_and_a_second_click_changes_nothing(
    owner: object, draft: StoreCampaign
) -> None:
    client = _client(owner)
    response = client.post(_url("confirm", draft))
    assert response.status_code == 302
    assert response["Location"] == _url("detail", draft)
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.CONFIRMED
    assert draft.confirmed_by == owner
    generated = draft.pack_generated_at
    response = client.post(_url("confirm", draft))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.pack_generated_at == generated
    assert CampaignTarget.objects.filter(store_campaign=draft).count() == 1
    assert Promotion.objects.filter(store_campaign=draft).count() == 1


def test_pack_page_shows_copy_parts_posters_masked_targets_and_counts(
    owner: object, draft: StoreCampaign
) -> None:
    client = _client(owner)
    client.post(_url("confirm", draft))
    with override("en"):
        page = client.get(_url("detail", draft)).content.decode()
    assert 'data-copy="live-script-text"' in page
    assert 'data-copy="warmup-text"' in page
    assert 'data-copy="jielong-text"' in page
    assert "#接龙 蓝莓季 第1期" in page
    assert _url("poster-png", draft) in page
    assert _url("poster-pdf", draft) in page
    assert _url("targets-csv", draft) in page
    assert "李阿姨" in page
    assert "138****1234" in page
    assert "13800001234" not in page
    assert _url("preview", draft) in page
    assert "linli/campaigns.js" in page
    assert "<script>" not in page


def test_the_target_count_and_the_shown_note_join_without_a_space_in_chinese(
    owner: object, draft: StoreCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sentences joined in the template read "…营销信息）。 仅显示前…" in Chinese, a space
    after "。"; English keeps its space."""
    monkeypatch.setattr("apps.campaigns.views.campaigns.TARGETS_SHOWN", 1)
    member = MemberFactory(home_store=draft.store, marketing_consent=True)
    MemberTag.objects.create(
        member=member, tag=draft.campaign.target_tags.get(), source=MemberTag.Source.CHAT
    )
    client = _client(owner)
    client.post(_url("confirm", draft))

    chinese = client.get(_url("detail", draft), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(_url("detail", draft), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "2 位会员（均已同意接收营销信息）。仅显示前 1 位，完整名单请下载。" in chinese
    assert (
        "2 members, with marketing consent. The first 1 are shown; download the list for all."
        in english
    )


def test_a_confirmed_campaign_without_a_pack_offers_to_make_it(
    owner: object, clerk: object, draft: StoreCampaign
) -> None:
    """The fixture's older campaign was confirmed without a pack (as the demo's history is):
    its page says so instead of showing empty copy and a PDF link that answers 404; the
    owner makes the pack in one click, a second click changes nothing, a clerk may not, and
    a draft's pack comes only with confirming."""
    older = StoreCampaign.objects.get(store=draft.store, campaign__name="端午节")
    client = _client(owner)
    page = client.get(_url("detail", older)).content.decode()
    assert 'id="pack-missing"' in page
    assert _url("pack", older) in page
    assert _url("poster-pdf", older) not in page
    assert 'id="live-script"' not in page
    assert 'id="targets"' in page  # the rest of a confirmed campaign's page stays
    assert client.get(_url("poster-pdf", older)).status_code == 404

    assert _client(clerk).post(_url("pack", older)).status_code == 403
    older.refresh_from_db()
    assert older.pack_generated_at is None

    response = client.post(_url("pack", older), follow=True)
    assert response.redirect_chain[-1][0] == _url("detail", older)
    assert "Your pack is ready." in response.content.decode()
    older.refresh_from_db()
    made = older.pack_generated_at
    assert made is not None
    assert older.warmup_copy
    assert older.live_script
    page = response.content.decode()
    assert 'id="pack-missing"' not in page
    assert 'id="live-script"' in page
    assert _url("poster-pdf", older) in page
    assert client.get(_url("poster-pdf", older)).status_code == 200

    again = client.post(_url("pack", older), follow=True).content.decode()
    assert "already made" in again
    older.refresh_from_db()
    assert older.pack_generated_at == made

    client.post(_url("pack", draft))
    draft.refresh_from_db()
    assert draft.pack_generated_at is None


def test_the_live_script_is_listed_once_and_its_copy_text_kept_hidden(
    owner: object, draft: StoreCampaign
) -> None:
    client = _client(owner)
    client.post(_url("confirm", draft))
    page = client.get(_url("detail", draft)).content.decode()
    assert '<pre class="copy-source" id="live-script-text" hidden>' in page


def test_downloads_poster_png_pdf_and_masked_csv(owner: object, draft: StoreCampaign) -> None:
    client = _client(owner)
    client.post(_url("confirm", draft))
    png = client.get(_url("poster-png", draft))
    assert png.status_code == 200
    assert Image.open(io.BytesIO(b"".join(png.streaming_content))).size == (1080, 1920)
    pdf = client.get(_url("poster-pdf", draft))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert "低糖蓝莓 125g" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    csv = client.get(_url("targets-csv", draft))
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert "李阿姨" in text
    assert "138****1234" in text
    assert "13800001234" not in text


def test_preview_queues_one_notification_per_target_once(
    owner: object, draft: StoreCampaign
) -> None:
    client = _client(owner)
    client.post(_url("confirm", draft))
    assert client.post(_url("preview", draft)).status_code == 302
    assert client.post(_url("preview", draft)).status_code == 302
    rows = Notification.objects.filter(store_campaign=draft, kind="preview")
    assert rows.count() == 1
    assert rows.get().body == StoreCampaign.objects.get(pk=draft.pk).warmup_copy


def test_preview_before_confirming_sends_nothing(owner: object, draft: StoreCampaign) -> None:
    assert _client(owner).post(_url("preview", draft)).status_code == 302
    assert Notification.objects.filter(store_campaign=draft).count() == 0


def test_decline_from_the_page(owner: object, draft: StoreCampaign) -> None:
    response = _client(owner).post(_url("decline", draft))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.DECLINED


def test_clerk_sees_the_pack_but_not_targets_and_cannot_confirm(
    clerk: object, owner: object, draft: StoreCampaign
) -> None:
    client = _client(clerk)
    assert client.post(_url("confirm", draft)).status_code == 403
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.DRAFT
    _client(owner).post(_url("confirm", draft))
    page = client.get(_url("detail", draft))
    assert page.status_code == 200
    assert "李阿姨" not in page.content.decode()
    assert _url("confirm", draft) not in page.content.decode()
    assert _url("preview", draft) not in page.content.decode()
    assert client.get(_url("poster-png", draft)).status_code == 200
    assert client.get(_url("targets-csv", draft)).status_code == 403
    assert client.post(_url("preview", draft)).status_code == 403
    assert client.post(_url("decline", draft)).status_code == 403
    assert Notification.objects.filter(store_campaign=draft).count() == 0


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
def test_other_users_are_refused_every_page_and_download(
    who: str, request: pytest.FixtureRequest, owner: object, draft: StoreCampaign
) -> None:
    _client(owner).post(_url("confirm", draft))
    client = _client(request.getfixturevalue(who))
    assert client.get(reverse("campaigns:store", args=[draft.store_id])).status_code == 403
    for name in ("detail", "poster-png", "poster-pdf", "targets-csv"):
        response = client.get(_url(name, draft))
        assert response.status_code == 403, name
        assert "李阿姨" not in response.content.decode(errors="ignore")
    for name in ("confirm", "decline", "preview"):
        assert client.post(_url(name, draft)).status_code == 403, name
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.CONFIRMED
    assert Notification.objects.filter(store_campaign=draft).count() == 0


def test_other_owner_cannot_reach_a_campaign_through_their_own_store(
    other_owner: object, other_store: object, draft: StoreCampaign
) -> None:
    client = _client(other_owner)
    url = reverse("campaigns:detail", args=[other_store.pk, draft.pk])
    assert client.get(url).status_code == 404
    confirm = reverse("campaigns:confirm", args=[other_store.pk, draft.pk])
    assert client.post(confirm).status_code == 404
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.DRAFT


def test_anonymous_is_sent_to_login(draft: StoreCampaign) -> None:
    client = Client()
    for name in ("detail", "poster-png", "poster-pdf", "targets-csv"):
        response = client.get(_url(name, draft))
        assert response.status_code == 302, name
        assert reverse("portal:login") in response["Location"]
    assert client.post(_url("confirm", draft)).status_code == 302
    draft.refresh_from_db()
    assert draft.status == StoreCampaign.Status.DRAFT


def test_hq_with_permissions_sees_the_page(hq_user: object, draft: StoreCampaign) -> None:
    assert _client(hq_user).get(_url("detail", draft)).status_code == 200


def test_a_confirmed_campaign_leads_on_to_its_broadcast_and_review(
    owner: object, draft: StoreCampaign
) -> None:
    client = _client(owner)
    draft_page = client.get(_url("detail", draft)).content.decode()
    assert "/broadcasts/" not in draft_page
    client.post(_url("confirm", draft))
    broadcast = Broadcast.objects.get(store_campaign=draft)
    page = client.get(_url("detail", draft)).content.decode()
    assert reverse("campaigns:broadcast", args=[broadcast.pk]) in page
    assert reverse("campaigns:review", args=[draft.pk]) in page


def test_a_campaign_drafted_from_an_insight_without_a_discount_is_listed_as_a_broadcast(
    owner: object, store: object
) -> None:
    """An insight card's draft with no template has no discount: confirmed, its product is
    planned as a live broadcast without a discount, not as "团购 0%"."""
    from tests.catalog.factories import InsightCardFactory

    card = InsightCardFactory(store=store, product=ProductFactory(name="鲜榨橙汁"))
    client = _client(owner)
    response = client.post(reverse("campaigns:insight-accept", args=[store.pk, card.pk]))
    assert response.status_code == 302
    draft = StoreCampaign.objects.get(store=store, campaign__insight_card=card)
    assert draft.campaign.discount_percent == 0
    assert client.post(_url("confirm", draft)).status_code == 302

    promotion = Promotion.objects.get(store_campaign=draft)
    assert (promotion.kind, promotion.discount_percent) == (Promotion.Kind.BROADCAST, None)
    section = _promotion_section(client, store)
    row = section[section.index("鲜榨橙汁") :]
    row = row[: row.index("</tr>")]
    assert "<td>Live broadcast</td>" in row
    assert "<td>—</td>" in row
    assert "Group buy" not in row
    assert "0%" not in row


def test_a_poster_whose_file_is_gone_is_not_found_and_logged(
    owner: object, draft: StoreCampaign, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(owner)
    client.post(_url("confirm", draft))
    poster = StoreCampaign.objects.get(pk=draft.pk).poster
    poster.storage.delete(poster.name)

    with caplog.at_level("WARNING", logger="linli.files"):
        response = client.get(_url("poster-png", draft))

    assert response.status_code == 404
    assert [record.getMessage() for record in caplog.records if record.name == "linli.files"] == [
        f"stored file missing: {poster.name} (campaigns.StoreCampaign.poster)"
    ]


def test_a_one_day_campaign_shows_its_day_once(owner: object, draft: StoreCampaign) -> None:
    Campaign.objects.filter(pk=draft.campaign_id).update(
        starts_on=dt.date(2026, 12, 6), ends_on=dt.date(2026, 12, 6)
    )
    client = _client(owner)

    listing = client.get(reverse("campaigns:store", args=[draft.store_id])).content.decode()
    detail = client.get(_url("detail", draft)).content.decode()

    assert "12-06" in listing
    assert "12-06 – 12-06" not in listing
    assert "2026-12-06" in detail
    assert "2026-12-06 – 2026-12-06" not in detail


def test_a_clerk_is_not_asked_to_confirm_what_only_the_owner_may(
    clerk: object, owner: object, draft: StoreCampaign
) -> None:
    """The list's "confirm a draft with one click", the store page's "Campaigns: confirm …" and
    a draft with no button and no word left a clerk at a dead end: they say who confirms."""
    one_click = "Confirm a draft with one click"
    clerk_client, owner_client = _client(clerk), _client(owner)
    store_page = reverse("portal:store", args=[draft.store_id])
    listing = reverse("campaigns:store", args=[draft.store_id])

    page = clerk_client.get(listing).content.decode()
    assert one_click not in page
    assert "The store's owner confirms or declines each draft" in page
    assert one_click in owner_client.get(listing).content.decode()

    page = clerk_client.get(_url("detail", draft)).content.decode()
    assert 'id="owner-confirms"' in page
    assert _url("confirm", draft) not in page
    page = owner_client.get(_url("detail", draft)).content.decode()
    assert 'id="owner-confirms"' not in page
    assert _url("confirm", draft) in page

    assert "Campaigns: confirm" not in clerk_client.get(store_page).content.decode()
    assert "Campaigns: confirm" in owner_client.get(store_page).content.decode()
