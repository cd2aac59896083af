"""A consolidation run and the supplier's confirmation at the same moment, on PostgreSQL with
real threads and connections: the run locks the open purchase order's row, the confirmation's
conditional UPDATE takes the same row lock, so the purchase order is either confirmed before
the run (which then makes a new one) or gets the new lines before it is confirmed."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.procurement.models import PurchaseOrder, PurchaseOrderLine
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_confirm,
)
from tests.factories import ProductFactory, StoreFactory, SupplierFactory, SupplierProductFactory
from tests.procurement.factories import supply_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start `work` in a thread with its own connection; its result (or exception) lands in
    the returned list."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except Exception as exc:  # noqa: BLE001 — collected and asserted by the test
            result.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _a_session_waits_for_a_lock(timeout: float = 20.0) -> bool:
    """Whether another session of this test database is (or, within `timeout`, comes to be)
    waiting for a lock held by an open transaction."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def _world() -> dict[str, Any]:
    farm = SupplierFactory()
    berries, grapes = ProductFactory(), ProductFactory()
    for product in (berries, grapes):
        SupplierProductFactory(
            supplier=farm,
            product=product,
            cost=Decimal("8.50"),
            pack_size=1,
            min_order_qty=6,
            lead_time_days=2,
        )
    a, b = StoreFactory(), StoreFactory()
    cutoff = timezone.now().replace(microsecond=0)
    supply_order(store=a, lines=[(berries, 4)])
    purchase_orders_consolidate(cutoff=cutoff)
    supply_order(store=b, lines=[(berries, 4), (grapes, 2)])
    return {
        "po": PurchaseOrder.objects.get(),
        "berries": berries,
        "grapes": grapes,
        "later": cutoff + dt.timedelta(seconds=1),
    }


def _lines(po: PurchaseOrder) -> dict[int, tuple[int, int]]:
    return {
        product_id: (demanded, ordered)
        for product_id, demanded, ordered in PurchaseOrderLine.objects.filter(
            purchase_order=po
        ).values_list("product_id", "demanded_quantity", "ordered_quantity")
    }


@pytest.mark.parametrize("revision", [1, None])
def test_a_confirmation_during_a_run_waits_and_is_decided_on_what_the_run_left(revision):
    world = _world()
    po, seen = world["po"], world["po"].revision
    ran, release = threading.Event(), threading.Event()

    def consolidate() -> object:
        with transaction.atomic():  # the run's work stays uncommitted until released
            run = purchase_orders_consolidate(cutoff=world["later"])
            ran.set()
            release.wait(timeout=30)
        return run

    def confirm() -> PurchaseOrder:
        return purchase_order_confirm(
            po=PurchaseOrder.objects.get(pk=po.pk),
            ship_date=timezone.localdate(),
            by=None,
            revision=revision,
        )

    run_thread, run_result = _in_thread(consolidate)
    assert ran.wait(timeout=30)
    confirm_thread, confirm_result = _in_thread(confirm)
    waited = _a_session_waits_for_a_lock()
    release.set()
    run_thread.join(timeout=60)
    confirm_thread.join(timeout=60)

    assert waited  # the confirmation waited for the run's row lock
    assert run_result[0].purchase_order_updated_count == 1
    po.refresh_from_db()
    assert PurchaseOrder.objects.count() == 1
    assert po.revision == seen + 1
    assert _lines(po) == {world["berries"].pk: (8, 8), world["grapes"].pk: (2, 6)}
    if revision is None:
        # Confirmed as it stands after the run: with the added lines.
        assert confirm_result[0].status == PurchaseOrder.Status.CONFIRMED
        assert po.status == PurchaseOrder.Status.CONFIRMED
    else:
        # The supplier saw the order before the run added to it: refused, still open.
        assert isinstance(confirm_result[0], PurchaseOrderRefused)
        assert confirm_result[0].code == "changed"
        assert (po.status, po.confirmed_at) == (PurchaseOrder.Status.SENT, None)


def test_a_confirmation_committed_while_the_run_waits_makes_the_run_start_a_new_order():
    world = _world()
    po = world["po"]
    confirmed, release = threading.Event(), threading.Event()

    def confirm() -> PurchaseOrder:
        with transaction.atomic():  # the confirmation stays uncommitted until released
            done = purchase_order_confirm(
                po=PurchaseOrder.objects.get(pk=po.pk),
                ship_date=timezone.localdate(),
                by=None,
                revision=po.revision,
            )
            confirmed.set()
            release.wait(timeout=30)
        return done

    confirm_thread, confirm_result = _in_thread(confirm)
    assert confirmed.wait(timeout=30)
    run_thread, run_result = _in_thread(lambda: purchase_orders_consolidate(cutoff=world["later"]))
    waited = _a_session_waits_for_a_lock()
    release.set()
    confirm_thread.join(timeout=60)
    run_thread.join(timeout=60)

    assert waited  # the run waited for the confirmation's row lock
    assert confirm_result[0].status == PurchaseOrder.Status.CONFIRMED
    run = run_result[0]
    assert (run.purchase_order_count, run.purchase_order_updated_count) == (1, 0)
    po.refresh_from_db()
    # What the supplier confirmed is what they saw; the new demand is a new purchase order.
    assert (po.status, po.revision) == (PurchaseOrder.Status.CONFIRMED, 1)
    assert _lines(po) == {world["berries"].pk: (4, 6)}
    new = PurchaseOrder.objects.get(run=run)
    assert (new.status, new.delivery_date) == (PurchaseOrder.Status.SENT, po.delivery_date)
    assert _lines(new) == {world["berries"].pk: (4, 6), world["grapes"].pk: (2, 6)}
