"""HQ's "consolidate now" in the admin: what is waiting goes to the suppliers at once, with a
message saying what was made; only for users who may add purchase orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.procurement.models import ConsolidationRun, PurchaseOrder, PurchaseOrderSource
from linli.roles import HQ_OPERATIONS, HQ_PROCUREMENT
from tests.factories import (
    PASSWORD,
    ProductFactory,
    StoreFactory,
    SupplierProductFactory,
    UserFactory,
)
from tests.procurement.factories import supply_order

pytestmark = pytest.mark.django_db

CONSOLIDATE_NOW = reverse("admin:procurement_consolidationrun_consolidate_now")
RUNS = reverse("admin:procurement_consolidationrun_changelist")
PURCHASE_ORDERS = reverse("admin:procurement_purchaseorder_changelist")


def _client(group: str | None, username: str) -> Client:
    user = UserFactory(is_staff=True, username=username)
    if group:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # messages in English
    return client


def _waiting_orders() -> None:
    """Two stores' paid group-buy orders of two suppliers' products, and one line of a
    product without any offer."""
    berries, milk, orphan = ProductFactory(), ProductFactory(), ProductFactory()
    SupplierProductFactory(product=berries, cost=Decimal("8.50"), pack_size=6, min_order_qty=6)
    SupplierProductFactory(product=milk, cost=Decimal("4.20"))
    a, b = StoreFactory(), StoreFactory()
    supply_order(store=a, lines=[(berries, 3), (milk, 2)])
    supply_order(store=b, lines=[(berries, 4), (orphan, 1)])


def _messages(response: object) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_hq_procurement_consolidates_now_and_is_told_what_was_made(roles: None) -> None:
    _waiting_orders()
    client = _client(HQ_PROCUREMENT, "buyer")

    response = client.post(CONSOLIDATE_NOW)

    assert response.status_code == 302
    assert response["Location"] == RUNS
    assert _messages(response) == [
        (
            "success",
            "Consolidated now: 2 purchase orders made and 0 added to (not yet confirmed), "
            "with 2 lines, from 3 member order lines, sent to their suppliers.",
        ),
        (
            "warning",
            "1 order line keeps waiting: its product has no preferred offer of an active supplier.",
        ),
    ]
    run = ConsolidationRun.objects.get()
    assert run.status == ConsolidationRun.Status.FINISHED
    assert run.cutoff <= timezone.now()
    assert PurchaseOrder.objects.filter(run=run, status=PurchaseOrder.Status.SENT).count() == 2
    assert PurchaseOrderSource.objects.count() == 3


def test_consolidating_again_finds_nothing_waiting_and_says_so(roles: None) -> None:
    _waiting_orders()
    client = _client(HQ_PROCUREMENT, "buyer")
    client.post(CONSOLIDATE_NOW, follow=True)  # its messages shown on the list

    response = client.post(CONSOLIDATE_NOW, {"back_to": "purchaseorder"})

    assert response["Location"] == PURCHASE_ORDERS  # back to the list the button was on
    assert _messages(response) == [
        ("info", "Nothing was waiting to be consolidated: no purchase order was made."),
        (
            "warning",
            "1 order line keeps waiting: its product has no preferred offer of an active supplier.",
        ),
    ]
    assert ConsolidationRun.objects.count() == 2
    assert PurchaseOrder.objects.count() == 2  # nothing new
    assert PurchaseOrderSource.objects.count() == 3


def test_consolidating_again_adds_to_the_open_purchase_orders_and_says_so(
    roles: None,
) -> None:
    _waiting_orders()
    client = _client(HQ_PROCUREMENT, "buyer")
    client.post(CONSOLIDATE_NOW, follow=True)  # its messages shown on the list
    berries = PurchaseOrder.objects.get(lines__product__supplier_offers__pack_size=6)
    supply_order(store=StoreFactory(), lines=[(berries.lines.get().product, 5)])

    response = client.post(CONSOLIDATE_NOW)

    assert _messages(response)[0] == (
        "success",
        "Consolidated now: 0 purchase orders made and 1 added to (not yet confirmed), "
        "with 1 line, from 1 member order line, sent to their suppliers.",
    )
    assert PurchaseOrder.objects.count() == 2
    run = ConsolidationRun.objects.order_by("cutoff").last()
    assert (run.purchase_order_count, run.purchase_order_updated_count) == (0, 1)
    assert berries.lines.get().demanded_quantity == 12


def test_an_unknown_back_to_returns_to_the_runs(roles: None) -> None:
    client = _client(HQ_PROCUREMENT, "buyer")
    response = client.post(CONSOLIDATE_NOW, {"back_to": "https://example.com/"})
    assert response["Location"] == RUNS
    assert _messages(response) == [
        ("info", "Nothing was waiting to be consolidated: no purchase order was made.")
    ]


def test_both_lists_show_the_button_to_who_may_use_it(roles: None) -> None:
    buyer = _client(HQ_PROCUREMENT, "buyer")
    viewer = _client(HQ_OPERATIONS, "ops")  # sees procurement, may not add purchase orders
    for url in (RUNS, PURCHASE_ORDERS):
        page = buyer.get(url)
        assert page.status_code == 200
        assert CONSOLIDATE_NOW in page.content.decode()
        page = viewer.get(url)
        assert page.status_code == 200
        assert CONSOLIDATE_NOW not in page.content.decode()
    del buyer.cookies[settings.LANGUAGE_COOKIE_NAME]  # the default language, Chinese
    assert "立即集单" in buyer.get(RUNS).content.decode()


def test_a_user_without_the_permission_is_refused_and_nothing_is_consolidated(
    roles: None,
) -> None:
    _waiting_orders()
    assert _client(HQ_OPERATIONS, "ops").post(CONSOLIDATE_NOW).status_code == 403
    assert _client(None, "staff").post(CONSOLIDATE_NOW).status_code == 403
    assert not ConsolidationRun.objects.exists()
    assert not PurchaseOrder.objects.exists()


def test_a_get_consolidates_nothing(roles: None) -> None:
    _waiting_orders()
    assert _client(HQ_PROCUREMENT, "buyer").get(CONSOLIDATE_NOW).status_code == 405
    assert not ConsolidationRun.objects.exists()


def test_store_owner_supplier_and_anonymous_are_sent_to_the_admin_login(
    owner: object, supplier_user: object
) -> None:
    _waiting_orders()
    for user in (owner, supplier_user, None):
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.post(CONSOLIDATE_NOW)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert not ConsolidationRun.objects.exists()
    assert not PurchaseOrder.objects.exists()


def _rerun(client: Client, *runs: ConsolidationRun) -> object:
    return client.post(RUNS, {"action": "rerun", "_selected_action": [run.pk for run in runs]})


def test_run_again_leaves_a_finished_run_as_it_is_and_does_not_count_it(roles: None) -> None:
    from apps.procurement.services.consolidation import purchase_orders_consolidate

    run = purchase_orders_consolidate(cutoff=timezone.now())
    assert run.status == ConsolidationRun.Status.FINISHED
    client = _client(HQ_PROCUREMENT, "buyer-rerun-finished")

    response = _rerun(client, run)

    assert response.status_code == 302
    assert _messages(response) == [("warning", f"{run}: already finished, left as it is.")]
    run.refresh_from_db()
    assert run.status == ConsolidationRun.Status.FINISHED


@pytest.mark.postgres
def test_run_again_that_fails_again_says_why_and_keeps_the_run_failed(roles: None) -> None:
    """A real failure: a minimum order no integer column holds once rounded to whole packs
    (PostgreSQL: integer out of range). The action used to let the error through: a server
    error page for HQ, and the other selected runs were not run."""
    from apps.procurement.services.consolidation import purchase_orders_consolidate

    product = ProductFactory()
    SupplierProductFactory(product=product, pack_size=2, min_order_qty=2_147_483_647)
    supply_order(store=StoreFactory(), lines=[(product, 1)])
    cutoff = timezone.now()
    with pytest.raises(Exception):  # noqa: B017, PT011  (the database's own error)
        purchase_orders_consolidate(cutoff=cutoff)
    failed = ConsolidationRun.objects.get(cutoff=cutoff)
    assert failed.status == ConsolidationRun.Status.FAILED
    client = _client(HQ_PROCUREMENT, "buyer-rerun-failed")

    response = _rerun(client, failed)

    assert response.status_code == 302
    [(level, text)] = _messages(response)
    assert level == "error"
    assert "The consolidation failed:" in text
    failed.refresh_from_db()
    assert failed.status == ConsolidationRun.Status.FAILED
    assert failed.error
    assert PurchaseOrder.objects.count() == 0
