"""The nightly run's warnings are stored as codes with parameters and worded when read, in the
reader's language: HQ reads the run's admin page and the runs list in Chinese or in English.
A run stored before the codes (plain English sentences) still shows its sentences."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from apps.catalog.models import DecisionRun, run_warning_text
from apps.catalog.services.nightly import decisions_run
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:catalog_decisionrun_changelist")

MODEL_ZH = (
    "预测模型训练数据 0 行（历史数据仅 2 天，模型需要 42 天）：今晚所有商品均按基线（移动平均）"
    "预测。"
)
MODEL_EN = (
    "Forecast model trained on 0 rows (2 days of history; the model needs 42): every product "
    "is forecast by a baseline (moving average) tonight."
)


def _page(client: Client, url: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def short_history_run() -> DecisionRun:
    """A real night over a store with two days of sales and no weather: no model can be
    trained (too little history) and the store's city has no weather."""
    store = StoreFactory()
    product = ProductFactory()
    today = timezone.localdate()
    for days_ago in (1, 2):
        orders_bulk_create(
            store=store,
            baskets=[[(product, 2)]] * 3,
            placed_at=local_datetime(today - dt.timedelta(days=days_ago)),
        )
    with translation.override("zh-hans"):  # the process's language is not what is stored
        return decisions_run(day=today)


def test_the_run_stores_its_warnings_as_codes_with_parameters(
    short_history_run: DecisionRun,
) -> None:
    run = short_history_run
    store_id = run.done_store_ids[0]
    city = DecisionRun.objects.get(pk=run.pk).stats["weather_missing"][0]["city"]
    assert run.status == DecisionRun.Status.DONE
    assert run.stats["warnings"] == [
        {
            "code": "model_untrained",
            "params": {"reason": "short_history", "days": 2, "needed": 42},
        },
        {
            "code": "weather_missing",
            "params": {"city": city, "stores": [store_id], "history": True, "horizon": True},
        },
    ]


def test_the_run_admin_shows_its_warnings_in_the_readers_language(
    short_history_run: DecisionRun, hq_user: object
) -> None:
    run = short_history_run
    store_id = run.done_store_ids[0]
    city = run.stats["weather_missing"][0]["city"]
    client = Client()
    client.force_login(hq_user)
    change = reverse("admin:catalog_decisionrun_change", args=[run.pk])

    for url in (change, RUNS):
        chinese = _page(client, url, "zh-hans")
        assert MODEL_ZH in chinese
        assert f"{city}（门店 {store_id}）：历史和预测期都没有天气数据；预测不含天气" in chinese
        assert "trained on 0 rows" not in chinese
        assert "forecast without weather" not in chinese

        english = _page(client, url, "en")
        assert MODEL_EN in english
        assert (
            f"{city} (stores {store_id}): no weather for the history nor the forecast horizon; "
            "forecast without weather"
        ) in english
        assert "预测模型" not in english


def test_the_command_prints_the_warnings_in_english(short_history_run: DecisionRun) -> None:
    out = StringIO()
    with translation.override("zh-hans"):
        call_command("decisions_run", "--day", short_history_run.day.isoformat(), stdout=out)
    assert f"warning: {MODEL_EN}" in out.getvalue()


def test_a_run_stored_with_sentences_still_shows_them(hq_user: object) -> None:
    """Runs written before the codes hold English sentences: shown as stored, in any
    language, and the run still reads "with warnings"."""
    sentence = "forecast model trained on 0 rows: every product is forecast by a baseline"
    run = DecisionRun.objects.create(
        day=timezone.localdate(),
        status=DecisionRun.Status.DONE,
        finished_at=timezone.now(),
        stats={"warnings": [sentence]},
    )
    client = Client()
    client.force_login(hq_user)
    page = _page(client, reverse("admin:catalog_decisionrun_change", args=[run.pk]), "zh-hans")
    assert sentence in page
    assert "已完成（有警告）" in page or "（有警告）" in page


def test_each_reason_for_no_model_is_worded_in_both_languages() -> None:
    cases = {
        (): ("预测模型训练数据 0 行：今晚所有商品均按基线（移动平均）预测。", "trained on 0 rows:"),
        (("reason", "no_series"),): (
            "抽样门店中没有有销量或库存的商品序列",
            "no series with sales or stock in the sampled stores",
        ),
        (("reason", "fit_failed"), ("error", "no training origin")): (
            "（no training origin）",
            "(no training origin)",
        ),
    }
    for params, (chinese, english) in cases.items():
        warning = {"code": "model_untrained", "params": dict(params)}
        with translation.override("zh-hans"):
            assert chinese in run_warning_text(warning)
        with translation.override("en"):
            assert english in run_warning_text(warning)


def test_a_warning_that_cannot_be_worded_shows_its_code_rather_than_failing() -> None:
    assert run_warning_text({"code": "model_untrained", "params": {"reason": "short_history"}}) == (
        "model_untrained: {'reason': 'short_history'}"
    )
    assert run_warning_text({"code": "unknown", "params": {}}) == "unknown: {}"
