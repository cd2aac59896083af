"""The supplier's shortage report says what it did: a report with every line at 0 reports
nothing (no earlier report) or withdraws the earlier report — not "Shortage reported."."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.procurement.models import PurchaseOrder, Supplier
from tests.procurement.factories import consolidated_purchase_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def po(supplier_user, store, other_store) -> PurchaseOrder:
    supplier = Supplier.objects.get(users__user=supplier_user)
    return consolidated_purchase_order(supplier=supplier, stores=[store, other_store])


def _report(client, po: PurchaseOrder, units: dict[str, int]) -> list[str]:
    """Post the report with every line's units (by product name, 0 for the rest) and return the
    messages shown on the order page it leads to."""
    data = {
        f"line_{line.pk}": str(units.get(line.product.name, 0))
        for line in po.lines.select_related("product")
    }
    response = client.post(
        reverse("supplier:order_shortage", args=[po.pk]), {**data, "note": ""}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_every_line_at_zero_without_an_earlier_report_reports_nothing(client, supplier_user, po):
    client.force_login(supplier_user)
    assert _report(client, po, {}) == [
        "No shortage reported: every line is 0, so nothing is short."
    ]
    po.refresh_from_db()
    assert po.has_shortage is False
    assert not po.lines.filter(shortage_quantity__gt=0).exists()


def test_a_report_then_every_line_at_zero_withdraws_it(client, supplier_user, po):
    client.force_login(supplier_user)
    assert _report(client, po, {"阳光玫瑰葡萄": 4}) == ["Shortage reported."]
    po.refresh_from_db()
    assert po.has_shortage is True

    assert _report(client, po, {}) == ["Shortage withdrawn: every line will be delivered in full."]
    po.refresh_from_db()
    assert po.has_shortage is False
    assert not po.lines.filter(shortage_quantity__gt=0).exists()
    # A second all-zero report has nothing left to withdraw.
    assert _report(client, po, {}) == [
        "No shortage reported: every line is 0, so nothing is short."
    ]
