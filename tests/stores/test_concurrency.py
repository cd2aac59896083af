"""order_create under real concurrency on PostgreSQL: stock never oversold, keys never doubled.

Each thread uses its own database connection (closed at the end); a barrier releases them
together so the conditional UPDATEs and the unique idempotency key really race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from apps.stores.models import Order, OrderLine, StockLevel, StockMovement
from apps.stores.services.orders import LineInput, order_create
from apps.stores.services.stock import InsufficientStock
from tests.factories import StockLevelFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `workers` threads released together; return results or exceptions."""
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


def test_eight_buyers_of_five_in_stock_make_exactly_five_orders():
    level = StockLevelFactory(on_hand=5)

    def sell(index: int) -> tuple[Order, bool]:
        return order_create(
            store=level.store,
            channel=Order.Channel.POS,
            idempotency_key=f"race-{index}",
            lines=[LineInput(product=level.product, quantity=1, unit_price=Decimal("6.00"))],
        )

    results = _race(8, sell)
    made = [result for result in results if isinstance(result, tuple)]
    refused = [result for result in results if isinstance(result, InsufficientStock)]
    assert (len(made), len(refused)) == (5, 3), results
    assert all(created for _order, created in made)
    level.refresh_from_db()
    assert level.on_hand == 0
    assert Order.objects.count() == 5
    assert OrderLine.objects.count() == 5
    assert list(StockMovement.objects.order_by().values_list("kind", "quantity").distinct()) == [
        ("sale", -1)
    ]
    assert StockMovement.objects.count() == 5
    assert StockLevel.objects.filter(on_hand__lt=0).count() == 0


def test_four_submissions_with_the_same_key_make_one_order():
    level = StockLevelFactory(on_hand=10)

    def submit(index: int) -> tuple[Order, bool]:
        return order_create(
            store=level.store,
            channel=Order.Channel.MINI_PROGRAM,
            idempotency_key="same-key-0001",
            lines=[LineInput(product=level.product, quantity=2, unit_price=Decimal("6.00"))],
        )

    results = _race(4, submit)
    assert all(isinstance(result, tuple) for result in results), results
    assert len({order.pk for order, _created in results}) == 1
    assert sorted(created for _order, created in results) == [False, False, False, True]
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 1
    assert StockMovement.objects.count() == 1
    level.refresh_from_db()
    assert level.on_hand == 8
