"""The demo's purchasing: consolidated purchase orders in every state for several suppliers,
the demo supplier's among them."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from apps.campaigns.models import Notification
from apps.ops.demo.scenes import member_may_buy
from apps.procurement.models import (
    AfterSalesCase,
    ConsolidationRun,
    DeliveryPlan,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Receipt,
    ReceiptLine,
    Supplier,
)
from apps.procurement.selectors.purchase_orders import purchase_order_pick_lists
from apps.procurement.services.consolidation import (
    NOTIFICATION_KIND,
    UPDATED_NOTIFICATION_KIND,
)
from apps.procurement.services.purchase_orders import purchase_order_send
from apps.procurement.services.receiving import SHORT_NOTIFICATION_KIND
from apps.stores.models import Order, OrderFulfilment

pytestmark = pytest.mark.django_db


def _seed() -> None:
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
        "--no-compute",
        stdout=StringIO(),
    )


def test_the_demo_has_purchase_orders_in_every_state_for_several_suppliers():
    _seed()
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


def test_the_demo_drafts_are_allocated_to_stores_and_can_be_sent_with_a_pick_list():
    _seed()
    drafts = list(PurchaseOrder.objects.filter(status="draft").order_by("number"))
    assert len(drafts) == 4
    assert all(draft.number.endswith("-D") for draft in drafts)
    lines = PurchaseOrderLine.objects.filter(purchase_order__in=drafts).annotate(
        allocated=Sum("allocations__quantity"), stores=Count("allocations")
    )
    assert len(lines) == 8
    for line in lines:
        assert line.allocated == line.demanded_quantity > 0, line.pk
        assert line.stores >= 1
    purchase_order_send(po=drafts[0], by=None)
    pick_lists = purchase_order_pick_lists(purchase_order=drafts[0])
    assert sum(pick.total for pick in pick_lists) == sum(
        line.ordered_quantity for line in drafts[0].lines.all()
    )


def test_the_demo_fills_receiving_pickup_delivery_plans_and_after_sales():
    _seed()
    shipped = PurchaseOrder.objects.filter(status="shipped")
    received = Receipt.objects.filter(purchase_order__in=shipped)
    # Every shipped order is received at each store it allocates to; one unit short somewhere.
    assert received.count() == (
        PurchaseOrderAllocation.objects.filter(line__purchase_order__in=shipped)
        .values("line__purchase_order", "store")
        .distinct()
        .count()
    )
    assert ReceiptLine.objects.filter(short_quantity__gt=0).exists()
    assert PurchaseOrderSource.objects.filter(short_quantity__gt=0).exists()
    # Confirmed orders stay for the stores' receiving page.
    assert not Receipt.objects.filter(purchase_order__status="confirmed").exists()
    assert PurchaseOrder.objects.filter(status="confirmed").exists()
    # Every open or handed-over supplied order has a pickup code; both states shown.
    codes = dict(OrderFulfilment.objects.values_list("status").annotate(n=Count("pk")).order_by())
    assert codes.get("ready", 0) > 0
    assert codes.get("collected", 0) > 0
    supplied = Order.objects.filter(
        lines__purchase_source__isnull=False, status__in=["paid", "ready", "completed"]
    ).distinct()
    assert supplied.exists()
    assert not supplied.filter(fulfilment_record=None).exists()
    assert set(AfterSalesCase.objects.values_list("status", flat=True)) == {
        "open",
        "approved",
        "rejected",
    }
    assert DeliveryPlan.objects.exists()


def test_the_demo_supply_orders_are_members_who_may_buy_them():
    _seed()
    supplied = list(
        Order.objects.filter(lines__purchase_source__isnull=False)
        .distinct()
        .select_related("member")
        .prefetch_related("lines__product__category")
    )
    with_member = [order for order in supplied if order.member is not None]
    # The pickup counter names who collects: an order is a member's of the store unless no
    # member there may buy all of it (a baby product and a protein powder at this small size).
    assert len(with_member) >= 0.8 * len(supplied)
    for order in with_member:
        assert order.member.home_store_id == order.store_id
        codes = {line.product.category.code for line in order.lines.all()}
        assert member_may_buy(order.member.member_no, codes)
    # The shortage received at a store reached members' notifications.
    assert Notification.objects.filter(kind=SHORT_NOTIFICATION_KIND).exists()


def test_the_demo_purchase_orders_are_dated_by_their_run_not_by_the_loading():
    """Each day's 22:00 run and what it made or added to carry its cut-off: a demo purchase
    order used to read "sent" at the moment the demo was loaded, after it was confirmed."""
    _seed()
    consolidated = PurchaseOrder.objects.filter(run__isnull=False).select_related("run")
    assert consolidated.count() > 0
    for purchase_order in consolidated:
        cutoff = purchase_order.run.cutoff
        assert purchase_order.created_at == purchase_order.sent_at == cutoff
        assert purchase_order.run.started_at == cutoff
        assert purchase_order.run.finished_at > cutoff
        if purchase_order.confirmed_at is not None:
            assert purchase_order.sent_at < purchase_order.confirmed_at
        if purchase_order.updated_at is not None:
            assert purchase_order.updated_at > cutoff


def test_the_demo_purchasing_exceptions_and_notifications_carry_the_times_of_their_events():
    """An exception is dated by the member's cancellation (after the supplier confirmed), a
    supplier's "new / updated purchase order" notice by the run that sent it, a member's
    "short" or "ready" notice by the receipt it tells of: not by the moment the demo was
    loaded (they used to read as if it all happened then, months after the story)."""
    loading = timezone.now()
    _seed()
    exceptions = PurchaseOrderException.objects.select_related("purchase_order")
    assert exceptions.count() > 0
    for exception in exceptions:
        confirmed_at = exception.purchase_order.confirmed_at
        assert exception.created_at == confirmed_at + dt.timedelta(hours=2)
    # The order cancelled on a sent purchase order: its sources an hour after the run.
    cancelled = PurchaseOrderSource.objects.filter(cancelled_at__isnull=False).select_related(
        "line__purchase_order__run"
    )
    assert cancelled.count() > 0
    for source in cancelled:
        run = source.line.purchase_order.run
        assert source.cancelled_at == run.cutoff + dt.timedelta(hours=1)
    assert PurchaseOrder.objects.filter(updated_at__gte=loading).count() == 0
    supplier_notices = Notification.objects.filter(
        kind__in=[NOTIFICATION_KIND, UPDATED_NOTIFICATION_KIND]
    )
    assert supplier_notices.filter(kind=NOTIFICATION_KIND).count() > 0
    assert supplier_notices.filter(kind=UPDATED_NOTIFICATION_KIND).count() > 0
    runs = {run.cutoff: run.finished_at for run in ConsolidationRun.objects.all()}
    for notice in supplier_notices:
        assert notice.created_at in runs.values()
        assert notice.sent_at == notice.created_at
    for notice in supplier_notices.filter(kind=NOTIFICATION_KIND):
        purchase_order = PurchaseOrder.objects.get(pk=notice.payload["purchase_order_id"])
        assert notice.created_at == runs[purchase_order.run.cutoff]
    receipts = set(Receipt.objects.values_list("received_at", flat=True))
    told = Notification.objects.filter(kind__in=[SHORT_NOTIFICATION_KIND, "order_ready"])
    assert told.filter(kind=SHORT_NOTIFICATION_KIND).exists()
    assert told.filter(kind="order_ready").exists()
    assert {notice.created_at for notice in told} <= receipts
    decided = dict(
        AfterSalesCase.objects.filter(decided_at__isnull=False).values_list("pk", "decided_at")
    )
    decisions = Notification.objects.filter(kind__startswith="after_sales.")
    assert decisions.count() == 2
    assert {notice.created_at for notice in decisions} <= set(decided.values())
