"""Two submits of one loss list at the same moment, on PostgreSQL with real threads and
connections: the first holds its uncommitted LossBatch row, the second waits on the unique index
and, once the first commits, is refused as a repeat — the losses are recorded once."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import transaction

from apps.stores.models import LossBatch, StockLevel, StockMovement
from apps.stores.services.loss import LossBatchRepeated, LossInput, losses_record
from tests.factories import StockLevelFactory
from tests.procurement.test_consolidation_race import _a_session_waits_for_a_lock, _in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_second_submit_while_the_first_is_open_waits_and_records_nothing():
    level = StockLevelFactory(on_hand=6)
    key = uuid.uuid4()
    rows = [LossInput(product=level.product, quantity=2, reason="expired")]
    recorded, release = threading.Event(), threading.Event()

    def first() -> object:
        with transaction.atomic():  # recorded, not yet committed, until released
            movements = losses_record(store=level.store, rows=rows, by=None, key=key)
            recorded.set()
            release.wait(timeout=30)
        return movements

    def second() -> object:
        return losses_record(store=level.store, rows=rows, by=None, key=key)

    first_thread, first_result = _in_thread(first)
    assert recorded.wait(timeout=30)
    second_thread, second_result = _in_thread(second)
    try:
        assert _a_session_waits_for_a_lock()  # the second waits on the key, not after it
    finally:
        release.set()
        first_thread.join(timeout=30)
        second_thread.join(timeout=30)

    assert [movement.quantity for movement in first_result[0]] == [-2]
    [refused] = second_result
    assert isinstance(refused, LossBatchRepeated)
    assert refused.batch.key == key
    assert LossBatch.objects.count() == 1
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 4
