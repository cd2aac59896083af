"""The weekly real-data evaluation's bringing-in path (bench/eval_forecast_weekly.py), offline:
weekly totals → Linli's daily panel (units on the week's last day, a week's price and promotions
on all its days) → week totals and the week baselines."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apps.catalog.analytics import forecast as fc

BENCH = Path(__file__).resolve().parents[2] / "bench" / "eval_forecast_weekly.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("eval_forecast_weekly", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _history(bench):
    """2 stores × 2 products × 10 weeks; store 2 has no rows in week 3; product 1 is on deal
    at 1.50 (regular 2.00) in week 4 and featured in week 5."""
    rows = []
    for store in (1, 2):
        for product in (1, 2):
            for week in range(10):
                if store == 2 and week == 3:
                    continue
                deal = product == 1 and week == 4
                rows.append(
                    {
                        "store": store,
                        "product": product,
                        "week": week,
                        "units": float(10 * store + product + week),
                        "price": 1.5 if deal else (2.0 if product == 1 else 3.0),
                        "deal": float(deal),
                        "feature": float(product == 1 and week == 5),
                    }
                )
    return bench.WeeklyHistory("tiny", pd.DataFrame(rows), dt.date(2024, 1, 4))


def test_weekly_units_sit_on_the_last_day_of_their_week(bench):
    weekly = bench.weekly_panel(_history(bench))
    panel = weekly.panel
    assert panel.sales.shape == (4, 70)
    assert list(zip(panel.store_ids, panel.product_ids, strict=False)) == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    # Store 1, product 2, week 0: 12 units on day 6, nothing on days 0..5.
    assert panel.sales[1, :7].tolist() == [0, 0, 0, 0, 0, 0, 12.0]
    # Every 7-day sum from a week's end is the next week's units.
    for week in range(9):
        origin = week * 7 + 6
        seen = weekly.observed[:, week + 1]
        np.testing.assert_array_equal(
            panel.sales[seen, origin + 1 : origin + 8].sum(axis=1), weekly.weekly[seen, week + 1]
        )
    # A store-week missing from the data is not scored, and the history holds the mean of
    # the series' observed weeks before it (up to 4): weeks 0–2 sold 21, 22, 23.
    assert not weekly.observed[2, 3]
    assert weekly.weekly[2, 3] == 0
    assert panel.sales[2, 3 * 7 + 6] == pytest.approx(22)
    assert panel.sales[3, 3 * 7 + 6] == pytest.approx(23)
    assert weekly.observed.sum() == 4 * 10 - 2


def test_spread_weeks_put_a_seventh_on_each_day(bench):
    weekly = bench.weekly_panel(_history(bench), spread=True)
    panel = weekly.panel
    np.testing.assert_allclose(panel.sales[1, :7], 12 / 7)
    np.testing.assert_allclose(
        panel.sales.reshape(4, 10, 7).sum(axis=2)[weekly.observed], weekly.weekly[weekly.observed]
    )
    assert panel.paid_ratio[0, 28:35].tolist() == pytest.approx([0.75] * 7)


def test_a_weeks_price_and_promotions_cover_all_its_days(bench):
    weekly = bench.weekly_panel(_history(bench))
    panel = weekly.panel
    price, feature = fc.PROMOTION_KINDS.index("price"), fc.PROMOTION_KINDS.index("feature")
    deal_days = slice(28, 35)
    # 1.50 against the regular 2.00 (the median of the weeks without a deal): 25 % off.
    np.testing.assert_allclose(panel.discount[0, deal_days], 0.25)
    assert panel.discount[0, :28].max() == 0
    assert panel.discount[1].max() == 0
    assert panel.kinds[price, 0, deal_days].tolist() == [1.0] * 7
    assert panel.kinds[feature, 0, 35:42].tolist() == [1.0] * 7
    assert panel.kinds[feature, 0, :35].max() == 0
    assert panel.kinds[feature, 0, 42:].max() == 0
    # The paid ratio sits with the units; the promoted weeks are the deal and feature weeks.
    assert panel.paid_ratio[0, 34] == pytest.approx(0.75)
    assert np.isnan(panel.paid_ratio[0, 33])
    assert weekly.promoted[0].tolist() == [False] * 4 + [True, True] + [False] * 4
    assert panel.promoted()[0, 28:42].all()
    assert not panel.promoted()[1].any()


def test_week_baselines_skip_missing_weeks(bench):
    weekly = bench.weekly_panel(_history(bench))
    baselines = bench.week_baselines(weekly, week=4)
    # Store 2, product 1 (row 2): weeks 0, 1, 2, 4 observed → 21, 22, 23, 25 units.
    assert baselines[bench.LAST_WEEK][2] == 25
    assert baselines[bench.MEAN_4_WEEKS][2] == pytest.approx((21 + 22 + 23 + 25) / 4)
    assert baselines[bench.MEAN_ALL][2] == pytest.approx((21 + 22 + 23 + 25) / 4)
    # Store 1, product 1 (row 0): weeks 0..4 → 11..15 units.
    assert baselines[bench.MEAN_4_WEEKS][0] == pytest.approx((12 + 13 + 14 + 15) / 4)
    assert baselines[bench.MEAN_ALL][0] == pytest.approx(13)
    # Where no week is missing, Linli's 28-day mean × 7 is the 4-week mean of the totals.
    moving = fc.panel_baselines(weekly.panel, 4 * 7 + 6)[fc.MOVING_AVERAGE][:, :7].sum(axis=1)
    assert moving[0] == pytest.approx(baselines[bench.MEAN_4_WEEKS][0])


def test_served_model_scores_week_totals_on_a_weekly_panel(bench):
    weekly = bench.weekly_panel(_history(bench))
    scores = bench.evaluate(weekly, weeks=1, max_rows=5_000)
    # One origin (the end of week 8), four series, all observed in week 9.
    assert scores.points == 4
    overall = scores.overall
    assert overall[bench.LAST_WEEK].actual == pytest.approx(20 + 21 + 30 + 31)
    assert overall[bench.LAST_WEEK].absolute_error == pytest.approx(4)
    assert overall[fc.MODEL].wape is not None


def test_fetching_the_data_without_apt_says_what_to_do(bench, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="r-cran-bayesm"):
        bench.bayesm_data_dir(tmp_path / "cache")


def test_orange_juice_reads_as_weekly_store_brand_rows(bench):
    data = bench.CACHE / bench.DEB_DATA
    if not (data / "orangeJuice.rda").exists():
        pytest.skip("r-cran-bayesm not fetched yet (bench/eval_forecast_weekly.py fetches it)")
    pytest.importorskip("rdata")
    history = bench.orange_juice(data)
    rows = history.rows
    assert len(rows) == 106_139
    assert rows["store"].nunique() == 83
    assert rows["product"].nunique() == 11
    assert rows["week"].min() == 0
    assert rows["week"].max() == 120
    assert history.first_day == dt.date(1990, 6, 14)  # week 40, a Thursday
    assert not rows.duplicated(["store", "product", "week"]).any()
