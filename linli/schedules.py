"""The single place where periodic schedules are declared.

`manage.py setup_periodic_tasks` writes them into django-celery-beat's tables, where the
DatabaseScheduler (exactly one beat process) reads them. Rerunning it updates, never duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    queue: str | None = None


SCHEDULES: tuple[Schedule, ...] = (
    # Yesterday's and today's per-store KPIs, every hour at :05 (cheap, idempotent upsert).
    Schedule(
        name="stores: KPI snapshots",
        task="apps.stores.tasks.store_kpi_snapshots_task",
        minute="5",
        hour="*",
    ),
)


@transaction.atomic
def schedules_sync() -> list[str]:
    """Upsert every declared schedule; disable periodic tasks no longer declared here."""
    names = []
    for schedule in SCHEDULES:
        crontab, _created = CrontabSchedule.objects.get_or_create(
            minute=schedule.minute,
            hour=schedule.hour,
            day_of_week=schedule.day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.update_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "crontab": crontab,
                "interval": None,
                "enabled": True,
                "queue": schedule.queue,
            },
        )
        names.append(schedule.name)
    PeriodicTask.objects.exclude(name__in=names).exclude(name__startswith="celery.").update(
        enabled=False
    )
    return names
