"""HQ edits a draft line's demand: a number too large for a line (over
`PURCHASE_LINE_MAX_UNITS`, or too large once rounded up to whole packs) is refused on the field
of the admin's form, and by the service, and nothing is written — never a server error."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from apps.procurement.models import PurchaseOrder, PurchaseOrderLine
from apps.procurement.services.purchase_orders import PurchaseOrderRefused
from apps.procurement.services.replenishment import purchase_order_line_edit
from linli.roles import HQ_PROCUREMENT
from tests.factories import StoreFactory, UserFactory
from tests.procurement.factories import (
    PurchaseOrderAllocationFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
)

pytestmark = pytest.mark.django_db

INT_MAX = 2**31 - 1


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
def line() -> PurchaseOrderLine:
    """A draft line: 2 stores × 20, packs of 10."""
    line = PurchaseOrderLineFactory(
        purchase_order=PurchaseOrderFactory(status=PurchaseOrder.Status.DRAFT, sent_at=None),
        demanded_quantity=40,
        ordered_quantity=40,
        surplus_quantity=0,
        pack_size=10,
        min_order_qty=10,
    )
    for _index in range(2):
        PurchaseOrderAllocationFactory(line=line, store=StoreFactory(), quantity=20)
    return line


def _post(client: Client, line: PurchaseOrderLine, demanded: object) -> object:
    return client.post(
        reverse("admin:procurement_purchaseorderline_change", args=[line.pk]),
        {
            "demanded_quantity": str(demanded),
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )


def _unchanged(line: PurchaseOrderLine) -> bool:
    line.refresh_from_db()
    return (line.demanded_quantity, line.ordered_quantity) == (40, 40) and sorted(
        line.allocations.values_list("quantity", flat=True)
    ) == [20, 20]


TOO_LARGE = (
    "At most 100000 units can be asked for on one line; a larger number is most likely a "
    "typing error."
)


@pytest.mark.parametrize("demanded", [INT_MAX, 100_000_000, 100_001])
def test_admin_refuses_a_demand_over_the_limit_on_the_field(buyer, line, demanded):
    response = _post(buyer, line, demanded)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"demanded_quantity": [TOO_LARGE]}
    assert _unchanged(line)


def test_admin_refuses_a_demand_that_rounded_up_would_not_fit_a_line(buyer, line, settings):
    settings.PURCHASE_LINE_MAX_UNITS = INT_MAX
    response = _post(buyer, line, INT_MAX)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "demanded_quantity": [
            "Rounded up to whole packs of 10 (minimum 10), 2147483647 units would order "
            "2147483650, more than a line can hold."
        ]
    }
    assert _unchanged(line)


def test_admin_saves_a_demand_at_the_limit(buyer, line):
    response = _post(buyer, line, 100_000)
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity) == (100_000, 100_000)
    assert sorted(line.allocations.values_list("quantity", flat=True)) == [50_000, 50_000]


@pytest.mark.parametrize(
    ("limit", "demanded", "code"), [(100_000, 100_001, "too_large"), (INT_MAX, INT_MAX, "overflow")]
)
def test_the_service_refuses_the_same_and_writes_nothing(line, settings, limit, demanded, code):
    settings.PURCHASE_LINE_MAX_UNITS = limit
    with pytest.raises(PurchaseOrderRefused) as refusal:
        purchase_order_line_edit(line=line, demanded=demanded)
    assert refusal.value.code == code
    assert _unchanged(line)
