"""A real Celery worker consuming from the real broker (Redis in CI) runs the KPI task."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.stores.models import Order, StoreKpiSnapshot
from linli.celery import app as celery_app
from tests.celery_support import wait_until, worker_running
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.redis
@pytest.mark.postgres
def test_worker_consumes_kpi_task_from_redis_broker(broker_queue):
    store = StoreFactory()
    day = timezone.localdate() - dt.timedelta(days=1)
    placed = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    for key, total in (("a", "12.50"), ("b", "7.50")):
        Order.objects.create(
            store=store,
            channel=Order.Channel.POS,
            idempotency_key=key,
            total=Decimal(total),
            status=Order.Status.PAID,
            placed_at=placed,
        )
    from apps.stores.tasks import store_kpi_snapshots_task

    with worker_running():
        store_kpi_snapshots_task.delay(day.isoformat())
        assert wait_until(StoreKpiSnapshot.objects.exists, timeout=20)

    snapshot = StoreKpiSnapshot.objects.get(store=store, day=day)
    assert (snapshot.order_count, snapshot.revenue) == (2, Decimal("20.00"))


def test_beat_database_scheduler_serves_declared_schedules():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from linli.schedules import SCHEDULES, schedules_sync

    schedules_sync()
    for schedule in SCHEDULES:
        entry = DatabaseScheduler.Entry(
            PeriodicTask.objects.get(name=schedule.name), app=celery_app
        )
        assert entry.task == schedule.task
        assert entry.schedule._orig_minute == schedule.minute
        assert entry.schedule._orig_hour == schedule.hour
