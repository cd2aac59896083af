"""Evaluate Linli's served forecast on real weekly store × brand sales with prices and promotions.

    .venv/bin/pip install -e '.[realdata]'        # rdata, pinned in pyproject
    .venv/bin/python bench/eval_forecast_weekly.py [--dataset orangejuice|tuna]
        [--half tuning|held-out|both] [--weeks 20] [--max-rows 200000]

Data: the data sets of the R package bayesm, installed the registry way — the Debian package
`r-cran-bayesm` is downloaded (`apt-get download`, no R needed) and unpacked (`dpkg-deb -x`)
into var/realdata/bayesm/ on the first run; `rdata` (pure Python) reads the .rda files.

- `orangejuice`: Dominick's Finer Foods, refrigerated orange juice, 83 stores × 11 brands ×
  121 weeks (weeks 40–160; a week runs Thursday to Wednesday, week 1 began 14 Sep 1989):
  units (`logmove`), the shelf price of each brand (`price1..11`), `deal` (in-store coupon or
  price deal) and `feat` (feature advertisement). The stores are split in two by id rank: odd
  ranks "tuning", even ranks "held-out".
- `tuna`: canned tuna, one chain aggregate × 7 brands × 338 weeks: units (`MOVE`), log price
  (`LPRICE`) and display activity (`NSALE`). Held out entirely (never tuned on).

How a weekly history enters the model — as docs/csv-formats.md ("Weekly totals instead of
receipts") says it is imported: one anonymous order per store × product × week dated the
week's last day, so every unit of a week sits on its last day and the six days before show
zero; deals become `price` Promotions over the whole week with the deal price, features
`feature` Promotions (`--spread`: each week's units 1/7 a day instead — on OJ's tuning stores
the forecast of a week went from 7 % worse than the 4-week mean to 21 % better; see
docs/decisions.md, "Real weekly data"). Then the same pure functions Linli serves with
(`apps/catalog/analytics/forecast.py`), not a separate model:

- reference price (`Product.price`): per brand, the median price of the weeks without a deal
  across all stores and weeks;
- discount depth: 1 − the week's price / the reference price (0 at or above it), on every day
  of the week. The price of the target week is taken as known: a chain plans its weekly
  prices, deals and features ahead (and the data holds the price charged, so this is the
  planned price as executed);
- promotion kinds: `price` = the deal flag (tuna: a price below the reference), `feature` = the
  feature flag (tuna: the display measure, clipped to 0..1);
- paid ratio: the week's price over the reference on the day the week's units sit;
- one category (all brands are one product category), no weather (the data has no city), the
  Chinese calendar (noise for US data; the trees ignore it).

Evaluation: one week ahead on rolling origins — the last `--weeks` week ends (the day a week's
units sit on); at each origin the model is trained on targets observed by then only (up to a
year back) and forecasts the next 7 days, whose sum is scored against the next week's units.
Store-weeks missing from the data (4 % of OJ's: a store's week without rows — the extract lacks
it; the store was open) are filled before the import with the mean of the series' last 4
observed weeks before them (no promotion, no price), and are not scored as targets. Left as
zeros they wrecked the model: a store back from missing weeks has a tiny 28-day level, and a
Poisson tree's rate on such a row reached 431 532 (52 million units forecast for 17 856).
Baselines on the week totals, each over the store's observed weeks only (missing weeks
skipped, which makes them stronger): last week, the mean of the last 4 weeks ("4-week mean"),
the mean of all weeks so far, and Linli's pooled level (store traffic × brand share, × 7).
WAPE = Σ|ŷ − y| / Σy over all scored points; also on promoted (deal, feature or a price below
the reference) and unpromoted target weeks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.catalog.analytics import forecast as fc  # noqa: E402
from bench.report_format import pct, signed_pct  # noqa: E402

CACHE = ROOT / "var" / "realdata" / "bayesm"
DEB_DATA = Path("usr/lib/R/site-library/bayesm/data")
DATASETS = ("orangejuice", "tuna")
LAST_WEEK = "last_week"
MEAN_4_WEEKS = "mean_4_weeks"
MEAN_ALL = "mean_all_weeks"
POOLED_WEEK = "pooled_level"
WEEK_BASELINES = (LAST_WEEK, MEAN_4_WEEKS, MEAN_ALL, POOLED_WEEK)
# Dominick's week 1 began on Thursday 14 September 1989.
DOMINICKS_WEEK_1 = dt.date(1989, 9, 14)


def bayesm_data_dir(cache: Path = CACHE) -> Path:
    """The directory of bayesm's .rda files, fetched from the Debian registry on first use:
    `apt-get download r-cran-bayesm` then `dpkg-deb -x` into `cache` (R is not installed)."""
    data = cache / DEB_DATA
    if (data / "orangeJuice.rda").exists():
        return data
    apt, dpkg = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt is None or dpkg is None:
        raise SystemExit(
            "apt-get and dpkg-deb are needed to fetch the Debian package r-cran-bayesm "
            "(the data sets); on another system download r-cran-bayesm's .deb by hand and "
            f"unpack it with `dpkg-deb -x <deb> {cache}`"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        fetched = subprocess.run(  # noqa: S603 - fixed arguments, apt-get from PATH
            [apt, "download", "r-cran-bayesm"], cwd=download, capture_output=True, text=True
        )
        if fetched.returncode != 0:
            raise SystemExit(
                "apt-get download r-cran-bayesm failed (run `apt-get update` first?):\n"
                + fetched.stderr.strip()
            )
        (deb,) = Path(download).glob("r-cran-bayesm_*.deb")
        subprocess.run([dpkg, "-x", str(deb), str(cache)], check=True)  # noqa: S603
    return data


def read_rda(path: Path, name: str):
    import rdata

    return rdata.read_rda(str(path))[name]


@dataclass
class WeeklyHistory:
    """Weekly totals: one row per store × product × week that has data, with columns
    `store`, `product` (ints), `week` (0 = the first week, which begins on `first_day`),
    `units`, `price` (the week's price per unit), `deal` (0/1) and `feature` (0..1)."""

    name: str
    rows: pd.DataFrame
    first_day: dt.date


def orange_juice(data: Path) -> WeeklyHistory:
    yx = read_rda(data / "orangeJuice.rda", "orangeJuice")["yx"]
    brand = yx["brand"].to_numpy(dtype=np.int64)
    prices = yx[[f"price{b}" for b in range(1, 12)]].to_numpy(dtype=float)
    first = int(yx["week"].min())
    rows = pd.DataFrame(
        {
            "store": yx["store"].to_numpy(dtype=np.int64),
            "product": brand,
            "week": yx["week"].to_numpy(dtype=np.int64) - first,
            "units": np.round(np.exp(yx["logmove"].to_numpy(dtype=float))),
            "price": prices[np.arange(len(yx)), brand - 1],
            "deal": yx["deal"].to_numpy(dtype=float),
            "feature": yx["feat"].to_numpy(dtype=float).clip(0, 1),
        }
    )
    return WeeklyHistory("orangejuice", rows, DOMINICKS_WEEK_1 + dt.timedelta(weeks=first - 1))


def tuna(data: Path) -> WeeklyHistory:
    frame = read_rda(data / "tuna.rda", "tuna")
    blocks = []
    for b in range(1, 8):
        price = np.exp(frame[f"LPRICE{b}"].to_numpy(dtype=float))
        blocks.append(
            pd.DataFrame(
                {
                    "store": 0,
                    "product": b,
                    "week": frame["WEEK"].to_numpy(dtype=np.int64) - int(frame["WEEK"].min()),
                    "units": frame[f"MOVE{b}"].to_numpy(dtype=float),
                    "price": price,
                    "deal": np.nan,  # no deal flag: a price below the reference counts
                    "feature": frame[f"NSALE{b}"].to_numpy(dtype=float).clip(0, 1),
                }
            )
        )
    # The weeks carry no calendar date; the first is placed on a Thursday like Dominick's.
    return WeeklyHistory("tuna", pd.concat(blocks, ignore_index=True), DOMINICKS_WEEK_1)


@dataclass
class WeeklyPanel:
    """Linli's daily panel of a weekly history, with what scoring needs: `weekly` units and
    `observed` [S, W] (False where the store has no row that week) and `promoted` [S, W]."""

    panel: fc.Panel
    weekly: np.ndarray
    observed: np.ndarray
    promoted: np.ndarray


def weekly_panel(
    history: WeeklyHistory, stores: list[int] | None = None, *, spread: bool = False
) -> WeeklyPanel:
    """The daily panel as an import would build it: each week's units on the week's last day
    (zeros on the six days before), the week's discount depth and promotion kinds on all its
    7 days, the paid ratio on the day the units sit. `spread`: each week's units 1/7 a day
    instead (and its paid ratio on every day) — the other way docs/decisions.md described."""
    rows = history.rows
    reference = _reference_prices(rows)
    if stores is not None:
        rows = rows[rows["store"].isin(stores)]
    series = pd.MultiIndex.from_product(
        [sorted(rows["store"].unique()), sorted(rows["product"].unique())],
        names=["store", "product"],
    )
    weeks = int(history.rows["week"].max()) + 1
    count, days = len(series), weeks * 7
    position = pd.Series(np.arange(count), index=series)
    s = position.reindex(pd.MultiIndex.from_arrays([rows["store"], rows["product"]])).to_numpy()
    w = rows["week"].to_numpy()
    weekly = np.zeros((count, weeks))
    observed = np.zeros((count, weeks), dtype=bool)
    depth_week = np.zeros((count, weeks))
    deal_week = np.zeros((count, weeks))
    feature_week = np.zeros((count, weeks))
    ratio_week = np.full((count, weeks), np.nan)
    ratio = rows["price"].to_numpy() / reference.reindex(rows["product"]).to_numpy()
    depth = np.clip(1 - ratio, 0.0, 0.9)
    depth = np.where(depth >= 0.01, depth, 0.0)
    deal = rows["deal"].to_numpy()
    weekly[s, w] = rows["units"].to_numpy()
    observed[s, w] = True
    depth_week[s, w] = depth
    deal_week[s, w] = np.where(np.isnan(deal), depth > 0, deal)
    feature_week[s, w] = rows["feature"].to_numpy()
    ratio_week[s, w] = ratio
    filled = _fill_missing_weeks(weekly, observed)
    paid_ratio = np.full((count, days), np.nan)
    if spread:
        sales = np.repeat(filled / 7, 7, axis=1)
        paid_ratio[:] = np.repeat(np.where(weekly > 0, ratio_week, np.nan), 7, axis=1)
    else:
        sales = np.zeros((count, days))
        sales[:, 6::7] = filled
        paid_ratio[:, 6::7] = np.where(weekly > 0, ratio_week, np.nan)

    def daily(values: np.ndarray) -> np.ndarray:
        spread = np.zeros((count, days + fc.HORIZON))
        spread[:, :days] = np.repeat(values, 7, axis=1)
        return spread

    kinds = np.zeros((len(fc.PROMOTION_KINDS), count, days + fc.HORIZON))
    kinds[fc.PROMOTION_KINDS.index("price")] = daily(deal_week)
    kinds[fc.PROMOTION_KINDS.index("feature")] = daily(feature_week)
    panel = fc.Panel(
        sales=sales,
        first_day=history.first_day,
        store_ids=series.get_level_values(0).to_numpy(dtype=np.int64),
        product_ids=series.get_level_values(1).to_numpy(dtype=np.int64),
        category_codes=np.zeros(count, dtype=np.int64),
        city_index=np.zeros(count, dtype=np.int64),
        temp_max=np.full((1, days + fc.HORIZON), np.nan),
        precipitation=np.full((1, days + fc.HORIZON), np.nan),
        kinds=kinds,
        discount=daily(depth_week),
        paid_ratio=paid_ratio,
    )
    promoted = (deal_week > 0) | (feature_week > 0) | (depth_week > 0.005)
    return WeeklyPanel(panel, weekly, observed, promoted)


def _fill_missing_weeks(weekly: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """The weekly units with each missing store-week (no row in the data: the extract lacks
    it, the store did not sell nothing) set to the mean of the series' last 4 observed weeks
    before it (0 before the first) — only the past, so no target leaks into the history."""
    filled = weekly.copy()
    for s in range(weekly.shape[0]):
        seen: list[float] = []
        for w in range(weekly.shape[1]):
            if observed[s, w]:
                seen.append(weekly[s, w])
            else:
                filled[s, w] = float(np.mean(seen[-4:])) if seen else 0.0
    return filled


def _reference_prices(rows: pd.DataFrame) -> pd.Series:
    """Per product, its regular price: the median price of the weeks without a deal, across
    all stores and weeks (one price per product, like `Product.price`)."""
    regular = rows[~(rows["deal"] > 0)]
    return regular.groupby("product")["price"].median()


def week_baselines(weekly: WeeklyPanel, week: int) -> dict[str, np.ndarray]:
    """The baseline forecasts [S] of week `week + 1`, made at the end of week `week`, each
    over the series' observed weeks only: last week, the 4-week mean, the mean of all weeks,
    and the pooled level (Linli's baseline: store traffic × product share over 28 days, × 7)."""
    units = np.where(weekly.observed[:, : week + 1], weekly.weekly[:, : week + 1], np.nan)
    count = units.shape[0]
    last = np.full(count, np.nan)
    mean4 = np.full(count, np.nan)
    for s in range(count):
        seen = units[s][~np.isnan(units[s])]
        if seen.size:
            last[s] = seen[-1]
            mean4[s] = seen[-4:].mean()
    with np.errstate(invalid="ignore"):
        mean_all = np.nanmean(units, axis=1)
    origin = week * 7 + 6
    panel = weekly.panel
    pooled = fc.panel_baselines(panel, origin)[fc.POOLED][:, :7].sum(axis=1)
    return {
        LAST_WEEK: np.nan_to_num(last),
        MEAN_4_WEEKS: np.nan_to_num(mean4),
        MEAN_ALL: np.nan_to_num(mean_all),
        POOLED_WEEK: pooled,
    }


@dataclass
class Scores:
    overall: dict[str, fc.MethodScores]
    segments: dict[str, dict[str, fc.MethodScores]]
    points: int
    features: list[str]


def evaluate(weekly: WeeklyPanel, weeks: int, max_rows: int) -> Scores:
    """One-week-ahead scores of the model and the baselines at the last `weeks` week ends."""
    panel = weekly.panel
    total_weeks = weekly.weekly.shape[1]
    overall: dict[str, fc.MethodScores] = {}
    categories: dict[int, dict[str, fc.MethodScores]] = {}
    segments: dict[str, dict[str, fc.MethodScores]] = {}
    points = 0
    features: list[str] = []
    for week in range(total_weeks - 1 - weeks, total_weeks - 1):
        origin = week * 7 + 6
        started = time.perf_counter()
        model = fc.ForecastModel().fit(
            panel,
            fc.training_origins(origin - fc.HORIZON, step=2, count=30, history_days=365),
            max_rows=max_rows,
        )
        features = model.used_features
        forecasts = {
            fc.MODEL: model.predict(panel, origin, weather_known_through=origin)[:, :7].sum(axis=1),
            **week_baselines(weekly, week),
        }
        scored = weekly.observed[:, week + 1]
        actual = weekly.weekly[scored, week + 1][:, None]
        points += int(scored.sum())
        fc.score_forecasts(
            {method: values[scored][:, None] for method, values in forecasts.items()},
            actual,
            fc.mase_scale(panel.sales, origin)[scored] * 7,
            panel.category_codes[scored],
            weekly.promoted[scored, week + 1][:, None],
            overall=overall,
            categories=categories,
            segments=segments,
        )
        total = max(float(actual.sum()), 1e-9)
        error = {
            m: np.abs(forecasts[m][scored] - actual[:, 0]).sum() / total
            for m in (fc.MODEL, MEAN_4_WEEKS)
        }
        print(
            f"  week {week + 1}: {int(scored.sum())} points, {model.training_rows} rows, "
            f"fit in {time.perf_counter() - started:.0f} s; WAPE model "
            f"{pct(error[fc.MODEL])}, 4-week mean "
            f"{pct(error[MEAN_4_WEEKS])}",
            flush=True,
        )
    return Scores(overall, segments, points, features)


def best_week_baseline(block: dict[str, fc.MethodScores]) -> tuple[str, float]:
    return min(((m, block[m].wape) for m in WEEK_BASELINES), key=lambda item: item[1])


def report(name: str, scores: Scores) -> None:
    methods = [fc.MODEL, *WEEK_BASELINES]
    print(f"\n== {name}: {scores.points} one-week-ahead points ==")
    print(f"{'WAPE / bias':<12}" + "".join(f"{m:>22}" for m in methods))
    blocks = [
        ("ALL", scores.overall),
        ("promoted", scores.segments.get(fc.PROMOTED, {})),
        ("unpromoted", scores.segments.get(fc.UNPROMOTED, {})),
    ]
    for label, block in blocks:
        cells = "".join(
            f"{pct(block[m].wape):>13}{signed_pct(block[m].bias):>9}" if m in block else " " * 22
            for m in methods
        )
        print(f"{label:<12}{cells}")
    for label, block in blocks:
        if not block:
            continue
        model = block[fc.MODEL].wape
        mean4 = block[MEAN_4_WEEKS].wape
        best, best_wape = best_week_baseline(block)
        print(
            f"{name} {label}: model WAPE {pct(model)}; 4-week mean {pct(mean4)} "
            f"({fc.improvement(model, mean4) * 100:+.1f}% better); best baseline {best} "
            f"{pct(best_wape)} ({fc.improvement(model, best_wape) * 100:+.1f}% better)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="orangejuice")
    parser.add_argument("--half", choices=["tuning", "held-out", "both"], default="both")
    parser.add_argument("--weeks", type=int, default=20, help="rolling origins (week ends)")
    parser.add_argument("--max-rows", type=int, default=200_000)
    parser.add_argument(
        "--spread",
        action="store_true",
        help="bring each week in as 1/7 of its units a day, not all on its last day",
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    started = time.perf_counter()
    data = bayesm_data_dir()
    if args.dataset == "orangejuice":
        history = orange_juice(data)
        stores = sorted(history.rows["store"].unique())
        halves = {"tuning": stores[1::2], "held-out": stores[0::2]}
    else:
        history = tuna(data)
        halves = {"held-out": None}
    rows = history.rows
    print(
        f"{history.name}: {len(rows)} store × product × week rows, "
        f"{rows['store'].nunique()} stores × {rows['product'].nunique()} products × "
        f"{rows['week'].max() + 1} weeks from {history.first_day}; "
        f"{args.weeks} one-week-ahead origins"
    )
    for half, members in halves.items():
        if args.half not in (half, "both") and args.dataset == "orangejuice":
            continue
        weekly = weekly_panel(
            history, None if members is None else [int(m) for m in members], spread=args.spread
        )
        print(f"\n{half}: {weekly.panel.series_count} series")
        scores = evaluate(weekly, args.weeks, args.max_rows)
        print(f"features used: {len(scores.features)} of {len(fc.FEATURES)}")
        report(f"{history.name} {half}", scores)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
