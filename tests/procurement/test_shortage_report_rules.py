"""The supplier's shortage report is taken on what the supplier saw and before any store
received: a report against an older revision of the order (a consolidation run added to it
since) is refused as `changed`; a report once a store has a receipt is refused as `received`,
and what receiving found stands (docs/purchasing.md, docs/delivery-and-receiving.md)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.procurement.models import PurchaseOrder, PurchaseOrderLine, Receipt
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_report_shortage,
)
from apps.procurement.services.receiving import receipt_record
from tests.factories import StoreFactory, SupplierUserFactory
from tests.procurement.factories import consolidated_purchase_order, supply_order
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db

RECEIVED_MESSAGE = (
    "Stores have already received this purchase order, so a shortage can no longer be "
    "reported: what they received stands, and any difference is handled as an after-sales case."
)


def _line_state(po: PurchaseOrder) -> list[tuple]:
    return list(
        PurchaseOrderLine.objects.filter(purchase_order=po)
        .order_by("pk")
        .values_list("pk", "shortage_quantity", "receiving_short_quantity", "damaged_quantity")
    )


def _shares(po: PurchaseOrder) -> dict[tuple[int, int], int]:
    return {
        (line.pk, allocation.store_id): allocation.reported_short_quantity
        for line in po.lines.all()
        for allocation in line.allocations.all()
    }


def _added_to_by_a_run(po: PurchaseOrder, store: object) -> None:
    """Another member order of `store` for the first product, then a consolidation run that
    adds it to `po` (revision + 1)."""
    berries = po.lines.order_by("pk").first().product
    supply_order(store=store, lines=[(berries, 4)])
    purchase_orders_consolidate(cutoff=timezone.now())


# --- the revision seen ------------------------------------------------------------------------


def test_a_report_of_the_revision_seen_before_a_run_added_to_it_changes_nothing():
    supplier_user, store = SupplierUserFactory(), StoreFactory()
    po = consolidated_purchase_order(supplier=supplier_user.supplier, stores=[store])
    seen = po.revision
    _added_to_by_a_run(po, store)
    po.refresh_from_db()
    assert po.revision == seen + 1
    lines_before, shares_before = _line_state(po), _shares(po)
    line = po.lines.order_by("pk").first()

    with translation.override("en"), pytest.raises(PurchaseOrderRefused) as refused:
        purchase_order_report_shortage(
            po=po, lines={line.pk: 3}, note="冰雹", by=None, revision=seen
        )

    assert refused.value.code == "changed"
    assert refused.value.message == (
        "This purchase order was updated after you opened it: check the lines and "
        "report the shortage again."
    )
    po.refresh_from_db()
    assert (po.has_shortage, po.shortage_note) == (False, "")
    assert (_line_state(po), _shares(po)) == (lines_before, shares_before)
    # The revision on the page now is taken.
    purchase_order_report_shortage(
        po=po, lines={line.pk: 3}, note="冰雹", by=None, revision=po.revision
    )
    line.refresh_from_db()
    assert (line.shortage_quantity, po.has_shortage) == (3, True)


def test_a_page_opened_before_a_run_added_to_the_order_does_not_report_a_shortage(client):
    supplier_user, store = SupplierUserFactory(), StoreFactory()
    po = consolidated_purchase_order(supplier=supplier_user.supplier, stores=[store])
    client.force_login(supplier_user.user)
    page = client.get(reverse("supplier:order", args=[po.pk])).content.decode()
    assert re.search(r'type="hidden" name="revision" value="1" id="id_shortage_revision"', page)
    line = po.lines.order_by("pk").first()
    _added_to_by_a_run(po, store)

    response = client.post(
        reverse("supplier:order_shortage", args=[po.pk]),
        {f"line_{line.pk}": "3", "note": "冰雹", "revision": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    with translation.override("en"):
        messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        "This purchase order was updated after you opened it: check the lines and report "
        "the shortage again."
    ]
    po.refresh_from_db()
    line.refresh_from_db()
    assert (po.revision, po.has_shortage, line.shortage_quantity) == (2, False, 0)
    html = response.content.decode()
    assert 'id="updated"' in html
    assert re.search(r'type="hidden" name="revision" value="2" id="id_shortage_revision"', html)


def test_a_report_refused_as_changed_comes_back_with_what_the_supplier_typed(client):
    supplier_user, store = SupplierUserFactory(), StoreFactory()
    po = consolidated_purchase_order(supplier=supplier_user.supplier, stores=[store])
    client.force_login(supplier_user.user)
    first, second = po.lines.order_by("pk")[:2]
    _added_to_by_a_run(po, store)
    first.refresh_from_db()
    lines_before, shares_before = _line_state(po), _shares(po)

    response = client.post(
        reverse("supplier:order_shortage", args=[po.pk]),
        {f"line_{first.pk}": "3", f"line_{second.pk}": "1", "note": "冰雹减产", "revision": "1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    # Rendered, not redirected: the reason at the top, the figures and the note still typed in,
    # the lines as they stand now and their revision, so sending again reports against what is
    # shown.
    assert response.status_code == 409
    with translation.override("en"):
        shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        "This purchase order was updated after you opened it: check the lines and report "
        "the shortage again."
    ]
    form = response.context["shortage_form"]
    assert (form[f"line_{first.pk}"].value(), form[f"line_{second.pk}"].value()) == ("3", "1")
    assert (form["note"].value(), form["revision"].value()) == ("冰雹减产", "2")
    html = response.content.decode()
    assert re.search(rf'name="line_{first.pk}" value="3"', html)
    assert re.search(rf'name="line_{second.pk}" value="1"', html)
    assert 'value="冰雹减产"' in html
    assert re.search(r'type="hidden" name="revision" value="2" id="id_shortage_revision"', html)
    assert f"(ordered {first.ordered_quantity})" in html
    # Nothing was written.
    po.refresh_from_db()
    assert (po.revision, po.has_shortage, po.shortage_note) == (2, False, "")
    assert (_line_state(po), _shares(po)) == (lines_before, shares_before)

    # Sending the page again reports against the lines shown.
    again = client.post(
        reverse("supplier:order_shortage", args=[po.pk]),
        {f"line_{first.pk}": "3", f"line_{second.pk}": "1", "note": "冰雹减产", "revision": "2"},
    )
    assert again.status_code == 302
    first.refresh_from_db()
    assert first.shortage_quantity == 3


# --- after a store received -------------------------------------------------------------------


def _receive_a(world: SupplyWorld, blueberries: tuple[int, int, int]) -> Receipt:
    """Store A receives: every grape, the blueberries as (received, short, damaged)."""
    berries, grapes = world.products
    return receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={
            world.allocation(world.store_a, berries).pk: blueberries,
            world.allocation(world.store_a, grapes).pk: (4, 0, 0),
        },
        by=None,
    )


def test_a_report_after_a_store_received_is_refused_and_what_receiving_found_stands():
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    po = world.purchase_order
    _receive_a(world, (3, 2, 1))  # of store A's 6 blueberries: 2 did not come, 1 damaged
    lines_before, shares_before = _line_state(po), _shares(po)
    berries_line = po.lines.get(product=world.products[0])
    assert (berries_line.shortage_quantity, berries_line.receiving_short_quantity) == (2, 2)

    with translation.override("en"), pytest.raises(PurchaseOrderRefused) as refused:
        # With or without the revision seen: the receipt closes the report.
        purchase_order_report_shortage(po=po, lines={berries_line.pk: 5}, note="冰雹", by=None)

    assert refused.value.code == "received"
    assert refused.value.message == RECEIVED_MESSAGE
    po.refresh_from_db()
    assert (po.shortage_note, po.acted_by) == ("", None)
    assert (_line_state(po), _shares(po)) == (lines_before, shares_before)
    # Store B still receives all it was allocated: no share of a late report fell on it.
    assert world.allocation(world.store_b, world.products[0]).reported_short_quantity == 0


def test_a_report_before_any_store_received_is_shared_out_and_received_against():
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    po = world.purchase_order
    berries_line = po.lines.get(product=world.products[0])

    purchase_order_report_shortage(
        po=po, lines={berries_line.pk: 5}, note="冰雹", by=None, revision=po.revision
    )

    berries_line.refresh_from_db()
    assert (berries_line.shortage_quantity, berries_line.receiving_short_quantity) == (5, 0)
    berries_a = world.allocation(world.store_a, world.products[0])
    assert berries_a.reported_short_quantity == 4
    # Store A then receives what shipped of its 6 (2) and reports the 4 as short: the line
    # counts them once.
    _receive_a(world, (2, 4, 0))
    berries_line.refresh_from_db()
    assert (berries_line.shortage_quantity, berries_line.receiving_short_quantity) == (5, 0)


def test_the_supplier_page_says_the_shortage_report_is_closed_once_a_store_received(client):
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    user = SupplierUserFactory(supplier=world.supplier).user
    client.force_login(user)
    url = reverse("supplier:order", args=[world.purchase_order.pk])
    before = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    shortage_url = reverse("supplier:order_shortage", args=[world.purchase_order.pk])
    assert f'action="{shortage_url}"' in before
    assert RECEIVED_MESSAGE not in before
    _receive_a(world, (6, 0, 0))

    after = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert shortage_url not in after
    assert RECEIVED_MESSAGE in after
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "门店已收货" in zh

    line = world.purchase_order.lines.get(product=world.products[0])
    response = client.post(
        shortage_url,
        {f"line_{line.pk}": "3", "note": "", "revision": str(world.purchase_order.revision)},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    with translation.override("en"):
        messages = [str(message) for message in response.context["messages"]]
    assert messages == [RECEIVED_MESSAGE]
    line.refresh_from_db()
    assert (line.shortage_quantity, line.receiving_short_quantity) == (0, 0)
