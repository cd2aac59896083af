"""The demo's purchasing: consolidated purchase orders in every state for several suppliers,
the demo supplier's among them."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from apps.campaigns.models import Notification
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Supplier,
)

pytestmark = pytest.mark.django_db


def test_the_demo_has_purchase_orders_in_every_state_for_several_suppliers():
    call_command(
        "seed_demo",
        "--stores",
        "3",
        "--members",
        "200",
        "--days",
        "14",
        "--end-day",
        dt.date(2026, 7, 31).isoformat(),
        stdout=StringIO(),
    )
    demo_supplier = Supplier.objects.get(users__user__username="supplier")
    states = set(PurchaseOrder.Status.values)
    suppliers = {
        supplier_id
        for supplier_id in PurchaseOrder.objects.values_list("supplier_id", flat=True)
        if set(
            PurchaseOrder.objects.filter(supplier_id=supplier_id).values_list("status", flat=True)
        )
        == states
    }
    assert demo_supplier.pk in suppliers
    assert len(suppliers) >= 3
    assert PurchaseOrder.objects.filter(has_shortage=True).exists()
    assert PurchaseOrderException.objects.count() >= 1
    assert PurchaseOrderSource.objects.filter(cancelled_at__isnull=False).exists()
    assert (
        Notification.objects.filter(
            recipient__username="supplier", kind="purchase_order.new"
        ).count()
        == PurchaseOrder.objects.filter(supplier=demo_supplier, run__isnull=False).count()
    )
    live = PurchaseOrderSource.objects.filter(
        cancelled_at__isnull=True, line__purchase_order__status="sent"
    ).aggregate(total=Sum("quantity"))["total"]
    sent = PurchaseOrderLine.objects.filter(purchase_order__status="sent").aggregate(
        total=Sum("demanded_quantity")
    )["total"]
    assert live == sent
