"""Backfilling KPIs after importing a history: the hourly job covers only yesterday and today,
so past days had no daily KPI rows ("暂无KPI快照") until HQ's "run now" (with a date range) or
`kpi_snapshots --from/--to` computed them. Bounded, idempotent, with progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from apps.procurement.selectors.aftersales import refunds_by_store
from apps.stores.models import KpiSnapshot, StoreKpiSnapshot
from apps.stores.services.kpis import BACKFILL_MAX_DAYS, store_kpi_snapshots_backfill
from apps.stores.tasks import kpi_snapshots_task
from linli.roles import HQ_OPERATIONS
from tests.factories import PASSWORD, StoreFactory, UserFactory
from tests.stores.test_tasks import _at, _order

pytestmark = pytest.mark.django_db

KPI_TASK = "apps.stores.tasks.kpi_snapshots_task"
NIGHTLY = reverse("admin:catalog_decisionrun_nightly")


@pytest.fixture
def history() -> dict:
    """An imported history: store A sold on three days 40-38 days ago (one order each, 10,
    20 and 30 yuan), store B on the middle one; nothing since."""
    today = timezone.localdate()
    first = today - dt.timedelta(days=40)
    store_a, store_b = StoreFactory(code="A001"), StoreFactory(code="B001")
    for offset, amount in enumerate(("10.00", "20.00", "30.00")):
        _order(store_a, _at(first + dt.timedelta(days=offset), 12), amount)
    _order(store_b, _at(first + dt.timedelta(days=1), 9), "8.00")
    return {"today": today, "first": first, "stores": (store_a, store_b)}


def _rows() -> list[tuple]:
    return list(
        StoreKpiSnapshot.objects.order_by("day", "store__code").values_list(
            "store__code", "day", "order_count", "revenue"
        )
    )


def test_a_backfill_computes_every_past_day_once_and_a_rerun_changes_nothing(
    history: dict,
) -> None:
    first = history["first"]
    said: list[str] = []

    written = store_kpi_snapshots_backfill(
        refunds=refunds_by_store,
        first_day=first - dt.timedelta(days=1),
        last_day=history["today"],
        progress=said.append,
    )

    expected = [
        ("A001", first, 1, Decimal("10.00")),
        ("A001", first + dt.timedelta(days=1), 1, Decimal("20.00")),
        ("B001", first + dt.timedelta(days=1), 1, Decimal("8.00")),
        ("A001", first + dt.timedelta(days=2), 1, Decimal("30.00")),
    ]
    assert (written, _rows()) == (4, expected)
    assert said[-1] == f"daily KPIs: 42/42 days, up to {history['today'].isoformat()}"
    # A rerun and an overlapping range upsert the same rows: (store, day) is unique.
    store_kpi_snapshots_backfill(
        refunds=refunds_by_store, first_day=first, last_day=first + dt.timedelta(days=1)
    )
    store_kpi_snapshots_backfill(
        refunds=refunds_by_store, first_day=first - dt.timedelta(days=1), last_day=history["today"]
    )
    assert _rows() == expected


def test_a_backfill_is_bounded_and_refuses_a_bad_range_writing_nothing(history: dict) -> None:
    today = history["today"]
    with override("en"):
        with pytest.raises(ValueError, match="at most 400 days"):
            store_kpi_snapshots_backfill(
                refunds=refunds_by_store,
                first_day=today - dt.timedelta(days=BACKFILL_MAX_DAYS),
                last_day=today,
            )
        with pytest.raises(ValueError, match="is in the future"):
            store_kpi_snapshots_backfill(
                refunds=refunds_by_store, first_day=today, last_day=today + dt.timedelta(days=1)
            )
        with pytest.raises(ValueError, match="is after the last day"):
            store_kpi_snapshots_backfill(
                refunds=refunds_by_store, first_day=today, last_day=today - dt.timedelta(days=1)
            )
    assert not StoreKpiSnapshot.objects.exists()
    # Exactly the limit is allowed.
    store_kpi_snapshots_backfill(
        refunds=refunds_by_store,
        first_day=today - dt.timedelta(days=BACKFILL_MAX_DAYS - 1),
        last_day=today,
    )
    assert len(_rows()) == 4


def test_the_task_with_a_range_fills_the_days_and_their_months_idempotently(
    history: dict,
) -> None:
    first, last = history["first"], history["first"] + dt.timedelta(days=2)

    first_count = kpi_snapshots_task(first_day=first.isoformat(), last_day=last.isoformat())
    rows, pack = _rows(), KpiSnapshot.objects.count()
    second_count = kpi_snapshots_task(first_day=first.isoformat(), last_day=last.isoformat())

    assert first_count == second_count == len(rows) + pack
    assert len(rows) == 4
    assert KpiSnapshot.objects.filter(period=first.replace(day=1), store__code="A001").exists()
    assert (_rows(), KpiSnapshot.objects.count()) == (rows, pack)


def test_the_command_backfills_a_range_or_the_last_n_days(history: dict) -> None:
    out = StringIO()
    first, last = history["first"], history["first"] + dt.timedelta(days=2)

    call_command("kpi_snapshots", "--from", first.isoformat(), "--to", last.isoformat(), stdout=out)

    assert len(_rows()) == 4
    text = out.getvalue()
    assert f"daily KPIs: 3/3 days, up to {last.isoformat()}" in text
    assert f"KPI backfill {first} … {last}: 3 days, 4 daily store rows;" in text
    StoreKpiSnapshot.objects.all().delete()
    call_command("kpi_snapshots", "--days", "45", stdout=StringIO())
    assert len(_rows()) == 4
    with pytest.raises(CommandError, match="at most 400 days"):
        call_command("kpi_snapshots", "--days", str(BACKFILL_MAX_DAYS + 1), stdout=StringIO())


def test_hq_runs_the_kpi_pack_now_for_a_date_range(roles: None, broker_queue) -> None:
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True, username="ops")
    user.groups.add(Group.objects.get(name=HQ_OPERATIONS))
    client = Client()
    client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    today = timezone.localdate()
    first, last = today - dt.timedelta(days=60), today - dt.timedelta(days=1)

    with override("zh-hans"):
        page = client.get(NIGHTLY).content.decode()
        assert 'name="first_day"' in page
        done = client.post(
            NIGHTLY,
            {"task": KPI_TASK, "first_day": first.isoformat(), "last_day": last.isoformat()},
            follow=True,
        )
        too_long = client.post(
            NIGHTLY,
            {
                "task": KPI_TASK,
                "first_day": (today - dt.timedelta(days=500)).isoformat(),
                "last_day": last.isoformat(),
            },
            follow=True,
        )
        one_day = client.post(NIGHTLY, {"task": KPI_TASK, "first_day": first.isoformat()})
        plain = client.post(NIGHTLY, {"task": KPI_TASK, "first_day": "", "last_day": ""})

    assert broker_queue.sent() == [
        (KPI_TASK, [], {"first_day": first.isoformat(), "last_day": last.isoformat()}),
        (KPI_TASK, [], {}),
    ]
    said = [str(message) for message in done.context["messages"]]
    assert f"{first.isoformat()} 至 {last.isoformat()}（60 天）" in said[0]
    refused = [str(message) for message in too_long.context["messages"]]
    assert "未启动" in refused[0]
    assert "最多" in refused[0]
    assert one_day.status_code == 302
    assert plain.status_code == 302
