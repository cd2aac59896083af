"""Replenishment: the engine's suggested quantities become draft purchase orders for HQ."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.catalog.models import DemandForecast
from apps.procurement.models import PurchaseOrder, PurchaseOrderLine
from apps.procurement.services.purchase_orders import purchase_order_send
from apps.procurement.services.replenishment import (
    purchase_order_line_edit,
    purchase_orders_replenish,
)
from apps.procurement.tasks import purchase_orders_replenish_task
from tests.factories import ProductFactory, StoreFactory, SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db


def _forecast(store, product, suggested: int, issued_on: dt.date) -> DemandForecast:
    return DemandForecast.objects.create(
        store=store,
        product=product,
        issued_on=issued_on,
        start_day=issued_on,
        method="gbm",
        total=10.0,
        sigma_daily=1.0,
        on_hand=0,
        lead_time_days=2,
        review_period_days=1,
        safety_stock=1.0,
        suggested_qty=suggested,
    )


@pytest.fixture
def suggestions() -> dict[str, object]:
    today = timezone.localdate()
    farm = SupplierFactory()
    berries, grapes, orphan = ProductFactory(), ProductFactory(), ProductFactory()
    SupplierProductFactory(
        supplier=farm,
        product=berries,
        pack_size=6,
        min_order_qty=6,
        lead_time_days=2,
        cost=Decimal("8.00"),
    )
    SupplierProductFactory(supplier=farm, product=grapes, lead_time_days=2)
    a, b = StoreFactory(), StoreFactory()
    _forecast(a, berries, 4, today)
    _forecast(b, berries, 3, today)
    _forecast(a, grapes, 0, today)
    _forecast(b, orphan, 5, today)
    return {"today": today, "farm": farm, "berries": berries, "a": a, "b": b}


def test_suggestions_become_one_draft_per_supplier_with_rounded_lines(suggestions):
    result = purchase_orders_replenish(issued_on=suggestions["today"])
    assert (result.purchase_orders, result.lines, result.unsupplied_products) == (1, 1, 1)
    po = PurchaseOrder.objects.get()
    assert (po.status, po.supplier, po.replenishment_of, po.delivery_date) == (
        PurchaseOrder.Status.DRAFT,
        suggestions["farm"],
        suggestions["today"],
        suggestions["today"] + dt.timedelta(days=2),
    )
    line = po.lines.get()
    assert (line.product, line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (
        suggestions["berries"],
        7,
        12,
        5,
    )
    assert dict(line.allocations.values_list("store_id", "quantity")) == {
        suggestions["a"].pk: 4,
        suggestions["b"].pk: 3,
    }


def test_replenishing_the_same_day_twice_adds_nothing(suggestions):
    day = suggestions["today"].isoformat()
    purchase_orders_replenish_task(issued_on=day)
    second = purchase_orders_replenish_task(issued_on=day)
    assert second == {"purchase_orders": 0, "lines": 0}
    assert PurchaseOrder.objects.count() == 1
    assert PurchaseOrderLine.objects.count() == 1


def test_hq_edits_a_draft_line_and_it_is_rounded_again(suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    line = PurchaseOrderLine.objects.get()
    purchase_order_line_edit(line=line, demanded=13)
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (13, 18, 5)
    purchase_order_send(po=line.purchase_order, by=None)
    with pytest.raises(ValueError, match="draft"):
        purchase_order_line_edit(line=line, demanded=1)
    line.refresh_from_db()
    assert line.demanded_quantity == 13


def test_hq_edits_a_draft_line_in_the_admin(client, hq_user, suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    line = PurchaseOrderLine.objects.get()
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorderline_change", args=[line.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "demanded_quantity": "20",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity) == (20, 24)


def test_hq_approves_and_rejects_drafts_in_bulk(client, hq_user, suggestions):
    other = SupplierFactory()
    product = ProductFactory()
    SupplierProductFactory(supplier=other, product=product, lead_time_days=2)
    _forecast(suggestions["a"], product, 2, suggestions["today"])
    purchase_orders_replenish(issued_on=suggestions["today"])
    first, second = PurchaseOrder.objects.order_by("pk")
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorder_changelist")
    client.post(url, {"action": "send", "_selected_action": [first.pk]})
    client.post(url, {"action": "cancel", "_selected_action": [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (
        PurchaseOrder.Status.SENT,
        PurchaseOrder.Status.CANCELLED,
    )
