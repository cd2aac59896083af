"""Record titles (`__str__`, shown in admin titles, breadcrumbs, choices and messages) put a
detail in brackets the reader's way: full-width （） in Chinese, "( )" in English
(`linli.wording.bracketed`), and a label before its value with "：" / ": " (`labelled`).
Codes, serials and numbers inside stay as they are."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from apps.campaigns.models import Campaign, Promotion
from apps.campaigns.notifications.models import Notification
from apps.catalog.models import CoPurchaseRule, ForecastBacktest
from apps.customers.models import MemberIdentity
from apps.devices.models import Device
from apps.procurement.models import ConsolidationRun, PurchaseOrderException
from apps.stores.models import OrderFulfilment, Store, StoreStaff, StoreTerminal
from tests.campaigns.factories import CampaignFactory

EVENING = dt.datetime(2026, 12, 4, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _titles() -> list[tuple[object, str, str]]:
    """(record, English title, Chinese title)."""
    store = Store(code="S0001", name="邻里优选1号店")
    exception = PurchaseOrderException.Kind.CANCELLED_AFTER_CONFIRMATION
    return [
        (
            Campaign(name="夏季水果季", starts_on=dt.date(2026, 7, 1), ends_on=dt.date(2026, 7, 3)),
            "夏季水果季 (2026-07-01 – 2026-07-03)",
            "夏季水果季（2026-07-01 – 2026-07-03）",
        ),
        (
            Promotion(
                name="蓝莓特价",
                kind=Promotion.Kind.PRICE,
                starts_on=dt.date(2026, 6, 1),
                ends_on=dt.date(2026, 6, 7),
            ),
            f"{_label(Promotion.Kind.PRICE, 'en')} 蓝莓特价 (2026-06-01 – 2026-06-07)",
            f"{_label(Promotion.Kind.PRICE, 'zh-hans')} 蓝莓特价（2026-06-01 – 2026-06-07）",
        ),
        (
            CoPurchaseRule(antecedent_item=12, consequent_item=-3, confidence=Decimal("0.42")),
            "12 → -3 (42%)",
            "12 → -3（42%）",
        ),
        (
            ForecastBacktest(created_at=EVENING, origin_count=4, horizon_days=7),
            "2026-12-04 22:00 (4 origins × 7 days)",
            "2026-12-04 22:00（4 个起点 × 7 天）",
        ),
        (
            StoreStaff(
                user=get_user_model()(username="owner1"),
                store=store,
                role=StoreStaff.Role.OWNER,
            ),
            f"owner1 @ S0001 ({_label(StoreStaff.Role.OWNER, 'en')})",
            f"owner1 @ S0001（{_label(StoreStaff.Role.OWNER, 'zh-hans')}）",
        ),
        (
            StoreTerminal(store_id=3, name="收银台 1", token_prefix="ab12"),
            "3 收银台 1 (ab12…)",
            "3 收银台 1（ab12…）",
        ),
        (
            OrderFulfilment(order_id=9, pickup_code="123473", status=OrderFulfilment.Status.READY),
            f"9: ••••73 ({_label(OrderFulfilment.Status.READY, 'en')})",
            f"9：••••73（{_label(OrderFulfilment.Status.READY, 'zh-hans')}）",
        ),
        (
            Device(name="冷柜 1", serial="SN-000001"),
            "冷柜 1 (SN-000001)",
            "冷柜 1（SN-000001）",
        ),
        (
            ConsolidationRun(cutoff=EVENING, status=ConsolidationRun.Status.FINISHED),
            f"2026-12-04 22:00 ({_label(ConsolidationRun.Status.FINISHED, 'en')})",
            f"2026-12-04 22:00（{_label(ConsolidationRun.Status.FINISHED, 'zh-hans')}）",
        ),
        (
            MemberIdentity(kind=MemberIdentity.Kind.WECHAT, value="oWx-openid-1"),
            f"{_label(MemberIdentity.Kind.WECHAT, 'en')}: oWx-openid-1",
            f"{_label(MemberIdentity.Kind.WECHAT, 'zh-hans')}：oWx-openid-1",
        ),
        (
            PurchaseOrderException(purchase_order_id=5, kind=exception, quantity=2),
            f"5: {_label(exception, 'en')} 2",
            f"5：{_label(exception, 'zh-hans')} 2",
        ),
        (
            # A kind is named by its label, not its code.
            Notification(
                channel=Notification.Channel.PORTAL, kind="purchase_order.new", title="新采购单"
            ),
            "Portal New purchase order: 新采购单",
            f"{_label(Notification.Channel.PORTAL, 'zh-hans')} 新采购单：新采购单",
        ),
    ]


def _label(choice: object, language: str) -> str:
    with translation.override(language):
        return str(choice.label)


def test_record_titles_use_the_readers_brackets() -> None:
    for record, english, chinese in _titles():
        with translation.override("en"):
            assert str(record) == english
        with translation.override("zh-hans"):
            assert str(record) == chinese


@pytest.mark.django_db
def test_the_campaign_admin_title_has_full_width_brackets_in_chinese(admin_client) -> None:
    campaign = CampaignFactory(name="夏季水果季")
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "夏季水果季（2026-07-01 – 2026-07-03）" in admin_client.get(url).content.decode()
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "夏季水果季 (2026-07-01 – 2026-07-03)" in admin_client.get(url).content.decode()
