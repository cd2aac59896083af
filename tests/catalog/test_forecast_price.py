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


def _network_days(
    rng: np.random.Generator, share: float, values: tuple, observed: int = DAYS
) -> np.ndarray:
    """A value per product and day (network-wide, as a chain plans it), 0 on other days;
    repeated for every store's series: [S, observed + HORIZON]."""
    days = observed + fc.HORIZON
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
    """Total forecast over the horizon when each product in turn gets this planned price /
    kind on every horizon day in every store (and nothing else planned for it), the other
    products keeping their own plans: a chain plans one product's promotion at a time, and
    the model also reads what the rest of the shelf is doing."""
    future = slice(panel.days_observed, panel.days_observed + fc.HORIZON)
    total = 0.0
    for product in np.unique(panel.product_ids):
        mine = panel.product_ids == product
        planned = panel.subset(np.arange(panel.series_count))
        planned.discount = np.array(panel.discount, copy=True)
        planned.discount[mine, future] = discount
        if panel.kinds is not None:
            planned.kinds = np.array(panel.kinds, copy=True)
            planned.kinds[:, mine, future] = 0.0
            if kind is not None:
                planned.kinds[fc.PROMOTION_KINDS.index(kind), mine, future] = 1.0
        total += float(model.predict(planned, panel.last_origin)[mine].sum())
    return total


def test_a_planted_price_elasticity_is_learned(elastic: tuple) -> None:
    panel, model = elastic
    full = _forecast_with(panel, model, discount=0.0)
    cut = _forecast_with(panel, model, discount=0.2)
    deep = _forecast_with(panel, model, discount=0.3)
    assert full < cut < deep  # a lower price, a higher forecast
    # In proportion: 0.8^−2 = 1.56 and 0.7^−2 = 2.04 (within 15 %).
    assert cut / full == pytest.approx(0.8**-ELASTICITY, rel=0.15)
    assert deep / full == pytest.approx(0.7**-ELASTICITY, rel=0.15)


def _promoted_panel(rng: np.random.Generator, observed: int = DAYS) -> fc.Panel:
    """Planned price promotions of 10/20/30 % (lift 1 + 2 × depth) and display features
    (no price change, lift 1.5), each on about a tenth of the product days."""
    depth = _network_days(rng, 0.1, (0.1, 0.2, 0.3), observed)
    feature = _network_days(rng, 0.1, (1.0,), observed)
    kinds = np.zeros((len(fc.PROMOTION_KINDS), *depth.shape))
    kinds[fc.PROMOTION_KINDS.index("price")] = depth > 0
    kinds[fc.PROMOTION_KINDS.index("feature")] = feature
    lift = (1 + 2 * depth) * np.where(feature > 0, FEATURE_LIFT, 1.0)
    rate = _base_rates(rng)[:, None] * lift[:, :observed]
    return _panel(rng.poisson(rate).astype(float), discount=depth, kinds=kinds)


@pytest.fixture(scope="module")
def promoted() -> tuple[fc.Panel, fc.ForecastModel]:
    panel = _promoted_panel(np.random.default_rng(12))
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


def _plan(
    panel: fc.Panel, *, discount: dict[int, float], kind: dict[int, str] | None = None
) -> fc.Panel:
    """The panel with nothing planned on the horizon days but these products' discounts (and
    promotion kinds), in every store."""
    future = slice(panel.days_observed, panel.days_observed + fc.HORIZON)
    planned = panel.subset(np.arange(panel.series_count))
    planned.discount = np.array(panel.discount, copy=True)
    planned.discount[:, future] = 0.0
    planned.kinds = np.array(panel.kinds, copy=True)
    planned.kinds[:, :, future] = 0.0
    for product, depth in discount.items():
        planned.discount[panel.product_ids == product, future] = depth
    for product, name in (kind or {}).items():
        planned.kinds[fc.PROMOTION_KINDS.index(name), panel.product_ids == product, future] = 1.0
    return planned


def _product_totals(panel: fc.Panel, model: fc.ForecastModel, planned: fc.Panel) -> np.ndarray:
    forecast = model.predict(planned, panel.last_origin).sum(axis=1)
    return np.bincount(panel.product_ids, weights=forecast)


@pytest.fixture(scope="module")
def uneven() -> tuple[fc.Panel, fc.ForecastModel, np.ndarray]:
    """Display features (no price change) on about an eighth of the product days; half the
    products sell 2.5× on a featured day, the other half 1.2× — two of each kind in every
    category, so nothing but the products' own history tells them apart."""
    rng = np.random.default_rng(15)
    feature = _network_days(rng, 0.12, (1.0,))
    strong = (np.arange(PRODUCTS) // 4) % 2 == 0
    lift_of = np.tile(np.where(strong, 2.5, 1.2), STORES)[:, None]
    kinds = np.zeros((len(fc.PROMOTION_KINDS), *feature.shape))
    kinds[fc.PROMOTION_KINDS.index("feature")] = feature
    rate = _base_rates(rng)[:, None] * np.where(feature > 0, lift_of, 1.0)[:, :DAYS]
    panel = _panel(rng.poisson(rate).astype(float), discount=np.zeros_like(feature), kinds=kinds)
    model = fc.ForecastModel(promo_context=True).fit(
        panel, fc.training_origins(panel.last_origin - fc.HORIZON, step=2, count=30)
    )
    return panel, model, strong


def test_each_products_own_promotion_lift_is_learned(uneven: tuple) -> None:
    panel, model, strong = uneven
    none = _product_totals(panel, model, _plan(panel, discount={}))
    featured = _product_totals(
        panel, model, _plan(panel, discount={}, kind=dict.fromkeys(range(PRODUCTS), "feature"))
    )
    ratio = featured / none
    assert ratio[strong].mean() == pytest.approx(2.5, rel=0.15)
    assert ratio[~strong].mean() == pytest.approx(1.2, rel=0.15)
    assert ratio[strong].min() > ratio[~strong].max()
    # The model keeps each product's lift as of its last training target day.
    assert set(fc.PROMO_CONTEXT_FEATURES) <= set(model.used_features)
    assert model.product_lifts == fc.product_promo_lifts(panel, panel.last_origin)
    assert np.mean([model.product_lifts[p] for p in np.flatnonzero(strong)]) > 2.0


@pytest.fixture(scope="module")
def crowded() -> tuple[fc.Panel, fc.ForecastModel]:
    """Price cuts of 10–30 % on a fifth of the product days; a product sells 1 + 2 × its own
    depth more, and loses 3 × the mean depth of the other products of its category in its
    store (a deal next to it takes its buyers)."""
    rng = np.random.default_rng(16)
    depth = _network_days(rng, 0.2, (0.1, 0.2, 0.3))
    category = np.tile(np.arange(PRODUCTS) % 4, STORES)
    store = np.repeat(np.arange(STORES), PRODUCTS)
    others = np.zeros_like(depth)
    for s in range(STORES):
        for c in range(4):
            group = (store == s) & (category == c)
            others[group] = (depth[group].sum(axis=0) - depth[group]) / (group.sum() - 1)
    lift = (1 + 2 * depth) * np.maximum(1 - 3 * others, 0.2)
    kinds = np.zeros((len(fc.PROMOTION_KINDS), *depth.shape))
    kinds[fc.PROMOTION_KINDS.index("price")] = depth > 0
    rate = _base_rates(rng)[:, None] * lift[:, :DAYS]
    panel = _panel(rng.poisson(rate).astype(float), discount=depth, kinds=kinds)
    model = fc.ForecastModel(promo_context=True).fit(
        panel, fc.training_origins(panel.last_origin - fc.HORIZON, step=2, count=30)
    )
    return panel, model


def test_a_neighbours_price_cut_lowers_the_forecast(crowded: tuple) -> None:
    panel, model = crowded
    # Product 1 shares category 1 with products 5, 9 and 13; product 2 is in category 2.
    quiet = _product_totals(panel, model, _plan(panel, discount={}))
    neighbour = _product_totals(panel, model, _plan(panel, discount={5: 0.3}))
    elsewhere = _product_totals(panel, model, _plan(panel, discount={2: 0.3}))
    # Planted: 1 − 3 × 0.3 / 3 = 0.7 for product 1 when product 5 is cut; nothing when 2 is.
    assert neighbour[1] / quiet[1] == pytest.approx(0.7, rel=0.15)
    assert elsewhere[1] / quiet[1] == pytest.approx(1.0, rel=0.08)
    assert neighbour[5] / quiet[5] == pytest.approx(1.6, rel=0.15)


def _tail(panel: fc.Panel, days: int) -> fc.Panel:
    """The panel's last `days` observed days (and its horizon), as a night's chunk loads it."""
    cut = panel.days_observed - days
    assert cut > 0
    return fc.Panel(
        sales=panel.sales[:, cut:],
        first_day=panel.day(cut),
        store_ids=panel.store_ids,
        product_ids=panel.product_ids,
        category_codes=panel.category_codes,
        city_index=panel.city_index,
        temp_max=panel.temp_max[:, cut:],
        precipitation=panel.precipitation[:, cut:],
        kinds=panel.kinds[:, :, cut:],
        discount=panel.discount[:, cut:],
        paid_ratio=panel.paid_ratio[:, cut:],
    )


def test_a_chunks_history_forecasts_what_the_whole_history_does() -> None:
    """A night forecasts each chunk of stores from FEATURE_DAYS of history: every feature the
    served model uses must need no more (the promotion memory reads PROMO_MEMORY_DAYS, the
    series' promotion figures SERIES_PROMO_DAYS), and the product's lift comes with the
    model. A history longer than all of them, with price cuts and features on it."""
    from apps.catalog.services.forecasts import FEATURE_DAYS

    panel = _promoted_panel(np.random.default_rng(17), fc.PROMO_MEMORY_DAYS + 60)
    model = fc.ForecastModel().fit(
        panel, fc.training_origins(panel.last_origin - fc.HORIZON, step=7, count=8)
    )
    assert {*fc.PROMO_CONTEXT_FEATURES, *fc.PROMO_MEMORY_FEATURES} <= set(model.used_features)
    assert FEATURE_DAYS >= max(fc.PROMO_MEMORY_DAYS, fc.SERIES_PROMO_DAYS)
    short = _tail(panel, FEATURE_DAYS)
    np.testing.assert_allclose(
        model.predict(short, short.last_origin), model.predict(panel, panel.last_origin), rtol=1e-6
    )
    # With 30 days less the memory differs: the test sees a feature that needs more days.
    shorter = _tail(panel, fc.PROMO_MEMORY_DAYS - 30)
    assert not np.allclose(
        model.predict(shorter, shorter.last_origin), model.predict(panel, panel.last_origin)
    )


def test_the_promotion_memory_is_the_mean_of_the_days_in_the_target_days_state() -> None:
    """Hand-checked on one series: the last year's days split by promotion state (a discount
    counts as a price promotion, planned or realised), the target day's state looked up."""
    observed = 40
    sales = np.full((STORES * PRODUCTS, observed), 2.0)
    depth = np.zeros((STORES * PRODUCTS, observed + fc.HORIZON))
    kinds = np.zeros((len(fc.PROMOTION_KINDS), *depth.shape))
    price, feature = fc.PROMOTION_KINDS.index("price"), fc.PROMOTION_KINDS.index("feature")
    depth[0, [5, 15]] = 0.2  # a realised discount, no promotion row: a price day
    sales[0, [5, 15]] = 8.0
    kinds[price, 0, 25] = 1.0  # a price promotion with a discount
    depth[0, 25] = 0.3
    sales[0, 25] = 11.0
    kinds[feature, 0, [10, 20]] = 1.0  # featured, no price change
    sales[0, [10, 20]] = 5.0
    kinds[price, 0, observed] = 1.0  # day 1 ahead: a planned price cut
    depth[0, observed] = 0.1
    kinds[feature, 0, observed + 1] = 1.0  # day 2: a feature; day 3 on: nothing planned
    kinds[:, 0, observed + 2 :] = 0.0
    panel = _panel(sales, discount=depth, kinds=kinds)
    matrix, level = fc.features_at(panel, panel.last_origin, np.array([0]))
    ratio = matrix[:, fc.FEATURES.index("same_promo_ratio")]
    share = matrix[:, fc.FEATURES.index("same_promo_share")]
    assert level[0] == pytest.approx(sales[0, observed - fc.WINDOW :].mean())
    np.testing.assert_allclose(ratio[:3] * level[0], [(8 + 8 + 11) / 3, 5.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(share[:3], [3 / observed, 2 / observed, 35 / observed], rtol=1e-6)
    # A state the series never had: unknown to the trees, not zero.
    kinds[fc.PROMOTION_KINDS.index("broadcast"), 0, observed] = 1.0
    panel = _panel(sales, discount=depth, kinds=kinds)
    matrix, _level = fc.features_at(panel, panel.last_origin, np.array([0]))
    assert np.isnan(matrix[0, fc.FEATURES.index("same_promo_ratio")])
    assert matrix[0, fc.FEATURES.index("same_promo_share")] == 0.0
