"""A city without weather rows: the night forecasts its stores without weather (right: a
missing signal is unknown, not zero) and records which cities and stores, for HQ to see in the
run's admin page, its warnings and the command's output."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from apps.catalog.models import DecisionRun, WeatherObservation
from apps.catalog.services.forecasts import weather_missing
from apps.catalog.services.nightly import decisions_run
from tests.catalog.decision_fixtures import decision_world


def _weather(city: str, first: dt.date, last: dt.date, kind: str) -> None:
    days = (last - first).days + 1
    WeatherObservation.objects.bulk_create(
        WeatherObservation(
            city=city,
            day=first + dt.timedelta(days=offset),
            kind=kind,
            temp_max_c=Decimal("28.0"),
            temp_min_c=Decimal("20.0"),
        )
        for offset in range(days)
    )


def test_the_run_records_the_cities_and_stores_without_weather(
    client: object, hq_user: object
) -> None:
    """杭州 (stores A, B) has observed weather and a forecast; 上海 (store C) has none."""
    world = decision_world()
    today = world["today"]
    store_a, store_b, store_c = world["stores"]
    _weather("杭州", today - dt.timedelta(days=60), today - dt.timedelta(days=1), "observed")
    _weather("杭州", today, today + dt.timedelta(days=13), "forecast")

    run = decisions_run(day=today)

    assert run.status == DecisionRun.Status.DONE
    assert run.stats["weather_missing"] == [
        {"city": "上海", "stores": [store_c.pk], "history": True, "horizon": True}
    ]
    # Stored as a code with its parameters, worded when read (tests/catalog/test_run_warnings.py).
    assert {
        "code": "weather_missing",
        "params": {"city": "上海", "stores": [store_c.pk], "history": True, "horizon": True},
    } in run.stats["warnings"]
    assert not any(warning["params"].get("city") == "杭州" for warning in run.stats["warnings"])
    client.force_login(hq_user)
    with translation.override("zh-hans"):
        page = client.get(
            reverse("admin:catalog_decisionrun_change", args=[run.pk]),
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        ).content.decode()
    assert "无天气的门店" in page
    assert f"上海（门店 {store_c.pk}）：历史和预测期都没有天气数据；预测不含天气" in page

    out = StringIO()
    call_command("decisions_run", "--day", today.isoformat(), "--force", stdout=out)
    assert (
        f"warning: 上海 (stores {store_c.pk}): no weather for the history nor the forecast "
        "horizon; forecast without weather"
    ) in out.getvalue()
    assert "杭州" not in out.getvalue()


def test_a_city_with_history_but_no_forecast_is_missing_the_horizon(db: None) -> None:
    world = decision_world()
    today = world["today"]
    store_a, store_b, store_c = world["stores"]
    for city in ("杭州", "上海"):
        _weather(city, today - dt.timedelta(days=30), today - dt.timedelta(days=1), "observed")
    _weather("上海", today + dt.timedelta(days=13), today + dt.timedelta(days=13), "forecast")

    missing = weather_missing(
        store_ids=[store_a.pk, store_b.pk, store_c.pk], day=today, history_days=180
    )

    assert missing == [
        {"city": "杭州", "stores": [store_a.pk, store_b.pk], "history": False, "horizon": True}
    ]
    assert weather_missing(store_ids=[store_c.pk], day=today, history_days=180) == []
