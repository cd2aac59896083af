"""The forecast learns planted price and promotion effects, trains without weather, and its
backtest's baselines equal a hand computation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apps.catalog.analytics import forecast as fc

FIRST_DAY = dt.date(2025, 3, 3)  # a Monday
DAYS = 160
STORES = 3
PRODUCTS = 16
ELASTICITY = 2.0
FEATURE_LIFT = 1.5


def _panel(
    sales: np.ndarray,
    *,
    discount: np.ndarray | None = None,
    kinds: np.ndarray | None = None,
    weather: bool = True,
) -> fc.Panel:
    count = sales.shape[0]
    days = sales.shape[1] + fc.HORIZON
    rng = np.random.default_rng(1)
    temp = 25 + rng.normal(0, 3, (1, days)) if weather else np.full((1, days), np.nan)
    rain = rng.exponential(2, (1, days)) if weather else np.full((1, days), np.nan)
    paid = None
    if discount is not None:
        paid = np.where(sales > 0, 1 - discount[:, : sales.shape[1]], np.nan)
    return fc.Panel(
        sales=sales,
        first_day=FIRST_DAY,
        store_ids=np.repeat(np.arange(STORES), count // STORES),
        product_ids=np.tile(np.arange(count // STORES), STORES),
        category_codes=np.tile(np.arange(count // STORES) % 4, STORES),
        city_index=np.zeros(count, dtype=np.int64),
        temp_max=temp,
        precipitation=rain,
        kinds=kinds,
        discount=discount,
        paid_ratio=paid,
    )


def _base_rates(rng: np.random.Generator) -> np.ndarray:
    return np.repeat(rng.uniform(2.0, 6.0, PRODUCTS)[None, :], STORES, axis=0).ravel()


def _network_days(rng: np.random.Generator, share: float, values: tuple) -> np.ndarray:
    """A value per product and day (network-wide, as a chain plans it), 0 on other days;
    repeated for every store's series: [S, DAYS + HORIZON]."""
    days = DAYS + fc.HORIZON
    on = rng.random((PRODUCTS, days)) < share
    chosen = rng.choice(values, (PRODUCTS, days))
    return np.tile(np.where(on, chosen, 0.0), (STORES, 1))


@pytest.fixture(scope="module")
def elastic() -> tuple[fc.Panel, fc.ForecastModel]:
    """Price cuts of 5–35 % on a fifth of the product days; demand ∝ price^−2 (no promotion
    kind is flagged: only the price moves)."""
    rng = np.random.default_rng(11)
    discount = _network_days(rng, 0.2, tuple(np.linspace(0.05, 0.35, 7)))
    rate = _base_rates(rng)[:, None] * (1 - discount[:, :DAYS]) ** -ELASTICITY
    panel = _panel(rng.poisson(rate).astype(float), discount=discount)
    model = fc.ForecastModel().fit(
        panel, fc.training_origins(panel.last_origin - fc.HORIZON, step=2, count=30)
    )
    return panel, model


def _forecast_with(
    panel: fc.Panel, model: fc.ForecastModel, *, discount: float = 0.0, kind: str | None = None
) -> float:
    """Total forecast of all series over the horizon with this planned price / kind on every
    horizon day (and nothing else planned there)."""
    future = slice(panel.days_observed, panel.days_observed + fc.HORIZON)
    planned = panel.subset(np.arange(panel.series_count))
    planned.discount = np.array(panel.discount, copy=True)
    planned.discount[:, future] = discount
    if panel.kinds is not None:
        planned.kinds = np.array(panel.kinds, copy=True)
        planned.kinds[:, :, future] = 0.0
        if kind is not None:
            planned.kinds[fc.PROMOTION_KINDS.index(kind), :, future] = 1.0
    return float(model.predict(planned, panel.last_origin).sum())


def test_a_planted_price_elasticity_is_learned(elastic: tuple) -> None:
    panel, model = elastic
    full = _forecast_with(panel, model, discount=0.0)
    cut = _forecast_with(panel, model, discount=0.2)
    deep = _forecast_with(panel, model, discount=0.3)
    assert full < cut < deep  # a lower price, a higher forecast
    # In proportion: 0.8^−2 = 1.56 and 0.7^−2 = 2.04 (within 15 %).
    assert cut / full == pytest.approx(0.8**-ELASTICITY, rel=0.15)
    assert deep / full == pytest.approx(0.7**-ELASTICITY, rel=0.15)


@pytest.fixture(scope="module")
def promoted() -> tuple[fc.Panel, fc.ForecastModel]:
    """Planned price promotions of 10/20/30 % (lift 1 + 2 × depth) and display features
    (no price change, lift 1.5), each on about a tenth of the product days."""
    rng = np.random.default_rng(12)
    depth = _network_days(rng, 0.1, (0.1, 0.2, 0.3))
    feature = _network_days(rng, 0.1, (1.0,))
    kinds = np.zeros((len(fc.PROMOTION_KINDS), *depth.shape))
    kinds[fc.PROMOTION_KINDS.index("price")] = depth > 0
    kinds[fc.PROMOTION_KINDS.index("feature")] = feature
    lift = (1 + 2 * depth) * np.where(feature > 0, FEATURE_LIFT, 1.0)
    rate = _base_rates(rng)[:, None] * lift[:, :DAYS]
    panel = _panel(rng.poisson(rate).astype(float), discount=depth, kinds=kinds)
    model = fc.ForecastModel().fit(
        panel, fc.training_origins(panel.last_origin - fc.HORIZON, step=2, count=30)
    )
    return panel, model


def test_a_planted_discount_depth_lift_is_learned(promoted: tuple) -> None:
    panel, model = promoted
    none = _forecast_with(panel, model)
    shallow = _forecast_with(panel, model, discount=0.1, kind="price")
    deep = _forecast_with(panel, model, discount=0.3, kind="price")
    assert none < shallow < deep
    assert shallow / none == pytest.approx(1.2, rel=0.12)
    assert deep / none == pytest.approx(1.6, rel=0.12)


def test_a_planted_feature_lift_is_learned(promoted: tuple) -> None:
    panel, model = promoted
    none = _forecast_with(panel, model)
    featured = _forecast_with(panel, model, kind="feature")
    assert featured / none == pytest.approx(FEATURE_LIFT, rel=0.12)


def test_the_model_trains_without_weather_rows() -> None:
    rng = np.random.default_rng(13)
    sales = rng.poisson(_base_rates(rng)[:, None] * np.ones((1, 90))).astype(float)
    panel = _panel(sales, weather=False)
    model = fc.ForecastModel().fit(
        panel, fc.training_origins(panel.last_origin - fc.HORIZON, step=2, count=10)
    )
    assert model.training_rows > 0
    assert {"temp_max", "temp_anomaly", "precipitation"}.isdisjoint(model.used_features)
    forecast = model.predict(panel, panel.last_origin)
    assert forecast.shape == (panel.series_count, fc.HORIZON)
    assert np.isfinite(forecast).all()
    # Within 15 % of the planted mean rates overall.
    assert forecast.mean() == pytest.approx(_base_rates(np.random.default_rng(13)).mean(), rel=0.15)
    result = fc.backtest(panel, [panel.last_origin - fc.HORIZON], training_count=6)
    assert result.overall[fc.MODEL].wape is not None


def test_backtest_target_days_see_no_observed_weather() -> None:
    rng = np.random.default_rng(14)
    sales = rng.poisson(3.0, (STORES * 2, 60)).astype(float)
    panel = _panel(sales)
    origin = 40
    honest, _ = fc.features_at(panel, origin, weather_known_through=origin)
    seen, _ = fc.features_at(panel, origin)
    column = fc.FEATURES.index("temp_max")
    assert np.isnan(honest[:, column]).all()
    assert not np.isnan(seen[:, column]).any()
    # An issued forecast kept for the target days is what they see.
    panel.forecast_temp_max = np.full_like(panel.temp_max, 31.0)
    issued, _ = fc.features_at(panel, origin, weather_known_through=origin)
    assert (issued[:, column] == 31.0).all()


def test_baselines_equal_a_hand_computation_on_a_tiny_series() -> None:
    # One store, two products, 35 days; day index d has weekday phase d % 7.
    days = 35
    a = np.array([float(d % 7 == 5) * 6 + 1 for d in range(days)])  # 7 on phase 5, else 1
    b = np.array([2.0] * days)
    sales = np.vstack([a, b])
    origin = days - 1
    result = fc.baselines_at(
        sales, origin, horizon=7, store_ids=np.array([1, 1]), product_ids=np.array([10, 11])
    )
    window = sales[:, origin - 27 : origin + 1]
    level = window.mean(axis=1)  # a: (24 × 1 + 4 × 7) / 28, b: 2
    assert level[0] == pytest.approx(52 / 28)
    assert result[fc.ZERO].tolist() == [[0.0] * 7, [0.0] * 7]
    assert result[fc.MOVING_AVERAGE][0].tolist() == pytest.approx([52 / 28] * 7)
    # Store weekday profile: per phase the store's units (a + b) over its mean per phase.
    store_by_phase = np.array([4 * (1 + 2) if k != 5 else 4 * (7 + 2) for k in range(7)], float)
    profile = store_by_phase / store_by_phase.mean()
    targets = np.arange(origin + 1, origin + 8) % 7
    assert result[fc.MOVING_AVERAGE_WEEKDAY][0].tolist() == pytest.approx(
        (52 / 28 * profile[targets]).tolist()
    )
    assert result[fc.MOVING_AVERAGE_WEEKDAY][1].tolist() == pytest.approx(
        (2.0 * profile[targets]).tolist()
    )
    # Pooled level: the store's units per day × the product's share (one store: its own mean).
    assert result[fc.POOLED][:, 0].tolist() == pytest.approx(level.tolist())
    # Two stores: store traffic × the product's network share.
    two = fc.baselines_at(
        np.vstack([a, b, b, b]),
        origin,
        horizon=7,
        store_ids=np.array([1, 1, 2, 2]),
        product_ids=np.array([10, 11, 10, 11]),
    )
    share_10 = (52 + 56) / (52 + 56 + 56 + 56)
    assert two[fc.POOLED][2, 0] == pytest.approx(4.0 * share_10)  # store 2: 4 units a day


def test_scores_split_promoted_days_and_report_bias_and_the_best_baseline() -> None:
    actual = np.array([[2.0, 0.0, 4.0]])
    forecasts = {
        fc.MODEL: np.array([[2.0, 1.0, 3.0]]),
        fc.ZERO: np.zeros((1, 3)),
        fc.MOVING_AVERAGE: np.array([[3.0, 3.0, 3.0]]),
    }
    overall, categories, segments = {}, {}, {}
    fc.score_forecasts(
        forecasts,
        actual,
        np.array([0.5]),
        np.array([0]),
        np.array([[False, False, True]]),
        overall=overall,
        categories=categories,
        segments=segments,
    )
    assert overall[fc.MODEL].wape == pytest.approx(2 / 6)
    assert overall[fc.MODEL].bias == 0.0
    assert overall[fc.MOVING_AVERAGE].bias == pytest.approx(3 / 6)
    assert overall[fc.MODEL].mase == pytest.approx(2 / 1.5)
    assert segments[fc.PROMOTED][fc.MODEL].wape == pytest.approx(1 / 4)
    assert segments[fc.UNPROMOTED][fc.MODEL].wape == pytest.approx(1 / 2)
    assert segments[fc.PROMOTED][fc.ZERO].bias == -1.0
    assert fc.best_baseline(overall) == (fc.MOVING_AVERAGE, pytest.approx(5 / 6))
    assert fc.improvement(0.8, 1.0) == pytest.approx(0.2)
