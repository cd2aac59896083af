"""After-sales: the compensation policy, opening and deciding cases, the supplier quality score,
the store portal pages (and who is refused) and the HQ admin actions."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import (
    AfterSalesCase,
    AfterSalesPhoto,
    CaseKind,
    CompensationPolicy,
    PurchaseOrder,
)
from apps.procurement.selectors.aftersales import (
    compensation_policy_for,
    quality_score,
    supplier_quality_scores,
)
from apps.procurement.services.aftersales import (
    AfterSalesRefused,
    CaseRepeated,
    case_approve,
    case_open,
    case_reject,
    case_resolve,
)
from apps.stores.inspections.images import PhotoRejected
from apps.stores.models import StoreStaff
from tests.factories import (
    MemberFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
)
from tests.procurement.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    PurchaseOrderSourceFactory,
)
from tests.procurement.factories_aftersales import (
    AfterSalesCaseFactory,
    CompensationPolicyFactory,
    paid_order,
)
from tests.stores.test_inspections_support import gps_exif, jpeg_bytes, upload

pytestmark = pytest.mark.django_db

Status = AfterSalesCase.Status
D = Decimal


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english(settings):
    """The assertions read the English source messages (zh-hans is the default)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def policies(db):
    """A known policy table instead of the migration's defaults."""
    CompensationPolicy.objects.all().delete()
    return {
        "quality_30": CompensationPolicyFactory(
            kind=CaseKind.QUALITY, max_amount=D("30.00"), remedy="refund", charged_to="store"
        ),
        "quality_50_inactive": CompensationPolicyFactory(
            kind=CaseKind.QUALITY,
            max_amount=D("50.00"),
            remedy="coupon",
            charged_to="hq",
            is_active=False,
        ),
        "quality_100": CompensationPolicyFactory(
            kind=CaseKind.QUALITY, max_amount=D("100.00"), remedy="replacement", charged_to="hq"
        ),
        "quality_open": CompensationPolicyFactory(
            kind=CaseKind.QUALITY, max_amount=None, remedy="replacement", charged_to="supplier"
        ),
        "damaged_50": CompensationPolicyFactory(
            kind=CaseKind.DAMAGED, max_amount=D("50.00"), remedy="replacement", charged_to="hq"
        ),
        "late_open_inactive": CompensationPolicyFactory(
            kind=CaseKind.LATE, max_amount=None, remedy="coupon", charged_to="hq", is_active=False
        ),
    }


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- the compensation policy -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "expected"),
    [
        (CaseKind.QUALITY, "0.00", "quality_30"),
        (CaseKind.QUALITY, "30.00", "quality_30"),  # exactly max_amount is covered
        (CaseKind.QUALITY, "30.01", "quality_100"),  # the inactive ≤50 row is skipped
        (CaseKind.QUALITY, "100.00", "quality_100"),
        (CaseKind.QUALITY, "100.01", "quality_open"),  # the open-ended row
        (CaseKind.DAMAGED, "50.00", "damaged_50"),
        (CaseKind.DAMAGED, "50.01", None),  # no open-ended row for damaged
        (CaseKind.LATE, "1.00", None),  # the only row is inactive
        (CaseKind.MISSING, "1.00", None),  # no row at all
    ],
)
def test_compensation_policy_for_picks_the_smallest_covering_active_row(
    policies, kind, amount, expected
):
    policy = compensation_policy_for(kind=kind, amount=D(amount))
    assert policy == (policies[expected] if expected else None)


def test_default_policy_table_comes_from_the_data_migration():
    rows = set(
        CompensationPolicy.objects.values_list(
            "kind", "max_amount", "remedy", "charged_to", "needs_approval", "is_active"
        )
    )
    assert rows == {
        ("quality", D("30.00"), "refund", "store", True, True),
        ("quality", None, "replacement", "supplier", True, True),
        ("missing", None, "refund", "supplier", True, True),
        ("damaged", D("50.00"), "replacement", "hq", True, True),
        ("damaged", None, "refund", "supplier", True, True),
        ("late", None, "coupon", "hq", True, True),
    }


# --- opening a case --------------------------------------------------------------------------


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def products():
    return [ProductFactory(), ProductFactory()]


@pytest.fixture
def order(store, member, products):
    return paid_order(
        store=store,
        member=member,
        lines=[(products[0], 3, D("12.50")), (products[1], 1, D("20.00"))],
        reference="GB-0001",
    )


def _open(order, by, **kwargs):
    values = {
        "store": order.store,
        "order": order,
        "order_line": order.lines.order_by("pk").first(),
        "kind": CaseKind.QUALITY,
        "quantity": 1,
        "amount": D("12.50"),
        "description": "  soft berries  ",
        "photos": [],
        "by": by,
    }
    values.update(kwargs)
    return case_open(**values)


def test_case_open_records_the_proposal_member_and_number(policies, order, owner, member):
    line = order.lines.order_by("pk").first()
    case = _open(order, owner, quantity=3, amount=D("30"))

    case.refresh_from_db()
    today = timezone.localdate()
    assert case.number == f"AS-{today:%Y%m%d}-{case.pk}"
    assert case.store == order.store
    assert case.order_line == line
    assert case.member == member
    assert case.status == Status.OPEN
    assert case.amount == D("30.00")
    assert case.description == "soft berries"
    assert case.policy == policies["quality_30"]
    assert (case.proposed_remedy, case.charged_to, case.remedy) == ("refund", "store", "")
    assert case.opened_by == owner
    assert case.decided_at is None
    assert Notification.objects.count() == 0  # the member hears of the decision, not before


def test_case_without_a_policy_row_waits_with_no_proposal(policies, order, owner):
    case = _open(order, owner, kind=CaseKind.MISSING)
    assert (case.policy, case.proposed_remedy, case.charged_to) == (None, "", "")
    assert case.status == Status.OPEN


def test_supplier_is_the_one_whose_purchase_order_supplied_the_line(order, owner, products):
    supplied_by, preferred = SupplierFactory(), SupplierFactory()
    SupplierProductFactory(supplier=preferred, product=products[0], cost=D("1.00"))
    line = order.lines.order_by("pk").first()
    PurchaseOrderSourceFactory(
        order_line=line,
        line=PurchaseOrderLineFactory(
            product=products[0], purchase_order=PurchaseOrderFactory(supplier=supplied_by)
        ),
        quantity=3,
    )

    case = _open(order, owner, order_line=line)

    assert case.supplier == supplied_by


def test_supplier_falls_back_to_the_cheapest_preferred_active_offer(order, owner, products):
    cheap_inactive = SupplierFactory(is_active=False)
    cheap_not_preferred = SupplierFactory()
    chosen, dearer = SupplierFactory(), SupplierFactory()
    SupplierProductFactory(supplier=cheap_inactive, product=products[1], cost=D("1.00"))
    SupplierProductFactory(
        supplier=cheap_not_preferred, product=products[1], cost=D("1.00"), is_preferred=False
    )
    SupplierProductFactory(supplier=chosen, product=products[1], cost=D("4.00"))
    SupplierProductFactory(supplier=dearer, product=products[1], cost=D("4.50"))
    line = order.lines.get(product=products[1])

    case = _open(order, owner, order_line=line, amount=D("20.00"))

    assert case.supplier == chosen


def test_case_on_a_whole_order_of_several_lines_has_no_supplier(order, owner, products):
    SupplierProductFactory(product=products[0])
    SupplierProductFactory(product=products[1])
    case = _open(order, owner, order_line=None, amount=D("57.50"))
    assert case.supplier is None
    assert case.order_line is None


def test_case_on_a_whole_order_of_one_line_is_attributed(store, owner, products):
    offer = SupplierProductFactory(product=products[0])
    single = paid_order(store=store, lines=[(products[0], 2, D("9.00"))])
    case = _open(single, owner, order_line=None, amount=D("18.00"))
    assert case.supplier == offer.supplier
    assert case.member is None


def _nothing_written() -> None:
    assert AfterSalesCase.objects.count() == 0
    assert AfterSalesPhoto.objects.count() == 0
    assert Notification.objects.count() == 0


def test_amount_above_the_line_total_is_refused_and_nothing_written(order, owner):
    photo = upload(jpeg_bytes())
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, quantity=3, amount=D("37.51"), photos=[photo])  # line: 3 × 12.50
    assert refused.value.code == "amount_too_large"
    assert "37.50" in refused.value.message
    _nothing_written()
    assert default_storage.listdir("")[0] == []  # no file written either


def test_amount_above_what_the_units_cost_is_refused(order, owner):
    """1 of the 3 units of a ¥37.50 line cost ¥12.50: ¥12.51 is too much (the whole line's
    total no longer caps it), ¥12.50 is accepted."""
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, quantity=1, amount=D("12.51"))
    assert refused.value.code == "amount_too_large"
    assert "12.50" in refused.value.message
    _nothing_written()
    assert _open(order, owner, quantity=1, amount=D("12.50")).amount == D("12.50")


def test_a_zero_refund_is_refused_and_nothing_written(policies, order, owner):
    """Quality up to ¥30 is refunded (the policy table): a ¥0 refund refunds nothing."""
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, amount=D("0"))
    assert refused.value.code == "refund_zero"
    _nothing_written()


def test_a_zero_amount_is_accepted_where_the_remedy_is_not_a_refund(policies, order, owner):
    """Damaged up to ¥50 is a replacement: the goods are the remedy, ¥0 is fine."""
    case = _open(order, owner, kind=CaseKind.DAMAGED, amount=D("0"))
    assert (case.amount, case.proposed_remedy) == (D("0.00"), "replacement")


def test_approving_a_zero_case_as_a_refund_is_refused(policies, order, owner, decider):
    case = _open(order, owner, kind=CaseKind.DAMAGED, amount=D("0"))
    with pytest.raises(AfterSalesRefused) as refused:
        case_approve(case=case, by=decider, remedy="refund", charged_to="hq")
    assert refused.value.code == "refund_zero"
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert Notification.objects.count() == 0


def test_amount_above_the_order_total_is_refused(order, owner):
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, order_line=None, amount=D("57.51"))
    assert refused.value.code == "amount_too_large"
    _nothing_written()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"quantity": 4}, "quantity_too_large"),
        ({"quantity": 0}, "quantity_not_positive"),
        ({"amount": D("-1")}, "amount_negative"),
        ({"kind": "broken"}, "unknown_kind"),
    ],
)
def test_bad_input_is_refused_with_a_code(order, owner, changes, code):
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, **changes)
    assert refused.value.code == code
    _nothing_written()


def test_another_stores_order_or_line_is_refused(order, owner, other_store, products):
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, store=other_store)
    assert refused.value.code == "order_elsewhere"

    other_order = paid_order(store=order.store, lines=[(products[0], 1, D("5.00"))])
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, order_line=other_order.lines.get())
    assert refused.value.code == "line_elsewhere"
    _nothing_written()


def test_unpaid_order_is_refused(order, owner):
    order.status = "cancelled"
    order.save(update_fields=["status"])
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner)
    assert refused.value.code == "order_not_paid"
    _nothing_written()


def test_photos_are_re_encoded_without_metadata(order, owner):
    case = _open(
        order,
        owner,
        photos=[upload(jpeg_bytes((80, 60), exif=gps_exif())), upload(jpeg_bytes((40, 30)))],
    )

    photos = list(case.photos.order_by("pk"))
    assert [(photo.width, photo.height) for photo in photos] == [(80, 60), (40, 30)]
    assert all(photo.image.name.startswith("after-sales/") for photo in photos)
    assert all(photo.image.name.endswith(".jpg") for photo in photos)
    assert all(photo.uploaded_by == owner for photo in photos)
    with photos[0].image.open("rb") as handle, Image.open(handle) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
    assert photos[0].size_bytes == photos[0].image.size


def test_a_non_image_is_refused_and_nothing_written(order, owner):
    with pytest.raises(PhotoRejected) as refused:
        _open(order, owner, photos=[upload(jpeg_bytes()), upload(b"<html>", name="x.jpg")])
    assert refused.value.code == "not_image"
    _nothing_written()


def test_too_many_photos_are_refused(order, owner, settings):
    settings.AFTER_SALES_MAX_PHOTOS = 2
    with pytest.raises(AfterSalesRefused) as refused:
        _open(order, owner, photos=[upload(jpeg_bytes()) for _ in range(3)])
    assert refused.value.code == "too_many_photos"
    _nothing_written()


def test_a_policy_without_approval_approves_at_once(policies, order, owner, member):
    CompensationPolicy.objects.filter(pk=policies["quality_30"].pk).update(needs_approval=False)
    case = _open(order, owner, amount=D("10"))
    assert case.status == Status.APPROVED
    assert (case.remedy, case.charged_to, case.decided_by) == ("refund", "store", None)
    assert case.decided_at is not None
    assert (
        Notification.objects.get().dedupe_key
        == f"after_sales:{case.pk}:approved:member:{member.pk}"
    )


# --- deciding --------------------------------------------------------------------------------


@pytest.fixture
def decider(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def open_case(policies, order, owner):
    return _open(order, owner, quantity=3, amount=D("30.00"))  # quality ≤30: refund, store


def test_approve_as_proposed_notifies_the_member_once(open_case, decider, member):
    case = case_approve(case=open_case, by=decider, note="ok")

    assert case.status == Status.APPROVED
    assert (case.remedy, case.charged_to) == ("refund", "store")
    assert (case.decided_by, case.decision_note) == (decider, "ok")
    assert case.decided_at is not None
    notification = Notification.objects.get()
    assert notification.member == member
    assert notification.store == open_case.store
    assert notification.channel == Notification.Channel.SMS
    assert notification.kind == "after_sales.approved"
    assert notification.payload == {"case": case.pk}


def test_approving_twice_is_refused_the_second_time(open_case, decider):
    first = case_approve(case=open_case, by=decider)
    stale = AfterSalesCase.objects.get(pk=open_case.pk)
    stale.status = Status.OPEN  # a page loaded before the first approval

    with pytest.raises(AfterSalesRefused) as refused:
        case_approve(case=stale, by=UserFactory(is_staff=True), remedy="coupon", charged_to="hq")

    assert refused.value.code == "not_open"
    after = AfterSalesCase.objects.get(pk=open_case.pk)
    assert (after.remedy, after.charged_to, after.decided_by) == ("refund", "store", decider)
    assert after.decided_at == first.decided_at
    assert Notification.objects.count() == 1


def test_approve_overrides_the_remedy_and_who_bears_the_cost(open_case, decider):
    case = case_approve(case=open_case, by=decider, remedy="coupon", charged_to="supplier")
    assert (case.proposed_remedy, case.remedy, case.charged_to) == ("refund", "coupon", "supplier")


def test_approve_without_proposal_needs_a_remedy_and_a_bearer(policies, order, owner, decider):
    case = _open(order, owner, kind=CaseKind.MISSING)
    with pytest.raises(AfterSalesRefused) as refused:
        case_approve(case=case, by=decider)
    assert refused.value.code == "no_remedy"
    with pytest.raises(AfterSalesRefused) as refused:
        case_approve(case=case, by=decider, remedy="refund")
    assert refused.value.code == "no_charged_to"
    case.refresh_from_db()
    assert case.status == Status.OPEN
    assert Notification.objects.count() == 0

    approved = case_approve(case=case, by=decider, remedy="refund", charged_to="hq")
    assert (approved.remedy, approved.charged_to) == ("refund", "hq")


def test_reject_then_approve_is_refused(open_case, decider, member):
    case = case_reject(case=open_case, by=decider, note="photos show no defect")
    assert case.status == Status.REJECTED
    assert case.decision_note == "photos show no defect"
    assert case.remedy == ""

    with pytest.raises(AfterSalesRefused) as refused:
        case_approve(case=case, by=decider)
    assert refused.value.code == "not_open"
    notification = Notification.objects.get()
    assert notification.dedupe_key == f"after_sales:{case.pk}:rejected:member:{member.pk}"
    assert notification.body == "photos show no defect"
    assert AfterSalesCase.objects.get(pk=case.pk).status == Status.REJECTED


def test_resolve_only_after_approval_and_once(open_case, decider):
    with pytest.raises(AfterSalesRefused) as refused:
        case_resolve(case=open_case, by=decider)
    assert refused.value.code == "not_approved"
    assert AfterSalesCase.objects.get(pk=open_case.pk).resolved_at is None

    case_approve(case=open_case, by=decider)
    resolved = case_resolve(case=open_case, by=decider)
    assert resolved.status == Status.RESOLVED
    assert resolved.resolved_at is not None

    with pytest.raises(AfterSalesRefused) as refused:
        case_resolve(case=open_case, by=decider)
    assert refused.value.code == "not_approved"
    assert AfterSalesCase.objects.get(pk=open_case.pk).resolved_at == resolved.resolved_at


# --- the supplier quality score --------------------------------------------------------------


def _po_line(supplier, *, status, delivery, ordered, short):
    shipping = status in (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.SHIPPED)
    po = PurchaseOrderFactory(
        supplier=supplier,
        status=status,
        delivery_date=delivery,
        ship_date=delivery if shipping else None,
    )
    return PurchaseOrderLineFactory(
        purchase_order=po,
        ordered_quantity=ordered,
        demanded_quantity=ordered,
        shortage_quantity=short,
        surplus_quantity=0,
    )


def test_quality_score_equals_a_hand_computation(django_assert_num_queries):
    since, until = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    local = timezone.get_current_timezone()
    inside = dt.datetime(2026, 9, 15, 10, 0, tzinfo=local)
    outside = dt.datetime(2026, 10, 1, 0, 0, tzinfo=local)  # `until` is excluded
    supplier, quiet, other = SupplierFactory(), SupplierFactory(), SupplierFactory()
    confirmed, shipped = PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.SHIPPED
    # Counted: 4 lines, 100 units ordered, 4 short.
    _po_line(supplier, status=confirmed, delivery=dt.date(2026, 9, 1), ordered=12, short=3)
    _po_line(supplier, status=confirmed, delivery=dt.date(2026, 9, 10), ordered=8, short=1)
    _po_line(supplier, status=shipped, delivery=dt.date(2026, 9, 20), ordered=30, short=0)
    _po_line(supplier, status=shipped, delivery=dt.date(2026, 9, 30), ordered=50, short=0)
    # Not counted: cancelled, still only sent, delivered after the period, another supplier.
    _po_line(supplier, status=PurchaseOrder.Status.CANCELLED, delivery=since, ordered=9, short=9)
    _po_line(supplier, status=PurchaseOrder.Status.SENT, delivery=since, ordered=9, short=9)
    _po_line(supplier, status=shipped, delivery=until, ordered=9, short=9)
    _po_line(other, status=shipped, delivery=since, ordered=9, short=9)
    # Cases: counted an approved quality case charged to the supplier (20.00) and an open
    # missing one; not counted a rejected one, one after the period, one of another supplier.
    AfterSalesCaseFactory(
        supplier=supplier,
        kind=CaseKind.QUALITY,
        status=Status.APPROVED,
        remedy="refund",
        charged_to="supplier",
        amount=D("20.00"),
        decided_at=inside,
        opened_at=inside,
    )
    AfterSalesCaseFactory(supplier=supplier, kind=CaseKind.MISSING, opened_at=inside)
    AfterSalesCaseFactory(
        supplier=supplier,
        kind=CaseKind.DAMAGED,
        status=Status.REJECTED,
        decided_at=inside,
        opened_at=inside,
    )
    AfterSalesCaseFactory(supplier=supplier, kind=CaseKind.LATE, opened_at=outside)
    AfterSalesCaseFactory(supplier=other, kind=CaseKind.LATE, opened_at=inside)

    with django_assert_num_queries(2):
        scores = supplier_quality_scores(
            since=since, until=until, supplier_ids=[supplier.pk, quiet.pk]
        )

    assert set(scores) == {supplier.pk, quiet.pk}
    quality = scores[supplier.pk]
    assert quality.cases_by_kind == {"quality": 1, "missing": 1, "damaged": 0, "late": 0}
    assert (quality.case_count, quality.charged_case_count) == (2, 1)
    assert str(quality.charged_amount) == "20.00"  # in cents, as the admin shows it
    assert (quality.line_count, quality.units_ordered, quality.units_short) == (4, 100, 4)
    assert quality.units_shipped == 96
    # short rate 4/100 = 0.04 → 60 × 0.04 = 2.4; case rate 2/4 = 0.5 → 40 × 0.5 = 20
    assert quality.score == D("77.6")
    assert scores[quiet.pk].score is None
    assert scores[quiet.pk].case_count == 0

    everyone = supplier_quality_scores(since=since, until=until)
    assert set(everyone) == {supplier.pk, other.pk}
    # other: 1 line, 9 of 9 short, 1 case → 100 − 60 − 40 = 0
    assert everyone[other.pk].score == D("0.0")


def test_a_line_shipped_before_its_delivery_date_is_scored_from_its_ship_date():
    """A farm that ships (and is received) a day early is scored the day it shipped: its
    shortage weighs with the cases it caused that day, not a day later. The score used to
    count the cases at once but the line only from its delivery date (60.0 instead of 54.5)."""
    supplier = SupplierFactory()
    today = dt.date(2026, 12, 6)
    tomorrow = today + dt.timedelta(days=1)
    line = _po_line(
        supplier, status=PurchaseOrder.Status.SHIPPED, delivery=tomorrow, ordered=11, short=1
    )
    PurchaseOrder.objects.filter(pk=line.purchase_order_id).update(ship_date=today)
    AfterSalesCaseFactory(
        supplier=supplier,
        kind=CaseKind.QUALITY,
        opened_at=dt.datetime(2026, 12, 6, 20, 0, tzinfo=timezone.get_current_timezone()),
    )
    # A confirmed order due after the period and shipping after it too is still left out.
    _po_line(
        supplier,
        status=PurchaseOrder.Status.CONFIRMED,
        delivery=tomorrow + dt.timedelta(days=1),
        ordered=9,
        short=9,
    )

    quality = supplier_quality_scores(since=today - dt.timedelta(days=89), until=tomorrow)[
        supplier.pk
    ]

    assert (quality.line_count, quality.units_ordered, quality.units_short) == (1, 11, 1)
    # 100 − 60 × 1/11 − 40 × min(1, 1/1)
    assert quality.score == D("54.5")


@pytest.mark.parametrize(
    ("ordered", "short", "cases", "lines", "expected"),
    [
        (0, 0, 0, 0, None),
        (10, 0, 0, 1, D("100.0")),
        (0, 0, 3, 0, D("60.0")),  # cases but no line: the case rate is 1
        (3, 1, 0, 1, D("80.0")),  # 60 × 1/3 = 20
        (10, 10, 5, 1, D("0.0")),  # floored at 0 (the case rate is capped at 1)
    ],
)
def test_quality_score_formula(ordered, short, cases, lines, expected):
    assert (
        quality_score(units_ordered=ordered, units_short=short, cases=cases, lines=lines)
        == expected
    )


# --- portal pages ----------------------------------------------------------------------------


@pytest.fixture
def case_with_photo(order, owner):
    return _open(order, owner, photos=[upload(jpeg_bytes())])


@pytest.fixture
def other_case(other_store, products):
    other_order = paid_order(store=other_store, lines=[(products[0], 1, D("5.00"))])
    return _open(other_order, UserFactory(), amount=D("5.00"), photos=[upload(jpeg_bytes())])


def _urls(case) -> list[str]:
    store_id = case.store_id
    photo = case.photos.get()
    return [
        reverse("supply:cases", args=[store_id]),
        reverse("supply:case_new", args=[store_id]),
        reverse("supply:case_new", args=[store_id]) + f"?order={case.order_id}",
        reverse("supply:case", args=[store_id, case.pk]),
        reverse("supply:case_photo", args=[store_id, case.pk, photo.pk]),
    ]


def test_anonymous_is_sent_to_login_everywhere(case_with_photo):
    client = Client()
    for url in _urls(case_with_photo):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("portal:login")), url
    response = client.post(
        reverse("supply:case_new", args=[case_with_photo.store_id]),
        {"order": case_with_photo.order_id, "kind": "quality", "quantity": 1, "amount": "1"},
    )
    assert response.status_code == 302
    assert AfterSalesCase.objects.count() == 1


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "clerk", "inspector"])
def test_other_users_are_refused_everywhere(request, who, case_with_photo, store):
    if who == "clerk":
        user = UserFactory()
        StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.CLERK)
    else:
        user = request.getfixturevalue(who)
    client = _client(user)
    for url in _urls(case_with_photo):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("supply:case_new", args=[store.pk]),
        {"order": case_with_photo.order_id, "kind": "quality", "quantity": 1, "amount": "1"},
    )
    assert response.status_code == 403
    assert AfterSalesCase.objects.count() == 1


def test_another_stores_case_order_and_photo_are_404(owner, store, case_with_photo, other_case):
    client = _client(owner)
    other_photo = other_case.photos.get()
    own_photo = case_with_photo.photos.get()
    assert client.get(reverse("supply:case", args=[store.pk, other_case.pk])).status_code == 404
    assert (
        client.get(
            reverse("supply:case_photo", args=[store.pk, other_case.pk, other_photo.pk])
        ).status_code
        == 404
    )
    # the own case's id with another case's photo
    assert (
        client.get(
            reverse("supply:case_photo", args=[store.pk, case_with_photo.pk, other_photo.pk])
        ).status_code
        == 404
    )
    assert (
        client.get(
            reverse("supply:case_photo", args=[store.pk, other_case.pk, own_photo.pk])
        ).status_code
        == 404
    )
    new_url = reverse("supply:case_new", args=[store.pk])
    assert client.get(f"{new_url}?order={other_case.order_id}").status_code == 404
    response = client.post(
        new_url, {"order": other_case.order_id, "kind": "quality", "quantity": 1, "amount": "1"}
    )
    assert response.status_code == 404
    assert AfterSalesCase.objects.count() == 2


def test_owner_lists_own_cases_only(owner, store, case_with_photo, other_case):
    response = _client(owner).get(reverse("supply:cases", args=[store.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert case_with_photo.number in content
    assert other_case.number not in content
    assert "1 photo" in content


def test_case_list_brackets_the_proposed_remedy_in_the_readers_language(owner, store, open_case):
    url = reverse("supply:cases", args=[store.pk])
    chinese = _client(owner).get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '退款<span class="muted">（建议）</span>' in chinese
    assert "(建议)" not in chinese
    english = _client(owner).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'Refund<span class="muted"> (proposed)</span>' in english


def test_case_list_filters_by_status_and_its_query_count_is_flat(
    owner, store, order, django_assert_max_num_queries
):
    for _ in range(3):
        _open(order, owner)
    decided = _open(order, owner)
    case_reject(case=decided, by=UserFactory(is_staff=True), note="")
    client = _client(owner)
    url = reverse("supply:cases", args=[store.pk])
    client.get(url)  # session and permission caches warmed
    with django_assert_max_num_queries(9):
        response = client.get(url + "?status=rejected")
    content = response.content.decode()
    assert decided.number in content
    assert content.count("AS-") == 1


def test_owner_sees_the_case_with_proposal_and_photo(owner, store, policies, order):
    case = _open(order, owner, quantity=3, amount=D("30"), photos=[upload(jpeg_bytes())])
    response = _client(owner).get(reverse("supply:case", args=[store.pk, case.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "The policy proposes" in content
    assert "Refund" in content
    photo = case.photos.get()
    assert reverse("supply:case_photo", args=[store.pk, case.pk, photo.pk]) in content


def test_in_chinese_a_members_order_reads_dingdan_and_the_opening_time_tijiao(owner, store, order):
    case = _open(order, owner)
    client = _client(owner)
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}

    new_page = client.get(
        reverse("supply:case_new", args=[store.pk]), {"order": order.pk}, **chinese
    ).content.decode()
    detail = client.get(reverse("supply:case", args=[store.pk, case.pk]), **chinese)
    listing = client.get(reverse("supply:cases", args=[store.pk]), **chinese).content.decode()

    assert f"订单 #{order.pk}" in new_page
    assert f"订单 #{order.pk}" in listing
    content = detail.content.decode()
    assert f"<th>订单</th><td>#{order.pk}" in content
    assert "<th>提交时间</th>" in content
    assert "订货量" not in new_page + listing + content
    assert "触发时间" not in content


def test_photo_is_served_with_no_store_headers(owner, store, case_with_photo):
    photo = case_with_photo.photos.get()
    response = _client(owner).get(
        reverse("supply:case_photo", args=[store.pk, case_with_photo.pk, photo.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    body = b"".join(response.streaming_content)
    response.close()
    assert body.startswith(b"\xff\xd8")


def test_find_by_reference_and_by_member_phone(owner, store, order, member, other_store, products):
    paid_order(store=other_store, member=member, lines=[(products[0], 1, D("5.00"))])
    client = _client(owner)
    url = reverse("supply:case_new", args=[store.pk])

    by_reference = client.get(url, {"find": "GB-0001"}).content.decode()
    assert f"?order={order.pk}" in by_reference

    by_phone = client.get(url, {"find": member.phone[3:]})
    assert by_phone.status_code == 200
    links = re.findall(r"\?order=(\d+)", by_phone.content.decode())
    # the member's order here (in the results and in the recent list), never the other store's
    assert set(links) == {str(order.pk)}


def test_owner_opens_a_case_with_photos_and_sees_the_proposal(owner, store, order, policies):
    line = order.lines.order_by("pk").first()
    url = reverse("supply:case_new", args=[store.pk])
    form_page = _client(owner).get(url, {"order": order.pk}).content.decode()
    assert 'accept="image/*"' in form_page
    assert 'capture="environment"' in form_page
    assert "multiple" in form_page

    client = _client(owner)
    response = client.post(
        url,
        {
            "order": order.pk,
            "order_line": line.pk,
            "kind": "quality",
            "quantity": 2,
            "amount": "25.00",
            "description": "mouldy",
            "photos": [upload(jpeg_bytes()), upload(jpeg_bytes((20, 20)))],
            "key": str(uuid.uuid4()),
        },
        follow=True,
    )

    case = AfterSalesCase.objects.get()
    assert response.redirect_chain == [(reverse("supply:case", args=[store.pk, case.pk]), 302)]
    assert (case.order_line, case.quantity, case.amount) == (line, 2, D("25.00"))
    assert case.photos.count() == 2
    content = response.content.decode()
    assert f"Case {case.number} opened." in content
    assert "The policy proposes" in content


def test_the_case_form_proposes_a_missing_item_case_for_units_that_did_not_arrive(
    owner, store, order
):
    first, second = order.lines.order_by("pk")
    url = reverse("supply:case_new", args=[store.pk])
    plain = _client(owner).get(url, {"order": order.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert plain.context["form"]["kind"].initial is None
    assert "short)" not in plain.content.decode()

    # Receiving found 2 of the first line's 3 units short (12.50 each).
    PurchaseOrderSourceFactory(order_line=first, quantity=3, short_quantity=2)
    form = _client(owner).get(url, {"order": order.pk}, HTTP_ACCEPT_LANGUAGE="en").context["form"]
    assert form["kind"].initial == CaseKind.MISSING
    assert form["order_line"].initial == str(first.pk)
    assert (form["quantity"].initial, form["amount"].initial) == (2, D("25.00"))
    assert dict(form.fields["order_line"].choices)[str(first.pk)].endswith(" (2 short)")

    # Two lines short: the kind is proposed, the owner picks the line.
    PurchaseOrderSourceFactory(order_line=second, quantity=1, short_quantity=1)
    form = _client(owner).get(url, {"order": order.pk}, HTTP_ACCEPT_LANGUAGE="en").context["form"]
    assert form["kind"].initial == CaseKind.MISSING
    assert form["order_line"].initial is None


def test_posting_too_much_shows_the_reason_and_writes_nothing(owner, store, order):
    line = order.lines.order_by("pk").first()
    response = _client(owner).post(
        reverse("supply:case_new", args=[store.pk]),
        {
            "order": order.pk,
            "order_line": line.pk,
            "kind": "quality",
            "quantity": 1,
            "amount": "99.00",
            "photos": [upload(jpeg_bytes())],
            "key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 400
    assert "more than the 1 unit costs: 12.50 yuan" in response.content.decode()
    _nothing_written()


def test_a_refused_case_with_photos_asks_for_them_again(owner, store, order):
    """A browser never keeps a chosen file: when the form comes back with an error the photos
    are gone, and the owner is told so next to the photo field (the text fields are kept)."""
    line = order.lines.order_by("pk").first()
    url = reverse("supply:case_new", args=[store.pk])
    fields = {
        "order": order.pk,
        "order_line": line.pk,
        "kind": "quality",
        "quantity": 1,
        "amount": "99.00",
        "description": "mouldy",
        "key": str(uuid.uuid4()),
    }
    response = _client(owner).post(url, {**fields, "photos": [upload(jpeg_bytes())]})
    assert response.status_code == 400
    content = response.content.decode()
    assert "The photos were not kept: choose them again." in content
    assert "mouldy" in content
    _nothing_written()

    without_photos = _client(owner).post(url, fields)
    assert without_photos.status_code == 400
    assert "choose them again" not in without_photos.content.decode()


def test_posting_a_non_image_shows_the_reason(owner, store, order):
    response = _client(owner).post(
        reverse("supply:case_new", args=[store.pk]),
        {
            "order": order.pk,
            "kind": "quality",
            "quantity": 1,
            "amount": "1.00",
            "photos": [upload(b"not an image", name="a.jpg")],
            "key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 400
    assert "is not a JPEG, PNG or WebP image" in response.content.decode()
    _nothing_written()


def test_hq_reads_cases_in_the_admin_not_the_portal(hq_user, store, case_with_photo):
    client = _client(hq_user)  # a superuser: AFTER_SALES is a store act, not HQ's
    for url in _urls(case_with_photo):
        assert client.get(url).status_code == 403, url


# --- admin -----------------------------------------------------------------------------------


def _action(client, action, case, **extra):
    return client.post(
        reverse("admin:procurement_aftersalescase_changelist"),
        {"action": action, "_selected_action": [case.pk], **extra},
        follow=True,
    )


def test_admin_approves_as_proposed_and_rejects(hq_user, open_case, policies, order, owner):
    client = _client(hq_user)
    response = _action(client, "approve_as_proposed", open_case)
    assert "Approved 1 case." in response.content.decode()
    open_case.refresh_from_db()
    assert (open_case.status, open_case.remedy, open_case.charged_to) == (
        Status.APPROVED,
        "refund",
        "store",
    )
    assert open_case.decided_by == hq_user

    response = _action(client, "approve_as_proposed", open_case)
    assert "Approved 0 cases." not in response.content.decode()
    assert "can be decided" in response.content.decode()

    response = _action(client, "resolve", open_case)
    assert "Resolved 1 case." in response.content.decode()
    assert AfterSalesCase.objects.get(pk=open_case.pk).status == Status.RESOLVED

    second = _open(order, owner)
    _action(client, "reject", second, note="no defect on the photos")
    rejected = AfterSalesCase.objects.get(pk=second.pk)
    assert (rejected.status, rejected.decision_note) == (Status.REJECTED, "no defect on the photos")


def test_admin_approval_may_choose_the_remedy_and_the_cost_bearer(hq_user, open_case):
    _action(
        _client(hq_user),
        "approve_as_proposed",
        open_case,
        remedy="coupon",
        charged_to="supplier",
        note="supplier agreed",
    )
    case = AfterSalesCase.objects.get(pk=open_case.pk)
    assert (case.status, case.proposed_remedy) == (Status.APPROVED, "refund")
    assert (case.remedy, case.charged_to, case.decision_note) == (
        "coupon",
        "supplier",
        "supplier agreed",
    )


def test_admin_actions_need_the_decide_permission(open_case):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_aftersalescase"),
        Permission.objects.get(codename="change_aftersalescase"),
    )
    client = _client(viewer)
    page = client.get(reverse("admin:procurement_aftersalescase_changelist")).content.decode()
    assert "approve_as_proposed" not in page

    _action(client, "approve_as_proposed", open_case)
    _action(client, "reject", open_case)
    assert AfterSalesCase.objects.get(pk=open_case.pk).status == Status.OPEN
    assert Notification.objects.count() == 0


def test_admin_shows_photos_through_the_access_checked_view(hq_user, owner, case_with_photo):
    photo = case_with_photo.photos.get()
    content = (
        _client(hq_user)
        .get(reverse("admin:procurement_aftersalescase_change", args=[case_with_photo.pk]))
        .content.decode()
    )
    url = reverse("admin:procurement_aftersalesphoto_image", args=[photo.pk])
    assert f'src="{url}"' in content
    assert photo.image.name not in content

    response = _client(hq_user).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # consumed through the test client's wrapper, which closes the file
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")

    without_permission = UserFactory(is_staff=True)
    without_permission.user_permissions.add(Permission.objects.get(codename="view_aftersalescase"))
    assert _client(without_permission).get(url).status_code == 403
    for outsider in (owner, None):  # not staff, anonymous: the admin's login page
        response = _client(outsider).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    unknown = reverse("admin:procurement_aftersalesphoto_image", args=[photo.pk + 1000])
    assert _client(hq_user).get(unknown).status_code == 404


def test_supplier_changelist_shows_the_90_day_score_set_wise(
    hq_user, django_assert_max_num_queries
):
    today = timezone.localdate()
    scored = SupplierFactory(name="Scored farm")
    _po_line(scored, status=PurchaseOrder.Status.SHIPPED, delivery=today, ordered=10, short=1)
    SupplierFactory.create_batch(3)
    client = _client(hq_user)
    url = reverse("admin:procurement_supplier_changelist")
    client.get(url)
    few = _count_queries(client, url)
    SupplierFactory.create_batch(5)
    assert _count_queries(client, url) == few

    content = client.get(url).content.decode()
    assert "Quality score (90 days)" in content
    # 60 × 1/10 = 6; no case
    assert "94.0" in content

    change = client.get(reverse("admin:procurement_supplier_change", args=[scored.pk]))
    assert "Score 94.0 · 0 after-sales cases" in change.content.decode()


def test_supplier_page_counts_one_case_and_one_line_in_the_singular(hq_user):
    """The quality summary said "1 after-sales cases" and "1 purchase-order lines"."""
    today = timezone.localdate()
    supplier = SupplierFactory()
    _po_line(supplier, status=PurchaseOrder.Status.SHIPPED, delivery=today, ordered=11, short=1)
    AfterSalesCaseFactory(supplier=supplier, kind=CaseKind.QUALITY)
    with translation.override("en"):
        page = _client(hq_user).get(
            reverse("admin:procurement_supplier_change", args=[supplier.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert (
        "Score 54.5 · 1 after-sales case, 0 charged to the supplier (0.00 yuan) · "
        "1 purchase-order line, 1 of 11 units short and 0 damaged"
    ) in page.content.decode()


def _count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_an_order_id_in_digits_other_than_ascii_finds_no_order(owner, store, order):
    """ "²" passes str.isdigit() but not int() (both pages were a 500); "١٢" read as 12."""
    client = _client(owner)
    url = reverse("supply:case_new", args=[store.pk])
    arabic_pk = str(order.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert client.get(url, {"order": "²"}).status_code == 404
    assert client.get(url, {"order": arabic_pk}).status_code == 404
    for text in ("²", arabic_pk):
        response = client.get(url, {"find": text})
        assert response.status_code == 200
        assert response.context["candidates"] == []
    assert [o.pk for o in client.get(url, {"find": str(order.pk)}).context["candidates"]] == [
        order.pk
    ]


def test_the_quantity_and_photo_limits_are_worded_for_one_and_for_many(order, owner, settings):
    """ "At most 1 was bought", not "At most 1 were bought" (ngettext)."""
    three, one = order.lines.order_by("pk")
    with translation.override("en"):
        with pytest.raises(AfterSalesRefused) as refused:
            _open(order, owner, order_line=one, quantity=2, amount=D("1"))
        assert refused.value.message == "At most 1 was bought on this line."
        with pytest.raises(AfterSalesRefused) as refused:
            _open(order, owner, order_line=three, quantity=4)
        assert refused.value.message == "At most 3 were bought on this line."
        settings.AFTER_SALES_MAX_PHOTOS = 1
        with pytest.raises(AfterSalesRefused) as refused:
            _open(order, owner, photos=[upload(jpeg_bytes()) for _ in range(2)])
        assert refused.value.message == "At most 1 photo can be added to a case."
    with translation.override("zh-hans"):
        with pytest.raises(AfterSalesRefused) as refused:
            _open(order, owner, order_line=one, quantity=2, amount=D("1"))
        assert refused.value.message == "该商品行最多只购买了 1 件。"
    _nothing_written()


# --- once per form key (a double tap on "open") ------------------------------------------------


def test_case_open_with_a_key_opens_once_per_store_and_key(policies, order, owner):
    key = uuid.uuid4()
    first = _open(order, owner, key=key)
    notices = Notification.objects.count()
    with pytest.raises(CaseRepeated) as repeated:
        _open(order, owner, key=key)
    assert repeated.value.case.pk == first.pk
    assert AfterSalesCase.objects.count() == 1
    assert Notification.objects.count() == notices


def test_a_refused_case_leaves_its_key_free(policies, order, owner):
    key = uuid.uuid4()
    with pytest.raises(AfterSalesRefused):
        _open(order, owner, key=key, amount=D("99.00"))
    case = _open(order, owner, key=key)
    assert case.form_key == key


def test_a_double_tap_on_the_case_form_opens_one_case(policies, owner, store, order):
    client = _client(owner)
    url = reverse("supply:case_new", args=[store.pk])
    page = client.get(url, {"order": order.pk})
    key = page.context["key"]
    assert f'name="key" value="{key}"' in page.content.decode()
    assert client.get(url, {"order": order.pk}).context["key"] != key
    line = order.lines.order_by("pk").first()
    body = {
        "key": str(key),
        "order": order.pk,
        "order_line": line.pk,
        "kind": "quality",
        "quantity": 1,
        "amount": "12.50",
        "description": "soft",
    }
    first = client.post(url, body)
    assert first.status_code == 302
    case = AfterSalesCase.objects.get()
    notices = Notification.objects.count()
    again = client.post(url, body)
    assert again.status_code == 302
    assert again["Location"] == reverse("supply:case", args=[store.pk, case.pk])
    time = timezone.localtime(case.opened_at).strftime("%H:%M")
    assert [str(message) for message in get_messages(again.wsgi_request)][-1] == (
        f"Case {case.number} was already opened at {time}; no second case was opened."
    )
    assert AfterSalesCase.objects.count() == 1
    assert Notification.objects.count() == notices


@pytest.mark.parametrize("key", ["", "not-a-key", None])
def test_a_case_form_without_its_key_opens_nothing_and_comes_back_as_typed(
    policies, owner, store, order, key
):
    """A client that drops the hidden key would open a case per tap: the post is refused with
    what was typed and a fresh key, and the next submit (twice, as a double tap) opens one."""
    client = _client(owner)
    url = reverse("supply:case_new", args=[store.pk])
    line = order.lines.order_by("pk").first()
    body = {
        "order": order.pk,
        "order_line": line.pk,
        "kind": "quality",
        "quantity": 1,
        "amount": "12.50",
        "description": "桃子压坏了",
    }
    refused = client.post(url, body if key is None else {**body, "key": key})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Nothing was saved: this form was sent without its one-time key" in html
    assert "桃子压坏了" in html
    fresh = refused.context["key"]
    assert isinstance(fresh, uuid.UUID)
    assert f'name="key" value="{fresh}"' in html
    assert not AfterSalesCase.objects.exists()
    assert not Notification.objects.exists()
    assert client.post(url, {**body, "key": str(fresh)}).status_code == 302
    assert client.post(url, {**body, "key": str(fresh)}).status_code == 302
    assert AfterSalesCase.objects.get().form_key == fresh


def test_a_refused_case_form_keeps_its_key_for_the_corrected_post(policies, owner, store, order):
    client = _client(owner)
    url = reverse("supply:case_new", args=[store.pk])
    line = order.lines.order_by("pk").first()
    key = str(uuid.uuid4())
    body = {"key": key, "order": order.pk, "order_line": line.pk, "kind": "quality"}
    refused = client.post(url, {**body, "quantity": 1, "amount": "99.00"})
    assert refused.status_code == 400
    assert str(refused.context["key"]) == key
    assert not AfterSalesCase.objects.exists()
    assert client.post(url, {**body, "quantity": 1, "amount": "12.50"}).status_code == 302
    assert AfterSalesCase.objects.get().form_key == uuid.UUID(key)


def test_a_case_photo_whose_file_is_gone_is_not_found_and_logged(
    owner, hq_user, case_with_photo, caplog
):
    photo = case_with_photo.photos.get()
    photo.image.storage.delete(photo.image.name)
    urls = [
        (owner, reverse("supply:case_photo", args=[photo.case.store_id, photo.case_id, photo.pk])),
        (hq_user, reverse("admin:procurement_aftersalesphoto_image", args=[photo.pk])),
    ]

    for user, url in urls:
        caplog.clear()
        with caplog.at_level("WARNING", logger="linli.files"):
            response = _client(user).get(url)

        assert response.status_code == 404, url
        assert [r.getMessage() for r in caplog.records if r.name == "linli.files"] == [
            f"stored file missing: {photo.image.name} (procurement.AfterSalesPhoto.image)"
        ]
