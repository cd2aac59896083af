"""The mini-program order API under real concurrency on PostgreSQL: a payment callback and the
mini-program's own retry arrive together with the same key (and a member's new openid).

Each thread uses its own database connection (closed at the end); a barrier releases them
together so the unique keys (the order's, the member identity's) really race.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.customers.models import Member, MemberIdentity
from apps.stores.models import Order, OrderFulfilment, OrderLine
from apps.stores.services.terminals import terminal_issue
from tests.factories import ProductFactory, StoreFactory, SupplierProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/mini-program/orders"


@pytest.fixture(autouse=True)
def _pool_closed_after() -> Iterator[None]:
    """The requests ran in threads, each with a connection from the process's pool: close the
    pool after the test, so that it does not try to refill itself once the test database is
    dropped (its connection errors would be printed at the end of the run)."""
    yield
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None:
        close_pool()


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


def _ordering_store() -> tuple[Any, str]:
    store = StoreFactory()
    product = ProductFactory(sku="FRU-0001", price=Decimal("12.80"))
    SupplierProductFactory(product=product)
    _terminal, token = terminal_issue(store=store, name="Mini-program")
    return store, token


def _post(token: str, payload: dict) -> tuple[int, dict]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    response = client.post(URL, payload, format="json")
    return response.status_code, response.json()


def _payload(quantity: int = 2) -> dict:
    return {
        "idempotency_key": "wxpay-race",
        "mini_program_openid": "o6_new_member",
        "lines": [{"sku": "FRU-0001", "quantity": quantity}],
        "fulfilment": "pickup",
        "expected_total": str(Decimal("12.80") * quantity),
    }


def test_four_retries_of_one_order_at_once_make_one_order_and_one_member():
    _store, token = _ordering_store()
    results = _race(4, lambda _index: _post(token, _payload()))
    assert not [result for result in results if isinstance(result, Exception)], results
    assert sorted(status for status, _body in results) == [200, 200, 200, 201]
    assert len({body["reference"] for _status, body in results}) == 1
    assert len({body["pickup_code"] for _status, body in results}) == 1
    assert (Order.objects.count(), OrderLine.objects.count()) == (1, 1)
    assert OrderFulfilment.objects.count() == 1
    assert Member.objects.count() == 1
    assert MemberIdentity.objects.filter(value="o6_new_member").count() == 1


def test_the_same_key_for_two_different_orders_at_once_makes_one_and_refuses_the_other():
    _store, token = _ordering_store()
    results = _race(2, lambda index: _post(token, _payload(quantity=index + 1)))
    assert not [result for result in results if isinstance(result, Exception)], results
    assert sorted(status for status, _body in results) == [201, 409]
    refused = next(body for status, body in results if status == 409)
    assert refused["code"] == "idempotency_key_reused"
    assert (Order.objects.count(), OrderLine.objects.count(), Member.objects.count()) == (1, 1, 1)
