"""Units that arrive damaged at store receiving are not "missing": receiving opens a "damaged"
after-sales case for them (the damaged compensation policy), a "missing" one for the units
that did not come, at most one receiving case per member order line and kind; the member's
notice tells the two apart; the supplier score counts each unit once, under its kind
(docs/delivery-and-receiving.md, docs/after-sales.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import (
    AfterSalesCase,
    CaseKind,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Receipt,
)
from apps.procurement.selectors.aftersales import (
    compensation_policy_for,
    order_lines_short,
    supplier_quality_scores,
)
from apps.procurement.services.aftersales import (
    AfterSalesRefused,
    case_approve,
    case_open,
    shortage_cases_open,
)
from apps.procurement.services.purchase_orders import purchase_order_report_shortage
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order
from tests.factories import UserFactory, owner_of
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db


def _receive(world: SupplyWorld, blueberries: tuple[int, int, int]) -> Receipt:
    """Store A's orders, oldest first: (blueberries, grapes) = (2, 1), (3, 2), (1, 1), ¥10 a
    unit; every grape arrives, the blueberries as (received, short, damaged)."""
    berries, grapes = world.products
    lines = {
        world.allocation(world.store_a, berries).pk: blueberries,
        world.allocation(world.store_a, grapes).pk: (4, 0, 0),
    }
    return receipt_record(
        purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
    )


def _cases() -> list[tuple]:
    return sorted(
        (
            case.order_id,
            case.kind,
            case.quantity,
            case.amount,
            case.proposed_remedy,
            case.charged_to,
            case.origin,
        )
        for case in AfterSalesCase.objects.all()
    )


def test_damaged_units_open_a_damaged_case_and_missing_units_a_missing_case():
    """6 blueberries allocated: 2 arrive, 2 do not, 2 arrive damaged. The latest order (1)
    bears a missing one, the one before it (3) the other missing one and the 2 damaged."""
    world = supply_world()
    _first, second, third = world.orders[world.store_a.pk]
    receipt = _receive(world, (2, 2, 2))

    assert _cases() == [
        (second.pk, "damaged", 2, D("20.00"), "replacement", "hq", "receiving"),
        (second.pk, "missing", 1, D("10.00"), "refund", "supplier", "receiving"),
        (third.pk, "missing", 1, D("10.00"), "refund", "supplier", "receiving"),
    ]
    damaged = AfterSalesCase.objects.get(kind=CaseKind.DAMAGED)
    # The damaged policy's row for ¥20 (default: up to ¥50, replaced at HQ's cost).
    assert damaged.policy == compensation_policy_for(kind=CaseKind.DAMAGED, amount=D("20.00"))
    assert damaged.receipt_id == receipt.pk
    assert damaged.order_line.product == world.products[0]
    assert damaged.supplier_id == world.purchase_order.supplier_id
    # The source links record both kinds: short, of which damaged.
    assert sorted(
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).values_list(
            "order_line__order_id", "short_quantity", "damaged_quantity"
        )
    ) == [(second.pk, 3, 2), (third.pk, 1, 0)]
    line = PurchaseOrderLine.objects.get(
        purchase_order=world.purchase_order, product=world.products[0]
    )
    assert (line.shortage_quantity, line.damaged_quantity) == (2, 2)


def test_goods_that_all_came_damaged_get_the_damaged_policy_and_the_member_is_told_so():
    """One order of 6 blueberries (¥60), all damaged: above the ¥50 band the damaged policy
    refunds at the supplier's cost; the order is cancelled as not delivered, and its notice
    says the goods were damaged in delivery, not that nothing came."""
    world = supply_world(quantities_a=((6, 0),), quantities_b=((1, 0),))
    [order] = world.orders[world.store_a.pk]
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={world.allocation(world.store_a, world.products[0]).pk: (0, 0, 6)},
        by=None,
    )

    assert _cases() == [(order.pk, "damaged", 6, D("60.00"), "refund", "supplier", "receiving")]
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    note = Notification.objects.get(member=world.members[order.pk])
    assert note.kind == "order_not_delivered"
    with translation.override(settings.LANGUAGE_CODE):
        damaged_wording = gettext(
            "None of the goods of your order %(order)d at %(store)s arrived in "
            "good condition: what was not missing was damaged in delivery. The "
            "order has been cancelled: you will not be charged for it, and "
            "anything already paid will be refunded."
        ) % {"order": order.pk, "store": world.store_a.name}
    assert note.body == damaged_wording


def test_one_receiving_case_per_line_and_kind():
    world = supply_world()
    receipt = _receive(world, (2, 2, 2))
    second = world.orders[world.store_a.pk][1]
    line = second.lines.get(product=world.products[0])
    before = _cases()

    # A line may have a missing and a damaged case; opening them again opens nothing.
    assert set(AfterSalesCase.objects.filter(order_line=line).values_list("kind", flat=True)) == {
        "missing",
        "damaged",
    }
    again = shortage_cases_open(
        receipt=receipt, short_units={line.pk: 1}, damaged_units={line.pk: 2}
    )
    assert again == {}
    assert _cases() == before
    # The database holds it for a caller that skipped the check.
    with pytest.raises(IntegrityError), transaction.atomic():
        AfterSalesCase.objects.create(
            number="AS-duplicate-damaged",
            store=world.store_a,
            order=second,
            order_line=line,
            kind=CaseKind.DAMAGED,
            quantity=1,
            amount=D("10.00"),
            origin=AfterSalesCase.Origin.RECEIVING,
            receipt=receipt,
        )
    assert AfterSalesCase.objects.filter(order_line=line).count() == 2


def test_the_owners_form_does_not_offer_damaged_units_as_missing():
    world = supply_world()
    _receive(world, (2, 2, 2))
    second = world.orders[world.store_a.pk][1]
    line = second.lines.get(product=world.products[0])

    # Its 1 missing unit is in receiving's missing case, its 2 damaged in the damaged case.
    assert order_lines_short(order=second) == {}
    with pytest.raises(AfterSalesRefused) as refused:
        case_open(
            store=world.store_a,
            order=second,
            order_line=line,
            kind=CaseKind.MISSING,
            quantity=1,
            amount=D("10.00"),
            description="",
            photos=[],
            by=owner_of(world.store_a),
        )
    assert refused.value.code == "already_covered"
    assert AfterSalesCase.objects.filter(order_line=line).count() == 2


def test_the_short_notice_tells_what_did_not_come_from_what_came_damaged():
    world = supply_world()
    receipt = _receive(world, (2, 2, 2))
    second = world.orders[world.store_a.pk][1]

    note = Notification.objects.get(kind="order_short", member=world.members[second.pk])
    with translation.override(settings.LANGUAGE_CODE):
        expected_title = gettext("Part of your order did not arrive or arrived damaged")
        not_delivered = gettext(
            "Not delivered from your order #%(order)s at %(store)s: %(items)s."
        ) % {"order": second.pk, "store": world.store_a.name, "items": "云南蓝莓 125g × 1"}
        damaged = gettext(
            "Damaged in delivery, from your order #%(order)s at %(store)s: %(items)s."
        ) % {"order": second.pk, "store": world.store_a.name, "items": "云南蓝莓 125g × 2"}
        replacement = gettext(
            "A replacement for them is being arranged; the store will contact you."
        )
    assert note.title == expected_title
    assert not_delivered in note.body
    assert damaged in note.body
    assert note.body.index(damaged) < note.body.index(replacement)
    assert note.dedupe_key == f"receipt:{receipt.pk}:order:{second.pk}:short"
    assert note.payload["short"] == [{"product": "云南蓝莓 125g", "units": 1}]
    assert note.payload["damaged"] == [{"product": "云南蓝莓 125g", "units": 2}]
    # One message per order, none about the cases themselves.
    assert Notification.objects.filter(kind="order_short").count() == 2
    assert not Notification.objects.filter(kind__startswith="after_sales").exists()


def test_an_order_only_damaged_is_told_its_goods_arrived_damaged():
    world = supply_world()
    _receive(world, (4, 0, 2))
    _first, second, third = world.orders[world.store_a.pk]
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext("Part of your order arrived damaged")
    assert sorted(
        Notification.objects.filter(kind="order_short").values_list("member_id", "title")
    ) == sorted([(world.members[second.pk].pk, title), (world.members[third.pk].pk, title)])
    assert set(AfterSalesCase.objects.values_list("kind", flat=True)) == {"damaged"}


def test_hqs_approval_of_a_damaged_receiving_case_speaks_of_damage():
    world = supply_world()
    _receive(world, (2, 2, 2))
    second = world.orders[world.store_a.pk][1]
    case = AfterSalesCase.objects.get(order=second, kind=CaseKind.DAMAGED)

    case_approve(case=case, by=UserFactory(is_staff=True))

    note = Notification.objects.get(kind="after_sales.approved")
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext(
            "Compensation for the goods of your order #%(order)s damaged in delivery approved"
        ) % {"order": second.pk}
    assert note.title == title


def test_the_supplier_score_counts_each_unit_once_under_its_kind():
    world = supply_world()
    _receive(world, (2, 2, 2))
    supplier_id = world.purchase_order.supplier_id
    today = timezone.localdate()
    window = {"since": today - dt.timedelta(days=1), "until": today + dt.timedelta(days=2)}

    quality = supplier_quality_scores(**window, supplier_ids=[supplier_id])[supplier_id]

    assert (quality.units_ordered, quality.units_short, quality.units_damaged) == (16, 2, 2)
    assert quality.units_shipped == 14  # the damaged ones were shipped
    # The receiving cases are those units: not counted again as cases.
    assert quality.case_count == 0
    assert quality.cases_by_kind == {"quality": 0, "missing": 0, "damaged": 0, "late": 0}
    # 100 − 60 × (2 + 2) / 16 = 85.
    assert quality.score == D("85.0")


def test_damaged_units_the_supplier_had_reported_short_are_counted_once():
    """The supplier reported 5 blueberries short (store A's part: 4 of 6); 2 of those came
    after all, damaged. The report already counts them: the line stays at 5 short and 0
    damaged, not 5 + 2."""
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    blueberries = world.products[0]
    line = world.purchase_order.lines.get(product=blueberries)
    purchase_order_report_shortage(po=world.purchase_order, lines={line.pk: 5}, note="", by=None)
    assert world.allocation(world.store_a, blueberries).reported_short_quantity == 4

    _receive(world, (2, 2, 2))

    line.refresh_from_db()
    assert (line.shortage_quantity, line.damaged_quantity) == (5, 0)
    # The members' side still tells the kinds apart.
    assert sorted(AfterSalesCase.objects.values_list("kind", "quantity")) == [
        ("damaged", 2),
        ("missing", 1),
        ("missing", 1),
    ]
