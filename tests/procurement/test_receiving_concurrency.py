"""receipt_record under real concurrency on PostgreSQL: two clerks submitting the same delivery
at once make one receipt; the unique (purchase order, store) decides, not a check before."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import Receipt, ReceiptLine
from apps.procurement.services.receiving import ReceiptRefused, receipt_record
from apps.stores.models import StockLevel, StockMovement
from tests.procurement.factories_supply import supply_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 — collected and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [thread.is_alive() for thread in threads] == [False] * workers
    return results


def test_two_simultaneous_receipts_make_one_and_move_stock_once():
    world = supply_world()
    blueberries, grapes = world.products
    lines = {
        world.allocation(world.store_a, blueberries).pk: (4, 2, 0),
        world.allocation(world.store_a, grapes).pk: (4, 0, 0),
    }

    def receive(_index: int) -> Receipt:
        return receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )

    results = _race(2, receive)
    made = [result for result in results if isinstance(result, Receipt)]
    refused = [result for result in results if isinstance(result, ReceiptRefused)]
    assert (len(made), len(refused)) == (1, 1), results
    assert refused[0].code == "already_received"
    assert Receipt.objects.count() == 1
    assert ReceiptLine.objects.count() == 2
    assert StockMovement.objects.filter(store=world.store_a).count() == 2
    assert StockLevel.objects.get(store=world.store_a, product=blueberries).on_hand == 4
    assert Notification.objects.filter(kind="order_short").count() == 2
