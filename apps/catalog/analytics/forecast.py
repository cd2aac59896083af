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
- planned promotions / broadcasts on the target day (a hook: zero until campaigns exist);
- the product category (categorical) and the horizon.

The model predicts the rate y / level with sample weight `level` (the Poisson "exposure"
trick), so one model serves fast and slow sellers alike; the forecast is rate × level.

Baselines: seasonal naive (the same weekday's last observed value), the 28-day moving
average, and the ERP rule "average daily demand × days of cover" (the last 7 days' average
per day, flat over the horizon).

Intervals: per category and method, quantiles of the standardised residual
(y − ŷ) / √(ŷ + 1) from the most recent backtest origin give the 10–90 % band and σ.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import poisson
from sklearn.ensemble import HistGradientBoostingRegressor

from apps.catalog.analytics.calendar import calendar_frame

HORIZON = 14
WINDOW = 28  # days of history a feature row needs before (and including) its origin
MODEL = "gbm"
SEASONAL_NAIVE = "seasonal_naive"
MOVING_AVERAGE = "moving_average_28"
DAYS_OF_COVER = "days_of_cover"
BASELINES = (SEASONAL_NAIVE, MOVING_AVERAGE, DAYS_OF_COVER)
METHODS = (MODEL, *BASELINES)
# Reported by the backtest, never served: the median of Poisson(model mean) as the point
# forecast. The median minimises absolute error, so on intermittent daily demand (most store ×
# product days sell 0 or 1) it scores a much lower WAPE than any mean forecast can; orders
# still use the mean and its error σ.
MODEL_MEDIAN = "gbm_median"
REPORTED = (*METHODS, MODEL_MEDIAN)
MAX_CATEGORY_CODES = 250
LEVEL_FLOOR = 0.05
RESIDUAL_SHIFT = 1.0

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
    _calendar: pd.DataFrame | None = field(default=None, repr=False)

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
            _calendar=self._calendar,
        )


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
    sales = panel.sales
    window = sales[:, origin - WINDOW + 1 : origin + 1].sum(axis=1)
    week = sales[:, origin - 6 : origin + 1].sum(axis=1)
    _stores, store_index = np.unique(panel.store_ids, return_inverse=True)
    _products, product_index = np.unique(panel.product_ids, return_inverse=True)
    store_total = np.bincount(store_index, weights=window)
    product_total = np.bincount(product_index, weights=window)
    product_week = np.bincount(product_index, weights=week)
    total = window.sum()
    share = product_total / total if total > 0 else np.zeros_like(product_total)
    trend = np.divide(
        product_week * WINDOW / 7,
        product_total,
        out=np.ones_like(product_total),
        where=product_total > 0,
    )
    return {
        "pooled": store_total[store_index] * share[product_index] / WINDOW,
        "product_trend": trend[product_index],
    }


def baselines_at(sales: np.ndarray, origin: int, horizon: int = HORIZON) -> dict[str, np.ndarray]:
    """The three baseline forecasts [S, horizon] made at `origin`."""
    targets = origin + np.arange(1, horizon + 1)
    seasonal = sales[:, targets - _horizon_steps(horizon)]
    levels = levels_at(sales, origin)
    flat = np.ones((1, horizon))
    return {
        SEASONAL_NAIVE: seasonal.astype(np.float64),
        MOVING_AVERAGE: levels["level"][:, None] * flat,
        DAYS_OF_COVER: levels["ma7"][:, None] * flat,
    }


def features_at(
    panel: Panel, origin: int, series: np.ndarray | None = None, horizon: int = HORIZON
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows for the given series at `origin`: X [n × horizon, F] (series-major, then
    h = 1..horizon) and the level per series [n]."""
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
    promotion = (
        np.zeros((n, horizon)) if panel.promotion is None else panel.promotion[rows][:, targets]
    )

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
    }
    matrix = np.column_stack([columns[name].astype(np.float32) for name in FEATURES])
    return matrix, level


@dataclass
class ForecastModel:
    """The global model; `fit` then `predict`."""

    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    random_state: int = 0
    estimator: HistGradientBoostingRegressor | None = None
    training_rows: int = 0

    def fit(
        self,
        panel: Panel,
        origins: list[int],
        *,
        max_rows: int = 200_000,
        seed: int = 0,
    ) -> ForecastModel:
        """Train on feature rows at each origin (whose targets must all be observed). Series
        without sales in an origin's window are left out (their forecast is 0 anyway); when
        there are more rows than `max_rows`, series are sampled per origin (seeded)."""
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
            matrix, series_level = features_at(panel, origin, candidates)
            actual = panel.sales[candidates][:, origin + 1 : origin + HORIZON + 1]
            safe = np.maximum(series_level, LEVEL_FLOOR)
            blocks.append(matrix)
            rates.append((actual / safe[:, None]).ravel())
            weights.append(np.repeat(safe, HORIZON))
        if not blocks:
            raise ValueError("no series with sales to train on")
        matrix = np.vstack(blocks)
        self.estimator = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=1.0,
            categorical_features=[FEATURES.index(name) for name in CATEGORICAL],
            early_stopping=False,
            random_state=self.random_state,
        )
        self.estimator.fit(matrix, np.concatenate(rates), sample_weight=np.concatenate(weights))
        self.training_rows = int(matrix.shape[0])
        return self

    def predict(self, panel: Panel, origin: int, series: np.ndarray | None = None) -> np.ndarray:
        """Forecast [n, HORIZON] of the series at `origin` (0 where the level is 0)."""
        if self.estimator is None:
            raise RuntimeError("fit the model first")
        matrix, level = features_at(panel, origin, series)
        if matrix.shape[0] == 0:
            return np.zeros((0, HORIZON))
        rate = self.estimator.predict(matrix).reshape(-1, HORIZON)
        forecast = rate * np.maximum(level, LEVEL_FLOOR)[:, None]
        forecast[level <= 0] = 0.0
        return forecast


def training_origins(last_target_origin: int, *, step: int = 2, count: int = 40) -> list[int]:
    """Origins whose 14 targets end on or before `last_target_origin + HORIZON`: the latest
    `count` of them, `step` days apart, newest first."""
    origins = [last_target_origin - step * i for i in range(count)]
    return [o for o in origins if o >= WINDOW - 1]


@dataclass
class MethodScores:
    """Sums that add up across origins and series: |error|, actual, MASE scale × horizon."""

    absolute_error: float = 0.0
    actual: float = 0.0
    scale: float = 0.0

    def add(self, absolute_error: float, actual: float, scale: float) -> None:
        self.absolute_error += absolute_error
        self.actual += actual
        self.scale += scale

    @property
    def wape(self) -> float | None:
        return None if self.actual <= 0 else self.absolute_error / self.actual

    @property
    def mase(self) -> float | None:
        return None if self.scale <= 0 else self.absolute_error / self.scale


@dataclass
class BacktestResult:
    origins: list[dt.date]
    series_count: int
    overall: dict[str, MethodScores]
    categories: dict[int, dict[str, MethodScores]]
    calibration: dict[int, dict[str, dict[str, float]]]  # category → method → q10, q90, sigma

    def metrics(self) -> dict:
        """JSON-ready WAPE / MASE per method, overall and per category code."""

        def pack(scores: dict[str, MethodScores]) -> dict[str, dict[str, float | None]]:
            return {
                method: {"wape": score.wape, "mase": score.mase, "actual": score.actual}
                for method, score in scores.items()
            }

        return {
            "overall": pack(self.overall),
            "categories": {str(code): pack(scores) for code, scores in self.categories.items()},
            "calibration": {str(code): methods for code, methods in self.calibration.items()},
        }


def poisson_median(mean: np.ndarray) -> np.ndarray:
    """The median of Poisson(mean), elementwise (0 where the mean is 0)."""
    return np.where(mean > 0, poisson.ppf(0.5, np.maximum(mean, 1e-12)), 0.0)


def mase_scale(sales: np.ndarray, origin: int, span: int = 56) -> np.ndarray:
    """In-sample MAE of the seasonal-naive forecast per series over the `span` days up to
    `origin` (the MASE denominator)."""
    first = max(7, origin - span + 1)
    window = sales[:, first : origin + 1]
    lagged = sales[:, first - 7 : origin - 6]
    return np.abs(window - lagged).mean(axis=1)


def backtest(
    panel: Panel,
    origins: list[int],
    *,
    max_rows: int = 200_000,
    training_step: int = 2,
    training_count: int = 30,
    seed: int = 0,
) -> BacktestResult:
    """Rolling-origin evaluation: at each origin the model is trained only on rows whose
    targets were observed by then, and it and the baselines forecast the next 14 days.

    WAPE = Σ|y − ŷ| / Σy; MASE = Σ|y − ŷ| / Σ(14 × in-sample seasonal-naive MAE), pooled over
    the series of a category (so series with no movement cannot divide by zero).
    Calibration (standardised residual quantiles) comes from the newest origin.
    """
    origins = sorted(
        o for o in origins if o - HORIZON >= WINDOW - 1 and o + HORIZON <= panel.last_origin
    )
    if not origins:
        raise ValueError("no backtest origin fits the panel")
    overall = {method: MethodScores() for method in REPORTED}
    categories: dict[int, dict[str, MethodScores]] = {}
    codes = panel.category_codes
    residuals: dict[str, np.ndarray] = {}
    forecasts_newest: dict[str, np.ndarray] = {}
    for origin in origins:
        model = ForecastModel().fit(
            panel,
            training_origins(origin - HORIZON, step=training_step, count=training_count),
            max_rows=max_rows,
            seed=seed,
        )
        forecasts = {MODEL: model.predict(panel, origin), **baselines_at(panel.sales, origin)}
        forecasts[MODEL_MEDIAN] = poisson_median(forecasts[MODEL])
        actual = panel.sales[:, origin + 1 : origin + HORIZON + 1]
        scale = mase_scale(panel.sales, origin) * HORIZON
        actual_sum = actual.sum(axis=1)
        for method, forecast in forecasts.items():
            error = np.abs(actual - forecast).sum(axis=1)
            overall[method].add(float(error.sum()), float(actual_sum.sum()), float(scale.sum()))
            frame = pd.DataFrame(
                {"code": codes, "error": error, "actual": actual_sum, "scale": scale}
            )
            for code, sums in frame.groupby("code")[["error", "actual", "scale"]].sum().iterrows():
                categories.setdefault(int(code), {m: MethodScores() for m in REPORTED})[method].add(
                    float(sums["error"]), float(sums["actual"]), float(sums["scale"])
                )
        forecasts_newest = forecasts
        residuals = {
            method: (actual - forecasts[method])
            / np.sqrt(np.maximum(forecasts[method], 0) + RESIDUAL_SHIFT)
            for method in METHODS
        }
    calibration = residual_calibration(residuals, codes, forecasts_newest)
    return BacktestResult(
        origins=[panel.day(o) for o in origins],
        series_count=panel.series_count,
        overall=overall,
        categories=categories,
        calibration=calibration,
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
    """Per category: (serving method, model WAPE, best baseline, its WAPE). The model serves
    only where its WAPE is strictly lower than the best baseline's."""
    choices = {}
    for code, scores in result.categories.items():
        baseline_wapes = [
            (scores[m].wape if scores[m].wape is not None else math.inf, m) for m in BASELINES
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
