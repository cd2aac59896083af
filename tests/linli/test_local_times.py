"""Times shown to people are local (Asia/Shanghai), never the UTC the database stores: the
consolidation run 22:00 in Shanghai is 14:00 UTC, and the admin must say 22:00."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.catalog.models import ForecastBacktest, RuleRun, RuleScope
from apps.devices.models import DeviceReading, DeviceReadingHourly
from apps.procurement.models import ConsolidationRun
from tests.procurement.factories import ConsolidationRunFactory, PurchaseOrderFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 22:00 on 4 December in Shanghai; 14:00 the same day in UTC.
EVENING = dt.datetime(2026, 12, 4, 22, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
# 01:30 on 5 December in Shanghai; still 4 December in UTC.
EARLY_MORNING = dt.datetime(2026, 12, 5, 1, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)


def test_consolidation_run_text_shows_the_local_cutoff() -> None:
    run = ConsolidationRun(cutoff=EVENING, status=ConsolidationRun.Status.FINISHED)

    assert str(run).startswith("2026-12-04 22:00")  # with its status: test_record_titles.py


def test_rule_run_text_shows_the_local_day() -> None:
    run = RuleRun(scope=RuleScope.NETWORK, created_at=EARLY_MORNING)

    assert str(run).endswith(" 2026-12-05")


def test_forecast_backtest_text_shows_the_local_time() -> None:
    backtest = ForecastBacktest(created_at=EARLY_MORNING, origin_count=4, horizon_days=7)

    assert str(backtest).startswith("2026-12-05 01:30")  # both languages: test_record_titles.py


def test_device_reading_texts_show_the_local_time() -> None:
    reading = DeviceReading(device_id=7, recorded_at=EARLY_MORNING)
    hourly = DeviceReadingHourly(device_id=7, hour=EARLY_MORNING.replace(minute=0))

    assert str(reading) == "7 2026-12-05 01:30"
    assert str(hourly) == "7 2026-12-05 01:00"


@pytest.mark.django_db
def test_purchase_order_changelist_shows_the_run_at_its_local_cutoff(client, hq_user) -> None:
    PurchaseOrderFactory(run=ConsolidationRunFactory(cutoff=EVENING))
    client.force_login(hq_user)

    page = client.get(reverse("admin:procurement_purchaseorder_changelist")).content.decode()

    assert "2026-12-04 22:00" in page
    assert "2026-12-04 14:00" not in page
