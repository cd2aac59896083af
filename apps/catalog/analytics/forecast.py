"""Demand forecasts per store × product × day, the baselines, and the rolling-origin backtest.

Pure numpy / pandas / scikit-learn on a dense panel: no ORM.

Model. One global HistGradientBoostingRegressor with Poisson loss for every series (direct
multi-horizon: one row per series × origin × horizon h = 1..14). Each row's features are
computed at the origin (the last observed day) and for the target day:

- recent sales: 28-day level, 7- and 14-day means, the same weekday's last value and 4-week
  mean, last day, share of zero days, each relative to the level; log of the level;
- pooled across the panel's series (28 days): the store's units per day × the product's share
  of all units (what the series would sell if its store had the network's mix — far less noisy
  than a slow seller's own level), relative to the level and as a log; the product's last-7-day
  trend across stores;
- calendar of the target day: weekday, day off, public holiday and which, make-up working
  day, days to the next / since the last public holiday (festival windows), holidays inside the
  origin's 28-day window;
- weather of the target day in the store's city: max temperature, its anomaly against the
  last 28 days, precipitation (observed for the past, the issued forecast for the future;
  missing is allowed);
  a column with no known value in the training rows is left out of the fit (a city without
  weather rows, a history without prices), and target days of a backtest see none;
- prices and promotions: the target day's known discount depth (realised on past days,
  planned on future ones) and its price relative to the window's, a flag per promotion kind
  (price, feature, broadcast, group buy) and any promotion on the target day, the window's
  share of promoted days and its unpromoted mean, the series' own price paid over its
  reference price and its recent change; the promotion memory — the series' mean units on
  the days of the last year in the target day's promotion state, relative to the level, and
  the share of the last year's days in that state (PROMO_MEMORY_DAYS);
- (`ForecastModel(promo_context=True)`, the default: see PROMO_CONTEXT_FEATURES) how
  promotions move this product and its shelf: the product's lift
  on promoted days across stores over the last year, the series' own lift and unpromoted mean
  over 8 weeks, and the target day's promotions of the other products of the same store and
  category;
- optionally (`ForecastModel(long_levels=True)`, off by default: see LONG_FEATURES), longer
  levels (a slow seller's 28 days are mostly noise): the means of the last 91, 182 and
  365 days (as many as the panel has) and exponentially weighted means (half-lives 14 and 56
  days), relative to the level, and the log of the 182-day mean; the pooled level over 91
  days; the target weekday's share of the product's units across stores and of the store's
  units over the last 13 weeks; the days since the series' last sale;
- the product category (categorical) and the horizon.

The model predicts the rate y / level with sample weight `level` (the Poisson "exposure"
trick), so one model serves fast and slow sellers alike; the forecast is rate × level, with
the rate capped at the 99.9th percentile of the training rows' rates.

Baselines: zero, the 28-day moving average, the 28-day average × the store's weekday profile,
the pooled level (store traffic × the product's share across the panel), seasonal naive (the
same weekday's last observed value) and the ERP rule "average daily demand × days of cover"
(the last 7 days' average per day, flat over the horizon). The backtest scores WAPE, bias and
MASE overall, per category and on promoted / unpromoted target days, and its headline is the
model against the best baseline.

Intervals: per category and method, quantiles of the standardised residual
(y − ŷ) / √(ŷ + 1) from the most recent backtest origin give the 10–90 % band and σ.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import poisson
from sklearn.ensemble import HistGradientBoostingRegressor

from apps.catalog.analytics.calendar import calendar_frame

HORIZON = 14
WINDOW = 28  # days of history a feature row needs before (and including) its origin
MODEL = "gbm"
ZERO = "zero"
SEASONAL_NAIVE = "seasonal_naive"
MOVING_AVERAGE = "moving_average_28"
MOVING_AVERAGE_WEEKDAY = "ma28_weekday"
POOLED = "pooled_level"
DAYS_OF_COVER = "days_of_cover"
# Every baseline of the backtest; the headline compares the model with the best of them.
BASELINES = (ZERO, MOVING_AVERAGE, MOVING_AVERAGE_WEEKDAY, POOLED, SEASONAL_NAIVE, DAYS_OF_COVER)
# Forecasting zero is a yardstick, never served (it would order nothing).
SERVABLE_BASELINES = tuple(method for method in BASELINES if method != ZERO)
METHODS = (MODEL, *SERVABLE_BASELINES)
# Kinds of planned promotion (campaigns.Promotion.Kind), one target-day flag each.
PROMOTION_KINDS = ("price", "feature", "broadcast", "group_buy")
# Segments of target days the backtest scores apart.
PROMOTED = "promoted"
UNPROMOTED = "unpromoted"
# Reported by the backtest, never served: the median of Poisson(model mean) as the point
# forecast. The median minimises absolute error, so on intermittent daily demand (most store ×
# product days sell 0 or 1) it scores a much lower WAPE than any mean forecast can; orders
# still use the mean and its error σ.
MODEL_MEDIAN = "gbm_median"
# Median point forecasts of the simple methods, reported beside the model's median so that a
# median is only ever compared with medians: the median of the 28 days' daily sales, and the
# Poisson medians of the 28-day mean and of the pooled level. Never served.
MEDIAN_28 = "median_28"
MOVING_AVERAGE_MEDIAN = "ma28_median"
POOLED_MEDIAN = "pooled_median"
MEDIAN_BASELINES = (MEDIAN_28, MOVING_AVERAGE_MEDIAN, POOLED_MEDIAN)
REPORTED = (MODEL, *BASELINES, MODEL_MEDIAN, *MEDIAN_BASELINES)
MAX_CATEGORY_CODES = 250
# The forecast rate's cap: this quantile of the training rows' rates (ForecastModel.max_rate).
RATE_CAP_QUANTILE = 0.999
# A discount deeper than this makes a day a promoted (price) day.
PROMOTED_DISCOUNT = 0.005
LEVEL_FLOOR = 0.05
RESIDUAL_SHIFT = 1.0
# Level estimates over longer windows than the 28 days (days), and exponentially weighted
# means (half-lives in days): a slow seller's 28-day mean is mostly noise.
LONG_WINDOWS = (91, 182, 365)
EWM_HALFLIVES = (14, 56)
# The long-level features (`_long_features`). Off unless the model is built with
# `long_levels=True`: on the Complete Journey they took the tuning stores' week-ahead error
# from 5.3 % to 9.6 % below the 4-week mean but the held-out stores' from 5.7 % to 3.9 %;
# with them a 20 000-row fit no longer learns the planted hot-weather lift for fruit (1.16×
# instead of > 1.5×); and the served forecast would need a year of history per chunk, not
# 42 days (docs/decisions.md, "Figures").
LONG_FEATURES = (
    "level_91_ratio",
    "level_182_ratio",
    "level_365_ratio",
    "log_level_long",
    "ewm_14_ratio",
    "ewm_56_ratio",
    "pooled_91_ratio",
    "log_pooled_91",
    "product_weekday_91",
    "store_weekday_91",
    "days_since_sale",
)

# How a product and its neighbours on the shelf answer promotions: the product's lift (units per
# promoted day over units per unpromoted day) across the panel's stores over the last year; the
# series' own lift and its mean on unpromoted days over the last 8 weeks (relative to the
# level); on the target day, the other products of the same store and category — their mean
# discount, their share on promotion, and the target's discount against theirs (a deal next
# to it takes its buyers). On by default (`promo_context=True`): the trees learn a planted
# per-product lift and a neighbour's price cut with them (tests). Added alone to the 40-row
# leaves they made a few promoted weeks blow up on Dominick's orange juice; with the promotion
# memory, 200 rows a leaf and the rate cap at RATE_CAP_QUANTILE they are part of the best
# served set-up measured there (docs/decisions.md, "Real weekly data"). A night's chunks need
# SERIES_PROMO_DAYS of history for them (`FEATURE_DAYS`); the product's lift comes with the
# fitted model.
PRODUCT_LIFT_DAYS = 365
SERIES_PROMO_DAYS = 56
# The promotion memory ("same_promo_ratio", "same_promo_share"): what the series sold on the
# days of the last PROMO_MEMORY_DAYS in the target day's promotion state — the same kinds
# (price — any discount counts —, feature, broadcast, group buy; or none). A chain
# repeats its deals: on Dominick's orange juice one brand's deal with a feature sold 10–40×
# its level while another's sold 3×, and "what it sold the last times it was featured on a
# deal" is what tells them apart.
PROMO_MEMORY_DAYS = 365
PROMO_MEMORY_FEATURES = ("same_promo_ratio", "same_promo_share")
PROMO_CONTEXT_FEATURES = (
    "product_promo_lift",
    "series_promo_lift",
    "base_long_ratio",
    "others_discount",
    "others_promoted",
    "discount_vs_others",
)

FEATURES = [
    "category",
    "horizon",
    "log_level",
    "ma7_ratio",
    "ma14_ratio",
    "same_weekday_ratio",
    "same_weekday_4w_ratio",
    "last_day_ratio",
    "zero_share",
    "pooled_ratio",
    "log_pooled_level",
    "pooled_trend",
    "weekday",
    "is_day_off",
    "is_public_holiday",
    "holiday_code",
    "is_makeup_workday",
    "days_to_holiday",
    "days_since_holiday",
    "origin_holidays_28",
    "temp_max",
    "temp_anomaly",
    "precipitation",
    "promotion",
    "kind_price",
    "kind_feature",
    "kind_broadcast",
    "kind_group_buy",
    "discount",
    "price_vs_window",
    "window_promo_share",
    "base_ratio",
    "paid_ratio_28",
    "paid_ratio_change",
    *PROMO_MEMORY_FEATURES,
    *LONG_FEATURES,
    *PROMO_CONTEXT_FEATURES,
]
# Only the category is categorical: weekday and holiday code as categoricals made the trees
# miss the holiday lift on known series (measured), as plain numbers they do not.
CATEGORICAL = ["category"]


@dataclass
class Panel:
    """Daily unit sales of S series (store × product) over D observed days.

    `sales[s, d]` is day `first_day + d`; the weather and promotion arrays run HORIZON days
    further (the future). Unknown weather is NaN.
    """

    sales: np.ndarray  # [S, D] float64
    first_day: dt.date
    store_ids: np.ndarray  # [S]
    product_ids: np.ndarray  # [S]
    category_codes: np.ndarray  # [S] small ints 0..MAX_CATEGORY_CODES
    city_index: np.ndarray  # [S] row of the weather arrays
    temp_max: np.ndarray  # [C, D + HORIZON]
    precipitation: np.ndarray  # [C, D + HORIZON]
    promotion: np.ndarray | None = None  # [S, D + HORIZON]; None = nothing planned
    # [len(PROMOTION_KINDS), S, D + HORIZON]: 1.0 where a promotion of that kind covers the day.
    kinds: np.ndarray | None = None
    # [S, D + HORIZON] the known discount depth (0.2 = sold 20 % below the reference price):
    # realised on past days, planned on future ones; None = full price throughout.
    discount: np.ndarray | None = None
    # [S, D] the price paid on the series' own lines over its reference price (units-weighted),
    # NaN on days without a sale; None = unknown.
    paid_ratio: np.ndarray | None = None
    # [C, D + HORIZON] the issued weather forecast kept for each day (NaN where none was
    # kept): what a backtest's target days may see instead of the observed weather.
    forecast_temp_max: np.ndarray | None = None
    forecast_precipitation: np.ndarray | None = None
    _calendar: pd.DataFrame | None = field(default=None, repr=False)
    _promoted: np.ndarray | None = field(default=None, repr=False)

    @property
    def series_count(self) -> int:
        return int(self.sales.shape[0])

    @property
    def days_observed(self) -> int:
        return int(self.sales.shape[1])

    @property
    def last_origin(self) -> int:
        return self.days_observed - 1

    def day(self, index: int) -> dt.date:
        return self.first_day + dt.timedelta(days=index)

    def index_of(self, day: dt.date) -> int:
        return (day - self.first_day).days

    @property
    def calendar(self) -> pd.DataFrame:
        if self._calendar is None:
            self._calendar = calendar_frame(self.first_day, self.days_observed + HORIZON)
        return self._calendar

    def subset(self, series: np.ndarray) -> Panel:
        return Panel(
            sales=self.sales[series],
            first_day=self.first_day,
            store_ids=self.store_ids[series],
            product_ids=self.product_ids[series],
            category_codes=self.category_codes[series],
            city_index=self.city_index[series],
            temp_max=self.temp_max,
            precipitation=self.precipitation,
            promotion=None if self.promotion is None else self.promotion[series],
            kinds=None if self.kinds is None else self.kinds[:, series],
            discount=None if self.discount is None else self.discount[series],
            paid_ratio=None if self.paid_ratio is None else self.paid_ratio[series],
            forecast_temp_max=self.forecast_temp_max,
            forecast_precipitation=self.forecast_precipitation,
            _calendar=self._calendar,
        )

    def promoted(self) -> np.ndarray:
        """[S, D + HORIZON] bool: a planned promotion of any kind, or a discount, that day
        (computed once per panel: the arrays it reads are not changed after the panel is built)."""
        if self._promoted is not None:
            return self._promoted
        shape = (self.series_count, self.days_observed + HORIZON)
        flags = np.zeros(shape, dtype=bool)
        if self.promotion is not None:
            flags |= self.promotion > 0
        if self.kinds is not None:
            flags |= (self.kinds > 0).any(axis=0)
        if self.discount is not None:
            flags |= self.discount > PROMOTED_DISCOUNT
        self._promoted = flags
        return flags


def _horizon_steps(horizon: int) -> np.ndarray:
    """Days back from the target to its most recent observed same weekday: 7 for h ≤ 7, 14…"""
    h = np.arange(1, horizon + 1)
    return 7 * np.ceil(h / 7).astype(np.int64)


def levels_at(sales: np.ndarray, origin: int) -> dict[str, np.ndarray]:
    """Per-series summaries of the window ending at `origin` (inclusive)."""
    window = sales[:, origin - WINDOW + 1 : origin + 1]
    return {
        "level": window.mean(axis=1),
        "ma7": sales[:, origin - 6 : origin + 1].mean(axis=1),
        "ma14": sales[:, origin - 13 : origin + 1].mean(axis=1),
        "zero_share": (window == 0).mean(axis=1),
        "last_day": sales[:, origin],
    }


def pooled_levels_at(panel: Panel, origin: int) -> dict[str, np.ndarray]:
    """Per series of the whole panel, what its store and product say across series (window
    ending at `origin`): `pooled` = the store's units per day × the product's share of all units
    in the panel's stores; `product_trend` = the product's last-7-day units over its 28-day
    units per day, across stores (1 where it sold nothing)."""
    return _pooled(panel.sales, origin, panel.store_ids, panel.product_ids)


def _pooled(
    sales: np.ndarray,
    origin: int,
    store_ids: np.ndarray,
    product_ids: np.ndarray,
    *,
    days: int = WINDOW,
) -> dict[str, np.ndarray]:
    first = max(0, origin - days + 1)
    span = origin + 1 - first
    window = sales[:, first : origin + 1].sum(axis=1)
    week = sales[:, origin - 6 : origin + 1].sum(axis=1)
    _stores, store_index = np.unique(store_ids, return_inverse=True)
    _products, product_index = np.unique(product_ids, return_inverse=True)
    store_total = np.bincount(store_index, weights=window)
    product_total = np.bincount(product_index, weights=window)
    product_week = np.bincount(product_index, weights=week)
    total = window.sum()
    share = product_total / total if total > 0 else np.zeros_like(product_total)
    trend = np.divide(
        product_week * span / 7,
        product_total,
        out=np.ones_like(product_total),
        where=product_total > 0,
    )
    return {
        "pooled": store_total[store_index] * share[product_index] / span,
        "product_trend": trend[product_index],
    }


def weekday_profile(
    sales: np.ndarray, origin: int, store_ids: np.ndarray | None = None
) -> np.ndarray:
    """Per series, its store's units on each weekday of the 28-day window over the store's mean
    weekday [S, 7], indexed by day index mod 7 (so no calendar is needed); 1 where the store
    sold nothing. Pooled over the store's series: a slow seller's own weekdays are noise."""
    window = sales[:, origin - WINDOW + 1 : origin + 1]
    phases = (np.arange(origin - WINDOW + 1, origin + 1) % 7)[None, :]
    if store_ids is None:
        store_ids = np.zeros(sales.shape[0], dtype=np.int64)
    _stores, store_index = np.unique(store_ids, return_inverse=True)
    totals = np.zeros((_stores.size, 7))
    per_phase = np.stack([window[:, phases[0] == k].sum(axis=1) for k in range(7)], axis=1)
    np.add.at(totals, store_index, per_phase)
    mean = totals.mean(axis=1, keepdims=True)
    profile = np.divide(totals, mean, out=np.ones_like(totals), where=mean > 0)
    return profile[store_index]


def baselines_at(
    sales: np.ndarray,
    origin: int,
    horizon: int = HORIZON,
    *,
    store_ids: np.ndarray | None = None,
    product_ids: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The baseline forecasts [S, horizon] made at `origin`: zero, the 28-day mean, the 28-day
    mean × its store's weekday profile, the pooled level (store traffic × the product's share
    across the panel's stores, as the model uses it), seasonal naive and days of cover.
    Without `store_ids` the series form one store; without `product_ids` each series is its
    own product (so the pooled level is the series' own mean)."""
    count = sales.shape[0]
    targets = origin + np.arange(1, horizon + 1)
    seasonal = sales[:, targets - _horizon_steps(horizon)]
    levels = levels_at(sales, origin)
    flat = np.ones((1, horizon))
    stores = np.zeros(count, dtype=np.int64) if store_ids is None else np.asarray(store_ids)
    products = np.arange(count) if product_ids is None else np.asarray(product_ids)
    pooled = _pooled(sales, origin, stores, products)["pooled"]
    profile = weekday_profile(sales, origin, stores)
    return {
        ZERO: np.zeros((count, horizon)),
        MOVING_AVERAGE: levels["level"][:, None] * flat,
        MOVING_AVERAGE_WEEKDAY: levels["level"][:, None] * profile[:, targets % 7],
        POOLED: pooled[:, None] * flat,
        SEASONAL_NAIVE: seasonal.astype(np.float64),
        DAYS_OF_COVER: levels["ma7"][:, None] * flat,
    }


def panel_baselines(panel: Panel, origin: int) -> dict[str, np.ndarray]:
    """`baselines_at` for every series of the panel, with its stores and products."""
    return baselines_at(
        panel.sales, origin, store_ids=panel.store_ids, product_ids=panel.product_ids
    )


def features_at(
    panel: Panel,
    origin: int,
    series: np.ndarray | None = None,
    horizon: int = HORIZON,
    *,
    weather_known_through: int | None = None,
    promo_context: bool = False,
    product_lifts: dict[int, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows for the given series at `origin`: X [n × horizon, F] (series-major, then
    h = 1..horizon) and the level per series [n].

    `promo_context`: compute the PROMO_CONTEXT_FEATURES (NaN columns otherwise: a model built
    without them does not use them, and the product lifts read a year of the whole panel).
    `product_lifts`: each product's promotion lift as `product_promo_lifts` gives it (a fitted
    model passes the ones it kept); computed on this panel at `origin` when None.

    `weather_known_through`: the target days after this day index get only the issued
    forecast kept for them (`panel.forecast_temp_max`), else no weather (NaN, "unknown" to the
    trees) — the backtest passes its origin, so target days never see the weather that was
    observed on them. The served forecast's panel holds issued forecasts for
    the future days, and training rows use the observed weather as the best forecast."""
    if origin < WINDOW - 1:
        raise ValueError(f"origin {origin} needs {WINDOW} days of history")
    rows = np.arange(panel.series_count) if series is None else np.asarray(series)
    sales = panel.sales[rows]
    n = rows.shape[0]
    levels = levels_at(sales, origin)
    level = levels["level"]
    safe = np.maximum(level, LEVEL_FLOOR)
    pooled = {name: values[rows] for name, values in pooled_levels_at(panel, origin).items()}
    targets = origin + np.arange(1, horizon + 1)
    steps = _horizon_steps(horizon)
    same_weekday = sales[:, targets - steps]
    four_weeks = np.mean([sales[:, targets - steps - 7 * k] for k in range(4)], axis=0)
    calendar = panel.calendar
    cal = {column: calendar[column].to_numpy()[targets] for column in calendar.columns}
    window_holidays = (
        calendar["is_public_holiday"].to_numpy()[origin - WINDOW + 1 : origin + 1].sum()
    )
    city = panel.city_index[rows]
    temp = panel.temp_max[city][:, targets]
    with warnings.catch_warnings():
        # A city without weather gives all-NaN rows: NaN features are expected there.
        warnings.simplefilter("ignore", category=RuntimeWarning)
        recent_temp = np.nanmean(panel.temp_max[city][:, origin - WINDOW + 1 : origin + 1], axis=1)
    rain = panel.precipitation[city][:, targets]
    if weather_known_through is not None:
        # Target days after the cut see the forecast issued for them, if one was kept.
        unknown = (targets > weather_known_through)[None, :]
        issued_temp, issued_rain = panel.forecast_temp_max, panel.forecast_precipitation
        temp = np.where(
            unknown, np.nan if issued_temp is None else issued_temp[city][:, targets], temp
        )
        rain = np.where(
            unknown, np.nan if issued_rain is None else issued_rain[city][:, targets], rain
        )
    promotion = (
        np.zeros((n, horizon)) if panel.promotion is None else panel.promotion[rows][:, targets]
    )
    kinds = (
        np.zeros((len(PROMOTION_KINDS), n, horizon))
        if panel.kinds is None
        else panel.kinds[:, rows][:, :, targets]
    )
    price = _price_features(panel, rows, sales, origin, targets)
    memory = _promo_memory(panel, rows, sales, origin, targets)
    long = _long_features(panel, rows, origin, targets)
    if promo_context:
        context = _promo_context(panel, rows, origin, targets, product_lifts)
    else:
        context = {
            name: np.full((n, horizon) if name.startswith("others") else n, np.nan)
            for name in (
                "product_lift",
                "series_lift",
                "base_promo_days",
                "others_discount",
                "others_promoted",
            )
        }

    def per_series(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, horizon)

    def per_day(values: np.ndarray) -> np.ndarray:
        return np.tile(values, n)

    columns = {
        "category": per_series(panel.category_codes[rows]),
        "horizon": per_day(np.arange(1, horizon + 1)),
        "log_level": per_series(np.log(safe)),
        "ma7_ratio": per_series(levels["ma7"] / safe),
        "ma14_ratio": per_series(levels["ma14"] / safe),
        "same_weekday_ratio": (same_weekday / safe[:, None]).ravel(),
        "same_weekday_4w_ratio": (four_weeks / safe[:, None]).ravel(),
        "last_day_ratio": per_series(levels["last_day"] / safe),
        "zero_share": per_series(levels["zero_share"]),
        "pooled_ratio": per_series(pooled["pooled"] / safe),
        "log_pooled_level": per_series(np.log(np.maximum(pooled["pooled"], LEVEL_FLOOR / 10))),
        "pooled_trend": per_series(pooled["product_trend"]),
        "weekday": per_day(cal["weekday"]),
        "is_day_off": per_day(cal["is_day_off"]),
        "is_public_holiday": per_day(cal["is_public_holiday"]),
        "holiday_code": per_day(cal["holiday_code"]),
        "is_makeup_workday": per_day(cal["is_makeup_workday"]),
        "days_to_holiday": per_day(cal["days_to_holiday"]),
        "days_since_holiday": per_day(cal["days_since_holiday"]),
        "origin_holidays_28": np.full(n * horizon, window_holidays),
        "temp_max": temp.ravel(),
        "temp_anomaly": (temp - recent_temp[:, None]).ravel(),
        "precipitation": rain.ravel(),
        "promotion": promotion.ravel(),
        **{f"kind_{kind}": kinds[k].ravel() for k, kind in enumerate(PROMOTION_KINDS)},
        "discount": price["discount"].ravel(),
        "price_vs_window": price["price_vs_window"].ravel(),
        "window_promo_share": per_series(price["window_promo_share"]),
        "base_ratio": per_series(price["base"] / safe),
        "paid_ratio_28": per_series(price["paid_ratio_28"]),
        "paid_ratio_change": per_series(price["paid_ratio_change"]),
        "same_promo_ratio": (memory["mean"] / safe[:, None]).ravel(),
        "same_promo_share": memory["share"].ravel(),
        **{
            f"level_{days}_ratio": per_series(long[f"level_{days}"] / safe) for days in LONG_WINDOWS
        },
        "log_level_long": per_series(np.log(np.maximum(long["level_182"], LEVEL_FLOOR / 10))),
        **{
            f"ewm_{halflife}_ratio": per_series(long[f"ewm_{halflife}"] / safe)
            for halflife in EWM_HALFLIVES
        },
        "pooled_91_ratio": per_series(long["pooled_91"] / safe),
        "log_pooled_91": per_series(np.log(np.maximum(long["pooled_91"], LEVEL_FLOOR / 10))),
        "product_weekday_91": long["product_weekday"].ravel(),
        "store_weekday_91": long["store_weekday"].ravel(),
        "days_since_sale": per_series(long["days_since_sale"]),
        "product_promo_lift": per_series(context["product_lift"]),
        "series_promo_lift": per_series(context["series_lift"]),
        "base_long_ratio": per_series(context["base_promo_days"] / safe),
        "others_discount": context["others_discount"].ravel(),
        "others_promoted": context["others_promoted"].ravel(),
        "discount_vs_others": (price["discount"] - context["others_discount"]).ravel(),
    }
    matrix = np.column_stack([columns[name].astype(np.float32) for name in FEATURES])
    return matrix, level


def _window_mean(sales: np.ndarray, origin: int, days: int) -> np.ndarray:
    """Mean per series of the `days` days up to `origin`, or of the days the panel has when it
    is shorter (a panel starts at its first day with a sale)."""
    return sales[:, max(0, origin - days + 1) : origin + 1].mean(axis=1)


def _weekday_shares(sales: np.ndarray, origin: int, days: int, groups: np.ndarray) -> np.ndarray:
    """Per group, its units on each weekday phase (day index mod 7) of the long window over its
    mean per phase [G, 7]; 1 where the group sold nothing. Whole weeks only, so every phase
    counts the same number of days."""
    span = 7 * (min(days, origin + 1) // 7)
    first = origin - span + 1
    window = sales[:, first : origin + 1]
    phases = np.arange(first, origin + 1) % 7
    per_phase = np.stack([window[:, phases == k].sum(axis=1) for k in range(7)], axis=1)
    _groups, index = np.unique(groups, return_inverse=True)
    totals = np.zeros((_groups.size, 7))
    np.add.at(totals, index, per_phase)
    mean = totals.mean(axis=1, keepdims=True)
    profile = np.divide(totals, mean, out=np.ones_like(totals), where=mean > 0)
    return profile[index]


def _long_features(
    panel: Panel, rows: np.ndarray, origin: int, targets: np.ndarray
) -> dict[str, np.ndarray]:
    """Level estimates over more than the 28-day window, where a slow seller's own 28 days
    are mostly noise: the means of the last 91 / 182 / 365 days (as many as the panel has),
    exponentially weighted means (half-lives of 14 and 56 days), the pooled level over 91
    days (the store's units per day × the product's share across the panel's stores), the
    target weekday's share of the product's units across stores and of the store's units over
    the last 13 weeks, and the days since the series' last sale (capped at a year)."""
    sales = panel.sales
    result: dict[str, np.ndarray] = {
        f"level_{days}": _window_mean(sales[rows], origin, days) for days in LONG_WINDOWS
    }
    span = min(origin + 1, 365)
    recent = sales[rows][:, origin - span + 1 : origin + 1]
    age = np.arange(span - 1, -1, -1, dtype=np.float64)
    for halflife in EWM_HALFLIVES:
        weights = 0.5 ** (age / halflife)
        result[f"ewm_{halflife}"] = recent @ weights / weights.sum()
    result["pooled_91"] = _pooled(sales, origin, panel.store_ids, panel.product_ids, days=91)[
        "pooled"
    ][rows]
    phase = targets % 7
    product_profile = _weekday_shares(sales, origin, 91, panel.product_ids)[rows]
    store_profile = _weekday_shares(sales, origin, 91, panel.store_ids)[rows]
    result["product_weekday"] = product_profile[:, phase]
    result["store_weekday"] = store_profile[:, phase]
    sold = recent > 0
    last = np.where(sold.any(axis=1), span - 1 - np.argmax(sold[:, ::-1], axis=1), -1)
    result["days_since_sale"] = np.where(last >= 0, span - 1 - last, 365).astype(np.float64)
    return result


def _promo_codes(panel: Panel, rows: np.ndarray, days: np.ndarray) -> np.ndarray:
    """[n, len(days)] the promotion state of each row's days: a bit per promotion kind, where
    any discount counts as a price promotion (a past day's realised discount and a planned
    price cut are the same state)."""
    cells = np.ix_(rows, days)
    code = np.zeros((rows.shape[0], days.shape[0]), dtype=np.int64)
    if panel.kinds is not None:
        for k in range(len(PROMOTION_KINDS)):
            code |= (panel.kinds[k][cells] > 0).astype(np.int64) << k
    if panel.discount is not None:
        cut = np.nan_to_num(panel.discount[cells]) > PROMOTED_DISCOUNT
        code |= cut.astype(np.int64) << PROMOTION_KINDS.index("price")
    return code


def _promo_memory(
    panel: Panel, rows: np.ndarray, sales: np.ndarray, origin: int, targets: np.ndarray
) -> dict[str, np.ndarray]:
    """For each row and target day [n, H]: the series' mean units on the days of the last
    PROMO_MEMORY_DAYS in the same promotion state as the target day (NaN where there was
    none), and the share of those days in that state (a share, not a count of days: a count
    grows with the history and the trees read it as a clock)."""
    n = rows.shape[0]
    first = max(0, origin - PROMO_MEMORY_DAYS + 1)
    past_code = _promo_codes(panel, rows, np.arange(first, origin + 1))
    target_code = _promo_codes(panel, rows, targets)
    states = 2 ** len(PROMOTION_KINDS)
    cell = (np.arange(n)[:, None] * states + past_code).ravel()
    sums = np.bincount(cell, weights=sales[:, first : origin + 1].ravel(), minlength=n * states)
    counts = np.bincount(cell, minlength=n * states).astype(np.float64)
    target_cell = np.arange(n)[:, None] * states + target_code
    days = counts[target_cell]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(days > 0, sums[target_cell] / days, np.nan)
    return {"mean": mean, "share": days / (origin + 1 - first)}


def _promo_sums(
    sales: np.ndarray, promoted: np.ndarray, origin: int, days: int
) -> tuple[np.ndarray, ...]:
    """Per series over the `days` days up to `origin` (as many as the panel has): units on
    promoted days, promoted days, units on unpromoted days, unpromoted days."""
    first = max(0, origin - days + 1)
    flags = promoted[:, first : origin + 1]
    window = sales[:, first : origin + 1]
    promo_units = (window * flags).sum(axis=1)
    promo_days = flags.sum(axis=1).astype(np.float64)
    return promo_units, promo_days, window.sum(axis=1) - promo_units, flags.shape[1] - promo_days


def _lift(
    promo_units: np.ndarray, promo_days: np.ndarray, quiet_units: np.ndarray, quiet_days: np.ndarray
) -> np.ndarray:
    """Mean units per promoted day over mean units per unpromoted day; NaN where either kind of
    day is missing or nothing sold unpromoted."""
    with np.errstate(invalid="ignore", divide="ignore"):
        quiet = quiet_units / quiet_days
        value = (promo_units / promo_days) / quiet
    return np.where((promo_days > 0) & (quiet_days > 0) & (quiet > 0), value, np.nan)


def product_promo_lifts(panel: Panel, origin: int) -> dict[int, float]:
    """Per product of the panel, its promotion lift across the panel's stores over the
    PRODUCT_LIFT_DAYS days up to `origin` (products without one are left out). The model keeps
    these from its fit so that a forecast of a few stores with a short history reads the same
    figure the training rows did."""
    sums = _promo_sums(panel.sales, panel.promoted(), origin, PRODUCT_LIFT_DAYS)
    products, index = np.unique(panel.product_ids, return_inverse=True)
    lifts = _lift(*(np.bincount(index, weights=values, minlength=products.size) for values in sums))
    return {
        int(product): float(lift)
        for product, lift in zip(products, lifts, strict=True)
        if not np.isnan(lift)
    }


def _promo_context(
    panel: Panel,
    rows: np.ndarray,
    origin: int,
    targets: np.ndarray,
    product_lifts: dict[int, float] | None = None,
) -> dict[str, np.ndarray]:
    """See PROMO_CONTEXT_FEATURES: the product's lift (from `product_lifts` when given, else
    computed on the panel at `origin`), the series' own lift and unpromoted mean over the last
    SERIES_PROMO_DAYS days, and the other series of the same store and category on each target
    day (their mean discount and share promoted)."""
    promoted = panel.promoted()
    if product_lifts is None:
        product_lifts = product_promo_lifts(panel, origin)
    product_lift = np.array(
        [product_lifts.get(int(product), np.nan) for product in panel.product_ids[rows]]
    )
    promo_units, promo_days, quiet_units, quiet_days = _promo_sums(
        panel.sales[rows], promoted[rows], origin, SERIES_PROMO_DAYS
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.where(quiet_days > 0, quiet_units / quiet_days, np.nan)
    groups = panel.store_ids.astype(np.int64) * (MAX_CATEGORY_CODES + 1) + panel.category_codes
    group_values, group_index = np.unique(groups, return_inverse=True)
    others = np.maximum(np.bincount(group_index) - 1, 1)[group_index[rows], None]
    discount = (
        np.zeros((panel.series_count, targets.size))
        if panel.discount is None
        else np.nan_to_num(panel.discount[:, targets])
    )

    def others_mean(values: np.ndarray) -> np.ndarray:
        totals = np.zeros((group_values.size, targets.size))
        np.add.at(totals, group_index, values)
        return (totals[group_index[rows]] - values[rows]) / others

    return {
        "product_lift": product_lift,
        "series_lift": _lift(promo_units, promo_days, quiet_units, quiet_days),
        "base_promo_days": base,
        "others_discount": others_mean(discount),
        "others_promoted": others_mean(promoted[:, targets].astype(np.float64)),
    }


def _price_features(
    panel: Panel, rows: np.ndarray, sales: np.ndarray, origin: int, targets: np.ndarray
) -> dict[str, np.ndarray]:
    """Price and promotion features of the rows at `origin`:

    - `discount` [n, H]: the target day's known discount depth (planned for future days);
    - `price_vs_window` [n, H]: the target day's price over the mean price of the 28-day
      window (both relative to the reference price) — the level was sold at the window's
      prices, so this is the price change the forecast must carry;
    - `window_promo_share` [n]: share of the window's days on promotion;
    - `base` [n]: mean units on the window's unpromoted days (the level without the lift;
      the level itself where every day was promoted);
    - `paid_ratio_28` [n]: units-weighted price paid over the reference price in the window
      (NaN without sales or prices); `paid_ratio_change` [n]: last 7 days' over the 21 before
      (a recent price change; NaN where either is unknown)."""
    n = rows.shape[0]
    first = origin - WINDOW + 1
    days = panel.days_observed + HORIZON
    discount = (
        np.zeros((n, days)) if panel.discount is None else np.nan_to_num(panel.discount[rows])
    )
    promoted = panel.promoted()[rows] if n else np.zeros((0, days), dtype=bool)
    window_discount = discount[:, first : origin + 1].mean(axis=1)
    target_discount = discount[:, targets]
    window_promoted = promoted[:, first : origin + 1]
    quiet = ~window_promoted
    window_sales = sales[:, first : origin + 1]
    quiet_days = quiet.sum(axis=1)
    base = np.where(
        quiet_days > 0,
        (window_sales * quiet).sum(axis=1) / np.maximum(quiet_days, 1),
        window_sales.mean(axis=1),
    )
    paid_28 = np.full(n, np.nan)
    paid_change = np.full(n, np.nan)
    if panel.paid_ratio is not None and n:
        paid = panel.paid_ratio[rows][:, first : origin + 1]
        known = ~np.isnan(paid) & (window_sales > 0)
        weights = np.where(known, window_sales, 0.0)
        values = np.where(known, paid, 0.0)

        def weighted(columns: slice) -> np.ndarray:
            total = weights[:, columns].sum(axis=1)
            return np.divide(
                (values[:, columns] * weights[:, columns]).sum(axis=1),
                total,
                out=np.full(n, np.nan),
                where=total > 0,
            )

        paid_28 = weighted(slice(None))
        recent, before = weighted(slice(WINDOW - 7, None)), weighted(slice(None, WINDOW - 7))
        with np.errstate(invalid="ignore", divide="ignore"):
            paid_change = np.where(before > 0, recent / before, np.nan)
    return {
        "discount": target_discount,
        "price_vs_window": (1 - target_discount) / np.maximum(1 - window_discount[:, None], 0.05),
        "window_promo_share": window_promoted.mean(axis=1),
        "base": base,
        "paid_ratio_28": paid_28,
        "paid_ratio_change": paid_change,
    }


@dataclass
class ForecastModel:
    """The global model; `fit` then `predict`."""

    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    # 200 rows a leaf, not 40: with fewer, a leaf fitted to a handful of promoted weeks carried
    # their lift to unlike rows (docs/decisions.md, "Real weekly data").
    min_samples_leaf: int = 200
    random_state: int = 0
    # Train on the LONG_FEATURES too (see there why they are off by default).
    long_levels: bool = False
    # Train on the PROMO_CONTEXT_FEATURES too (see there).
    promo_context: bool = True
    estimator: HistGradientBoostingRegressor | None = None
    training_rows: int = 0
    # Indexes into FEATURES of the columns the trees use: a column without a single known
    # value in the training rows (no weather rows for the stores' cities, no prices) is left
    # out, so a missing signal never stops the model from training.
    columns: list[int] = field(default_factory=list)
    # The RATE_CAP_QUANTILE of the rates (units over the level) of the training rows:
    # `predict` never forecasts a higher one. A Poisson tree can blow up on a row unlike any
    # it was trained on — on Dominick's weekly data a store back from three missing weeks got
    # a rate of 431 532 (a forecast of 52 million units for a week that sold 17 856) — and one
    # such row outweighs every other error. The highest training rate was not enough of a
    # guard: one series' rate of 620 let featured deals be forecast at 620× their level.
    max_rate: float = math.inf
    # With `promo_context`, each product's promotion lift on the fit's panel as of its last
    # training target day (`product_promo_lifts`): what `predict` reads, so that a forecast of
    # a few stores and a few weeks of history (a night's chunk) sees the figure the training
    # rows were built with.
    product_lifts: dict[int, float] = field(default_factory=dict)

    def fit(
        self,
        panel: Panel,
        origins: list[int],
        *,
        max_rows: int = 200_000,
        seed: int = 0,
        heartbeat: Callable[[], None] | None = None,
    ) -> ForecastModel:
        """Train on feature rows at each origin (whose targets must all be observed). Series
        without sales in an origin's window are left out (their forecast is 0 anyway); when
        there are more rows than `max_rows`, series are sampled per origin (seeded).

        `heartbeat` is called after each origin's rows and after the trees are grown (a
        caller holding a lease renews it there); it must not touch the model's inputs."""
        rng = np.random.default_rng(seed)
        origins = [o for o in origins if o >= WINDOW - 1 and o + HORIZON <= panel.last_origin]
        if not origins:
            raise ValueError("no training origin with a full window and observed targets")
        per_origin = max(1, max_rows // (len(origins) * HORIZON))
        blocks, rates, weights = [], [], []
        for origin in origins:
            level = panel.sales[:, origin - WINDOW + 1 : origin + 1].mean(axis=1)
            candidates = np.flatnonzero(level > 0)
            if candidates.size == 0:
                continue
            if candidates.size > per_origin:
                candidates = np.sort(rng.choice(candidates, size=per_origin, replace=False))
            matrix, series_level = features_at(
                panel, origin, candidates, promo_context=self.promo_context
            )
            actual = panel.sales[candidates][:, origin + 1 : origin + HORIZON + 1]
            safe = np.maximum(series_level, LEVEL_FLOOR)
            blocks.append(matrix)
            rates.append((actual / safe[:, None]).ravel())
            weights.append(np.repeat(safe, HORIZON))
            if heartbeat is not None:
                heartbeat()
        if not blocks:
            raise ValueError("no series with sales to train on")
        matrix = np.vstack(blocks)
        self.columns = [
            i
            for i in range(matrix.shape[1])
            if not np.isnan(matrix[:, i]).all()
            and (self.long_levels or FEATURES[i] not in LONG_FEATURES)
            and (self.promo_context or FEATURES[i] not in PROMO_CONTEXT_FEATURES)
        ]
        matrix = matrix[:, self.columns]
        categorical = [FEATURES.index(name) for name in CATEGORICAL]
        self.estimator = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=1.0,
            categorical_features=[self.columns.index(i) for i in categorical if i in self.columns]
            or None,
            early_stopping=False,
            random_state=self.random_state,
        )
        target = np.concatenate(rates)
        self.estimator.fit(matrix, target, sample_weight=np.concatenate(weights))
        if heartbeat is not None:
            heartbeat()
        self.training_rows = int(matrix.shape[0])
        self.max_rate = float(np.quantile(target, RATE_CAP_QUANTILE))
        if self.promo_context:
            self.product_lifts = product_promo_lifts(panel, max(origins) + HORIZON)
        return self

    @property
    def used_features(self) -> list[str]:
        return [FEATURES[i] for i in self.columns]

    def predict(
        self,
        panel: Panel,
        origin: int,
        series: np.ndarray | None = None,
        *,
        weather_known_through: int | None = None,
    ) -> np.ndarray:
        """Forecast [n, HORIZON] of the series at `origin` (0 where the level is 0)."""
        if self.estimator is None:
            raise RuntimeError("fit the model first")
        matrix, level = features_at(
            panel,
            origin,
            series,
            weather_known_through=weather_known_through,
            promo_context=self.promo_context,
            product_lifts=self.product_lifts,
        )
        if matrix.shape[0] == 0:
            return np.zeros((0, HORIZON))
        with np.errstate(over="ignore"):  # an overflow is capped like any other blow-up
            rate = self.estimator.predict(matrix[:, self.columns]).reshape(-1, HORIZON)
        rate = np.minimum(rate, self.max_rate)
        forecast = rate * np.maximum(level, LEVEL_FLOOR)[:, None]
        forecast[level <= 0] = 0.0
        return forecast


def training_origins(
    last_target_origin: int, *, step: int = 2, count: int = 40, history_days: int = 0
) -> list[int]:
    """Origins whose 14 targets end on or before `last_target_origin + HORIZON`: the latest
    `count` of them, `step` days apart, newest first; then, going back up to `history_days`
    before the newest (a year of history when there is one), one origin a week, so the trees
    see last year's festivals and seasons and more promotions."""
    origins = [last_target_origin - step * i for i in range(count)]
    if history_days:
        oldest = last_target_origin - step * (count - 1)
        origins += list(range(oldest - 7, last_target_origin - history_days, -7))
    return [o for o in origins if o >= WINDOW - 1]


@dataclass
class MethodScores:
    """Sums that add up across origins and series: |error|, signed error (forecast − actual),
    actual, and the MASE scale (the in-sample seasonal-naive MAE per scored day)."""

    absolute_error: float = 0.0
    actual: float = 0.0
    scale: float = 0.0
    signed_error: float = 0.0

    def add(
        self, absolute_error: float, actual: float, scale: float, signed_error: float = 0.0
    ) -> None:
        self.absolute_error += absolute_error
        self.actual += actual
        self.scale += scale
        self.signed_error += signed_error

    @property
    def wape(self) -> float | None:
        return None if self.actual <= 0 else self.absolute_error / self.actual

    @property
    def bias(self) -> float | None:
        """Σ(ŷ − y) / Σy: +0.1 = forecasts 10 % too high on the whole."""
        return None if self.actual <= 0 else self.signed_error / self.actual

    @property
    def mase(self) -> float | None:
        return None if self.scale <= 0 else self.absolute_error / self.scale


def best_baseline(scores: dict[str, MethodScores]) -> tuple[str, float] | None:
    """The baseline with the lowest WAPE among those scored, with its WAPE (None if none)."""
    ranked = sorted(
        (scores[m].wape, m) for m in BASELINES if m in scores and scores[m].wape is not None
    )
    return None if not ranked else (ranked[0][1], ranked[0][0])


def improvement(model: float | None, baseline: float | None) -> float | None:
    """1 − model / baseline WAPE (0.123 = the model's WAPE is 12.3 % lower)."""
    if model is None or not baseline:
        return None
    return 1 - model / baseline


@dataclass
class BacktestResult:
    origins: list[dt.date]
    series_count: int
    overall: dict[str, MethodScores]
    categories: dict[int, dict[str, MethodScores]]
    calibration: dict[int, dict[str, dict[str, float]]]  # category → method → q10, q90, sigma
    # PROMOTED / UNPROMOTED target days (a promotion of any kind or a discount on the day).
    segments: dict[str, dict[str, MethodScores]] = field(default_factory=dict)

    def headline(self) -> dict[str, float | str | None]:
        """The model's WAPE against the best baseline's, overall."""
        best = best_baseline(self.overall)
        model = self.overall[MODEL].wape
        return {
            "best_baseline": best[0] if best else None,
            "best_baseline_wape": best[1] if best else None,
            "model_wape": model,
            "improvement": improvement(model, best[1] if best else None),
        }

    def metrics(self) -> dict:
        """JSON-ready WAPE / bias / MASE per method: overall, per category code and per
        segment (promoted and unpromoted days), and the headline."""

        def pack(scores: dict[str, MethodScores]) -> dict[str, dict[str, float | None]]:
            return {
                method: {
                    "wape": score.wape,
                    "bias": score.bias,
                    "mase": score.mase,
                    "actual": score.actual,
                }
                for method, score in scores.items()
            }

        return {
            "overall": pack(self.overall),
            "categories": {str(code): pack(scores) for code, scores in self.categories.items()},
            "segments": {name: pack(scores) for name, scores in self.segments.items()},
            "headline": self.headline(),
            "calibration": {str(code): methods for code, methods in self.calibration.items()},
        }


def poisson_median(mean: np.ndarray) -> np.ndarray:
    """The median of Poisson(mean), elementwise (0 where the mean is 0)."""
    return np.where(mean > 0, poisson.ppf(0.5, np.maximum(mean, 1e-12)), 0.0)


def median_baselines(
    sales: np.ndarray, origin: int, forecasts: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The median point forecasts [S, HORIZON] of the simple methods at `origin` (MEDIAN_
    BASELINES), from the sales and the mean baselines already in `forecasts`."""
    window = sales[:, origin - WINDOW + 1 : origin + 1]
    flat = np.ones((1, HORIZON))
    return {
        MEDIAN_28: np.median(window, axis=1)[:, None] * flat,
        MOVING_AVERAGE_MEDIAN: poisson_median(forecasts[MOVING_AVERAGE]),
        POOLED_MEDIAN: poisson_median(forecasts[POOLED]),
    }


def best_median_baseline(scores: dict[str, MethodScores]) -> tuple[str, float] | None:
    """The lowest WAPE among every baseline, mean or median (the yardstick of a median
    forecast), with its name (None if none was scored)."""
    ranked = sorted(
        (scores[m].wape, m)
        for m in (*BASELINES, *MEDIAN_BASELINES)
        if m in scores and scores[m].wape is not None
    )
    return None if not ranked else (ranked[0][1], ranked[0][0])


def mase_scale(sales: np.ndarray, origin: int, span: int = 56) -> np.ndarray:
    """In-sample MAE of the seasonal-naive forecast per series over the `span` days up to
    `origin` (the MASE denominator)."""
    first = max(7, origin - span + 1)
    window = sales[:, first : origin + 1]
    lagged = sales[:, first - 7 : origin - 6]
    return np.abs(window - lagged).mean(axis=1)


def score_forecasts(
    forecasts: dict[str, np.ndarray],
    actual: np.ndarray,
    scale: np.ndarray,
    codes: np.ndarray,
    promoted: np.ndarray,
    *,
    overall: dict[str, MethodScores],
    categories: dict[int, dict[str, MethodScores]],
    segments: dict[str, dict[str, MethodScores]],
) -> None:
    """Add one origin's errors (forecasts and actual [S, H], MASE scale per series and day
    [S], category code [S], promoted target days [S, H]) to the running sums."""
    cells_scale = np.broadcast_to(scale[:, None], actual.shape)
    for method, forecast in forecasts.items():
        error = forecast - actual
        absolute = np.abs(error)
        overall.setdefault(method, MethodScores()).add(
            float(absolute.sum()), float(actual.sum()), float(cells_scale.sum()), float(error.sum())
        )
        for name, mask in ((PROMOTED, promoted), (UNPROMOTED, ~promoted)):
            segments.setdefault(name, {}).setdefault(method, MethodScores()).add(
                float(absolute[mask].sum()),
                float(actual[mask].sum()),
                float(cells_scale[mask].sum()),
                float(error[mask].sum()),
            )
        frame = pd.DataFrame(
            {
                "code": codes,
                "error": absolute.sum(axis=1),
                "actual": actual.sum(axis=1),
                "scale": cells_scale.sum(axis=1),
                "signed": error.sum(axis=1),
            }
        )
        sums = frame.groupby("code")[["error", "actual", "scale", "signed"]].sum()
        for code, row in sums.iterrows():
            categories.setdefault(int(code), {}).setdefault(method, MethodScores()).add(
                float(row["error"]), float(row["actual"]), float(row["scale"]), float(row["signed"])
            )


class ShortHistory(ValueError):
    """The panel is too short for any backtest origin: `days_observed` of the `needed` days."""

    def __init__(self, days_observed: int, needed: int) -> None:
        self.days_observed = days_observed
        self.needed = needed
        super().__init__(
            f"no backtest origin fits the panel ({days_observed} days observed; it needs {needed})"
        )


def backtest(
    panel: Panel,
    origins: list[int],
    *,
    max_rows: int = 200_000,
    training_step: int = 2,
    training_count: int = 30,
    history_days: int = 0,
    seed: int = 0,
    long_levels: bool = False,
    heartbeat: Callable[[], None] | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation: at each origin the model is trained only on rows whose
    targets were observed by then, and it and every baseline forecast the next 14 days.
    Target days get no observed weather (only what would have been known then: nothing, in a
    panel of observations), and their promotions and discounts are those the panel records
    as planned.

    WAPE = Σ|y − ŷ| / Σy; bias = Σ(ŷ − y) / Σy; MASE = Σ|y − ŷ| / Σ(in-sample seasonal-naive
    MAE per scored day), pooled over the series of a category, over all series, and over the
    promoted and the unpromoted target days. Calibration (standardised residual quantiles)
    comes from the newest origin.

    `heartbeat` is passed to each origin's fit and called after each origin is scored.
    """
    origins = sorted(
        o for o in origins if o - HORIZON >= WINDOW - 1 and o + HORIZON <= panel.last_origin
    )
    if not origins:
        raise ShortHistory(panel.days_observed, WINDOW + 2 * HORIZON + 1)
    overall: dict[str, MethodScores] = {method: MethodScores() for method in REPORTED}
    categories: dict[int, dict[str, MethodScores]] = {}
    segments: dict[str, dict[str, MethodScores]] = {}
    codes = panel.category_codes
    promoted_days = panel.promoted()
    residuals: dict[str, np.ndarray] = {}
    forecasts_newest: dict[str, np.ndarray] = {}
    for origin in origins:
        model = ForecastModel(long_levels=long_levels).fit(
            panel,
            training_origins(
                origin - HORIZON,
                step=training_step,
                count=training_count,
                history_days=history_days,
            ),
            max_rows=max_rows,
            seed=seed,
            heartbeat=heartbeat,
        )
        forecasts = {
            MODEL: model.predict(panel, origin, weather_known_through=origin),
            **panel_baselines(panel, origin),
        }
        forecasts[MODEL_MEDIAN] = poisson_median(forecasts[MODEL])
        forecasts.update(median_baselines(panel.sales, origin, forecasts))
        actual = panel.sales[:, origin + 1 : origin + HORIZON + 1]
        score_forecasts(
            forecasts,
            actual,
            mase_scale(panel.sales, origin),
            codes,
            promoted_days[:, origin + 1 : origin + HORIZON + 1],
            overall=overall,
            categories=categories,
            segments=segments,
        )
        forecasts_newest = forecasts
        residuals = {
            method: (actual - forecasts[method])
            / np.sqrt(np.maximum(forecasts[method], 0) + RESIDUAL_SHIFT)
            for method in METHODS
        }
        if heartbeat is not None:
            heartbeat()
    calibration = residual_calibration(residuals, codes, forecasts_newest)
    return BacktestResult(
        origins=[panel.day(o) for o in origins],
        series_count=panel.series_count,
        overall=overall,
        categories=categories,
        calibration=calibration,
        segments=segments,
    )


def residual_calibration(
    residuals: dict[str, np.ndarray], codes: np.ndarray, forecasts: dict[str, np.ndarray]
) -> dict[int, dict[str, dict[str, float]]]:
    """Per category and method: 10 % / 90 % quantiles and RMS of the standardised residuals
    of series that sold (series with nothing forecast and nothing sold say nothing)."""
    result: dict[int, dict[str, dict[str, float]]] = {}
    for code in np.unique(codes):
        mask = codes == code
        result[int(code)] = {}
        for method, values in residuals.items():
            active = (forecasts[method][mask] > 0).any(axis=1)
            block = values[mask][active].ravel()
            if block.size < 20:
                result[int(code)][method] = {"q10": -1.2816, "q90": 1.2816, "sigma": 1.0}
                continue
            result[int(code)][method] = {
                "q10": float(np.quantile(block, 0.1)),
                "q90": float(np.quantile(block, 0.9)),
                "sigma": float(np.sqrt(np.mean(block**2))),
            }
    return result


def choose_methods(
    result: BacktestResult,
) -> dict[int, tuple[str, float | None, str, float | None]]:
    """Per category: (serving method, model WAPE, best servable baseline, its WAPE). The model
    serves only where its WAPE is strictly lower than the best servable baseline's (zero is
    scored but never served)."""
    choices = {}
    for code, scores in result.categories.items():
        baseline_wapes = [
            (scores[m].wape if scores[m].wape is not None else math.inf, m)
            for m in SERVABLE_BASELINES
            if m in scores
        ]
        best_wape, best = min(baseline_wapes)
        model_wape = scores[MODEL].wape
        serving = MODEL if model_wape is not None and model_wape < best_wape else best
        choices[code] = (
            serving,
            model_wape,
            best,
            None if math.isinf(best_wape) else best_wape,
        )
    return choices


def interval_and_sigma(
    forecast: np.ndarray, q10: np.ndarray, q90: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower / upper daily bounds [S, H] and σ per day [S] from per-series calibration."""
    spread = np.sqrt(np.maximum(forecast, 0) + RESIDUAL_SHIFT)
    lower = np.maximum(forecast + q10[:, None] * spread, 0.0)
    upper = np.maximum(forecast + q90[:, None] * spread, forecast)
    sigma_daily = sigma * np.sqrt(np.maximum(forecast.mean(axis=1), 0) + RESIDUAL_SHIFT)
    return lower, upper, sigma_daily
