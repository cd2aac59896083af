"""Replenishment: the engine's suggested quantities become draft purchase orders for HQ."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import Notification
from apps.catalog.models import DemandForecast
from apps.catalog.services.nightly import decisions_run
from apps.catalog.sources import planning_sources
from apps.procurement.models import PurchaseOrder, PurchaseOrderLine
from apps.procurement.services.allocations import allocations_scaled
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_confirm,
    purchase_order_send,
)
from apps.procurement.services.replenishment import (
    purchase_order_line_edit,
    purchase_orders_replenish,
)
from apps.procurement.tasks import purchase_orders_replenish_task
from tests.catalog.decision_fixtures import decision_world
from tests.factories import ProductFactory, StoreFactory, SupplierFactory, SupplierProductFactory
from tests.procurement.factories import (
    PurchaseOrderAllocationFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
)

pytestmark = pytest.mark.django_db


def _forecast(store, product, suggested: int, issued_on: dt.date) -> DemandForecast:
    return DemandForecast.objects.create(
        store=store,
        product=product,
        issued_on=issued_on,
        start_day=issued_on,
        method="gbm",
        total=10.0,
        sigma_daily=1.0,
        on_hand=0,
        lead_time_days=2,
        review_period_days=1,
        safety_stock=1.0,
        suggested_qty=suggested,
    )


@pytest.fixture
def suggestions() -> dict[str, object]:
    today = timezone.localdate()
    farm = SupplierFactory()
    berries, grapes, orphan = ProductFactory(), ProductFactory(), ProductFactory()
    SupplierProductFactory(
        supplier=farm,
        product=berries,
        pack_size=6,
        min_order_qty=6,
        lead_time_days=2,
        cost=Decimal("8.00"),
    )
    SupplierProductFactory(supplier=farm, product=grapes, lead_time_days=2)
    a, b = StoreFactory(), StoreFactory()
    _forecast(a, berries, 4, today)
    _forecast(b, berries, 3, today)
    _forecast(a, grapes, 0, today)
    _forecast(b, orphan, 5, today)
    return {"today": today, "farm": farm, "berries": berries, "a": a, "b": b}


def test_suggestions_become_one_draft_per_supplier_with_rounded_lines(suggestions):
    result = purchase_orders_replenish(issued_on=suggestions["today"])
    assert (result.purchase_orders, result.lines, result.unsupplied_products) == (1, 1, 1)
    po = PurchaseOrder.objects.get()
    assert (po.status, po.supplier, po.replenishment_of, po.delivery_date) == (
        PurchaseOrder.Status.DRAFT,
        suggestions["farm"],
        suggestions["today"],
        suggestions["today"] + dt.timedelta(days=2),
    )
    line = po.lines.get()
    assert (line.product, line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (
        suggestions["berries"],
        7,
        12,
        5,
    )
    assert dict(line.allocations.values_list("store_id", "quantity")) == {
        suggestions["a"].pk: 4,
        suggestions["b"].pk: 3,
    }


def test_replenishing_the_same_day_twice_adds_nothing(suggestions):
    day = suggestions["today"].isoformat()
    purchase_orders_replenish_task(issued_on=day)
    second = purchase_orders_replenish_task(issued_on=day)
    assert second == {"purchase_orders": 0, "lines": 0}
    assert PurchaseOrder.objects.count() == 1
    assert PurchaseOrderLine.objects.count() == 1


def test_hq_edits_a_draft_line_and_it_is_rounded_again(suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    line = PurchaseOrderLine.objects.get()
    purchase_order_line_edit(line=line, demanded=13)
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (13, 18, 5)
    purchase_order_send(po=line.purchase_order, by=None)
    with pytest.raises(PurchaseOrderRefused) as refusal:
        purchase_order_line_edit(line=line, demanded=1)
    assert refusal.value.code == "not_draft"
    line.refresh_from_db()
    assert line.demanded_quantity == 13
    assert sorted(line.allocations.values_list("quantity", flat=True)) == [6, 7]


def _draft_line(*, stores: int = 4, each: int = 20, pack: int = 10) -> PurchaseOrderLine:
    """The tester's draft line: `stores` stores × `each`, packs of `pack`, minimum one pack."""
    line = PurchaseOrderLineFactory(
        purchase_order=PurchaseOrderFactory(status=PurchaseOrder.Status.DRAFT, sent_at=None),
        demanded_quantity=stores * each,
        ordered_quantity=stores * each,
        surplus_quantity=0,
        pack_size=pack,
        min_order_qty=pack,
    )
    for _index in range(stores):
        PurchaseOrderAllocationFactory(line=line, quantity=each)
    return line


def _allocated(line: PurchaseOrderLine) -> list[int]:
    return list(line.allocations.order_by("store_id").values_list("quantity", flat=True))


def test_editing_a_draft_lines_demand_scales_its_store_allocations_to_the_new_demand():
    line = _draft_line()
    purchase_order_line_edit(line=line, demanded=45)
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (45, 50, 5)
    # 45 / 4 = 11.25 each: 11 each, the one unit left to the lowest store id (equal remainders).
    assert _allocated(line) == [12, 11, 11, 11]
    assert sum(_allocated(line)) == line.demanded_quantity


def test_editing_a_draft_line_up_scales_the_allocations_up_by_largest_remainder(suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    line = PurchaseOrderLine.objects.get()
    purchase_order_line_edit(line=line, demanded=13)
    # 4 and 3 of 7 scaled to 13: 7.43 and 5.57 -> 7 and 5, the unit left to the larger remainder.
    assert dict(line.allocations.values_list("store_id", "quantity")) == {
        suggestions["a"].pk: 7,
        suggestions["b"].pk: 6,
    }
    assert (line.ordered_quantity, line.surplus_quantity) == (18, 5)


def test_a_store_scaled_to_nothing_loses_its_allocation(suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    line = PurchaseOrderLine.objects.get()
    purchase_order_line_edit(line=line, demanded=1)
    assert dict(line.allocations.values_list("store_id", "quantity")) == {suggestions["a"].pk: 1}
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (1, 6, 5)


def test_editing_a_draft_line_to_no_demand_orders_nothing_and_allocates_nothing():
    line = _draft_line()
    purchase_order_line_edit(line=line, demanded=0)
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (0, 0, 0)
    assert _allocated(line) == []


def test_a_refused_edit_changes_neither_the_line_nor_its_allocations():
    line = _draft_line()
    purchase_order_send(po=line.purchase_order, by=None)
    with pytest.raises(PurchaseOrderRefused) as refusal:
        purchase_order_line_edit(line=line, demanded=45)
    assert refusal.value.code == "not_draft"
    with pytest.raises(PurchaseOrderRefused) as negative:
        purchase_order_line_edit(line=line, demanded=-1)
    assert negative.value.code == "negative"
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity) == (80, 80)
    assert _allocated(line) == [20, 20, 20, 20]


def test_a_hand_made_line_without_allocations_only_changes_its_numbers():
    line = _draft_line(stores=0)
    line.demanded_quantity = line.ordered_quantity = 20
    line.save()
    purchase_order_line_edit(line=line, demanded=45)
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (45, 50, 5)
    assert _allocated(line) == []


@pytest.mark.parametrize(
    ("quantities", "total", "expected"),
    [
        ({1: 20, 2: 20, 3: 20, 4: 20}, 45, {1: 12, 2: 11, 3: 11, 4: 11}),
        ({1: 4, 2: 3}, 13, {1: 7, 2: 6}),
        ({1: 1, 2: 5, 3: 2}, 4, {2: 3, 3: 1}),  # 0.5, 2.5, 1: the tie to the larger store
        ({1: 5, 2: 5}, 1, {1: 1}),
        ({1: 3}, 0, {}),
        ({}, 10, {}),
    ],
)
def test_allocations_are_scaled_by_largest_remainder(quantities, total, expected):
    assert allocations_scaled(quantities=quantities, total=total) == expected


def test_scaled_allocations_always_add_up_to_the_total_and_stay_proportional():
    import random

    rng = random.Random(7)
    for _case in range(500):
        quantities = {store: rng.randint(1, 40) for store in range(rng.randint(1, 12))}
        total = rng.randint(1, 400)
        scaled = allocations_scaled(quantities=quantities, total=total)
        assert sum(scaled.values()) == total
        base = sum(quantities.values())
        for store, quantity in quantities.items():
            assert abs(scaled.get(store, 0) - quantity * total / base) < 1


def test_hq_edits_a_draft_line_in_the_admin(client, hq_user, suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    line = PurchaseOrderLine.objects.get()
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorderline_change", args=[line.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "demanded_quantity": "20",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity) == (20, 24)
    assert sum(line.allocations.values_list("quantity", flat=True)) == 20


def test_hq_edits_demand_in_the_admin_and_the_stores_allocations_follow(client, hq_user):
    """End to end, as the browser posts the change page: 4 stores × 20, demand 80 → 45."""
    line = _draft_line()
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorderline_change", args=[line.pk])
    page = client.get(url)
    assert page.status_code == 200
    allocation_ids = list(line.allocations.order_by("pk").values_list("pk", flat=True))
    data = {
        "demanded_quantity": "45",
        "allocations-TOTAL_FORMS": str(len(allocation_ids)),
        "allocations-INITIAL_FORMS": str(len(allocation_ids)),
        "sources-TOTAL_FORMS": "0",
        "sources-INITIAL_FORMS": "0",
    }
    for index, pk in enumerate(allocation_ids):
        data[f"allocations-{index}-id"] = str(pk)
        data[f"allocations-{index}-line"] = str(line.pk)
    response = client.post(url, data)
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (45, 50, 5)
    assert _allocated(line) == [12, 11, 11, 11]
    shown = client.get(url).content.decode()
    assert shown.count(">11<") + shown.count(">12<") >= 4


def test_an_admin_edit_of_a_draft_line_refuses_a_cancel_of_the_revision_seen_before(
    client, hq_user
):
    line = _draft_line()
    po = line.purchase_order
    client.force_login(hq_user)
    changelist = reverse("admin:procurement_purchaseorder_changelist")
    # HQ opens the cancel confirmation (it carries the revision it shows) ...
    page = client.post(changelist, {"action": "cancel", "_selected_action": [po.pk]})
    assert f'name="revision_{po.pk}" value="1"' in page.content.decode()
    # ... while a colleague edits the draft's line in the admin.
    client.post(
        reverse("admin:procurement_purchaseorderline_change", args=[line.pk]),
        {
            "demanded_quantity": "45",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )
    po.refresh_from_db()
    line.refresh_from_db()
    assert (po.revision, line.demanded_quantity, _allocated(line)) == (2, 45, [12, 11, 11, 11])

    response = client.post(
        changelist,
        {
            "action": "cancel",
            "_selected_action": [po.pk],
            "confirm": "yes",
            f"revision_{po.pk}": "1",
        },
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1
    assert "updated after you opened it" in warnings[0]
    po.refresh_from_db()
    assert (po.status, po.cancelled_at) == (PurchaseOrder.Status.DRAFT, None)


def test_a_draft_line_edit_raises_the_revision_a_confirmation_names():
    line = _draft_line()
    po = line.purchase_order
    seen = po.revision
    purchase_order_line_edit(line=line, demanded=45)
    po.refresh_from_db()
    assert po.revision == seen + 1
    purchase_order_send(po=po, by=None)

    with pytest.raises(PurchaseOrderRefused) as refusal:
        purchase_order_confirm(po=po, ship_date=timezone.localdate(), by=None, revision=seen)

    assert refusal.value.code == "changed"
    po.refresh_from_db()
    assert (po.status, po.confirmed_at) == (PurchaseOrder.Status.SENT, None)
    # A refused edit (not a draft any more) raises nothing.
    with pytest.raises(PurchaseOrderRefused):
        purchase_order_line_edit(line=line, demanded=30)
    po.refresh_from_db()
    assert po.revision == seen + 1


def _draft_with_unallocated_line() -> tuple[PurchaseOrder, PurchaseOrderLine]:
    """A draft with an allocated line and a line of 40 units no store is allocated."""
    allocated = _draft_line()
    po = allocated.purchase_order
    bare = PurchaseOrderLineFactory(
        purchase_order=po,
        product=ProductFactory(name="无人收货的蓝莓"),
        demanded_quantity=40,
        ordered_quantity=40,
        surplus_quantity=0,
    )
    return po, bare


def test_a_draft_with_units_allocated_to_no_store_is_not_sent():
    po, bare = _draft_with_unallocated_line()
    with pytest.raises(PurchaseOrderRefused) as refusal:
        purchase_order_send(po=po, by=None)
    assert refusal.value.code == "unallocated"
    assert "无人收货的蓝莓" in refusal.value.message
    po.refresh_from_db()
    assert (po.status, po.sent_at) == (PurchaseOrder.Status.DRAFT, None)
    assert Notification.objects.count() == 0
    # Once the line orders nothing (edited to 0), the draft goes out.
    purchase_order_line_edit(line=bare, demanded=0)
    purchase_order_send(po=po, by=None)
    assert po.status == PurchaseOrder.Status.SENT


def test_the_admin_refuses_to_send_an_unallocated_draft_and_says_which(client, hq_user):
    po, _bare = _draft_with_unallocated_line()
    fine = _draft_line().purchase_order
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorder_changelist")
    response = client.post(
        url, {"action": "send", "_selected_action": [po.pk, fine.pk]}, follow=True
    )
    messages = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert [level for level, _text in messages] == ["info", "warning"]
    assert po.number in messages[1][1]
    assert "无人收货的蓝莓" in messages[1][1]
    po.refresh_from_db()
    fine.refresh_from_db()
    assert (po.status, fine.status) == (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.SENT)


def test_hq_approves_and_rejects_drafts_in_bulk(client, hq_user, suggestions):
    other = SupplierFactory()
    product = ProductFactory()
    SupplierProductFactory(supplier=other, product=product, lead_time_days=2)
    _forecast(suggestions["a"], product, 2, suggestions["today"])
    purchase_orders_replenish(issued_on=suggestions["today"])
    first, second = PurchaseOrder.objects.order_by("pk")
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorder_changelist")
    client.post(url, {"action": "send", "_selected_action": [first.pk]})
    # Rejecting asks first: the page lists what will be cancelled and what no longer can be
    # (the sent order stays cancellable; nothing changes until the confirmed POST).
    page = client.post(url, {"action": "cancel", "_selected_action": [first.pk, second.pk]})
    assert page.status_code == 200
    assert [po.pk for po in page.context["cancellable"]] == [first.pk, second.pk]
    assert page.context["kept"] == []
    second.refresh_from_db()
    assert second.status == PurchaseOrder.Status.DRAFT
    client.post(url, {"action": "cancel", "_selected_action": [second.pk], "confirm": "yes"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (
        PurchaseOrder.Status.SENT,
        PurchaseOrder.Status.CANCELLED,
    )


def test_the_reject_page_names_orders_that_can_no_longer_be_cancelled(client, hq_user, suggestions):
    purchase_orders_replenish(issued_on=suggestions["today"])
    draft = PurchaseOrder.objects.get()
    PurchaseOrder.objects.filter(pk=draft.pk).update(
        status=PurchaseOrder.Status.CONFIRMED,
        ship_date=suggestions["today"],
        sent_at=timezone.now(),
        confirmed_at=timezone.now(),
    )
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorder_changelist")
    page = client.post(url, {"action": "cancel", "_selected_action": [draft.pk]})
    assert page.context["cancellable"] == []
    assert [po.pk for po in page.context["kept"]] == [draft.pk]
    assert 'id="kept"' in page.content.decode()
    assert "Yes, cancel them" not in page.content.decode()


def test_the_nights_store_suggestions_are_units_and_only_the_consolidated_line_is_rounded(
    db: None,
) -> None:
    """The engine suggests each store its own need in units; the supplier's minimum (60) and
    packs of 12 apply once, to the line that sums the stores, and what they add is surplus."""
    world = decision_world()
    yogurt, blueberry = world["products"]["yogurt"], world["products"]["blueberry"]
    farm = SupplierFactory()
    for product in (yogurt, blueberry):
        SupplierProductFactory(
            supplier=farm, product=product, pack_size=12, min_order_qty=60, lead_time_days=1
        )
    blueberry.shelf_life_days = 2
    blueberry.save(update_fields=["shelf_life_days"])
    today = world["today"]
    decisions_run(day=today, force=True, sources=planning_sources())

    forecasts = DemandForecast.objects.filter(issued_on=today, suggested_qty__gt=0)
    yogurt_suggestions = dict(
        forecasts.filter(product=yogurt).values_list("store_id", "suggested_qty")
    )
    assert yogurt_suggestions
    assert all(0 < quantity < 60 for quantity in yogurt_suggestions.values())
    # The perishable blueberries: never more than sells in the 2 days after the delivery.
    perishable = list(forecasts.filter(product=blueberry))
    assert perishable
    for forecast in perishable:
        assert forecast.suggested_qty <= sum(forecast.daily[1:3]) + 0.01

    purchase_orders_replenish(issued_on=today)

    line = PurchaseOrderLine.objects.get(product=yogurt, purchase_order__replenishment_of=today)
    demanded = sum(yogurt_suggestions.values())
    assert demanded < 60
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (
        demanded,
        60,
        60 - demanded,
    )
    assert (line.pack_size, line.min_order_qty) == (12, 60)
    assert dict(line.allocations.values_list("store_id", "quantity")) == yogurt_suggestions


def test_a_line_above_the_minimum_is_rounded_to_whole_packs_across_the_stores() -> None:
    today = timezone.localdate()
    farm = SupplierFactory()
    yogurt = ProductFactory()
    SupplierProductFactory(
        supplier=farm, product=yogurt, pack_size=12, min_order_qty=24, lead_time_days=1
    )
    stores = [StoreFactory() for _ in range(4)]
    for store, units in zip(stores, (9, 7, 1, 8), strict=True):
        _forecast(store, yogurt, units, today)

    purchase_orders_replenish(issued_on=today)

    line = PurchaseOrderLine.objects.get(product=yogurt)
    # 25 units asked for by four stores: one order of 3 packs (36), 11 surplus, each store
    # allocated exactly its suggestion.
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (25, 36, 11)
    assert dict(line.allocations.values_list("store_id", "quantity")) == {
        store.pk: units for store, units in zip(stores, (9, 7, 1, 8), strict=True)
    }


def test_a_line_of_an_order_no_longer_a_draft_is_view_only_in_the_admin(client, hq_user):
    """Its Save buttons saved nothing (only a draft's demand is editable) yet the admin said
    "changed successfully". The page stays viewable, without them; a POST is refused."""
    line = _draft_line()
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorderline_change", args=[line.pk])
    assert 'name="_save"' in client.get(url).content.decode()
    purchase_order_send(po=line.purchase_order, by=None)
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert 'name="_continue"' not in page.content.decode()
    response = client.post(
        url,
        {
            "demanded_quantity": "45",
            "allocations-TOTAL_FORMS": "0",
            "allocations-INITIAL_FORMS": "0",
            "sources-TOTAL_FORMS": "0",
            "sources-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    line.refresh_from_db()
    assert line.demanded_quantity == 80
    assert _allocated(line) == [20, 20, 20, 20]
