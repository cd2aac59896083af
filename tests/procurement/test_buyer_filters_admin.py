"""A buyer finds one supplier's purchase-order lines, allocations and store receipts in the
admin by a filter (the lists had none by supplier)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.procurement.factories import PurchaseOrderAllocationFactory
from tests.procurement.factories_supply import ReceiptFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "supplier_lookup"),
    [
        ("purchaseorderline", "purchase_order__supplier__id__exact"),
        ("purchaseorderallocation", "line__purchase_order__supplier__id__exact"),
        ("receipt", "purchase_order__supplier__id__exact"),
    ],
)
def test_supply_lists_filter_by_supplier(client, hq_user, model, supplier_lookup):
    ours, theirs = ReceiptFactory(), ReceiptFactory()
    supplier = ours.purchase_order.supplier
    client.force_login(hq_user)

    response = client.get(
        reverse(f"admin:procurement_{model}_changelist"), {supplier_lookup: supplier.pk}
    )

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows
    suppliers = {
        {
            "purchaseorderline": lambda row: row.purchase_order.supplier_id,
            "purchaseorderallocation": lambda row: row.line.purchase_order.supplier_id,
            "receipt": lambda row: row.purchase_order.supplier_id,
        }[model](row)
        for row in rows
    }
    assert suppliers == {supplier.pk}
    assert theirs.purchase_order.supplier_id != supplier.pk


def test_receipts_filter_by_region(client, hq_user):
    ours, _theirs = ReceiptFactory(), ReceiptFactory(allocation=PurchaseOrderAllocationFactory())
    client.force_login(hq_user)

    response = client.get(
        reverse("admin:procurement_receipt_changelist"),
        {"store__region__id__exact": ours.store.region_id},
    )

    assert response.status_code == 200
    assert [receipt.pk for receipt in response.context["cl"].result_list] == [ours.pk]
