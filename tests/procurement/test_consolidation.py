"""Consolidation of paid supply orders into purchase orders, cancellations, supplier steps."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from apps.campaigns.models import Notification
from apps.procurement.models import (
    ConsolidationRun,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    SupplierUser,
)
from apps.procurement.services.consolidation import (
    order_cancelled_for_supply,
    order_quantity_rounded,
    purchase_orders_consolidate,
)
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_cancel,
    purchase_order_confirm,
    purchase_order_report_shortage,
    purchase_order_send,
    purchase_order_ship,
)
from apps.procurement.tasks import purchase_orders_consolidate_task
from apps.stores.models import Order, OrderLine
from apps.stores.services.stock import stock_move
from tests.factories import (
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    SupplierProductFactory,
    SupplierUserFactory,
)
from tests.procurement.factories import PurchaseOrderFactory, supply_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> dict[str, object]:
    """Two suppliers, three products (one without any offer), two stores."""
    farm = SupplierFactory(name="云南蓝莓果园")
    dairy = SupplierFactory(name="杭州鲜奶工厂")
    blueberry = ProductFactory(name="云南蓝莓 125g")
    milk = ProductFactory(name="鲜牛奶 1L")
    orphan = ProductFactory(name="无供应商商品")
    SupplierProductFactory(
        supplier=farm,
        product=blueberry,
        cost=Decimal("8.50"),
        pack_size=6,
        min_order_qty=12,
        lead_time_days=2,
    )
    SupplierProductFactory(
        supplier=dairy,
        product=milk,
        cost=Decimal("4.20"),
        pack_size=1,
        min_order_qty=1,
        lead_time_days=1,
    )
    return {
        "farm": farm,
        "dairy": dairy,
        "blueberry": blueberry,
        "milk": milk,
        "orphan": orphan,
        "store_a": StoreFactory(),
        "store_b": StoreFactory(),
    }


def _cutoff() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


def test_consolidation_makes_one_purchase_order_per_supplier_with_totals_of_the_source_lines(
    world,
):
    a, b = world["store_a"], world["store_b"]
    supply_order(store=a, lines=[(world["blueberry"], 3), (world["milk"], 2)])
    supply_order(store=a, lines=[(world["blueberry"], 4)])
    supply_order(store=b, lines=[(world["blueberry"], 6), (world["milk"], 5)])
    cutoff = _cutoff()

    run = purchase_orders_consolidate(cutoff=cutoff)

    assert run.status == ConsolidationRun.Status.FINISHED
    assert (run.source_line_count, run.purchase_order_count, run.purchase_order_line_count) == (
        5,
        2,
        2,
    )
    day = timezone.localdate(cutoff)
    farm_po = PurchaseOrder.objects.get(supplier=world["farm"])
    dairy_po = PurchaseOrder.objects.get(supplier=world["dairy"])
    assert farm_po.delivery_date == day + dt.timedelta(days=2)
    assert dairy_po.delivery_date == day + dt.timedelta(days=1)
    assert farm_po.status == dairy_po.status == PurchaseOrder.Status.SENT
    assert farm_po.run == run
    berries = farm_po.lines.get()
    assert (berries.product, berries.demanded_quantity, berries.unit_cost) == (
        world["blueberry"],
        13,
        Decimal("8.50"),
    )
    milk = dairy_po.lines.get()
    assert (milk.demanded_quantity, milk.ordered_quantity, milk.surplus_quantity) == (7, 7, 0)
    assert dict(berries.allocations.values_list("store_id", "quantity")) == {a.pk: 7, b.pk: 6}
    assert dict(milk.allocations.values_list("store_id", "quantity")) == {a.pk: 2, b.pk: 5}
    linked = PurchaseOrderSource.objects.aggregate(total=Sum("quantity"))["total"]
    assert linked == OrderLine.objects.aggregate(total=Sum("quantity"))["total"] == 20
    assert set(berries.sources.values_list("order_line__quantity", flat=True)) == {3, 4, 6}


def test_pack_size_and_minimum_order_round_up_and_show_the_surplus(world):
    supply_order(store=world["store_a"], lines=[(world["blueberry"], 5)])
    purchase_orders_consolidate(cutoff=_cutoff())
    line = PurchaseOrderLine.objects.get(product=world["blueberry"])
    # Minimum order 12 in packs of 6: 5 wanted → 12 ordered, 7 surplus.
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (5, 12, 7)
    assert (line.pack_size, line.min_order_qty) == (6, 12)


def test_demand_above_the_minimum_is_rounded_up_to_whole_packs(world):
    supply_order(store=world["store_a"], lines=[(world["blueberry"], 13)])
    purchase_orders_consolidate(cutoff=_cutoff())
    line = PurchaseOrderLine.objects.get(product=world["blueberry"])
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (13, 18, 5)


@pytest.mark.parametrize(
    ("demanded", "pack", "minimum", "ordered"),
    [(0, 6, 12, 0), (1, 1, 1, 1), (12, 6, 12, 12), (13, 6, 12, 18), (5, 6, 10, 12), (7, 5, 1, 10)],
)
def test_order_quantity_rounded(demanded, pack, minimum, ordered):
    assert (
        order_quantity_rounded(demanded=demanded, pack_size=pack, min_order_qty=minimum) == ordered
    )


def test_only_paid_orders_that_need_supply_placed_before_the_cutoff_are_consolidated(world):
    store, milk = world["store_a"], world["milk"]
    cutoff = _cutoff()
    wanted = [
        supply_order(store=store, lines=[(milk, 1)]),
        supply_order(
            store=store,
            lines=[(milk, 2)],
            channel=Order.Channel.MINI_PROGRAM,
            fulfilment=Order.Fulfilment.DELIVERY,
        ),
    ]
    supply_order(
        store=store,
        lines=[(milk, 40)],
        channel=Order.Channel.POS,
        fulfilment=Order.Fulfilment.IN_STORE,
    )
    supply_order(
        store=store,
        lines=[(milk, 50)],
        channel=Order.Channel.MINI_PROGRAM,
        fulfilment=Order.Fulfilment.IN_STORE,
    )
    supply_order(store=store, lines=[(milk, 60)], status=Order.Status.PENDING)
    supply_order(store=store, lines=[(milk, 70)], status=Order.Status.CANCELLED)
    supply_order(store=store, lines=[(milk, 80)], placed_at=cutoff + dt.timedelta(minutes=1))

    purchase_orders_consolidate(cutoff=cutoff)

    line = PurchaseOrderLine.objects.get()
    assert line.demanded_quantity == 3
    assert set(line.sources.values_list("order_line__order_id", flat=True)) == {
        order.pk for order in wanted
    }


def test_the_cheapest_preferred_offer_of_an_active_supplier_is_chosen(world):
    cheap = SupplierFactory()
    inactive = SupplierFactory(is_active=False)
    backup = SupplierFactory()
    product = ProductFactory()
    SupplierProductFactory(supplier=world["farm"], product=product, cost=Decimal("3.00"))
    SupplierProductFactory(supplier=cheap, product=product, cost=Decimal("2.50"))
    SupplierProductFactory(supplier=inactive, product=product, cost=Decimal("1.00"))
    SupplierProductFactory(
        supplier=backup, product=product, cost=Decimal("0.50"), is_preferred=False
    )
    supply_order(store=world["store_a"], lines=[(product, 4)])
    purchase_orders_consolidate(cutoff=_cutoff())
    line = PurchaseOrderLine.objects.select_related("purchase_order").get()
    assert line.purchase_order.supplier == cheap
    assert line.unit_cost == Decimal("2.50")


def test_lines_without_a_preferred_offer_are_counted_and_left_for_later(world):
    order = supply_order(store=world["store_a"], lines=[(world["orphan"], 2), (world["milk"], 1)])
    run = purchase_orders_consolidate(cutoff=_cutoff())
    assert (run.source_line_count, run.unsupplied_line_count) == (1, 1)
    orphan_line = order.lines.get(product=world["orphan"])
    assert not PurchaseOrderSource.objects.filter(order_line=orphan_line).exists()
    SupplierProductFactory(supplier=world["dairy"], product=world["orphan"])
    later = purchase_orders_consolidate(cutoff=_cutoff() + dt.timedelta(seconds=1))
    assert (later.source_line_count, later.unsupplied_line_count) == (1, 0)
    assert PurchaseOrderSource.objects.filter(order_line=orphan_line).count() == 1


def test_the_supplier_users_are_notified_of_a_new_purchase_order(world):
    user = SupplierUserFactory(supplier=world["farm"]).user
    SupplierUserFactory(supplier=world["dairy"])
    supply_order(store=world["store_a"], lines=[(world["blueberry"], 1)])
    purchase_orders_consolidate(cutoff=_cutoff())
    po = PurchaseOrder.objects.get()
    notification = Notification.objects.get()
    assert notification.recipient == user
    assert notification.kind == "purchase_order.new"
    assert notification.payload == {
        "purchase_order_id": po.pk,
        "url": f"/supplier/orders/{po.pk}/",
        "number": po.number,
        "delivery_date": po.delivery_date.isoformat(),
    }
    assert po.number in notification.title


def test_running_the_same_cutoff_twice_changes_nothing(world):
    supply_order(store=world["store_a"], lines=[(world["blueberry"], 3), (world["milk"], 2)])
    cutoff = _cutoff()
    first = purchase_orders_consolidate(cutoff=cutoff)
    before = list(PurchaseOrderLine.objects.values_list("pk", "ordered_quantity"))
    second = purchase_orders_consolidate(cutoff=cutoff)
    assert second.pk == first.pk
    assert ConsolidationRun.objects.count() == 1
    assert PurchaseOrder.objects.count() == 2
    assert list(PurchaseOrderLine.objects.values_list("pk", "ordered_quantity")) == before
    assert Notification.objects.count() == 0


def test_a_later_cutoff_takes_only_what_is_new(world):
    supply_order(store=world["store_a"], lines=[(world["milk"], 2)])
    first = purchase_orders_consolidate(cutoff=_cutoff())
    empty = purchase_orders_consolidate(cutoff=_cutoff() + dt.timedelta(seconds=1))
    assert (
        empty.status,
        empty.source_line_count,
        empty.purchase_order_count,
        empty.purchase_order_updated_count,
    ) == (ConsolidationRun.Status.FINISHED, 0, 0, 0)
    supply_order(store=world["store_b"], lines=[(world["milk"], 5)])
    later = purchase_orders_consolidate(cutoff=_cutoff() + dt.timedelta(seconds=2))
    assert (later.source_line_count, later.purchase_order_count) == (1, 0)
    # Added to the open purchase order of the same supplier and delivery date.
    po = PurchaseOrder.objects.get()
    assert (po.run, po.revision) == (first, 2)
    assert po.lines.get().demanded_quantity == 7
    assert PurchaseOrderSource.objects.count() == 2


def test_a_run_left_running_by_a_dead_worker_is_claimed_again(world):
    supply_order(store=world["store_a"], lines=[(world["milk"], 2)])
    cutoff = _cutoff()
    ConsolidationRun.objects.create(
        cutoff=cutoff,
        status=ConsolidationRun.Status.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
    )
    run = purchase_orders_consolidate(cutoff=cutoff)
    assert run.status == ConsolidationRun.Status.FINISHED
    assert run.source_line_count == 1
    assert PurchaseOrderLine.objects.get().demanded_quantity == 2


def test_a_run_another_worker_is_running_is_left_alone(world):
    supply_order(store=world["store_a"], lines=[(world["milk"], 2)])
    cutoff = _cutoff()
    ConsolidationRun.objects.create(
        cutoff=cutoff, status=ConsolidationRun.Status.RUNNING, started_at=timezone.now()
    )
    run = purchase_orders_consolidate(cutoff=cutoff)
    assert run.status == ConsolidationRun.Status.RUNNING
    assert PurchaseOrder.objects.count() == 0


def test_a_failed_run_is_run_again(world):
    supply_order(store=world["store_a"], lines=[(world["milk"], 2)])
    cutoff = _cutoff()
    failed = ConsolidationRun.objects.create(
        cutoff=cutoff, status=ConsolidationRun.Status.FAILED, error="OperationalError: gone"
    )
    run = purchase_orders_consolidate(cutoff=cutoff, run=failed)
    assert (run.pk, run.status, run.error) == (failed.pk, ConsolidationRun.Status.FINISHED, "")
    assert PurchaseOrder.objects.count() == 1


def test_the_task_called_twice_makes_the_purchase_orders_once(world):
    supply_order(store=world["store_a"], lines=[(world["milk"], 2), (world["blueberry"], 1)])
    cutoff = (timezone.now() + dt.timedelta(minutes=5)).isoformat()
    first = purchase_orders_consolidate_task(cutoff=cutoff)
    second = purchase_orders_consolidate_task(cutoff=cutoff)
    assert first == second
    assert first["purchase_orders"] == 2
    assert PurchaseOrder.objects.count() == 2
    assert PurchaseOrderSource.objects.count() == 2


def _snapshot() -> list[tuple[object, ...]]:
    return sorted(
        PurchaseOrderAllocation.objects.values_list(
            "line__purchase_order__supplier_id",
            "line__purchase_order__delivery_date",
            "line__product_id",
            "line__ordered_quantity",
            "store_id",
            "quantity",
        )
    )


def _race(targets: list[dict[str, object]]) -> list[BaseException]:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def work(kwargs: dict[str, object]) -> None:
        try:
            barrier.wait()
            purchase_orders_consolidate(**kwargs)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(kwargs,)) for kwargs in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _race_world() -> list[OrderLine]:
    farm, dairy = SupplierFactory(), SupplierFactory()
    products = [ProductFactory() for _ in range(4)]
    for index, product in enumerate(products):
        SupplierProductFactory(
            supplier=farm if index % 2 else dairy, product=product, pack_size=4, min_order_qty=4
        )
    stores = [StoreFactory() for _ in range(3)]
    for number in range(12):
        supply_order(
            store=stores[number % 3],
            lines=[(products[number % 4], number + 1), (products[(number + 1) % 4], 2)],
        )
    return list(OrderLine.objects.all())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_cutoff_make_the_purchase_orders_once():
    lines = _race_world()
    cutoff = _cutoff()
    errors = _race([{"cutoff": cutoff}, {"cutoff": cutoff}])
    assert errors == []
    assert ConsolidationRun.objects.get().status == ConsolidationRun.Status.FINISHED
    assert PurchaseOrderSource.objects.count() == len(lines)
    raced = _snapshot()
    PurchaseOrder.objects.all().delete()
    ConsolidationRun.objects.all().delete()
    purchase_orders_consolidate(cutoff=cutoff)
    assert _snapshot() == raced


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_with_different_cutoffs_link_each_line_once():
    lines = _race_world()
    cutoff = _cutoff()
    errors = _race([{"cutoff": cutoff}, {"cutoff": cutoff + dt.timedelta(seconds=1)}])
    assert errors == []
    runs = list(ConsolidationRun.objects.order_by("cutoff").values_list("status", flat=True))
    assert runs == [ConsolidationRun.Status.FINISHED] * 2
    assert PurchaseOrderSource.objects.count() == len(lines)
    assert sorted(PurchaseOrderSource.objects.values_list("order_line_id", flat=True)) == sorted(
        line.pk for line in lines
    )
    demanded = PurchaseOrderLine.objects.aggregate(total=Sum("demanded_quantity"))["total"]
    assert demanded == sum(line.quantity for line in lines)
    assert connection.vendor == "postgresql"


def _cancel(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    order.refresh_from_db()
    return order


def test_a_cancellation_before_confirmation_reduces_and_rerounds_the_line(world):
    a, b = world["store_a"], world["store_b"]
    keep = supply_order(store=a, lines=[(world["blueberry"], 10)])
    gone = supply_order(store=b, lines=[(world["blueberry"], 4), (world["milk"], 3)])
    supply_order(store=a, lines=[(world["milk"], 1)])
    purchase_orders_consolidate(cutoff=_cutoff())
    line = PurchaseOrderLine.objects.get(product=world["blueberry"])
    assert (line.demanded_quantity, line.ordered_quantity) == (14, 18)

    outcome = order_cancelled_for_supply(order=_cancel(gone))

    assert (outcome.reduced, outcome.recorded) == (2, 0)
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (10, 12, 2)
    assert dict(line.allocations.values_list("store_id", "quantity")) == {a.pk: 10}
    milk = PurchaseOrderLine.objects.get(product=world["milk"])
    assert (milk.demanded_quantity, milk.ordered_quantity) == (1, 1)
    cancelled = PurchaseOrderSource.objects.filter(cancelled_at__isnull=False)
    assert set(cancelled.values_list("order_line__order_id", flat=True)) == {gone.pk}
    assert PurchaseOrderException.objects.count() == 0
    assert not PurchaseOrderSource.objects.filter(
        order_line__order=keep, cancelled_at__isnull=False
    ).exists()


def test_cancelling_twice_changes_nothing_the_second_time(world):
    order = supply_order(store=world["store_a"], lines=[(world["milk"], 3)])
    supply_order(store=world["store_b"], lines=[(world["milk"], 2)])
    purchase_orders_consolidate(cutoff=_cutoff())
    order_cancelled_for_supply(order=_cancel(order))
    again = order_cancelled_for_supply(order=order)
    assert (again.reduced, again.recorded) == (0, 0)
    assert PurchaseOrderLine.objects.get().demanded_quantity == 2


def test_a_purchase_order_left_without_demand_is_cancelled(world):
    order = supply_order(store=world["store_a"], lines=[(world["milk"], 3)])
    purchase_orders_consolidate(cutoff=_cutoff())
    order_cancelled_for_supply(order=_cancel(order))
    po = PurchaseOrder.objects.get()
    assert po.status == PurchaseOrder.Status.CANCELLED
    line = po.lines.get()
    assert (line.demanded_quantity, line.ordered_quantity) == (0, 0)
    assert PurchaseOrderAllocation.objects.count() == 0


def test_a_cancellation_after_confirmation_is_recorded_not_applied(world):
    order = supply_order(store=world["store_a"], lines=[(world["blueberry"], 5)])
    supply_order(store=world["store_b"], lines=[(world["blueberry"], 3)])
    purchase_orders_consolidate(cutoff=_cutoff())
    po = PurchaseOrder.objects.get()
    purchase_order_confirm(po=po, ship_date=timezone.localdate(), by=None)

    outcome = order_cancelled_for_supply(order=_cancel(order))
    again = order_cancelled_for_supply(order=order)

    assert (outcome.reduced, outcome.recorded) == (0, 1)
    assert (again.reduced, again.recorded) == (0, 0)
    line = po.lines.get()
    assert (line.demanded_quantity, line.ordered_quantity) == (8, 12)
    exception = PurchaseOrderException.objects.get()
    assert (exception.purchase_order, exception.line, exception.store, exception.quantity) == (
        po,
        line,
        world["store_a"],
        5,
    )
    assert exception.order_line == order.lines.get()
    assert not PurchaseOrderSource.objects.filter(cancelled_at__isnull=False).exists()


def test_cancelling_for_supply_an_order_that_is_not_cancelled_is_refused(world):
    order = supply_order(store=world["store_a"], lines=[(world["milk"], 3)])
    purchase_orders_consolidate(cutoff=_cutoff())
    with pytest.raises(ValueError, match="not cancelled"):
        order_cancelled_for_supply(order=order)
    assert PurchaseOrderLine.objects.get().demanded_quantity == 3


# --- supplier steps ----------------------------------------------------------------------------


def test_confirm_ship_and_the_steps_out_of_order_are_refused(world):
    po = PurchaseOrderFactory(supplier=world["farm"])
    with pytest.raises(PurchaseOrderRefused) as not_confirmed:
        purchase_order_ship(po=po, by=None)
    assert not_confirmed.value.code == "not_confirmed"
    ship_date = timezone.localdate()
    purchase_order_confirm(po=po, ship_date=ship_date, by=None)
    assert (po.status, po.ship_date) == (PurchaseOrder.Status.CONFIRMED, ship_date)
    assert po.confirmed_at is not None
    with pytest.raises(PurchaseOrderRefused) as twice:
        purchase_order_confirm(po=po, ship_date=ship_date, by=None)
    assert twice.value.code == "not_sent"
    with pytest.raises(PurchaseOrderRefused) as late_cancel:
        purchase_order_cancel(po=po, by=None)
    assert late_cancel.value.code == "confirmed"
    purchase_order_ship(po=po, by=None)
    assert po.status == PurchaseOrder.Status.SHIPPED
    assert po.shipped_at is not None
    # Confirming a shipped order says so, whatever ship date comes with it (a late one used to
    # be refused as "after the delivery date").
    with pytest.raises(PurchaseOrderRefused) as shipped:
        purchase_order_confirm(po=po, ship_date=po.delivery_date + dt.timedelta(days=3), by=None)
    assert shipped.value.code == "not_sent"


def test_a_repeat_of_a_step_done_is_told_apart_from_a_refusal(world):
    """The refusal of a step already done as asked says so (`done_as_asked`), for the caller
    to report it done: the supplier pages answer a second tap that way."""
    po = PurchaseOrderFactory(supplier=world["farm"])
    with pytest.raises(PurchaseOrderRefused) as ship_first:
        purchase_order_ship(po=po, by=None)
    ship_date = timezone.localdate()
    seen = po.revision
    purchase_order_confirm(po=po, ship_date=ship_date, by=None, revision=seen)

    def refusal(**asked: object) -> tuple[str, bool]:
        with pytest.raises(PurchaseOrderRefused) as refused:
            purchase_order_confirm(po=po, by=None, **{"ship_date": ship_date, **asked})
        return refused.value.code, refused.value.done_as_asked

    assert refusal(revision=seen) == ("not_sent", True)
    assert refusal(revision=seen, ship_date=ship_date + dt.timedelta(days=1)) == (
        "not_sent",
        False,
    )
    assert refusal(revision=seen + 1) == ("not_sent", False)
    assert refusal(revision=None) == ("not_sent", False)  # no telling which lines were meant
    assert (ship_first.value.code, ship_first.value.done_as_asked) == ("not_confirmed", False)

    purchase_order_ship(po=po, by=None)
    with pytest.raises(PurchaseOrderRefused) as ship_again:
        purchase_order_ship(po=po, by=None)
    assert (ship_again.value.code, ship_again.value.done_as_asked) == ("not_confirmed", True)
    assert refusal(revision=seen) == ("not_sent", False)  # shipped: not as the confirm asked
    po.refresh_from_db()
    assert (po.status, po.ship_date) == (PurchaseOrder.Status.SHIPPED, ship_date)


def test_a_ship_date_in_the_past_or_after_delivery_is_refused(world):
    po = PurchaseOrderFactory(supplier=world["farm"])
    with pytest.raises(PurchaseOrderRefused) as past:
        purchase_order_confirm(
            po=po, ship_date=timezone.localdate() - dt.timedelta(days=1), by=None
        )
    with pytest.raises(PurchaseOrderRefused) as late:
        purchase_order_confirm(po=po, ship_date=po.delivery_date + dt.timedelta(days=1), by=None)
    assert (past.value.code, late.value.code) == ("ship_date_past", "ship_date_late")
    po.refresh_from_db()
    assert (po.status, po.ship_date) == (PurchaseOrder.Status.SENT, None)


def test_a_shortage_is_recorded_per_line_and_flags_the_order(world):
    supply_order(store=world["store_a"], lines=[(world["blueberry"], 13)])
    purchase_orders_consolidate(cutoff=_cutoff())
    po = PurchaseOrder.objects.get()
    line = po.lines.get()
    purchase_order_report_shortage(po=po, lines={line.pk: 6}, note="冰雹减产", by=None)
    line.refresh_from_db()
    assert (po.has_shortage, po.shortage_note, line.shortage_quantity) == (True, "冰雹减产", 6)
    with pytest.raises(PurchaseOrderRefused) as too_many:
        purchase_order_report_shortage(po=po, lines={line.pk: 19}, note="", by=None)
    assert too_many.value.code == "too_many"
    assert world["blueberry"].name in too_many.value.message
    assert "18" in too_many.value.message  # what is ordered: the most that can be short
    other = PurchaseOrderFactory()
    with pytest.raises(PurchaseOrderRefused) as foreign:
        purchase_order_report_shortage(po=other, lines={line.pk: 1}, note="", by=None)
    assert foreign.value.code == "unknown_line"
    line.refresh_from_db()
    assert line.shortage_quantity == 6
    purchase_order_report_shortage(po=po, lines={line.pk: 0}, note="", by=None)
    assert po.has_shortage is False


def test_sending_a_draft_notifies_the_supplier_and_only_drafts_are_sent(world):
    user = SupplierUserFactory(supplier=world["farm"]).user
    draft = PurchaseOrderFactory(
        supplier=world["farm"], status=PurchaseOrder.Status.DRAFT, sent_at=None
    )
    purchase_order_send(po=draft, by=None)
    assert draft.status == PurchaseOrder.Status.SENT
    assert list(Notification.objects.values_list("recipient", flat=True)) == [user.pk]
    with pytest.raises(PurchaseOrderRefused) as again:
        purchase_order_send(po=draft, by=None)
    assert again.value.code == "not_draft"
    assert Notification.objects.count() == 1
    assert SupplierUser.objects.count() == 1


def test_on_order_is_the_open_allocation_per_store_and_product(world):
    from apps.procurement.selectors.purchase_orders import on_order_quantities

    a, b = world["store_a"], world["store_b"]
    taken = supply_order(store=a, lines=[(world["blueberry"], 3), (world["milk"], 2)])
    # A's order took its 3 blueberries from the shelf (a stock order of before): the
    # delivery refills the shelf. B's 4 are a pre-order: they go to its member, not the shelf.
    stock_move(store=a, product=world["blueberry"], kind="receipt", quantity=10)
    stock_move(store=a, product=world["blueberry"], kind="sale", quantity=-3, order=taken)
    supply_order(store=b, lines=[(world["blueberry"], 4)])
    purchase_orders_consolidate(cutoff=_cutoff())
    PurchaseOrder.objects.filter(supplier=world["dairy"]).update(
        status=PurchaseOrder.Status.CANCELLED
    )
    today = timezone.localdate()
    frame = on_order_quantities(product_ids=[world["blueberry"].pk, world["milk"].pk], today=today)
    # 3 + 4 blueberries ordered as 12: the surplus of 5 comes for the shelves too, 2.14 and
    # 2.86 → 2 + 3 (the unit left to B's larger remainder).
    assert frame.values.tolist() == sorted(
        [[a.pk, world["blueberry"].pk, 3 + 2], [b.pk, world["blueberry"].pk, 3]]
    )
    after_delivery = on_order_quantities(
        product_ids=[world["blueberry"].pk], today=today + dt.timedelta(days=3)
    )
    assert after_delivery.empty
