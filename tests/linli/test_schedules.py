"""linli.schedules.schedules_sync: declared periodic tasks in the beat tables, idempotently."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from linli.celery import app as celery_app
from linli.schedules import SCHEDULES, schedules_sync

pytestmark = pytest.mark.django_db

KPI_TASK = "apps.stores.tasks.store_kpi_snapshots_task"


def _rows() -> list[tuple]:
    return list(
        PeriodicTask.objects.order_by("name").values_list(
            "name",
            "task",
            "enabled",
            "crontab__minute",
            "crontab__hour",
            "crontab__day_of_week",
            "interval_id",
            "queue",
        )
    )


def test_schedules_sync_twice_gives_the_same_rows():
    first_names = schedules_sync()
    first = _rows()
    crontabs = CrontabSchedule.objects.count()
    second_names = schedules_sync()
    assert second_names == first_names
    assert _rows() == first
    assert CrontabSchedule.objects.count() == crontabs
    assert PeriodicTask.objects.count() == len(SCHEDULES)


def test_kpi_snapshot_task_is_scheduled_enabled_on_a_crontab():
    schedules_sync()
    task = PeriodicTask.objects.select_related("crontab").get(task=KPI_TASK)
    assert task.enabled is True
    assert task.interval_id is None
    assert task.crontab is not None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("5", "*", "*")
    assert str(task.crontab.timezone) == "Asia/Shanghai"


def test_schedules_sync_disables_undeclared_tasks_and_keeps_celery_internal_ones():
    crontab = CrontabSchedule.objects.create(minute="0", hour="4")
    PeriodicTask.objects.create(name="old: removed job", task="apps.gone.tasks.x", crontab=crontab)
    PeriodicTask.objects.create(
        name="celery.backend_cleanup", task="celery.backend_cleanup", crontab=crontab
    )
    schedules_sync()
    assert PeriodicTask.objects.get(name="old: removed job").enabled is False
    assert PeriodicTask.objects.get(name="celery.backend_cleanup").enabled is True


def test_schedules_sync_re_enables_a_declared_task_disabled_by_hand():
    schedules_sync()
    PeriodicTask.objects.filter(task=KPI_TASK).update(enabled=False)
    schedules_sync()
    assert PeriodicTask.objects.get(task=KPI_TASK).enabled is True


def test_every_scheduled_task_is_a_registered_celery_task():
    celery_app.loader.import_default_modules()
    registered = set(celery_app.tasks)
    missing = [schedule.task for schedule in SCHEDULES if schedule.task not in registered]
    assert missing == []


def test_setup_periodic_tasks_command_prints_each_schedule(capsys):
    call_command("setup_periodic_tasks")
    out = capsys.readouterr().out
    assert out.splitlines() == [f"scheduled: {schedule.name}" for schedule in SCHEDULES]


def test_the_daily_consolidation_runs_at_the_cut_off_members_are_promised() -> None:
    """A mini-program order's `expected_ready_on` counts from `DAILY_CUTOFF_HOUR`; the beat
    entry that runs the cut-off must say the same hour (linli may not import the app)."""
    from apps.procurement.selectors.suppliers import DAILY_CUTOFF_HOUR
    from linli.schedules import SCHEDULES

    (entry,) = [s for s in SCHEDULES if s.name == "procurement: daily consolidation"]
    assert (entry.hour, entry.minute) == (str(DAILY_CUTOFF_HOUR), "0")
