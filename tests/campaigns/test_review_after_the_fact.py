"""The review is read after the fact: beside the live dashboard's offer-time joined value it
shows the units that came short at receiving, the refunds given through after-sales cases
and what was sold after them; its funnel counts the 接龙 chat orders the mini-program never
tracked; its XLSX labels the store count, formats rates and is named as the page is."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from openpyxl import load_workbook

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer, TrackingEvent
from apps.campaigns.selectors.review_files import campaign_review_xlsx
from apps.campaigns.selectors.reviews import (
    campaign_review,
    campaign_window,
    store_campaign_funnel,
)
from apps.campaigns.sources import review_sources
from apps.procurement.models import AfterSalesCase, CaseKind, ChargedTo, Remedy
from apps.procurement.selectors.aftersales import refunds_by_store
from apps.stores.models import Order
from tests.campaigns.factories import CampaignFactory, TrackingEventFactory
from tests.campaigns.review_data import at, group_buy_order
from tests.campaigns.test_reviews import confirmed, offer
from tests.factories import MemberFactory, ProductFactory
from tests.procurement.factories import PurchaseOrderLineFactory, PurchaseOrderSourceFactory
from tests.procurement.factories_aftersales import AfterSalesCaseFactory

pytestmark = pytest.mark.django_db

JULY_1 = dt.date(2026, 7, 1)
PRICE = Decimal("16.90")


@pytest.fixture
def short_story(store):
    """Blueberries at ¥16.90: m1 joins 2, m2 1 and m3 2 in the mini-program (each with its
    order event), and a 接龙 line pasted from the chat joins 1 (no event). m2's unit came
    short at receiving and was refunded through an approved after-sales case; a rejected
    case on m1's order refunds nothing."""
    campaign = CampaignFactory(starts_on=JULY_1, name="夏季水果季 七月")
    store_campaign = confirmed(campaign, store)
    blueberries = ProductFactory(sku="FRU-0001", name="云南蓝莓")
    blueberry_offer = offer(store_campaign, blueberries, GroupBuyOffer.Status.FORMED, price=PRICE)
    m1, m2, m3, m4 = MemberFactory.create_batch(4)
    orders = {
        member: group_buy_order(
            blueberry_offer, member=member, quantity=quantity, placed_at=at(JULY_1)
        )
        for member, quantity in ((m1, 2), (m2, 1), (m3, 2))
    }
    for member, order in orders.items():
        TrackingEventFactory(
            store_campaign=store_campaign,
            kind=TrackingEvent.Kind.ORDER,
            member=member,
            order=order,
            occurred_at=at(JULY_1),
        )
    chat_order = group_buy_order(blueberry_offer, member=m4, quantity=1, placed_at=at(JULY_1))
    GroupBuyJoin.objects.filter(order=chat_order).update(source=GroupBuyJoin.Source.JIELONG)
    # Receiving found m2's unit short.
    PurchaseOrderSourceFactory(
        line=PurchaseOrderLineFactory(product=blueberries),
        order_line=orders[m2].lines.get(),
        quantity=1,
        short_quantity=1,
    )
    decided = {"decided_at": timezone.now(), "charged_to": ChargedTo.SUPPLIER}
    AfterSalesCaseFactory(
        store=store,
        order=orders[m2],
        kind=CaseKind.MISSING,
        amount=PRICE,
        status=AfterSalesCase.Status.APPROVED,
        remedy=Remedy.REFUND,
        **decided,
    )
    AfterSalesCaseFactory(
        store=store,
        order=orders[m1],
        kind=CaseKind.QUALITY,
        amount=Decimal("5.00"),
        status=AfterSalesCase.Status.REJECTED,
        **decided,
    )
    return {"campaign": campaign, "store_campaign": store_campaign}


def test_the_review_shows_short_units_refunds_and_what_was_sold(short_story):
    totals = campaign_review(sources=review_sources(), campaign=short_story["campaign"]).totals
    # The live dashboard's figures: every join, at the offer's price.
    assert totals.joined_value == PRICE * 6
    assert totals.order_count == 4
    assert totals.units == 6
    # After the fact: one unit short, refunded; five sold.
    assert totals.units_short == 1
    assert totals.order_value == Decimal("101.40")
    assert totals.refunded_value == Decimal("16.90")
    assert totals.sold_value == Decimal("84.50")


def test_the_reviews_refunds_are_the_ones_gmv_takes_off_for_every_status_and_remedy(short_story):
    """ "Sold after refunds" and GMV take off the same refunds: a case in every status with
    every remedy on the campaign's orders, and the review's refunded value is what the KPI
    pack's GMV takes off those orders (`refunds_by_store`). Campaigns kept their own copy of
    the refunded statuses as strings; they now read procurement's, so the two cannot drift."""
    order = Order.objects.filter(store=short_story["store_campaign"].store).earliest("pk")
    amount = Decimal("0.01")
    for status in AfterSalesCase.Status.values:
        for remedy in Remedy.values:
            decided = {} if status == "open" else {"decided_at": timezone.now()}
            AfterSalesCaseFactory(
                store=order.store,
                order=order,
                amount=amount,
                status=status,
                remedy=remedy,
                charged_to=ChargedTo.SUPPLIER,
                **decided,
            )
            amount *= 2  # each case's share of a sum is its own bit
    start, end = campaign_window(short_story["campaign"])
    gmv_refunds = refunds_by_store(start=start, end=end)
    refunded = campaign_review(sources=review_sources(), campaign=short_story["campaign"]).totals
    assert refunded.refunded_value == gmv_refunds[order.store_id]
    # The fixture's approved refund of 16.90, and of the twelve cases the approved refund
    # (bit 3: 0.08) and the resolved one (bit 9: 5.12).
    assert refunded.refunded_value == Decimal("22.10")


def test_the_funnel_counts_untracked_chat_orders_at_the_order_step(short_story):
    review = campaign_review(sources=review_sources(), campaign=short_story["campaign"])
    funnel = review.totals.funnel
    assert (funnel.orders, funnel.chat_orders, funnel.orders_with_chat) == (3, 1, 4)
    assert funnel.chat_order_members == 1
    assert review.stores[0].figures.funnel.chat_orders == 1
    assert store_campaign_funnel(store_campaign=short_story["store_campaign"]).chat_orders == 1
    # No event was made up for the chat order.
    assert TrackingEvent.objects.filter(kind=TrackingEvent.Kind.ORDER).count() == 3


def test_a_chat_order_named_by_an_order_event_counts_once(short_story):
    chat = GroupBuyJoin.objects.get(source=GroupBuyJoin.Source.JIELONG)
    TrackingEventFactory(
        store_campaign=short_story["store_campaign"],
        kind=TrackingEvent.Kind.ORDER,
        order=chat.order,
        occurred_at=at(JULY_1),
    )
    funnel = campaign_review(
        sources=review_sources(), campaign=short_story["campaign"]
    ).totals.funnel
    assert (funnel.orders, funnel.chat_orders) == (4, 0)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_labels_say_which_figure_is_which(short_story, hq_user):
    page = (
        _client(hq_user)
        .get(reverse("campaigns:campaign-review", args=[short_story["campaign"].pk]))
        .content.decode()
    )
    summary = page[page.index('id="summary"') :]
    for label, value in (
        ("接龙金额（接龙时，同直播看板）（元）", "101.40"),
        ("订单（不含已取消、已退款）", "4"),
        ("售后退款（元）", "16.90"),
        ("实际成交额（扣除退款）（元）", "84.50"),
        ("下单件数", "6"),
        ("到货缺货件数", "1"),
    ):
        assert f"<tr><td>{label}</td><td><b>{value}</b></td>" in summary
    funnel = page[page.index('id="funnel"') : page.index('id="summary"')]
    assert "下单事件（小程序埋点）</td><td>3</td>" in funnel
    assert "接龙订单（群接龙导入，未埋点）</td><td>1</td>" in funnel


def test_the_xlsx_labels_the_store_count_and_formats_rates(short_story, store):
    campaign = short_story["campaign"]
    for status in (GroupBuyOffer.Status.FORMED, GroupBuyOffer.Status.FAILED):
        offer(short_story["store_campaign"], ProductFactory(), status)
    with translation.override("zh-hans"):
        workbook = load_workbook(
            io.BytesIO(campaign_review_xlsx(sources=review_sources(), campaign=campaign))
        )
    summary, stores, _products = workbook.worksheets
    assert [summary["A3"].value, summary["B3"].value] == ["门店数", 1]
    header = [cell.value for cell in stores[1]]
    formed = stores.cell(row=2, column=header.index("成团率（已成团 / 已结算）") + 1)
    assert (formed.value, formed.number_format) == (0.667, "0.0%")
    sold = stores.cell(row=2, column=header.index("实际成交额（扣除退款）（元）") + 1)
    assert (sold.value, sold.number_format) == (84.5, "#,##0.00")


def test_downloads_are_named_as_the_page_names_the_review(short_story, hq_user, owner, store):
    campaign = short_story["campaign"]
    expected_store = f"复盘报告-夏季水果季_七月-2026-07-01-{store.code}"
    for route, extension in (("campaigns:review-xlsx", "xlsx"), ("campaigns:review-pdf", "pdf")):
        response = _client(owner).get(reverse(route, args=[short_story["store_campaign"].pk]))
        assert response["Content-Disposition"] == content_disposition_header(
            True, f"{expected_store}.{extension}"
        )
    response = _client(hq_user).get(reverse("campaigns:campaign-review-xlsx", args=[campaign.pk]))
    assert response["Content-Disposition"] == content_disposition_header(
        True, "复盘报告-夏季水果季_七月-2026-07-01.xlsx"
    )


def test_the_past_campaigns_after_the_fact_figures_are_compared(short_story, store, hq_user):
    """The short story is the template's earlier campaign: the next one's review averages its
    order value, units short, refunds and what was sold, on the page and in the XLSX."""
    past = short_story["campaign"]
    campaign = CampaignFactory(
        template=past.template, starts_on=JULY_1 + dt.timedelta(days=7), name="夏季水果季 七月二"
    )
    confirmed(campaign, store)

    comparison = campaign_review(sources=review_sources(), campaign=campaign).comparison

    assert [item.campaign_id for item in comparison.campaigns] == [past.pk]
    assert comparison.order_value == Decimal("101.40")
    assert comparison.units_short == 1
    assert comparison.refunded_value == Decimal("16.90")
    assert comparison.sold_value == Decimal("84.50")
    page = (
        _client(hq_user)
        .get(reverse("campaigns:campaign-review", args=[campaign.pk]))
        .content.decode()
    )
    summary = page[page.index('id="summary"') :]
    for label, past_value in (
        ("订单金额（元）", "101.40"),
        ("售后退款（元）", "16.90"),
        ("实际成交额（扣除退款）（元）", "84.50"),
        ("到货缺货件数", "1"),
    ):
        assert f"<td>{label}</td><td><b>0" in summary, label
        assert f'<td class="muted">{past_value}</td>' in summary.split(f"<td>{label}</td>")[1]
    with translation.override("zh-hans"):
        workbook = load_workbook(
            io.BytesIO(campaign_review_xlsx(sources=review_sources(), campaign=campaign))
        )
    sheet = workbook.worksheets[0]
    past_column = {row[0].value: row[2] for row in sheet.iter_rows(min_row=7)}
    assert past_column["订单金额（元）"].value == 101.4
    assert past_column["订单金额（元）"].number_format == "#,##0.00"
    assert past_column["售后退款（元）"].value == 16.9
    assert past_column["实际成交额（扣除退款）（元）"].value == 84.5
    assert past_column["到货缺货件数"].value == 1
