"""Regional delivery plans: building (idempotent, drop order, only while planned), dispatching,
delivering, the drop-list selector, the task and schedule, and the admin with its print sheet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from apps.procurement.models import (
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
)
from apps.procurement.selectors.delivery import delivery_plan_sheet
from apps.procurement.services.delivery import (
    DeliveryRefused,
    delivery_plan_dispatch,
    delivery_plans_build,
    delivery_stop_delivered,
)
from apps.procurement.tasks import delivery_plans_build_task
from linli.schedules import SCHEDULES
from tests.factories import StoreFactory, UserFactory
from tests.procurement.factories import PurchaseOrderAllocationFactory
from tests.procurement.factories_supply import purchase_order_move, supply_world

pytestmark = pytest.mark.django_db


def _tomorrow() -> dt.date:
    """Tomorrow in the project's time zone, read when a test runs (a module constant went stale
    when a run crossed midnight in Asia/Shanghai, 16:00 UTC)."""
    return timezone.localdate() + dt.timedelta(days=1)


def _stops(plan: DeliveryPlan) -> list[tuple[int, int, int]]:
    return list(plan.stops.order_by("sequence").values_list("sequence", "store_id", "units"))


def test_build_makes_one_plan_per_region_with_a_stop_per_store_in_code_order():
    world = supply_world()
    elsewhere = supply_world()  # another region, same day
    built = delivery_plans_build(day=_tomorrow())
    assert (built.plans, built.created, built.frozen, built.stops) == (2, 2, 0, 4)
    plan = DeliveryPlan.objects.get(region=world.region, delivery_date=_tomorrow())
    assert plan.status == DeliveryPlan.Status.PLANNED
    assert _stops(plan) == [(1, world.store_a.pk, 10), (2, world.store_b.pk, 6)]
    other = DeliveryPlan.objects.get(region=elsewhere.region)
    assert _stops(other) == [(1, elsewhere.store_a.pk, 10), (2, elsewhere.store_b.pk, 6)]


def test_plan_totals_equal_the_allocations():
    world = supply_world()
    supply_world(region=world.region)  # a second purchase order to the same region and day
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get(region=world.region)
    sheet = delivery_plan_sheet(plan=plan)
    allocated = PurchaseOrderAllocation.objects.filter(
        line__purchase_order__delivery_date=_tomorrow(), store__region=world.region
    )
    assert sheet.total == allocated.aggregate(total=Sum("quantity"))["total"] == 32
    for stop in sheet.stops:
        expected = allocated.filter(store=stop.store).aggregate(total=Sum("quantity"))["total"]
        assert stop.total == expected
        assert plan.stops.get(store=stop.store).units == expected
    first = sheet.stops[0]
    assert (first.store, first.address) == (world.store_a, "杭州市西湖区文三路1号")
    assert [(item.name, item.quantity) for item in first.items] == [
        ("云南蓝莓 125g", 6),
        ("阳光玫瑰葡萄", 4),
    ]


def test_build_twice_changes_nothing():
    world = supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    before = list(DeliveryStop.objects.order_by("pk").values_list("pk", "sequence", "units"))
    built = delivery_plans_build(day=_tomorrow())
    assert (built.plans, built.created) == (1, 0)
    assert DeliveryPlan.objects.get().pk == plan.pk
    assert list(DeliveryStop.objects.order_by("pk").values_list("pk", "sequence", "units")) == (
        before
    )
    assert world.region == plan.region


def test_only_sent_confirmed_or_shipped_orders_of_that_day_count():
    supply_world(status=PurchaseOrder.Status.DRAFT)
    supply_world(status=PurchaseOrder.Status.CANCELLED)
    supply_world(delivery_date=_tomorrow() + dt.timedelta(days=1))
    assert delivery_plans_build(day=_tomorrow()).plans == 0
    assert not DeliveryStop.objects.exists()
    assert not DeliveryPlan.objects.filter(delivery_date=_tomorrow()).exists()


def test_rebuild_adds_renumbers_updates_and_removes_stops_while_planned():
    world = supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    stop_a = plan.stops.get(store=world.store_a)
    # A new store that sorts first, and store B's goods cancelled.
    first_store = StoreFactory(region=world.region, code="W000-0")
    line = world.purchase_order.lines.order_by("pk").first()
    PurchaseOrderAllocationFactory(line=line, store=first_store, quantity=3)
    PurchaseOrderAllocation.objects.filter(
        line__purchase_order=world.purchase_order, store=world.store_b
    ).delete()
    PurchaseOrderAllocation.objects.filter(
        line__purchase_order=world.purchase_order, store=world.store_a
    ).update(quantity=1)
    delivery_plans_build(day=_tomorrow())
    assert _stops(plan) == [(1, first_store.pk, 3), (2, world.store_a.pk, 2)]
    assert plan.stops.get(store=world.store_a).pk == stop_a.pk


def test_a_dispatched_plan_is_not_rebuilt():
    world = supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    delivery_plan_dispatch(plan=plan, by=None)
    before = _stops(plan)
    PurchaseOrderAllocation.objects.filter(
        line__purchase_order=world.purchase_order, store=world.store_b
    ).delete()
    built = delivery_plans_build(day=_tomorrow())
    assert (built.plans, built.frozen) == (0, 1)
    assert _stops(plan) == before


def test_a_planned_plan_whose_orders_went_away_loses_its_stops():
    world = supply_world()
    delivery_plans_build(day=_tomorrow())
    purchase_order_move(world.purchase_order, status=PurchaseOrder.Status.CANCELLED)
    delivery_plans_build(day=_tomorrow())
    assert DeliveryPlan.objects.get().stops.count() == 0


def test_dispatch_once_then_refused():
    supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    delivery_plan_dispatch(plan=plan, by=None)
    assert plan.status == DeliveryPlan.Status.DISPATCHED
    assert plan.dispatched_at is not None
    dispatched_at = plan.dispatched_at
    with pytest.raises(DeliveryRefused) as refused:
        delivery_plan_dispatch(plan=plan, by=None)
    assert refused.value.code == "not_planned"
    plan.refresh_from_db()
    assert plan.dispatched_at == dispatched_at


def test_an_empty_plan_cannot_be_dispatched():
    world = supply_world()
    plan = DeliveryPlan.objects.create(region=world.region, delivery_date=_tomorrow())
    with pytest.raises(DeliveryRefused) as refused:
        delivery_plan_dispatch(plan=plan, by=None)
    assert refused.value.code == "empty"
    plan.refresh_from_db()
    assert plan.status == DeliveryPlan.Status.PLANNED


def test_stops_are_delivered_once_and_the_last_completes_the_plan():
    supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    first, second = plan.stops.order_by("sequence")
    with pytest.raises(DeliveryRefused) as refused:
        delivery_stop_delivered(stop=first, by=None)
    assert refused.value.code == "not_dispatched"
    first.refresh_from_db()
    assert first.delivered_at is None
    delivery_plan_dispatch(plan=plan, by=None)
    delivery_stop_delivered(stop=first, by=None)
    plan.refresh_from_db()
    assert plan.status == DeliveryPlan.Status.DISPATCHED
    with pytest.raises(DeliveryRefused) as refused:
        delivery_stop_delivered(stop=first, by=None)
    assert refused.value.code == "already_delivered"
    delivery_stop_delivered(stop=second, by=None)
    plan.refresh_from_db()
    assert plan.status == DeliveryPlan.Status.COMPLETED


def test_drop_list_query_count_does_not_grow_with_stops(django_assert_num_queries):
    world = supply_world()
    supply_world(region=world.region)
    supply_world(region=world.region)
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    with django_assert_num_queries(2):
        sheet = delivery_plan_sheet(plan=plan)
        assert len(sheet.stops) == 6
        assert sum(len(stop.items) for stop in sheet.stops) == 12
    with django_assert_num_queries(2):
        own = delivery_plan_sheet(plan=plan, store_id=world.store_b.pk)
    assert [stop.store.pk for stop in own.stops] == [world.store_b.pk]
    assert own.stop_count == 6


def test_task_builds_tomorrow_by_default_and_twice_is_the_same():
    supply_world()
    assert delivery_plans_build_task() == {"plans": 1, "created": 1, "frozen": 0, "stops": 2}
    assert delivery_plans_build_task() == {"plans": 1, "created": 0, "frozen": 0, "stops": 2}
    assert DeliveryPlan.objects.get().delivery_date == _tomorrow()
    assert delivery_plans_build_task(day=_tomorrow().isoformat())["created"] == 0


def test_task_is_scheduled_after_the_daily_consolidation():
    schedule = next(s for s in SCHEDULES if s.task.endswith("delivery_plans_build_task"))
    assert (schedule.minute, schedule.hour) == ("30", "22")


# --- admin --------------------------------------------------------------------------------------


def _staff(*codenames: str) -> object:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="procurement", codename__in=codenames)
    )
    return user


def test_admin_changelist_shows_plans_with_counts_and_print_link(client, admin_user):
    world = supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    client.force_login(admin_user)
    response = client.get(reverse("admin:procurement_deliveryplan_changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    assert reverse("admin:procurement_deliveryplan_print", args=[plan.pk]) in content
    assert reverse("admin:procurement_deliveryplan_build") in content
    response = client.get(
        reverse("admin:procurement_deliveryplan_changelist"), {"region__id__exact": world.region.pk}
    )
    assert response.context["cl"].result_count == 1


def test_admin_print_sheet_lists_every_stop_with_totals(client):
    world = supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    client.force_login(_staff("view_deliveryplan"))
    response = client.get(reverse("admin:procurement_deliveryplan_print", args=[plan.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert world.store_a.name in content
    assert world.store_b.name in content
    assert "杭州市西湖区文三路1号" in content
    assert response.context["sheet"].total == 16
    assert "delivery-print.css" in content
    assert "<style" not in content


def test_admin_print_sheet_is_refused_without_the_view_permission(client):
    supply_world()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    client.force_login(_staff("view_receipt"))
    response = client.get(reverse("admin:procurement_deliveryplan_print", args=[plan.pk]))
    assert response.status_code == 403


def test_admin_build_button_and_dispatch_action(client):
    supply_world()
    user = _staff("view_deliveryplan", "change_deliveryplan")
    client.force_login(user)
    response = client.post(reverse("admin:procurement_deliveryplan_build"))
    assert response.status_code == 302
    plan = DeliveryPlan.objects.get()
    assert plan.stops.count() == 2
    response = client.post(
        reverse("admin:procurement_deliveryplan_changelist"),
        {"action": "plans_dispatch", "_selected_action": [plan.pk], "index": 0},
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == DeliveryPlan.Status.DISPATCHED


def test_admin_build_and_dispatch_are_refused_with_only_the_view_permission(client):
    supply_world()
    client.force_login(_staff("view_deliveryplan"))
    assert client.post(reverse("admin:procurement_deliveryplan_build")).status_code == 403
    assert not DeliveryPlan.objects.exists()
    delivery_plans_build(day=_tomorrow())
    plan = DeliveryPlan.objects.get()
    client.post(
        reverse("admin:procurement_deliveryplan_changelist"),
        {"action": "plans_dispatch", "_selected_action": [plan.pk], "index": 0},
    )
    plan.refresh_from_db()
    assert plan.status == DeliveryPlan.Status.PLANNED


def test_admin_receipt_pages_are_read_only(client, admin_user):
    from apps.procurement.services.receiving import receipt_record

    world = supply_world()
    lines = {
        allocation.pk: (allocation.quantity, 0, 0)
        for allocation in PurchaseOrderAllocation.objects.filter(store=world.store_a)
    }
    receipt = receipt_record(
        purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
    )
    client.force_login(admin_user)
    response = client.get(reverse("admin:procurement_receipt_change", args=[receipt.pk]))
    assert response.status_code == 200
    assert "云南蓝莓 125g" in response.content.decode()
    assert client.get(reverse("admin:procurement_receipt_add")).status_code == 403


def test_admin_changelists_query_count_does_not_grow_with_rows(client, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    supply_world()
    delivery_plans_build(day=_tomorrow())
    client.force_login(admin_user)
    urls = [
        reverse("admin:procurement_deliveryplan_changelist"),
        reverse("admin:procurement_deliverystop_changelist"),
    ]
    for url in urls:
        assert client.get(url).status_code == 200
    few = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        few.append(len(captured.captured_queries))
    supply_world()
    supply_world()
    delivery_plans_build(day=_tomorrow())
    assert DeliveryPlan.objects.count() == 3
    many = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        many.append(len(captured.captured_queries))
    assert many == few
