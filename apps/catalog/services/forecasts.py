"""Demand forecasts: load sales panels set-wise, backtest, choose methods, forecast and store
with the suggested order quantities."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.catalog.analytics import forecast as fc
from apps.catalog.analytics.ordering import order_quantities
from apps.catalog.models import (
    Category,
    DecisionSettings,
    DemandForecast,
    ForecastBacktest,
    ForecastMethodChoice,
    Product,
    WeatherObservation,
)
from apps.catalog.selectors import product_facts, weather_rows
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.frames import date_column, float_column, int_column, queryset_frame
from apps.catalog.services.sources import NO_SOURCES, PlanningSources
from apps.stores.models import Order, Store
from apps.stores.selectors import order_lines_between, stock_on_hand

Progress = Callable[[str], None]
# Called between the steps of a long computation (each training origin, each backtest
# origin): the nightly run renews its lease there.
Heartbeat = Callable[[], None]
DEFAULT_CALIBRATION = {"q10": -1.2816, "q90": 1.2816, "sigma": 1.0}
BACKTEST_MAX_AGE = dt.timedelta(days=7)
# The model trains on up to a year of history when there is one (last year's festivals,
# seasons and promotions); the panel starts at the first day with a sale.
TRAINING_HISTORY_DAYS = 365
# A realised network discount below this (rounding of cents) is full price.
DISCOUNT_NOISE = 0.01


def daily_sales_and_paid(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
):
    """(store_id, product_id, local day, units, amount paid) of counted orders in [start, end),
    summed in SQL (line totals are after line discounts)."""
    return (
        order_lines_between(start=start, end=end, store_ids=store_ids)
        .order_by()
        .annotate(day=TruncDate("order__placed_at"))
        .values("order__store_id", "product_id", "day")
        .annotate(units=Sum("quantity"), paid=Sum("line_total"))
        .values_list("order__store_id", "product_id", "day", "units", "paid")
    )


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of a local day, timezone-aware."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class CategoryCodes:
    """Category id → small integer code for the model's categorical feature (stable for a run)."""

    by_category: dict[int, int]

    @classmethod
    def load(cls) -> CategoryCodes:
        ids = Category.objects.order_by("pk").values_list("pk", flat=True)
        return cls({pk: min(i, fc.MAX_CATEGORY_CODES) for i, pk in enumerate(ids)})

    def codes(self, category_ids: np.ndarray) -> np.ndarray:
        mapped = pd.Series(category_ids).map(self.by_category)
        return mapped.fillna(fc.MAX_CATEGORY_CODES).to_numpy(dtype=np.int64)

    def category_of(self, code: int) -> int | None:
        if code >= fc.MAX_CATEGORY_CODES:
            return None
        for category_id, value in self.by_category.items():
            if value == code:
                return category_id
        return None


def sales_panel_load(
    *,
    store_ids: list[int],
    end_day: dt.date,
    days: int,
    codes: CategoryCodes,
    sources: PlanningSources = NO_SOURCES,
    trim: bool = False,
) -> tuple[fc.Panel, pd.DataFrame]:
    """The daily sales of these stores over the `days` days before `end_day` (exclusive), one
    series per (store, active product) that sold in the window or has stock. With `trim` the
    panel starts at the first day with a sale (a long window over a short history).

    Prices: each series' paid ratio per day (line totals over units × the product's reference
    price, NaN without a sale), and the discount per product and day as realised across the
    panel's stores (1 − paid / reference, where it is at least 1 %), combined with the planned
    discount of `sources.promotion_plan` (the deeper wins; the plan alone on future days).
    A price promotion is planned chain-wide ahead of time, so on past days the realised
    network discount stands for the plan (docs/decisions.md, "Prices and promotions").

    Returns the panel (series sorted by store, then product) and a frame of the series'
    facts (store_id, product_id, category_id, is_new). The panel's promotion feature covers
    the window and the horizon after it, from `sources.promotion_grid` (planned promotions
    only, as known at the origin).
    """
    first_day = end_day - dt.timedelta(days=days)
    sales = queryset_frame(
        daily_sales_and_paid(
            start=day_start(first_day), end=day_start(end_day), store_ids=store_ids
        ),
        ["store_id", "product_id", "day", "units", "paid"],
    )
    if trim and len(sales):
        first_sale = date_column(sales, "day").min().date()
        if first_sale > first_day:
            days -= (first_sale - first_day).days
            first_day = first_sale
    stock = queryset_frame(
        stock_on_hand(store_ids=store_ids), ["store_id", "product_id", "on_hand"]
    )
    pairs = pd.concat(
        [
            pd.DataFrame(
                {
                    "store_id": int_column(sales, "store_id"),
                    "product_id": int_column(sales, "product_id"),
                }
            ),
            pd.DataFrame(
                {
                    "store_id": int_column(stock, "store_id")[float_column(stock, "on_hand") > 0],
                    "product_id": int_column(stock, "product_id")[
                        float_column(stock, "on_hand") > 0
                    ],
                }
            ),
        ]
    ).drop_duplicates()
    facts = pd.DataFrame.from_records(
        list(product_facts(product_ids=sorted(set(pairs["product_id"].tolist())))),
        columns=["product_id", "category_id", "is_new", "is_active", "created_at"],
    )
    facts = facts[facts["is_active"].astype(bool)]
    series = (
        pairs.merge(facts[["product_id", "category_id", "is_new"]], on="product_id")
        .sort_values(["store_id", "product_id"])
        .reset_index(drop=True)
    )
    matrix = np.zeros((len(series), days), dtype=np.float64)
    paid = np.zeros((len(series), days), dtype=np.float64)
    if len(sales) and len(series):
        position = pd.Series(
            np.arange(len(series)),
            index=pd.MultiIndex.from_frame(series[["store_id", "product_id"]]),
        )
        keys = pd.MultiIndex.from_arrays(
            [int_column(sales, "store_id"), int_column(sales, "product_id")]
        )
        rows = position.reindex(keys).to_numpy()
        columns = (date_column(sales, "day") - pd.Timestamp(first_day)).dt.days.to_numpy()
        units = float_column(sales, "units").to_numpy()
        keep = ~np.isnan(rows) & (columns >= 0) & (columns < days)
        np.add.at(matrix, (rows[keep].astype(np.int64), columns[keep]), units[keep])
        amounts = float_column(sales, "paid").to_numpy()
        np.add.at(paid, (rows[keep].astype(np.int64), columns[keep]), amounts[keep])
    store_ids_arr = series["store_id"].to_numpy(dtype=np.int64)
    product_ids_arr = series["product_id"].to_numpy(dtype=np.int64)
    cities, city_index = _store_cities(store_ids_arr)
    temp, rain, issued_temp, issued_rain = weather_arrays(
        cities=cities, first_day=first_day, days=days + fc.HORIZON
    )
    grid_args = {
        "store_ids": store_ids_arr,
        "product_ids": product_ids_arr,
        "first_day": first_day,
        "days": days + fc.HORIZON,
    }
    plan = sources.promotion_plan(**grid_args)
    paid_ratio, discount = _price_arrays(matrix, paid, product_ids_arr)
    kinds = None
    if plan is not None:
        discount = np.maximum(discount, plan.discount)
        kinds = np.stack(
            [
                plan.kinds[plan.kind_names.index(kind)]
                if kind in plan.kind_names
                else np.zeros_like(discount)
                for kind in fc.PROMOTION_KINDS
            ]
        )
    panel = fc.Panel(
        sales=matrix,
        first_day=first_day,
        store_ids=store_ids_arr,
        product_ids=product_ids_arr,
        category_codes=codes.codes(series["category_id"].to_numpy()),
        city_index=city_index,
        temp_max=temp,
        precipitation=rain,
        promotion=sources.promotion_grid(**grid_args),
        kinds=kinds,
        discount=discount,
        paid_ratio=paid_ratio,
        forecast_temp_max=issued_temp,
        forecast_precipitation=issued_rain,
    )
    return panel, series[["store_id", "product_id", "category_id", "is_new"]]


def _price_arrays(
    units: np.ndarray, paid: np.ndarray, product_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per series and observed day the paid ratio (paid / (units × the product's reference
    price), NaN without a sale or a price) [S, D]; per series and day of the panel and horizon
    the realised discount of its product across the panel's stores [S, D + HORIZON]: 1 − its
    unit price that day over its regular price, where that is at least DISCOUNT_NOISE (0 on
    the horizon). The regular price is the reference price, or the product's 90th-percentile
    daily unit price in the panel when that is lower (a reference price set above what the
    product ever sells at — stale, or never maintained — must not make every day a
    discount)."""
    count, days = units.shape
    discount = np.zeros((count, days + fc.HORIZON))
    if count == 0:
        return np.zeros((0, days)), discount
    reference = pd.Series(
        dict(
            Product.objects.filter(pk__in=np.unique(product_ids).tolist()).values_list(
                "pk", "price"
            )
        )
    )
    price = reference.reindex(product_ids).astype("float64").fillna(0.0).to_numpy()
    full = units * price[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        paid_ratio = np.where(full > 0, paid / full, np.nan)
    products, product_index = np.unique(product_ids, return_inverse=True)
    product_units = np.zeros((products.size, days))
    product_paid = np.zeros((products.size, days))
    np.add.at(product_units, product_index, units)
    np.add.at(product_paid, product_index, paid)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_price = np.where(product_units > 0, product_paid / product_units, np.nan)
    sold = ~np.isnan(unit_price).all(axis=1)
    typical = np.full(products.size, np.nan)
    if sold.any():
        typical[sold] = np.nanquantile(unit_price[sold], 0.9, axis=1)
    product_reference = np.zeros(products.size)
    np.maximum.at(product_reference, product_index, price)
    regular = np.where(product_reference > 0, np.fmin(product_reference, typical), typical)
    with np.errstate(invalid="ignore", divide="ignore"):
        realised = np.where(
            (regular[:, None] > 0) & ~np.isnan(unit_price), 1 - unit_price / regular[:, None], 0.0
        )
    realised = np.where(realised >= DISCOUNT_NOISE, np.clip(realised, 0.0, 0.9), 0.0)
    discount[:, :days] = realised[product_index]
    return paid_ratio, discount


def _store_cities(store_ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    city_of_store = dict(
        Store.objects.filter(pk__in=np.unique(store_ids).tolist()).values_list("pk", "region__city")
    )
    cities = sorted(set(city_of_store.values()))
    index = {city: i for i, city in enumerate(cities)}
    return cities, np.array([index[city_of_store[int(s)]] for s in store_ids], dtype=np.int64)


def weather_missing(*, store_ids: list[int], day: dt.date, history_days: int) -> list[dict]:
    """The stores' cities with no weather row (observed or forecast) in the history (the
    `history_days` before `day`) or in the horizon (`day` and the HORIZON - 1 days after):
    [{"city", "stores": [ids], "history": missing?, "horizon": missing?}] by city, only cities
    missing either. Their stores are forecast without weather (the model treats it as
    unknown); the nightly run records this for HQ. Two grouped queries."""
    stores_of: dict[str, list[int]] = {}
    for store_id, city in (
        Store.objects.filter(pk__in=store_ids).order_by("pk").values_list("pk", "region__city")
    ):
        stores_of.setdefault(city or "", []).append(store_id)
    if not stores_of:
        return []
    rows = WeatherObservation.objects.filter(city__in=list(stores_of)).order_by()
    with_history = set(
        rows.filter(day__gte=day - dt.timedelta(days=history_days), day__lt=day)
        .values_list("city", flat=True)
        .distinct()
    )
    with_horizon = set(
        rows.filter(day__gte=day, day__lt=day + dt.timedelta(days=fc.HORIZON))
        .values_list("city", flat=True)
        .distinct()
    )
    return [
        {
            "city": city,
            "stores": stores,
            "history": city not in with_history,
            "horizon": city not in with_horizon,
        }
        for city, stores in sorted(stores_of.items())
        if city not in with_history or city not in with_horizon
    ]


def weather_arrays(
    *, cities: list[str], first_day: dt.date, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Max temperature and precipitation [city, day]: observed where known, else the issued
    forecast, else NaN; then the same from the issued forecasts only (what a backtest's
    target days may see)."""
    shape = (max(len(cities), 1), days)
    temp, rain = np.full(shape, np.nan), np.full(shape, np.nan)
    issued_temp, issued_rain = np.full(shape, np.nan), np.full(shape, np.nan)
    if not cities:
        return temp, rain, issued_temp, issued_rain
    rows = list(
        weather_rows(
            cities=cities, first_day=first_day, last_day=first_day + dt.timedelta(days=days - 1)
        )
    )
    index = {city: i for i, city in enumerate(cities)}
    # Forecast rows first so observed rows overwrite them.
    for city, day, kind, temp_max, precipitation in sorted(
        rows, key=lambda row: row[2] != "forecast"
    ):
        column = (day - first_day).days
        temp[index[city], column] = float(temp_max)
        rain[index[city], column] = float(precipitation)
        if kind == "forecast":
            issued_temp[index[city], column] = float(temp_max)
            issued_rain[index[city], column] = float(precipitation)
    return temp, rain, issued_temp, issued_rain


def _sample_stores(store_ids: list[int], count: int, seed: int) -> list[int]:
    if len(store_ids) <= count:
        return sorted(store_ids)
    rng = np.random.default_rng(seed)
    return sorted(
        int(s) for s in rng.choice(np.array(sorted(store_ids)), size=count, replace=False)
    )


def last_sales_day(store_ids: list[int] | None = None) -> dt.date | None:
    """The local day of the latest counted order of these stores (all stores: None), or None
    when there is none."""
    orders = Order.objects.exclude(status__in=Order.VOID_STATUSES)
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    latest = orders.order_by("-placed_at").values_list("placed_at", flat=True).first()
    return None if latest is None else timezone.localdate(latest)


def open_store_ids() -> list[int]:
    return list(Store.objects.trading().order_by("pk").values_list("pk", flat=True))


class BacktestNotRun(ValueError):
    """The backtest could not run (not enough sales or history). The message is the program's,
    in English (logs, commands); `reason` is the same as a code and facts, stored in the run
    and worded for HQ in their language (`apps.catalog.models.backtest_skipped_text`)."""

    def __init__(self, message: str, *, reason: dict[str, object]) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass
class BacktestOutcome:
    backtest: ForecastBacktest | None
    result: fc.BacktestResult
    choices: dict[int, tuple[str, float | None, str, float | None]]
    codes: CategoryCodes


def forecast_backtest_run(
    *,
    end_day: dt.date | None = None,
    origins: int = 4,
    origin_step: int = 7,
    store_ids: list[int] | None = None,
    sample_stores: int = 40,
    max_rows: int = 200_000,
    save: bool = True,
    progress: Progress | None = None,
    sources: PlanningSources = NO_SOURCES,
    heartbeat: Heartbeat | None = None,
) -> BacktestOutcome:
    """Rolling-origin backtest of the model and the baselines on the sales before `end_day`
    (default: the day after the last day with sales, so a history that ended in the past is
    backtested where it has data), over a seeded sample of stores. With `save`, records a
    ForecastBacktest and each category's serving method (model only where it beats the best
    servable baseline)."""
    settings = decision_settings_get()
    started = time.perf_counter()
    codes = CategoryCodes.load()
    stores = _sample_stores(store_ids or open_store_ids(), sample_stores, seed=1)
    if end_day is None:
        last = last_sales_day(stores)
        if last is None:
            raise BacktestNotRun("no sales in the sampled stores", reason={"reason": "no_sales"})
        end_day = last + dt.timedelta(days=1)
    panel, _series = sales_panel_load(
        store_ids=stores,
        end_day=end_day,
        days=max(settings.history_days, TRAINING_HISTORY_DAYS),
        codes=codes,
        sources=sources,
        trim=True,
    )
    last = panel.last_origin - fc.HORIZON
    origin_indexes = [last - origin_step * k for k in range(origins)]
    if progress:
        progress(
            f"backtest: {panel.series_count} series in {len(stores)} stores, "
            f"{len(origin_indexes)} origins"
        )
    try:
        result = fc.backtest(
            panel,
            origin_indexes,
            max_rows=max_rows,
            history_days=TRAINING_HISTORY_DAYS,
            heartbeat=heartbeat,
        )
    except fc.ShortHistory as short:
        raise BacktestNotRun(
            str(short),
            reason={"reason": "short_history", "days": short.days_observed, "needed": short.needed},
        ) from short
    choices = fc.choose_methods(result)
    backtest = None
    if save:
        backtest = _backtest_record(
            result=result,
            choices=choices,
            codes=codes,
            duration=time.perf_counter() - started,
        )
    return BacktestOutcome(backtest=backtest, result=result, choices=choices, codes=codes)


def _backtest_record(
    *,
    result: fc.BacktestResult,
    choices: dict[int, tuple[str, float | None, str, float | None]],
    codes: CategoryCodes,
    duration: float,
) -> ForecastBacktest:
    metrics = result.metrics()
    # Keys by category id (not the run's codes) so the record reads without the mapping.
    metrics["categories"] = {
        str(codes.category_of(int(code))): value
        for code, value in metrics["categories"].items()
        if codes.category_of(int(code)) is not None
    }
    metrics["calibration"] = {
        str(codes.category_of(int(code))): value
        for code, value in metrics["calibration"].items()
        if codes.category_of(int(code)) is not None
    }
    with transaction.atomic():
        backtest = ForecastBacktest.objects.create(
            first_origin=result.origins[0],
            last_origin=result.origins[-1],
            origin_count=len(result.origins),
            horizon_days=fc.HORIZON,
            series_count=result.series_count,
            metrics=metrics,
            duration_s=round(duration, 3),
        )
        for code, (method, model_wape, best, best_wape) in sorted(choices.items()):
            category_id = codes.category_of(code)
            if category_id is None:
                continue
            ForecastMethodChoice.objects.update_or_create(
                category_id=category_id,
                defaults={
                    "backtest": backtest,
                    "method": method,
                    "model_wape": model_wape,
                    "best_baseline": best,
                    "best_baseline_wape": best_wape,
                    "chosen_at": backtest.created_at,
                },
            )
    return backtest


@dataclass
class TrainedForecast:
    """What a night needs to forecast any chunk of stores: the fitted model (None when the
    history is too short), each category's serving method and its residual calibration."""

    model: fc.ForecastModel | None
    codes: CategoryCodes
    methods: dict[int, str]  # category code → method
    default_method: str
    calibration: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    # What the night records in DecisionRun.stats["forecast"]: rows trained on, the features
    # used, and why the model or the backtest fell back (never swallowed silently).
    report: dict = field(default_factory=dict)

    def method_of(self, code: int) -> str:
        method = self.methods.get(code, self.default_method)
        if method == fc.MODEL and self.model is None:
            return fc.MOVING_AVERAGE
        return method

    def calibration_of(self, code: int, method: str) -> dict[str, float]:
        return self.calibration.get(code, {}).get(method, DEFAULT_CALIBRATION)


def forecast_model_train(
    *,
    day: dt.date,
    store_ids: list[int] | None = None,
    sample_stores: int = 40,
    max_rows: int = 200_000,
    backtest_if_stale: bool = True,
    progress: Progress | None = None,
    sources: PlanningSources = NO_SOURCES,
    heartbeat: Heartbeat | None = None,
) -> TrainedForecast:
    """Fit the global model on a seeded sample of stores with every target observed before
    `day`, and gather each category's serving method and calibration from the latest backtest
    (running one first when none is younger than a week and `backtest_if_stale`).

    Deterministic for the same data: seeded sampling, no early stopping. `heartbeat` is
    called at every training and backtest origin (and after each fit), never changing a result.
    """
    settings = decision_settings_get()
    codes = CategoryCodes.load()
    stores = store_ids if store_ids is not None else open_store_ids()
    # What the run keeps (stats["forecast"]) is facts and codes, worded when HQ reads the run
    # (apps/catalog/models/decisions.py): `fallback_reason`, why no model was trained (the
    # run's model_untrained warning), and `backtest_skipped`, why the backtest did not run.
    report: dict = {"training_rows": 0, "fallback_reason": None, "backtest_skipped": None}
    latest = ForecastBacktest.objects.order_by("-created_at").first()
    if backtest_if_stale and (
        latest is None or timezone.now() - latest.created_at > BACKTEST_MAX_AGE
    ):
        try:
            latest = forecast_backtest_run(
                end_day=day,
                origins=2,
                store_ids=stores,
                sample_stores=sample_stores,
                max_rows=max_rows,
                progress=progress,
                sources=sources,
                heartbeat=heartbeat,
            ).backtest
        except ValueError as error:
            # Not enough history yet: the last choices (or the 28-day mean) serve; recorded.
            report["backtest_skipped"] = getattr(error, "reason", None) or {
                "reason": "failed",
                "error": str(error),
            }
            if progress:
                progress(f"backtest skipped: {error}")
            latest = ForecastBacktest.objects.order_by("-created_at").first()
    # A sample of stores, not all: the fit's cost is set by its row budget (`max_rows`,
    # sampled evenly over the series of every training origin), which 40 whole stores fill
    # many times over; whole stores keep the pooled store × product features exact.
    sample = _sample_stores(stores, sample_stores, seed=2)
    panel, _series = sales_panel_load(
        store_ids=sample,
        end_day=day,
        days=max(settings.history_days, TRAINING_HISTORY_DAYS),
        codes=codes,
        sources=sources,
        trim=True,
    )
    model = None
    origins = fc.training_origins(
        panel.last_origin - fc.HORIZON, step=2, count=30, history_days=TRAINING_HISTORY_DAYS
    )
    # `fallback` says why in English, for the progress log only; `fallback_reason`, stored, is
    # the same as a code and figures, worded for HQ in their language (the run's warning).
    fallback = ""
    if not panel.series_count:
        fallback = "no series with sales or stock in the sampled stores"
        report["fallback_reason"] = {"reason": "no_series"}
    elif not origins:
        needed = fc.WINDOW + fc.HORIZON
        fallback = (
            f"{panel.days_observed} days of history; the model needs "
            f"{needed} (28-day window + 14 observed target days)"
        )
        report["fallback_reason"] = {
            "reason": "short_history",
            "days": panel.days_observed,
            "needed": needed,
        }
    else:
        try:
            model = fc.ForecastModel().fit(panel, origins, max_rows=max_rows, heartbeat=heartbeat)
        except ValueError as error:
            fallback = str(error)
            report["fallback_reason"] = {"reason": "fit_failed", "error": str(error)}
    if model is not None:
        report["training_rows"] = model.training_rows
        report["history_days"] = panel.days_observed
        report["unused_features"] = sorted(set(fc.FEATURES) - set(model.used_features))
    if progress:
        message = f"model: trained on {report['training_rows']} rows"
        if fallback:
            message += f"; baselines serve because {fallback}"
        progress(message)
    methods, calibration, default = _choices_and_calibration(latest, codes)
    return TrainedForecast(
        model=model,
        codes=codes,
        methods=methods,
        default_method=default,
        calibration=calibration,
        report=report,
    )


def _choices_and_calibration(
    backtest: ForecastBacktest | None, codes: CategoryCodes
) -> tuple[dict[int, str], dict[int, dict[str, dict[str, float]]], str]:
    if backtest is None:
        return {}, {}, fc.MOVING_AVERAGE
    methods = {
        codes.by_category[category_id]: method
        for category_id, method in ForecastMethodChoice.objects.values_list("category_id", "method")
        if category_id in codes.by_category
    }
    calibration = {
        codes.by_category[int(category_id)]: value
        for category_id, value in backtest.metrics.get("calibration", {}).items()
        if int(category_id) in codes.by_category
    }
    overall = backtest.metrics.get("overall", {})
    # Only a servable method may become the default: the backtest also reports gbm_median,
    # which is never served (it would forecast 0 for most series).
    ranked = sorted(
        (scores["wape"], method)
        for method, scores in overall.items()
        if method in fc.METHODS and scores.get("wape") is not None
    )
    default = ranked[0][1] if ranked else fc.MOVING_AVERAGE
    return methods, calibration, default


@dataclass
class ForecastBatch:
    """The forecasts of one chunk of stores, aligned with the panel's series."""

    series: pd.DataFrame  # store_id, product_id, category_id, is_new
    methods: np.ndarray  # [S] str
    daily: np.ndarray  # [S, H]
    lower: np.ndarray
    upper: np.ndarray
    sigma_daily: np.ndarray  # [S]
    on_hand: np.ndarray  # [S] int
    on_order: np.ndarray  # [S] int, from suppliers, not yet delivered
    lead_time: np.ndarray
    pack_size: np.ndarray  # the supplier's, shown as context; applied to the consolidated line
    min_order: np.ndarray
    shelf_life: np.ndarray  # [S] float, days; NaN where the product keeps
    demand_cover: np.ndarray  # forecast over lead time + review period
    safety_stock: np.ndarray
    suggested_qty: np.ndarray

    def subset(self, rows: np.ndarray) -> ForecastBatch:
        """These series only (a boolean mask or positions), in the same order."""
        return ForecastBatch(
            series=self.series.iloc[rows].reset_index(drop=True),
            **{
                item.name: getattr(self, item.name)[rows]
                for item in fields(self)
                if item.name != "series"
            },
        )


def forecasts_for_panel(
    *,
    trained: TrainedForecast,
    panel: fc.Panel,
    series: pd.DataFrame,
    settings: DecisionSettings,
    sources: PlanningSources = NO_SOURCES,
) -> ForecastBatch:
    """Forecast every series of the panel from its last observed day with its category's
    method, add intervals, σ and the suggested order quantity in units (lead time from
    `sources.supplier_terms`, shelf life from the product; the supplier's pack and minimum are
    kept as context only: they apply to the consolidated purchase-order line)."""
    count = panel.series_count
    origin = panel.last_origin
    daily = np.zeros((count, fc.HORIZON))
    methods = np.array(
        [trained.method_of(int(code)) for code in panel.category_codes], dtype=object
    )
    if count and origin >= fc.WINDOW - 1:
        baselines = fc.panel_baselines(panel, origin)
        for method, forecast in baselines.items():
            mask = methods == method
            daily[mask] = forecast[mask]
        model_rows = np.flatnonzero(methods == fc.MODEL)
        if model_rows.size:
            daily[model_rows] = trained.model.predict(panel, origin, model_rows)
    elif count:
        # Too little history for a 28-day window: the mean of what there is.
        daily[:] = panel.sales.mean(axis=1, keepdims=True) if panel.days_observed else 0.0
    calib = [
        trained.calibration_of(int(code), str(m))
        for code, m in zip(panel.category_codes, methods, strict=True)
    ]
    q10 = np.array([c["q10"] for c in calib])
    q90 = np.array([c["q90"] for c in calib])
    sigma = np.array([c["sigma"] for c in calib])
    lower, upper, sigma_daily = fc.interval_and_sigma(daily, q10, q90, sigma)
    sigma_daily = np.where(daily.sum(axis=1) > 0, sigma_daily, 0.0)
    on_hand, lead, pack, min_order, shelf_life = _replenishment_inputs(
        series, settings, sources=sources
    )
    today = panel.first_day + dt.timedelta(days=origin + 1)  # the first forecast day
    on_order = _on_order(series, sources=sources, today=today)
    demand, safety, quantity = order_quantities(
        daily_forecast=daily,
        lead_time_days=lead,
        review_period_days=settings.review_period_days,
        sigma_daily=sigma_daily,
        service_level=settings.service_level,
        on_hand=on_hand,
        on_order=on_order,
        shelf_life_days=shelf_life,
    )
    return ForecastBatch(
        series=series,
        methods=methods,
        daily=daily,
        lower=lower,
        upper=upper,
        sigma_daily=sigma_daily,
        on_hand=on_hand,
        on_order=on_order,
        lead_time=lead,
        pack_size=pack,
        min_order=min_order,
        shelf_life=shelf_life,
        demand_cover=demand,
        safety_stock=safety,
        suggested_qty=quantity,
    )


def _replenishment_inputs(
    series: pd.DataFrame, settings: DecisionSettings, *, sources: PlanningSources
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """On hand per series, the preferred supplier's lead time, pack size and minimum order
    per product from `sources.supplier_terms` (the settings' default lead time, packs of 1,
    minimum 1, when there is none), and the product's shelf life (NaN when it has none)."""
    store_ids = sorted(set(series["store_id"].tolist()))
    stock = queryset_frame(
        stock_on_hand(store_ids=store_ids), ["store_id", "product_id", "on_hand"]
    )
    if len(stock):
        stock = pd.DataFrame(
            {
                "store_id": int_column(stock, "store_id"),
                "product_id": int_column(stock, "product_id"),
                "on_hand": int_column(stock, "on_hand"),
            }
        )
    else:
        stock = pd.DataFrame({"store_id": [], "product_id": [], "on_hand": []}, dtype="int64")
    on_hand = (
        series[["store_id", "product_id"]]
        .merge(stock, on=["store_id", "product_id"], how="left")["on_hand"]
        .fillna(0)
        .clip(lower=0)
        .to_numpy(dtype=np.int64)
    )
    offers = sources.supplier_terms(product_ids=sorted(set(series["product_id"].tolist())))
    terms = series[["product_id"]].merge(offers, on="product_id", how="left")
    lead = terms["lead_time_days"].fillna(settings.default_lead_time_days).to_numpy(dtype=np.int64)
    pack = terms["pack_size"].fillna(1).to_numpy(dtype=np.int64)
    min_order = terms["min_order_qty"].fillna(1).to_numpy(dtype=np.int64)
    return on_hand, lead, pack, min_order, product_shelf_lives(series["product_id"])


def product_shelf_lives(product_ids: pd.Series) -> np.ndarray:
    """Each product's shelf life in days, aligned with `product_ids` (NaN: none recorded)."""
    if product_ids.empty:
        return np.zeros(0, dtype=np.float64)
    lives = dict(
        Product.objects.filter(
            pk__in=sorted(set(product_ids.tolist())), shelf_life_days__isnull=False
        ).values_list("pk", "shelf_life_days")
    )
    return product_ids.astype("int64").map(lives).to_numpy(dtype=np.float64, na_value=np.nan)


def _on_order(series: pd.DataFrame, *, sources: PlanningSources, today: dt.date) -> np.ndarray:
    """Units on order per series (`sources.on_order`; 0 where nothing is)."""
    if series.empty:
        return np.zeros(0, dtype=np.int64)
    ordered = sources.on_order(product_ids=sorted(set(series["product_id"].tolist())), today=today)
    if ordered.empty:
        return np.zeros(len(series), dtype=np.int64)
    ordered = ordered.astype({"store_id": "int64", "product_id": "int64", "on_order": "int64"})
    return (
        series[["store_id", "product_id"]]
        .astype("int64")
        .merge(ordered, on=["store_id", "product_id"], how="left")["on_order"]
        .fillna(0)
        .clip(lower=0)
        .to_numpy(dtype=np.int64)
    )


FORECAST_FIELDS = [
    "issued_on",
    "start_day",
    "method",
    "daily",
    "lower",
    "upper",
    "total",
    "sigma_daily",
    "on_hand",
    "on_order",
    "lead_time_days",
    "review_period_days",
    "safety_stock",
    "pack_size",
    "min_order_qty",
    "suggested_qty",
]


def demand_forecasts_store(
    *, batch: ForecastBatch, day: dt.date, store_ids: list[int], settings: DecisionSettings
) -> int:
    """Upsert one DemandForecast per series of the batch and delete the stores' forecasts of
    products no longer forecast. Idempotent: the same batch writes the same values."""

    def rounded(values: np.ndarray) -> list[float]:
        return [round(float(v), 3) for v in values]

    rows = [
        DemandForecast(
            store_id=int(store_id),
            product_id=int(product_id),
            issued_on=day,
            start_day=day,
            method=str(batch.methods[i]),
            daily=rounded(batch.daily[i]),
            lower=rounded(batch.lower[i]),
            upper=rounded(batch.upper[i]),
            total=round(float(batch.daily[i].sum()), 3),
            sigma_daily=round(float(batch.sigma_daily[i]), 4),
            on_hand=int(batch.on_hand[i]),
            on_order=int(batch.on_order[i]),
            lead_time_days=int(batch.lead_time[i]),
            review_period_days=settings.review_period_days,
            safety_stock=round(float(batch.safety_stock[i]), 3),
            pack_size=int(batch.pack_size[i]),
            min_order_qty=int(batch.min_order[i]),
            suggested_qty=int(batch.suggested_qty[i]),
        )
        for i, (store_id, product_id) in enumerate(
            zip(batch.series["store_id"], batch.series["product_id"], strict=True)
        )
    ]
    with transaction.atomic():
        DemandForecast.objects.bulk_create(
            rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["store", "product"],
            update_fields=FORECAST_FIELDS,
        )
        kept = pd.DataFrame(
            {"store_id": batch.series["store_id"], "product_id": batch.series["product_id"]}
        )
        for store_id in store_ids:
            products = kept.loc[kept["store_id"] == store_id, "product_id"].tolist()
            DemandForecast.objects.filter(store_id=store_id).exclude(
                product_id__in=products
            ).delete()
    return len(rows)


# History a chunk needs: the 28-day window plus same-weekday lags, the series' promotion
# figures (fc.SERIES_PROMO_DAYS) and its promotion memory (fc.PROMO_MEMORY_DAYS).
FEATURE_DAYS = max(fc.WINDOW + 14, fc.SERIES_PROMO_DAYS, fc.PROMO_MEMORY_DAYS)


@dataclass
class ChunkForecast:
    panel: fc.Panel
    batch: ForecastBatch
    stored: int = 0  # rows written (0 until `demand_forecasts_store` has written the batch)


def demand_forecasts_forecast(
    *,
    day: dt.date,
    store_ids: list[int],
    trained: TrainedForecast,
    sources: PlanningSources = NO_SOURCES,
    settings: DecisionSettings | None = None,
    pool_store_ids: list[int] | None = None,
) -> ChunkForecast:
    """Forecast the next 14 days (from `day`) of every active product of these stores, with
    suggested order quantities; reads and computes, writes nothing. The nightly run calls it
    before the chunk's write transaction, so that transaction holds the write lock only while
    it writes (on SQLite one writer at a time: web, worker and beat wait meanwhile).

    The model's pooled features and the realised discounts are taken across the panel's
    stores, so a store's figures depend on which stores share its panel: `pool_store_ids`
    (default: `store_ids`) are the stores the panel is built from, and only `store_ids`' series
    are returned. The nightly run passes a store's fixed pool (`decisions_pools`), so any run
    that computes a store gives it the same figures."""
    settings = settings or decision_settings_get()
    pool = sorted(set(store_ids) | set(pool_store_ids or ()))
    panel, series = sales_panel_load(
        store_ids=pool, end_day=day, days=FEATURE_DAYS, codes=trained.codes, sources=sources
    )
    batch = forecasts_for_panel(
        trained=trained, panel=panel, series=series, settings=settings, sources=sources
    )
    if len(pool) > len(set(store_ids)):
        rows = np.isin(batch.series["store_id"].to_numpy(), store_ids)
        panel, batch = panel.subset(rows), batch.subset(rows)
    return ChunkForecast(panel=panel, batch=batch)
