"""The lock order of docs/purchasing.md ("Lock order") under real concurrency on PostgreSQL:
store receiving and a member order's cancellation before pickup meeting on the same order.

Receiving locks the purchase order first; the cancellation used to lock the member order (its
fulfilment and its stock rows) first and the purchase order last, so the two could each hold
what the other waited for, and PostgreSQL aborted one with `DeadlockDetected` (a 500 for the
clerk or the owner). A third connection holds one stock row to stop the receipt just after its
first locks, while the cancellation starts and waits: the interleaving that deadlocked."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderSource,
    Receipt,
    ReceiptLine,
)
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import order_cancel_before_pickup
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.stock import stock_move
from tests.factories import UserFactory
from tests.procurement.factories import supply_order
from tests.procurement.factories_supply import supply_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class _Worker:
    """One transaction of the race in a thread of its own (so its own connection); `pid` is
    its backend's process id, for watching what it waits for."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.pid: int | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        assert self.started.wait(timeout=30)

    def _run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.started.set()
            self.result = self.work()
        except Exception as exc:  # noqa: BLE001 — collected and asserted by the test
            self.result = exc
        finally:
            self.started.set()
            connection.close()

    def join(self) -> Any:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.result


def _waits_for_a_lock(worker: _Worker, *, or_finishes: bool = False) -> None:
    """Return once `worker`'s backend waits for a lock another transaction holds (it has
    taken the locks before that one), or, with `or_finishes`, once it is done without
    waiting; fail after 15 s."""
    deadline = time.monotonic() + 15
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            if or_finishes and not worker.thread.is_alive():
                return
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [worker.pid]
            )
            if cursor.fetchone()[0]:
                return
            assert worker.thread.is_alive(), worker.result
            time.sleep(0.02)
    pytest.fail(f"the worker never waited for a lock (result: {worker.result!r})")


def test_receipt_and_cancel_before_pickup_of_the_same_order_do_not_deadlock():
    world = supply_world(quantities_a=((2, 1), (0, 2), (3, 0)), quantities_b=((4, 2),))
    store = world.store_a
    allocations = list(
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order=world.purchase_order, store=store
        )
        .select_related("line__product")
        .order_by("pk")
    )
    # The first product's stock row is held below to stop the receipt there (after it locked
    # the purchase order); the cancelled order has only the second product, whose stock row
    # its cancellation takes (the old code took it before the purchase order).
    first, second = (allocation.line.product for allocation in allocations)
    cancelled = next(
        order
        for order in world.orders[store.pk]
        if set(order.lines.values_list("product_id", flat=True)) == {second.pk}
    )
    StockLevel.objects.create(store=store, product=first, on_hand=0)
    # The group-buy join took its units from the shelf (the cancellation gives them back).
    stock_move(store=store, product=second, kind=StockMovement.Kind.RECEIPT, quantity=2)
    stock_move(
        store=store, product=second, kind=StockMovement.Kind.SALE, quantity=-2, order=cancelled
    )
    fulfilments_open(order_ids=[order.pk for order in world.orders[store.pk]])
    clerk, owner = UserFactory(), UserFactory()
    everything_arrived = {allocation.pk: (allocation.quantity, 0, 0) for allocation in allocations}

    with transaction.atomic():
        StockLevel.objects.select_for_update().get(store=store, product=first)
        receiving = _Worker(
            lambda: receipt_record(
                purchase_order=world.purchase_order,
                store=store,
                lines=everything_arrived,
                by=clerk,
            )
        )
        _waits_for_a_lock(receiving)  # it holds the purchase order (and more) now
        cancelling = _Worker(
            lambda: order_cancel_before_pickup(
                store=store, order_id=cancelled.pk, by=owner, reason="changed my mind"
            )
        )
        _waits_for_a_lock(cancelling)
    # The stock row is free: the receipt goes on while the cancellation waits.
    receipt, fulfilment = receiving.join(), cancelling.join()

    assert isinstance(receipt, Receipt), receipt
    assert isinstance(fulfilment, OrderFulfilment), fulfilment
    assert ReceiptLine.objects.filter(receipt=receipt).count() == 2
    # The receipt came first: every order of the store became ready, then the owner
    # cancelled one (a ready order may still be cancelled before pickup).
    statuses = dict(Order.objects.filter(store=store).values_list("pk", "status").order_by("pk"))
    assert statuses == {
        order.pk: Order.Status.CANCELLED if order.pk == cancelled.pk else Order.Status.READY
        for order in world.orders[store.pk]
    }
    assert fulfilment.status == OrderFulfilment.Status.CANCELLED
    # The purchase order was shipped: it stands, and the cancelled units are an exception.
    assert list(
        PurchaseOrderException.objects.filter(purchase_order=world.purchase_order).values_list(
            "order_line__order_id", "kind", "quantity"
        )
    ) == [(cancelled.pk, PurchaseOrderException.Kind.CANCELLED_AFTER_CONFIRMATION, 2)]
    assert not PurchaseOrderSource.objects.filter(cancelled_at__isnull=False).exists()
    # Stock: the receipt's units in, the cancelled order's two units back on the shelf.
    received = {allocation.line.product_id: allocation.quantity for allocation in allocations}
    assert StockLevel.objects.get(store=store, product=first).on_hand == received[first.pk]
    assert StockLevel.objects.get(store=store, product=second).on_hand == received[second.pk] + 2


def test_an_order_cancelled_while_a_consolidation_runs_is_not_left_on_the_purchase_order():
    """A run reads the paid lines it will link when it starts; an order cancelled before the
    run commits used to keep its lines on the purchase order (the cancellation saw no link
    yet, the run linked a cancelled order). The cancellation now waits for the run (the
    consolidation's advisory lock, shared) and then takes the order off what the run made."""
    world = supply_world(status=PurchaseOrder.Status.SENT, quantities_b=((4, 2),))
    store = world.store_a
    blueberries = world.products[0]
    line = world.purchase_order.lines.get(product=blueberries)
    demanded_before = line.demanded_quantity
    late = supply_order(
        store=store, lines=[(blueberries, 5)], placed_at=timezone.now() - dt.timedelta(minutes=5)
    )
    fulfilments_open(order_ids=[late.pk])
    owner = UserFactory()

    with transaction.atomic():
        # The run stops at the open purchase order's lock, after it read the paid lines.
        PurchaseOrder.objects.select_for_update().get(pk=world.purchase_order.pk)
        consolidating = _Worker(
            lambda: purchase_orders_consolidate(cutoff=timezone.now() + dt.timedelta(minutes=1))
        )
        _waits_for_a_lock(consolidating)
        cancelling = _Worker(
            lambda: order_cancel_before_pickup(
                store=store, order_id=late.pk, by=owner, reason="changed my mind"
            )
        )
        _waits_for_a_lock(cancelling, or_finishes=True)
    run, fulfilment = consolidating.join(), cancelling.join()

    assert run.status == run.Status.FINISHED, run
    assert run.source_line_count == 1
    assert isinstance(fulfilment, OrderFulfilment), fulfilment
    assert Order.objects.get(pk=late.pk).status == Order.Status.CANCELLED
    # The run linked the late order's line; the cancellation took it off again.
    link = PurchaseOrderSource.objects.get(order_line__order=late)
    assert link.cancelled_at is not None
    line.refresh_from_db()
    assert line.demanded_quantity == demanded_before
    assert world.allocation(store, blueberries).quantity == sum(
        order.lines.get(product=blueberries).quantity
        for order in world.orders[store.pk]
        if order.lines.filter(product=blueberries).exists()
    )
