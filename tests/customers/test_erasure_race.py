"""A terminal's write about a member and the member's erasure, under real concurrency on
PostgreSQL: the member is found (without a lock) before the erasure commits, the write comes
after. The write must not store the chat name, comment author or delivery address on the
erased member: it locks the member's row and re-reads it (`member_lock`), and is refused with
409 `member_erased`, writing nothing.

The erasure is held mid-way, after it has locked the member, by a row lock of this test's
connection on the member's tag (which the erasure deletes); the request is sent then, and the
test's lock released once both wait (seen in pg_stat_activity). Each thread uses its own
database connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.campaigns.models import BroadcastComment, GroupBuyJoin
from apps.customers.models import Member, MemberTag
from apps.customers.services.erasure import member_erase
from apps.customers.services.identity import IdentityInput, member_resolve
from apps.stores.models import Order, OrderFulfilment
from apps.stores.services.terminals import terminal_issue
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.customers.test_erasure import _member_form
from tests.factories import (
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    SupplierProductFactory,
    TagFactory,
    UserFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "138-0013-8000"
# How long to wait for the other connections to reach their lock waits before failing (a hang
# guard, not a timing assertion).
WAIT_LIMIT_SECONDS = 30


@pytest.fixture(autouse=True)
def _pool_closed_after() -> Iterator[None]:
    """Threads took connections from the process's pool: close it before the test database
    is dropped (as tests/stores/test_mini_program_concurrency.py does)."""
    yield
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None:
        close_pool()


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except Exception as exc:  # noqa: BLE001 — asserted by the test
            result.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _wait_until_waiting(count: int) -> None:
    """Until `count` connections to this database wait for a lock."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            (waiting,) = cursor.fetchone()
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"{waiting} of {count} connections wait"
        time.sleep(0.01)


def _erasure_commits_while_the_request_waits(member: Member, send: Callable[[], Any]) -> Any:
    """Start erasing `member`, send the request once the erasure holds the member's row, let
    the erasure commit; the request's answer."""
    tag = MemberTag.objects.filter(member=member).first() or MemberTag.objects.create(
        member=member, tag=TagFactory(name="爱吃水果")
    )
    with transaction.atomic():
        MemberTag.objects.select_for_update().get(pk=tag.pk)
        erasure, erased = _in_thread(
            lambda: member_erase(
                member=Member.objects.get(pk=member.pk), by=None, requested_via="letter"
            )
        )
        _wait_until_waiting(1)
        request, answer = _in_thread(send)
        _wait_until_waiting(2)
    for thread in (erasure, request):
        thread.join(timeout=60)
    assert (erasure.is_alive(), request.is_alive()) == (False, False)
    assert not isinstance(erased[0], Exception), erased
    return answer[0]


def _member(store) -> Member:
    member = member_resolve(
        identities=[IdentityInput(kind="phone", value=PHONE)], home_store=store, name="王芳"
    ).member
    return member


def _client(store) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Bot")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return api


def _assert_refused(answer: Any) -> None:
    assert not isinstance(answer, Exception), answer
    assert (answer.status_code, answer.json().get("code")) == (409, "member_erased")


@pytest.mark.parametrize("person", [{"phone": PHONE}, {"member_no": "by number"}])
def test_a_join_during_the_erasure_is_refused_and_stores_no_chat_name(person):
    store = StoreFactory()
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=20)
    offer = GroupBuyOfferFactory(
        broadcast=BroadcastFactory(store_campaign__store=store), product=product, cap=10
    )
    member = _member(store)
    if "member_no" in person:
        person = {"member_no": member.member_no}
    client = _client(store)
    answer = _erasure_commits_while_the_request_waits(
        member,
        lambda: client.post(
            f"/api/v1/group-buys/offers/{offer.pk}/joins",
            {"quantity": 1, "idempotency_key": "k-1", "display_name": "王芳", **person},
            format="json",
        ),
    )
    _assert_refused(answer)
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)
    member.refresh_from_db()
    assert (member.is_erased, member.name, member.phone) == (True, "", "")
    assert not member.identities.exists()


def test_a_comment_during_the_erasure_is_refused_and_stores_no_author():
    store = StoreFactory()
    broadcast = BroadcastFactory(store_campaign__store=store)
    member = _member(store)
    client = _client(store)
    answer = _erasure_commits_while_the_request_waits(
        member,
        lambda: client.post(
            f"/api/v1/broadcasts/{broadcast.pk}/comments",
            {"text": "还有吗", "phone": PHONE, "author": "王芳"},
            format="json",
        ),
    )
    _assert_refused(answer)
    assert BroadcastComment.objects.count() == 0
    assert Member.objects.get(pk=member.pk).is_erased


def test_a_mini_program_order_during_the_erasure_is_refused_and_stores_no_address():
    store = StoreFactory()
    product = ProductFactory(sku="FRU-0001", price=Decimal("12.80"))
    SupplierProductFactory(product=product)
    member = _member(store)
    client = _client(store)
    answer = _erasure_commits_while_the_request_waits(
        member,
        lambda: client.post(
            "/api/v1/mini-program/orders",
            {
                "idempotency_key": "wxpay-erasure-race",
                "phone": PHONE,
                "lines": [{"sku": "FRU-0001", "quantity": 1}],
                "fulfilment": "delivery",
                "delivery": {
                    "address": "翠苑一区 12 幢 3 单元 402",
                    "contact_name": "王芳",
                    "phone": PHONE,
                },
                "note": "请放门口",
                "expected_total": "12.80",
            },
            format="json",
        ),
    )
    _assert_refused(answer)
    assert (Order.objects.count(), OrderFulfilment.objects.count()) == (0, 0)
    assert Member.objects.get(pk=member.pk).is_erased


def test_an_admin_edit_read_before_the_erasure_and_saved_after_it_writes_nothing_back(client):
    """The change view read the member before the erasure committed and saves after it: the
    whole-row save wrote `is_erased` False and the old name and phone back. Now the form's
    clean locks and re-reads the member and refuses with a message."""
    store = StoreFactory()
    member = _member(store)
    MemberTag.objects.create(
        member=member, tag=TagFactory(name="爱吃水果"), source="chat", evidence="每周买苹果"
    )
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = {**_member_form(client, member), "name": "王芳芳", "_save": "Save"}
    url = reverse("admin:customers_member_change", args=[member.pk])

    answer = _erasure_commits_while_the_request_waits(member, lambda: client.post(url, data))

    assert not isinstance(answer, Exception), answer
    assert answer.status_code == 200
    assert "was erased after this page was opened" in answer.content.decode()
    member.refresh_from_db()
    assert (member.is_erased, member.name, member.phone) == (True, "", "")
