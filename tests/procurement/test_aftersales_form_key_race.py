"""Two submits of one after-sales case form at the same moment, on PostgreSQL with real threads
and connections: the first holds its uncommitted case, the second waits on the (store, form key)
unique index and, once the first commits, is refused as a repeat — one case is opened."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from apps.procurement.models import AfterSalesCase
from apps.procurement.services.aftersales import CaseRepeated, case_open
from tests.factories import MemberFactory, ProductFactory, StoreFactory, owner_of
from tests.procurement.factories_aftersales import paid_order
from tests.procurement.test_consolidation_race import _a_session_waits_for_a_lock, _in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_second_case_submit_while_the_first_is_open_waits_and_opens_nothing():
    store = StoreFactory()
    owner = owner_of(store)
    order = paid_order(
        store=store,
        member=MemberFactory(),
        lines=[(ProductFactory(), 3, Decimal("12.50"))],
        reference="GB-RACE",
    )
    key = uuid.uuid4()
    opened, release = threading.Event(), threading.Event()

    def submit() -> AfterSalesCase:
        return case_open(
            store=store,
            order=order,
            order_line=order.lines.get(),
            kind="quality",
            quantity=1,
            amount=Decimal("12.50"),
            description="soft",
            photos=[],
            by=owner,
            key=key,
        )

    def first() -> AfterSalesCase:
        with transaction.atomic():  # opened, not yet committed, until released
            case = submit()
            opened.set()
            release.wait(timeout=30)
        return case

    first_thread, first_result = _in_thread(first)
    assert opened.wait(timeout=30)
    second_thread, second_result = _in_thread(submit)
    try:
        assert _a_session_waits_for_a_lock()  # the second waits on the key, not after it
    finally:
        release.set()
        first_thread.join(timeout=30)
        second_thread.join(timeout=30)

    [case] = first_result
    [refused] = second_result
    assert isinstance(refused, CaseRepeated)
    assert refused.case.pk == case.pk
    assert list(AfterSalesCase.objects.values_list("pk", "form_key")) == [(case.pk, key)]
