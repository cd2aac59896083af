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
from django.utils import formats, timezone, translation

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


# --- the run's other notes: why no backtest ran, what happened to its attempts -------------


def test_the_run_keeps_why_no_backtest_ran_as_a_code_worded_for_the_reader(
    short_history_run: DecisionRun, hq_user: object
) -> None:
    run = short_history_run
    forecast = run.stats["forecast"]
    assert forecast["fallback_reason"] == {"reason": "short_history", "days": 2, "needed": 42}
    assert forecast["backtest_skipped"] == {"reason": "short_history", "days": 2, "needed": 57}
    assert "fallback" not in forecast  # no English sentence is stored any more
    assert "backtest_error" not in forecast
    client = Client()
    client.force_login(hq_user)
    change = reverse("admin:catalog_decisionrun_change", args=[run.pk])
    assert "训练数据 0 行；回测未运行：历史数据仅 2 天，回测需要 57 天" in _page(
        client, change, "zh-hans"
    )
    assert "trained on 0 rows; backtest not run: 2 days of history; the backtest needs 57" in (
        _page(client, change, "en")
    )


def _taken_over_then_failed(monkeypatch: pytest.MonkeyPatch) -> DecisionRun:
    """A run whose worker died (silent past the lease) is taken over by `decisions_run`, and
    that attempt fails on an error of the program."""
    from apps.catalog.services import nightly

    stale = timezone.now() - dt.timedelta(seconds=settings.DECISION_RUN_LEASE_SECONDS + 60)
    dead = DecisionRun.objects.create(
        day=timezone.localdate(),
        stores_total=3,
        stores_done=1,
        started_at=stale,
        heartbeat_at=stale,
        worker="dead-host:9",
    )

    def broken(**kwargs: object) -> None:
        raise KeyError("member_id")

    monkeypatch.setattr(nightly, "co_purchase_rules_compute", broken)
    with translation.override("zh-hans"), pytest.raises(KeyError):
        decisions_run(day=dead.day, store_ids=[])
    return DecisionRun.objects.get(pk=dead.pk)


def test_the_attempts_are_kept_as_codes_and_shown_in_the_readers_language(
    monkeypatch: pytest.MonkeyPatch, hq_user: object
) -> None:
    run = _taken_over_then_failed(monkeypatch)
    heartbeat = run.events[0]["params"]["heartbeat"]
    assert run.status == DecisionRun.Status.FAILED
    assert run.events == [
        {
            "code": "taken_over",
            "params": {
                "attempt": 1,
                "worker": "dead-host:9",
                "heartbeat": heartbeat,
                "stores_done": 1,
                "stores_total": 3,
                "by": run.worker,
            },
        },
        {"code": "failed", "params": {"attempt": 2, "exception": "KeyError: 'member_id'"}},
    ]
    assert "attempt" not in run.error  # the traceback only, for whoever debugs it
    assert run.error.strip().endswith("KeyError: 'member_id'")

    moment = timezone.localtime(dt.datetime.fromisoformat(heartbeat))
    client = Client()
    client.force_login(hq_user)
    change = reverse("admin:catalog_decisionrun_change", args=[run.pk])
    with translation.override("zh-hans"):
        when = formats.localize(moment)
    chinese_list = _page(client, RUNS, "zh-hans")
    assert "第 2 次尝试失败：KeyError: &#x27;member_id&#x27;" in chinese_list
    chinese = _page(client, change, "zh-hans")
    assert (
        f"第 1 次尝试（dead-host:9）自 {when} 起停止续租（已完成 1/3 家门店）；"
        f"第 2 次尝试（{run.worker}）已接管。"
    ) in chinese
    with translation.override("en"):
        when = formats.localize(moment)
    assert "Attempt 2 failed: KeyError: &#x27;member_id&#x27;" in _page(client, RUNS, "en")
    english = _page(client, change, "en")
    assert (
        f"Attempt 1 on dead-host:9 stopped renewing its lease at {when} (1/3 stores done); "
        f"attempt 2 on {run.worker} took over."
    ) in english
    assert "停止续租" not in english


def test_the_command_prints_a_taken_over_run_in_english() -> None:
    stale = timezone.now() - dt.timedelta(seconds=settings.DECISION_RUN_LEASE_SECONDS + 60)
    dead = DecisionRun.objects.create(
        day=timezone.localdate(), started_at=stale, heartbeat_at=stale, worker="dead-host:9"
    )
    out = StringIO()
    with translation.override("zh-hans"):
        call_command("decisions_run", "--day", dead.day.isoformat(), stdout=out)
    run = DecisionRun.objects.get(pk=dead.pk)
    assert (run.status, [event["code"] for event in run.events]) == ("done", ["taken_over"])
    with translation.override("en"):
        when = formats.localize(timezone.localtime(stale))
    assert (
        f"attempt: Attempt 1 on dead-host:9 stopped renewing its lease at {when} (0/0 stores "
        f"done); attempt 2 on {run.worker} took over."
    ) in out.getvalue()


# --- migration 0013: the stored sentences read back into codes ------------------------------


def _backfill() -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.catalog.migrations.0013_decision_run_notes_as_codes")
    migration.forwards(apps, None)


def test_the_backfill_reads_codes_from_the_sentences_stored_before() -> None:
    day = timezone.localdate()
    trace = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'member_id'"
    run = DecisionRun.objects.create(
        day=day,
        status=DecisionRun.Status.DONE,
        attempt=3,
        stats={
            "warnings": [
                "forecast model trained on 0 rows: every product is forecast by a baseline "
                "(moving average) tonight (5 days of history; the model needs 42 (28-day "
                "window + 14 observed target days))",
                "no weather for 上海 (history and horizon): stores 7, 9 forecast without weather",
                "something else entirely",
            ],
            "forecast": {
                "training_rows": 0,
                "fallback": "5 days of history; the model needs 42 (28-day window + 14 "
                "observed target days)",
                "backtest_error": "no backtest origin fits the panel (5 days observed; it "
                "needs 57)",
            },
        },
        error=(
            "attempt 1 on host-a:1 stopped renewing its lease at 2026-07-01 03:41:05 "
            "(20/200 stores done); attempt 2 on host-b:2 took over\n"
            f"{trace}\n"
            "attempt 2 failed; attempt 3 on host-c:3 resumed (40/200 stores done)"
        ),
    )
    untouched = DecisionRun.objects.create(
        day=day - dt.timedelta(days=1),
        status=DecisionRun.Status.DONE,
        stats={"forecast": {"fallback_reason": None, "backtest_skipped": None}},
    )

    _backfill()
    _backfill()  # a rerun changes nothing

    run.refresh_from_db()
    assert run.stats["warnings"] == [
        {
            "code": "model_untrained",
            "params": {"reason": "short_history", "days": 5, "needed": 42},
        },
        {
            "code": "weather_missing",
            "params": {"city": "上海", "stores": [7, 9], "history": True, "horizon": True},
        },
        "something else entirely",
    ]
    assert run.stats["forecast"] == {
        "training_rows": 0,
        "fallback_reason": {"reason": "short_history", "days": 5, "needed": 42},
        "backtest_skipped": {"reason": "short_history", "days": 5, "needed": 57},
    }
    assert run.events == [
        {
            "code": "taken_over",
            "params": {
                "attempt": 1,
                "worker": "host-a:1",
                "heartbeat": "2026-07-01T03:41:05+08:00",
                "stores_done": 20,
                "stores_total": 200,
                "by": "host-b:2",
            },
        },
        {"code": "failed", "params": {"attempt": 2, "exception": "KeyError: 'member_id'"}},
        {
            "code": "resumed",
            "params": {"attempt": 2, "by": "host-c:3", "stores_done": 40, "stores_total": 200},
        },
    ]
    assert run.error == trace
    with translation.override("en"):
        assert run.event_lines[-1] == (
            "Attempt 2 failed; attempt 3 on host-c:3 resumed it (40/200 stores done)."
        )
        assert run.backtest_note == "5 days of history; the backtest needs 57"
    untouched.refresh_from_db()
    assert (untouched.events, untouched.stats) == (
        [],
        {"forecast": {"fallback_reason": None, "backtest_skipped": None}},
    )
