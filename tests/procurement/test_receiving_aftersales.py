"""Store receiving opens the after-sales "missing" cases itself (无忧售后): one per member order
line found short, with the units, their value and the policy's proposal; once; the owner's
form no longer proposes those units; the supplier score counts the shortage once; the member
is told, in one message, that the refund is being arranged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from apps.campaigns.notifications.models import Notification
from apps.procurement.forms import CaseOpenForm
from apps.procurement.models import AfterSalesCase, CaseKind, CompensationPolicy, Receipt
from apps.procurement.selectors.aftersales import order_lines_short, supplier_quality_scores
from apps.procurement.services.aftersales import (
    AfterSalesRefused,
    case_approve,
    case_open,
    shortage_cases_open,
)
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order
from tests.factories import UserFactory, owner_of
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db


def _receive_short(world: SupplyWorld) -> Receipt:
    """Store A's orders, oldest first: (blueberries, grapes) = (2, 1), (3, 2), (1, 1), ¥10 a
    unit. 4 of 6 blueberries and 1 of 4 grapes missing: the second order is 3 blueberries
    short (partly short: it keeps 2 grapes), the third lost everything (not delivered).
    (Damaged units: tests/procurement/test_receiving_damaged.py.)"""
    blueberries, grapes = world.products
    lines = {
        world.allocation(world.store_a, blueberries).pk: (2, 4, 0),
        world.allocation(world.store_a, grapes).pk: (3, 1, 0),
    }
    return receipt_record(
        purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
    )


def _cases() -> list[tuple]:
    return sorted(
        (
            case.order_id,
            case.order_line.product.name,
            case.quantity,
            case.amount,
            case.kind,
            case.status,
            case.proposed_remedy,
            case.charged_to,
            case.origin,
            case.opened_by_id,
        )
        for case in AfterSalesCase.objects.select_related("order_line__product")
    )


def test_a_short_receipt_opens_one_missing_case_per_short_member_order_line():
    world = supply_world()
    _first, second, third = world.orders[world.store_a.pk]
    receipt = _receive_short(world)

    assert [case[:4] for case in _cases()] == [
        (second.pk, "云南蓝莓 125g", 3, D("30.00")),
        # Not delivered (cancelled): what was paid is refunded too — the notice promises it.
        (third.pk, "云南蓝莓 125g", 1, D("10.00")),
        (third.pk, "阳光玫瑰葡萄", 1, D("10.00")),
    ]
    # The default policy: a missing item is refunded at the supplier's cost, after approval;
    # opened by the system at receiving, by nobody.
    assert {case[4:] for case in _cases()} == {
        ("missing", "open", "refund", "supplier", "receiving", None)
    }
    policy = CompensationPolicy.objects.get(kind="missing", max_amount=None)
    for case in AfterSalesCase.objects.all():
        assert case.receipt_id == receipt.pk
        assert case.supplier_id == world.purchase_order.supplier_id
        assert case.store_id == world.store_a.pk
        assert case.member_id == world.members[case.order_id].pk
        assert case.policy_id == policy.pk
        assert case.number == f"AS-{timezone.localdate():%Y%m%d}-{case.pk}"
    assert Order.objects.get(pk=third.pk).status == "cancelled"


def test_a_full_receipt_opens_no_case():
    world = supply_world()
    blueberries, grapes = world.products
    lines = {
        world.allocation(world.store_a, product).pk: (
            world.allocation(world.store_a, product).quantity,
            0,
            0,
        )
        for product in (blueberries, grapes)
    }
    receipt_record(purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None)
    assert AfterSalesCase.objects.count() == 0


def test_opening_the_receiving_cases_again_opens_nothing_and_the_database_allows_one():
    world = supply_world()
    receipt = _receive_short(world)
    second = world.orders[world.store_a.pk][1]
    line = second.lines.get(product=world.products[0])
    before = _cases()

    again = shortage_cases_open(receipt=receipt, short_units={line.pk: 3})

    assert again == {}
    assert _cases() == before
    # The constraint guards it even if a caller skipped the check.
    existing = AfterSalesCase.objects.get(order_line=line)
    with pytest.raises(IntegrityError), transaction.atomic():
        AfterSalesCase.objects.create(
            number="AS-duplicate",
            store=existing.store,
            order=existing.order,
            order_line=line,
            kind=CaseKind.MISSING,
            quantity=1,
            amount=D("10.00"),
            origin=AfterSalesCase.Origin.RECEIVING,
            receipt=receipt,
        )
    assert AfterSalesCase.objects.filter(order_line=line).count() == 1


def test_the_owners_form_no_longer_proposes_units_already_in_a_receiving_case():
    world = supply_world()
    _receive_short(world)
    second = world.orders[world.store_a.pk][1]
    blueberry_line = second.lines.get(product=world.products[0])

    assert order_lines_short(order=second) == {}
    form = CaseOpenForm(order=second)
    assert form.fields["kind"].initial is None
    assert form.fields["order_line"].initial is None
    owner = owner_of(world.store_a)
    client = Client()
    client.force_login(owner)
    page = client.get(
        reverse("supply:case_new", args=[world.store_a.pk]),
        {"order": second.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page.status_code == 200
    assert "short)" not in page.content.decode()

    # Claiming those units again by hand is refused; the rest of the line may still be.
    with pytest.raises(AfterSalesRefused) as refused:
        case_open(
            store=world.store_a,
            order=second,
            order_line=blueberry_line,
            kind=CaseKind.MISSING,
            quantity=1,
            amount=D("10.00"),
            description="",
            photos=[],
            by=owner,
        )
    assert refused.value.code == "already_covered"
    assert AfterSalesCase.objects.filter(order_line=blueberry_line).count() == 1


def test_a_rejected_receiving_case_gives_its_units_back_to_the_owners_form():
    world = supply_world()
    _receive_short(world)
    second = world.orders[world.store_a.pk][1]
    line = second.lines.get(product=world.products[0])
    AfterSalesCase.objects.filter(order_line=line).update(
        status=AfterSalesCase.Status.REJECTED, decided_at=timezone.now()
    )
    assert order_lines_short(order=second) == {line.pk: 3}


def test_the_supplier_score_counts_a_receiving_shortage_once():
    world = supply_world()
    _receive_short(world)
    supplier_id = world.purchase_order.supplier_id
    today = timezone.localdate()
    window = {"since": today - dt.timedelta(days=1), "until": today + dt.timedelta(days=2)}

    quality = supplier_quality_scores(**window, supplier_ids=[supplier_id])[supplier_id]

    # Store B received nothing yet; the purchase order's lines carry store A's 5 short units.
    assert (quality.line_count, quality.units_ordered, quality.units_short) == (2, 16, 5)
    # The three receiving cases are those units: not counted a second time as cases.
    assert quality.case_count == 0
    assert quality.cases_by_kind["missing"] == 0
    # 100 − 60 × 5/16 = 81.25 → 81.3 (the cases add nothing).
    assert quality.score == D("81.3")

    # Once approved, what they charge the supplier is still the supplier's.
    decider = UserFactory(is_staff=True)
    for case in AfterSalesCase.objects.order_by("pk"):
        case_approve(case=case, by=decider)
    quality = supplier_quality_scores(**window, supplier_ids=[supplier_id])[supplier_id]
    assert (quality.charged_case_count, quality.charged_amount) == (3, D("50.00"))
    assert quality.case_count == 0
    assert quality.score == D("81.3")


def test_the_short_notice_says_the_refund_is_being_arranged_in_one_message():
    world = supply_world()
    receipt = _receive_short(world)
    _first, second, third = world.orders[world.store_a.pk]

    short_notes = Notification.objects.filter(kind="order_short")
    assert list(short_notes.values_list("member_id", flat=True)) == [world.members[second.pk].pk]
    note = short_notes.get()
    with translation.override(settings.LANGUAGE_CODE):
        refund = gettext(
            "A refund of %(amount)s yuan for them is being arranged: you do not pay for what "
            "did not come."
        ) % {"amount": "30.00"}
    assert refund in note.body
    assert note.payload["compensation"] == {"amount": "30.00", "remedy": "refund"}
    assert note.dedupe_key == f"receipt:{receipt.pk}:order:{second.pk}:short"
    # Opening the cases told nobody anything else: the not-delivered order got its one notice.
    assert not Notification.objects.filter(kind__startswith="after_sales").exists()
    assert list(
        Notification.objects.filter(member=world.members[third.pk]).values_list("kind", flat=True)
    ) == ["order_not_delivered"]


def test_a_policy_without_approval_approves_the_receiving_cases_without_a_second_message():
    CompensationPolicy.objects.filter(kind="missing").update(needs_approval=False)
    world = supply_world()
    _receive_short(world)

    assert set(AfterSalesCase.objects.values_list("status", "remedy", "decided_by")) == {
        ("approved", "refund", None)
    }
    assert not Notification.objects.filter(kind__startswith="after_sales").exists()
    assert Notification.objects.filter(kind="order_short").count() == 1


def test_hqs_approval_of_a_receiving_case_tells_the_member_about_their_order():
    world = supply_world()
    _receive_short(world)
    second = world.orders[world.store_a.pk][1]
    case = AfterSalesCase.objects.get(order=second)

    case_approve(case=case, by=UserFactory(is_staff=True))

    note = Notification.objects.get(kind="after_sales.approved")
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext("Compensation for the missing goods of your order #%(order)s approved") % {
            "order": second.pk
        }
    assert note.title == title
    assert "30.00" in note.body


def test_the_admin_filters_system_opened_cases(admin_client):
    world = supply_world()
    _receive_short(world)
    url = reverse("admin:procurement_aftersalescase_changelist")

    response = admin_client.get(url, {"origin__exact": "receiving"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 3
    assert admin_client.get(url, {"origin__exact": "store"}).context["cl"].result_count == 0


def test_cancelling_a_partly_short_order_before_pickup_withdraws_its_open_receiving_case():
    """The order is then refunded whole: the refund of its short units must not be paid as
    well. An approved case stays (its remedy was granted); a second cancel changes nothing."""
    from apps.procurement.services.pickup import order_cancel_before_pickup

    world = supply_world()
    _first, second, _third = world.orders[world.store_a.pk]
    _receive_short(world)
    owner = owner_of(world.store_a)
    (case,) = AfterSalesCase.objects.filter(order=second)
    assert case.status == "open"

    order_cancel_before_pickup(store=world.store_a, order_id=second.pk, by=owner, reason="")

    case.refresh_from_db()
    assert case.status == "rejected"
    assert case.decided_by is None
    assert "cancelled before pickup" in case.decision_note or "取货前" in case.decision_note
    # No message about the case: the cancellation's message is the member's one.
    assert not Notification.objects.filter(
        member_id=second.member_id, kind__startswith="after_sales"
    ).exists()


def test_cancelling_an_order_whose_receiving_case_was_approved_leaves_the_case():
    from apps.procurement.services.pickup import order_cancel_before_pickup

    world = supply_world()
    _first, second, _third = world.orders[world.store_a.pk]
    _receive_short(world)
    (case,) = AfterSalesCase.objects.filter(order=second)
    case_approve(case=case, by=UserFactory())
    order_cancel_before_pickup(
        store=world.store_a, order_id=second.pk, by=owner_of(world.store_a), reason=""
    )
    case.refresh_from_db()
    assert case.status == "approved"
