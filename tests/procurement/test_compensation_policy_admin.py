"""HQ edits the compensation policy table in the admin: a row that would break the table's
constraints (one row per kind and "up to", one row for any amount per kind, "up to" above 0)
is refused with a readable message on that row and nothing is saved — on the change form and on the
editable list, also when two rows of one submission collide."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.procurement.models import CaseKind, CompensationPolicy
from linli.roles import HQ_PROCUREMENT
from tests.factories import SupplierProductFactory, UserFactory
from tests.procurement.factories_aftersales import CompensationPolicyFactory

pytestmark = pytest.mark.django_db

D = Decimal
CHANGELIST = "admin:procurement_compensationpolicy_changelist"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def buyer(roles):
    user = UserFactory(is_staff=True, username="hq_buyer")
    user.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def table(db):
    """Two kinds: damaged up to 1000 and for any amount, quality up to 30 and up to 50."""
    CompensationPolicy.objects.all().delete()
    return {
        "damaged_1000": CompensationPolicyFactory(
            kind=CaseKind.DAMAGED, max_amount=D("1000.00"), remedy="refund", charged_to="hq"
        ),
        "damaged_open": CompensationPolicyFactory(
            kind=CaseKind.DAMAGED, max_amount=None, remedy="replacement", charged_to="supplier"
        ),
        "quality_30": CompensationPolicyFactory(
            kind=CaseKind.QUALITY, max_amount=D("30.00"), remedy="refund", charged_to="store"
        ),
        "quality_50": CompensationPolicyFactory(
            kind=CaseKind.QUALITY, max_amount=D("50.00"), remedy="coupon", charged_to="hq"
        ),
    }


def _saved() -> list[tuple[str, Decimal | None]]:
    return list(CompensationPolicy.objects.order_by("pk").values_list("kind", "max_amount"))


def _list_post(client: Client, table: dict, **changes: str) -> object:
    """The editable list's form set as the page submits it, with `changes` as
    `<row name>=<new up to>` ("" for an empty "up to")."""
    rows = list(CompensationPolicy.objects.order_by("kind", "max_amount"))
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    names = {policy.pk: name for name, policy in table.items()}
    for index, policy in enumerate(rows):
        amount = "" if policy.max_amount is None else str(policy.max_amount)
        data |= {
            f"form-{index}-id": str(policy.pk),
            f"form-{index}-max_amount": changes.get(names[policy.pk], amount),
            f"form-{index}-remedy": policy.remedy,
            f"form-{index}-charged_to": policy.charged_to,
            f"form-{index}-is_active": "on",
        }
        if policy.needs_approval:
            data[f"form-{index}-needs_approval"] = "on"
    return client.post(reverse(CHANGELIST), data)


def _row_errors(response: object) -> list[str]:
    formset = response.context["cl"].formset
    return [str(error) for form in formset.forms for error in form.errors.get("max_amount", [])]


def test_list_refuses_a_second_row_for_any_amount(buyer, table):
    before = _saved()
    response = _list_post(buyer, table, damaged_1000="")
    assert response.status_code == 200
    assert _row_errors(response) == [
        "Damaged already has a row for any amount (empty “up to”); a kind has at most one: "
        "give this row an amount."
    ]
    assert "Please correct the error below." in response.content.decode()
    assert _saved() == before


def test_list_refuses_an_amount_another_row_of_the_kind_has(buyer, table):
    before = _saved()
    response = _list_post(buyer, table, quality_30="50")
    assert response.status_code == 200
    assert _row_errors(response) == ["Quality problem already has a row up to 50.00 yuan."]
    assert _saved() == before


def test_list_refuses_two_rows_changed_to_the_same_amount_in_one_save(buyer, table):
    before = _saved()
    response = _list_post(buyer, table, quality_30="40", quality_50="40.00")
    assert response.status_code == 200
    assert (
        _row_errors(response)
        == [
            "Another row of Quality problem is changed to the same “up to” in this save; a kind "
            "has one row per amount."
        ]
        * 2
    )
    assert _saved() == before


def test_list_refuses_two_rows_of_a_kind_both_emptied(buyer, table):
    table["damaged_open"].delete()
    CompensationPolicyFactory(
        kind=CaseKind.DAMAGED, max_amount=D("2000.00"), remedy="refund", charged_to="hq"
    )
    table.pop("damaged_open")
    table["damaged_2000"] = CompensationPolicy.objects.get(max_amount=D("2000.00"))
    before = _saved()
    response = _list_post(buyer, table, damaged_1000="", damaged_2000="")
    assert len(_row_errors(response)) == 2
    assert _saved() == before


def test_list_saves_the_same_amount_in_two_kinds(buyer, table):
    response = _list_post(buyer, table, damaged_1000="40", quality_30="40")
    assert response.status_code == 302
    assert CompensationPolicy.objects.filter(max_amount=D("40.00")).count() == 2


def test_list_saves_a_row_changed_to_a_free_amount(buyer, table):
    response = _list_post(buyer, table, quality_50="80")
    assert response.status_code == 302
    table["quality_50"].refresh_from_db()
    assert table["quality_50"].max_amount == D("80.00")


def _change_post(client: Client, policy: CompensationPolicy, **changes: str) -> object:
    data = {
        "kind": policy.kind,
        "max_amount": "" if policy.max_amount is None else str(policy.max_amount),
        "remedy": policy.remedy,
        "charged_to": policy.charged_to,
        "needs_approval": "on",
        "is_active": "on",
        **changes,
    }
    return client.post(
        reverse("admin:procurement_compensationpolicy_change", args=[policy.pk]), data
    )


def test_change_form_refuses_the_same_collisions_once(buyer, table):
    before = _saved()
    response = _change_post(buyer, table["damaged_1000"], max_amount="")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "max_amount": [
            "Damaged already has a row for any amount (empty “up to”); a kind has at most "
            "one: give this row an amount."
        ]
    }
    # Moving a row to another kind is checked against that kind's rows.
    response = _change_post(buyer, table["damaged_1000"], kind="quality", max_amount="30")
    assert response.context["adminform"].form.errors == {
        "max_amount": ["Quality problem already has a row up to 30.00 yuan."]
    }
    assert _saved() == before


def test_add_form_refuses_a_taken_amount(buyer, table):
    response = buyer.post(
        reverse("admin:procurement_compensationpolicy_add"),
        {"kind": "quality", "max_amount": "50.00", "remedy": "refund", "charged_to": "hq"},
    )
    assert response.context["adminform"].form.errors == {
        "max_amount": ["Quality problem already has a row up to 50.00 yuan."]
    }
    assert CompensationPolicy.objects.count() == 4


# --- "up to" above 0, and the readable messages of the procurement constraints ----------------


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_change_form_refuses_an_amount_not_above_zero_on_the_field(buyer, table, amount):
    before = _saved()
    response = _change_post(buyer, table["quality_30"], max_amount=amount)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "max_amount": ["Must be more than 0, or empty for any amount."]
    }
    assert "compensation_policy_amount_positive" not in response.content.decode()
    assert _saved() == before


def test_list_refuses_an_amount_of_zero_on_the_row(buyer, table):
    before = _saved()
    response = _list_post(buyer, table, quality_30="0")
    assert _row_errors(response) == ["Must be more than 0, or empty for any amount."]
    assert _saved() == before


def test_constraints_reached_from_a_form_have_readable_messages():
    """The constraints' own messages (what a form shows when no field check comes first)."""
    policy = CompensationPolicy(kind=CaseKind.QUALITY, max_amount=D("0"))
    with pytest.raises(ValidationError) as caught:
        policy.validate_constraints()
    assert caught.value.messages == ["Must be more than 0, or empty for any amount."]

    CompensationPolicy.objects.filter(kind=CaseKind.LATE).delete()
    CompensationPolicyFactory(kind=CaseKind.LATE, max_amount=None)
    second = CompensationPolicy(kind=CaseKind.LATE, max_amount=None)
    with pytest.raises(ValidationError) as caught:
        second.validate_constraints()
    assert caught.value.messages == [
        "A case kind has at most one row for any amount (empty “up to”)."
    ]


def test_supplier_product_form_says_why_a_pack_size_of_zero_is_refused(buyer):
    offer = SupplierProductFactory()
    response = buyer.post(
        reverse("admin:procurement_supplierproduct_change", args=[offer.pk]),
        {
            "supplier": offer.supplier_id,
            "product": offer.product_id,
            "cost": "-1",
            "lead_time_days": "1",
            "min_order_qty": "0",
            "pack_size": "0",
            "is_preferred": "on",
        },
    )
    assert response.status_code == 200
    assert sorted(response.context["adminform"].form.non_field_errors()) == [
        "The cost cannot be negative.",
        "The minimum order must be at least 1.",
        "The pack size must be at least 1.",
    ]
    offer.refresh_from_db()
    assert (offer.cost, offer.pack_size, offer.min_order_qty) == (D("5.00"), 1, 1)
