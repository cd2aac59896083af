"""The single place where periodic schedules are declared.

`manage.py setup_periodic_tasks` writes them into django-celery-beat's tables, where the
DatabaseScheduler (exactly one beat process) reads them. Rerunning it updates, never duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import CrontabSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    # The periodic task's name in the database, which the sync looks it up by: never renamed.
    name: str
    # What HQ reads for it in the admin, in the page's language.
    label: Promise
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    queue: str | None = None


SCHEDULES: tuple[Schedule, ...] = (
    # Yesterday's and today's per-store KPIs, every hour at :05 (cheap, idempotent upsert).
    Schedule(
        name="stores: KPI snapshots",
        label=_("Stores: KPI snapshots"),
        task="apps.stores.tasks.store_kpi_snapshots_task",
        minute="5",
        hour="*",
    ),
    # Member profiles and automatic tags for all members, nightly at 02:30 (idempotent per day).
    Schedule(
        name="customers: member profiles",
        label=_("Members: profiles and tags"),
        task="apps.customers.tasks.member_profiles_recompute_task",
        minute="30",
        hour="2",
    ),
    # Devices: "silent" alerts every 5 minutes; hourly rollup at :02 and retention at :20
    # (both idempotent: upserts of whole hours, deletes only rolled-up raw rows).
    Schedule(
        name="devices: silent sweep",
        label=_("Devices: silent devices"),
        task="apps.devices.tasks.devices_silent_sweep_task",
        minute="*/5",
    ),
    # Devices whose alert evaluation was never enqueued (broker down after their readings
    # committed), every 5 minutes (idempotent: evaluated devices are marked).
    Schedule(
        name="devices: pending alert evaluations",
        label=_("Devices: pending alert checks"),
        task="apps.devices.tasks.devices_pending_alerts_evaluate_task",
        minute="*/5",
    ),
    Schedule(
        name="devices: hourly rollup",
        label=_("Devices: hourly rollup of readings"),
        task="apps.devices.tasks.device_readings_rollup_task",
        minute="2",
    ),
    Schedule(
        name="devices: reading retention",
        label=_("Devices: reading retention"),
        task="apps.devices.tasks.device_readings_retention_task",
        minute="20",
    ),
    # Decision engine: rules, forecasts, hot/new lists and insight cards, nightly at 03:30
    # after the member profiles (idempotent: a day with a finished run is skipped).
    Schedule(
        name="catalog: nightly decisions",
        label=_("Catalog: nightly decisions"),
        task="apps.catalog.tasks.decisions_nightly_task",
        minute="30",
        hour="3",
    ),
    # The KPI pack (docs/kpis.md): last month's final and this month's to-date figures per
    # store, region and network, nightly at 04:15 after the decisions (idempotent: each
    # month's rows are replaced in one transaction).
    Schedule(
        name="stores: monthly KPI pack",
        label=_("Stores: monthly KPI pack"),
        task="apps.stores.tasks.kpi_snapshots_task",
        minute="15",
        hour="4",
    ),
    # Procurement: the night's suggested order quantities become draft purchase orders for HQ
    # to approve, at 06:00, after the nightly decisions (idempotent per forecast issue day).
    Schedule(
        name="procurement: replenishment drafts",
        label=_("Procurement: replenishment drafts"),
        task="apps.procurement.tasks.purchase_orders_replenish_task",
        minute="0",
        hour="6",
    ),
    # Procurement: the daily cut-off, 22:00 — paid group-buy / mini-program orders of the day
    # become per-supplier purchase orders (idempotent: one run per cut-off, lines linked once).
    # The hour members are promised is apps.procurement.selectors.suppliers.DAILY_CUTOFF_HOUR;
    # tests/linli/test_schedules.py keeps the two equal.
    Schedule(
        name="procurement: daily consolidation",
        label=_("Procurement: daily consolidation"),
        task="apps.procurement.tasks.purchase_orders_consolidate_task",
        minute="0",
        hour="22",
    ),
    # Procurement: tomorrow's regional delivery plans at 22:30, after the daily consolidation
    # (idempotent: one plan per region and day; only plans not yet dispatched change, so HQ's
    # "build tomorrow's plans" in the admin refreshes them later the same way).
    Schedule(
        name="procurement: delivery plans",
        label=_("Procurement: delivery plans"),
        task="apps.procurement.tasks.delivery_plans_build_task",
        minute="30",
        hour="22",
    ),
    # Member notifications: send due SMS / WeChat rows every minute (idempotent: rows are
    # claimed before sending; quiet hours and the rate limit apply inside the dispatcher).
    Schedule(
        name="notifications: dispatch",
        label=_("Notifications: send due messages"),
        task="apps.campaigns.notifications.tasks.notifications_dispatch_task",
        minute="*",
    ),
    # Group buys past their deadline: formed or not, orders confirmed or cancelled with their
    # stock returned, every minute (idempotent: each offer claimed once, skip-locked).
    Schedule(
        name="campaigns: settle group buys",
        label=_("Campaigns: settle group buys"),
        task="apps.campaigns.tasks.group_buy_offers_settle_task",
        minute="*",
    ),
    # Live dashboards: viewers counts the platform stopped reporting shown as stale, every
    # minute (idempotent: a dashboard already showing it stale is left alone).
    Schedule(
        name="campaigns: stale live viewers",
        label=_("Campaigns: stale live viewer counts"),
        task="apps.campaigns.tasks.live_viewers_stale_task",
        minute="*",
    ),
)


def schedule_label(name: str) -> str:
    """The translated label of a declared schedule (its name for any other periodic task)."""
    for schedule in SCHEDULES:
        if schedule.name == name:
            return str(schedule.label)
    return name


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
