"""Staff portal notifications read in the reader's language (docs/notifications.md, "In the
reader's language").

Each kind of notification to a staff user (an owner's device alert, a supplier's new and updated
purchase order, a receipt dispute opened, accepted, rejected) is written by its real service
with the project language (Chinese) and read back — the same row — through the inbox selector
and the inbox pages in English and in Chinese. The stored title and body stay what was sent.
Rows written before their payload carried the message's parameters, and messages to members,
show their stored text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.selectors import notifications_for_user
from apps.campaigns.notifications.services import notification_enqueue
from apps.devices.services import device_alerts_evaluate
from apps.procurement.models import AfterSalesCase, PurchaseOrder, ReceiptLine
from apps.procurement.services.aftersales import case_approve
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.disputes import (
    receipt_dispute_accept,
    receipt_dispute_open,
    receipt_dispute_reject,
)
from apps.procurement.services.receiving import receipt_record
from linli.roles import HQ_PROCUREMENT
from tests.devices.factories import DeviceFactory, readings_every_minute
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    SupplierProductFactory,
    SupplierUserFactory,
    UserFactory,
    owner_of,
)
from tests.procurement.factories import supply_order
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db


def _read(user: object, language: str) -> list[tuple[str, str]]:
    """The user's inbox through the selector, (title, body) as shown, newest first."""
    with translation.override(language):
        return [(row.display_title, row.display_body) for row in notifications_for_user(user=user)]


def _page(client: object, url: str, language: str) -> str:
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


# --- device alerts (store owners) -------------------------------------------------------------


@pytest.fixture
def alerted_owner() -> tuple[object, object]:
    """A store owner with one device-alert notification: a chiller at 12 °C for 20 minutes."""
    device = DeviceFactory(name="Dairy chiller")
    owner = owner_of(device.store)
    readings_every_minute(
        device, start=timezone.now() - dt.timedelta(minutes=20), minutes=20, temperature=12.0
    )
    device_alerts_evaluate(device=device)
    return owner, device


def test_a_device_alert_reads_in_english_and_in_chinese(alerted_owner):
    owner, _device = alerted_owner
    [(title_en, body_en)] = _read(owner, "en")
    [(title_zh, body_zh)] = _read(owner, "zh-hans")
    assert title_en.startswith("Dairy chiller: Temperature out of range — 12.0 °C, outside 0 to")
    assert body_en.startswith("12.0 °C, outside 0 to 8 °C for ")
    assert title_zh.startswith("Dairy chiller：温度超出范围 — 12.0 °C，已超出 0 至 8 °C 达 ")
    assert body_zh.startswith("12.0 °C，已超出 0 至 8 °C 达 ")
    # The row keeps what was sent: the project language's words.
    stored = Notification.objects.get(recipient=owner)
    assert (stored.title, stored.body) == (title_zh, body_zh)


def test_the_owners_pages_show_the_alert_notification_in_the_readers_language(
    client, alerted_owner
):
    owner, device = alerted_owner
    client.force_login(owner)
    devices_page = reverse("devices:store", args=[device.store_id])
    for url in ("/portal/", devices_page):
        english = _page(client, url, "en")
        chinese = _page(client, url, "zh-hans")
        assert "Dairy chiller: Temperature out of range — 12.0 °C" in english
        assert "温度超出范围" not in english
        assert "Dairy chiller：温度超出范围 — 12.0 °C" in chinese


def test_an_old_device_alert_row_without_the_device_name_shows_its_stored_text(alerted_owner):
    owner, _device = alerted_owner
    row = Notification.objects.get(recipient=owner)
    # As written before the payload carried the device's name.
    row.payload = {key: value for key, value in row.payload.items() if key != "device"}
    row.save(update_fields=["payload"])
    assert _read(owner, "en") == [(row.title, row.body)]


# --- purchase orders (suppliers) -----------------------------------------------------------


@pytest.fixture
def supplier_inbox() -> tuple[object, PurchaseOrder]:
    """A supplier user told of a new purchase order, then of what a second run added."""
    farm = SupplierFactory(name="云南蓝莓果园")
    berries = ProductFactory(name="云南蓝莓 125g")
    for product in (berries, ProductFactory(name="阳光玫瑰葡萄")):
        SupplierProductFactory(
            supplier=farm,
            product=product,
            cost=Decimal("8.50"),
            pack_size=1,
            min_order_qty=1,
            lead_time_days=2,
        )
    user = SupplierUserFactory(supplier=farm).user
    cutoff = timezone.now().replace(microsecond=0)
    supply_order(store=StoreFactory(), lines=[(berries, 4)])
    purchase_orders_consolidate(cutoff=cutoff)
    supply_order(store=StoreFactory(), lines=[(berries, 3)])
    purchase_orders_consolidate(cutoff=cutoff + dt.timedelta(seconds=1))
    return user, PurchaseOrder.objects.get()


def test_new_and_updated_purchase_orders_read_in_english_and_in_chinese(supplier_inbox):
    user, po = supplier_inbox
    date = po.delivery_date.isoformat()
    assert _read(user, "en") == [
        (
            f"Purchase order {po.number} updated",
            f"Delivery date: {date}. Added: 云南蓝莓 125g +3 (7 ordered in all).",
        ),
        (f"New purchase order {po.number}", f"Delivery date: {date}"),
    ]
    chinese = [
        (f"采购单 {po.number} 已更新", f"到货日期：{date}。新增：云南蓝莓 125g +3（共订 7）。"),
        (f"新采购单 {po.number}", f"到货日期：{date}"),
    ]
    assert _read(user, "zh-hans") == chinese
    stored = Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")
    assert [(row.title, row.body) for row in stored] == chinese


def test_the_supplier_inbox_page_reads_in_the_readers_language(client, supplier_inbox):
    user, po = supplier_inbox
    client.force_login(user)
    english = _page(client, reverse("supplier:home"), "en")
    chinese = _page(client, reverse("supplier:home"), "zh-hans")
    assert f"New purchase order {po.number}" in english
    assert f"Purchase order {po.number} updated" in english
    assert "采购单" not in english
    assert f"新采购单 {po.number}" in chinese
    assert f"采购单 {po.number} 已更新" in chinese


def test_an_old_purchase_order_row_without_its_parameters_shows_its_stored_text():
    user = UserFactory()
    notification_enqueue(
        dedupe_key="purchase-order:1:user:old",
        kind="purchase_order.new",
        title="新采购单 PO-OLD",
        body="到货日期：2026-07-01",
        recipient=user,
        payload={"purchase_order_id": 1, "url": "/supplier/orders/1/"},
    )
    assert _read(user, "en") == [("新采购单 PO-OLD", "到货日期：2026-07-01")]


# --- receipt disputes (suppliers) ------------------------------------------------------------


@pytest.fixture
def disputed() -> tuple[SupplyWorld, object, ReceiptLine]:
    """Store A received 2 blueberries, 2 short, 2 damaged (cases approved); a supplier user."""
    world = supply_world()
    berries, grapes = world.products
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={
            world.allocation(world.store_a, berries).pk: (2, 2, 2),
            world.allocation(world.store_a, grapes).pk: (4, 0, 0),
        },
        by=None,
    )
    buyer = UserFactory(is_staff=True, is_superuser=True)
    for case in AfterSalesCase.objects.order_by("pk"):
        case_approve(case=case, by=buyer)
    user = SupplierUserFactory(supplier=world.supplier).user
    line = ReceiptLine.objects.get(allocation=world.allocation(world.store_a, berries))
    return world, user, line


def test_an_opened_dispute_reads_in_english_and_in_chinese(disputed):
    world, user, line = disputed
    # A colleague opens it (nobody is notified of their own action); `user` reads it.
    colleague = SupplierUserFactory(supplier=world.supplier).user
    receipt_dispute_open(receipt_line=line, claimed_quantity=6, note="6 loaded", by=colleague)
    store = f"{world.store_a.code} {world.store_a.name}"
    number = world.purchase_order.number
    assert _read(user, "en") == [
        (
            f"Receipt disputed: {number}, {store}",
            "云南蓝莓 125g: you say 6 delivered, the store recorded 4. HQ will answer.",
        )
    ]
    chinese = [
        (
            f"收货异议：{number}，{store}",
            "云南蓝莓 125g：您申报到货 6 件，门店记录 4 件。总部将予答复。",
        )
    ]
    assert _read(user, "zh-hans") == chinese
    stored = Notification.objects.get(recipient=user)
    assert [(stored.title, stored.body)] == chinese


@pytest.mark.parametrize(
    ("answer_with", "english", "chinese"),
    [
        (receipt_dispute_accept, "Dispute accepted", "异议已采纳"),
        (receipt_dispute_reject, "Dispute rejected", "异议已驳回"),
    ],
)
def test_an_answered_dispute_reads_in_english_and_in_chinese(
    disputed, roles, answer_with, english, chinese
):
    world, user, line = disputed
    colleague = SupplierUserFactory(supplier=world.supplier).user
    dispute = receipt_dispute_open(
        receipt_line=line, claimed_quantity=6, note="6 loaded", by=colleague
    )
    hq = UserFactory(is_staff=True)
    hq.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    answer_with(dispute=dispute, by=hq, answer="门店复点为 5 件。")
    store = f"{world.store_a.code} {world.store_a.name}"
    number = world.purchase_order.number
    [answered_en, _opened_en] = _read(user, "en")
    [answered_zh, _opened_zh] = _read(user, "zh-hans")
    assert answered_en == (
        f"{english}: {number}, {store}",
        "云南蓝莓 125g. HQ's answer: 门店复点为 5 件。",
    )
    assert answered_zh == (
        f"{chinese}：{number}，{store}",
        "云南蓝莓 125g。总部答复：门店复点为 5 件。",
    )
    stored = Notification.objects.get(recipient=user, kind="receipt_dispute_answered")
    assert (stored.title, stored.body) == answered_zh


# --- what keeps its stored text --------------------------------------------------------------


def test_a_message_to_a_member_keeps_its_stored_text_in_any_language(admin_client):
    # Written as the pickup service writes it: to the member, by SMS (a member message may
    # not go to a user's portal inbox: its kind has no renderer, test_notification_kinds.py).
    store = StoreFactory()
    notification, _created = notification_enqueue(
        dedupe_key="order-ready:1",
        kind="order_ready",
        title="您的订单已可自提",
        body="您的订单 1 已可在门店自提。",
        channel=Notification.Channel.SMS,
        member=MemberFactory(),
        store=store,
        payload={"order_id": 1},
    )
    with translation.override("en"):
        assert notification.display_texts() == ("您的订单已可自提", "您的订单 1 已可在门店自提。")
    listing = _page(admin_client, reverse("admin:campaigns_notification_changelist"), "en")
    assert "您的订单已可自提" in listing


def test_the_admin_list_shows_a_staff_notification_in_the_readers_language(
    admin_client, alerted_owner
):
    response = admin_client.get(
        reverse("admin:campaigns_notification_changelist"), headers={"accept-language": "en"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dairy chiller: Temperature out of range" in html
    assert "Dairy chiller：温度超出范围" not in html


def test_a_renderer_that_fails_on_a_malformed_payload_is_logged_and_the_stored_text_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from apps.campaigns.notifications import texts

    def renderer(payload: Mapping[str, Any]) -> tuple[str, str]:
        return f"title {int(payload['n'])}", ""

    texts.notification_kind_register(kind="test.malformed", label="test", renderer=renderer)
    try:
        with caplog.at_level(logging.WARNING, logger=texts.__name__):
            old_row = texts.notification_texts(
                kind="test.malformed", payload={}, title="stored", body="b"
            )
            assert caplog.records == []  # a missing parameter: an old row, nothing to log
            malformed = texts.notification_texts(
                kind="test.malformed", payload={"n": "x"}, title="stored", body="b"
            )
        assert old_row == malformed == ("stored", "b")
        assert [r.getMessage() for r in caplog.records] == [
            "notification test.malformed: renderer failed, stored text shown"
        ]
        assert texts.notification_texts(
            kind="test.malformed", payload={"n": 3}, title="stored", body="b"
        ) == ("title 3", "")
    finally:
        texts._kinds.pop("test.malformed", None)
