"""The ceiling of the demo forecast: the demo generator's own expected demand, scored like the
backtest (docs/decisions.md, "Figures").

The demo's sales are drawn by `apps.ops.demo.orders.HistoryGenerator`: each day fixes the
products on promotion, the group-buy fruit, the weather and the day kind, then draws baskets
(Poisson per store) and their contents. The ORACLE forecast of a store × product × day is the
expected counted units given everything the day fixed, estimated by re-drawing the day's
baskets `--replications` times (fresh random numbers, the day's promotions, group-buy product
and weather kept, the co-purchase tallies of that morning restored each time). No mean
forecast that sees less can beat it on average: it is the ceiling of the served forecast (a
mean). WAPE rewards a median, so the oracle's Poisson median is printed too.

The script rebuilds the generator from the seed (no writes), checks that its actual day draws
equal the database's daily sales cell for cell (so the demo was seeded with these options; the
only sales it does not draw are the purchasing demo's few group-buy orders on the last days,
whose mean per product the oracle adds),
loads the panel exactly as `forecast_backtest` does, and prints WAPE and bias on the same
origins and target cells for the oracle (mean and Poisson median) and every baseline of the
backtest, overall and on promoted / unpromoted days:

    DATABASE_URL=... python manage.py seed_demo --stores 10 --members 2000 --days 150 \\
        --end-day 2026-11-26
    DATABASE_URL=... python bench/demo_forecast_oracle.py --stores 10 --members 2000 \\
        --days 150 --end-day 2026-11-26

There is no baseline to beat here: the oracle is a bound, and its figures say how far below
the best baseline any forecast of this demo can get.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

import django  # noqa: E402

django.setup()

from apps.catalog.analytics import forecast as fc  # noqa: E402
from apps.catalog.models import Product  # noqa: E402
from apps.catalog.services.forecasts import (  # noqa: E402
    TRAINING_HISTORY_DAYS,
    CategoryCodes,
    sales_panel_load,
)
from apps.catalog.sources import planning_sources  # noqa: E402
from apps.customers.models import Member  # noqa: E402
from apps.ops.demo.names import DISTRICTS  # noqa: E402
from apps.ops.demo.orders import (  # noqa: E402
    BASE_ORDERS_PER_STORE_DAY,
    COUNTED_STATUS,
    DayOrders,
    HistoryGenerator,
    StoreArrays,
    products_arrays,
)
from apps.ops.demo.people import members_draft  # noqa: E402
from apps.ops.demo.seasonality import day_kind, weather_simulate  # noqa: E402
from apps.ops.demo.seed import FORECAST_DAYS  # noqa: E402
from apps.stores.models import Store  # noqa: E402

ORACLE = "oracle"
ORACLE_MEDIAN = "oracle_median"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=10, help="seed_demo --stores")
    parser.add_argument("--members", type=int, default=2000, help="seed_demo --members")
    parser.add_argument("--days", type=int, default=150, help="seed_demo --days")
    parser.add_argument("--end-day", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    parser.add_argument("--seed", type=int, default=2026, help="seed_demo --seed")
    parser.add_argument(
        "--orders-per-day",
        type=float,
        default=BASE_ORDERS_PER_STORE_DAY,
        help="seed_demo --orders-per-day",
    )
    parser.add_argument("--origins", type=int, default=4)
    parser.add_argument("--step", type=int, default=7)
    parser.add_argument("--replications", type=int, default=200)
    return parser.parse_args()


def generator_rebuild(args: argparse.Namespace) -> tuple[HistoryGenerator, list[dt.date]]:
    """The demo's history generator, built from the seed exactly as `seed_demo` builds it."""
    days = [args.end_day - dt.timedelta(days=args.days - 1 - i) for i in range(args.days)]
    today = args.end_day + dt.timedelta(days=1)
    (seq_catalogue, seq_stores, seq_members, seq_weather, seq_history, *_rest) = (
        np.random.SeedSequence(args.seed).spawn(9)
    )
    weather = weather_simulate(
        first=days[0],
        last=today + dt.timedelta(days=FORECAST_DAYS - 1),
        rng=np.random.default_rng(seq_weather),
    )[: len(days)]
    size = np.random.default_rng(seq_stores).lognormal(0.0, 0.3, args.stores)
    per_region = -(-args.stores // len(DISTRICTS))
    region = np.arange(args.stores) // per_region
    first_member = Member.objects.order_by("pk").values_list("pk", flat=True).first()
    draft = members_draft(
        count=args.members,
        first_sequence=first_member,
        store_weights=size / size.mean(),
        days=len(days),
        rng=np.random.default_rng(seq_members),
    )
    generator = HistoryGenerator(
        products=products_arrays(days=len(days), rng=np.random.default_rng(seq_catalogue)),
        stores=StoreArrays(region=region, size=size / size.mean()),
        region_codes=tuple(district.code for district in DISTRICTS),
        members=draft,
        days=days,
        day_kinds=[day_kind(day) for day in days],
        weather=weather,
        seed_sequence=seq_history,
        first_order_id=1,
        first_line_id=1,
        orders_per_store_day=args.orders_per_day,
    )
    return generator, days


def counted_units(orders: DayOrders, stores: int, products: int) -> np.ndarray:
    """Units of counted (completed) orders per store and product [stores, products]."""
    position = orders.line_order_id - orders.order_id[0]
    counted = orders.status[position] == COUNTED_STATUS
    units = np.zeros((stores, products))
    np.add.at(
        units,
        (orders.store[position][counted], orders.line_product[counted]),
        orders.line_quantity[counted],
    )
    return units


def oracle_day(generator: HistoryGenerator, index: int, replications: int) -> np.ndarray:
    """Expected counted units per store and product on day `index` given what the day fixed
    (promotions, group-buy product, weather, day kind): the mean of `replications` re-draws
    of its baskets. Call before the generator draws the day itself (its co-purchase tallies
    must be that morning's)."""
    rng = np.random.default_rng(generator._day_sequences[index])
    multiplier, promotion = generator._day_multiplier(index, rng)
    featured = generator._featured_product(multiplier, rng)
    tallies = copy.deepcopy(generator.tallies)
    total = np.zeros((generator.store_count, generator.product_count))
    for replication in range(replications):
        replica = copy.copy(generator)
        replica._day_multiplier = lambda _index, _rng: (multiplier, promotion)
        replica._featured_product = lambda _multiplier, _rng: featured
        replica._day_sequences = list(generator._day_sequences)
        replica._day_sequences[index] = np.random.SeedSequence([index, replication, 7919])
        replica.tallies = copy.deepcopy(tallies)
        replica.units_by_month = {}
        replica.units_recent = generator.units_recent.copy()
        total += counted_units(replica.day(index), generator.store_count, generator.product_count)
    return total / replications


def main() -> None:
    args = _arguments()
    generator, days = generator_rebuild(args)
    codes = CategoryCodes.load()
    store_index = {pk: int(code[2:]) - 1 for pk, code in Store.objects.values_list("pk", "code")}
    product_index = {
        pk: int(barcode[7:12]) - 1 for pk, barcode in Product.objects.values_list("pk", "barcode")
    }
    end = args.end_day + dt.timedelta(days=1)
    panel, _series = sales_panel_load(
        store_ids=sorted(store_index),
        end_day=end,
        days=TRAINING_HISTORY_DAYS,
        codes=codes,
        sources=planning_sources(),
        trim=True,
    )
    rows_store = np.array([store_index[int(s)] for s in panel.store_ids])
    rows_product = np.array([product_index[int(p)] for p in panel.product_ids])
    last = panel.last_origin - fc.HORIZON
    origins = sorted(last - args.step * k for k in range(args.origins))
    generator_offset = (panel.first_day - days[0]).days
    targets = sorted({o + h for o in origins for h in range(1, fc.HORIZON + 1)})
    oracle = np.full(panel.sales.shape, np.nan)
    drawn = np.zeros(panel.sales.shape)
    for index in range(len(days)):
        column = index - generator_offset
        if column in targets:
            oracle[:, column] = oracle_day(generator, index, args.replications)[
                rows_store, rows_product
            ]
        actual = counted_units(generator.day(index), generator.store_count, len(product_index))
        if 0 <= column < panel.days_observed:
            drawn[:, column] = actual[rows_store, rows_product]
    # The demo's purchasing part adds a few group-buy orders (random offers of the demo
    # suppliers) on the history's last days (`apps.ops.demo.purchasing`): sales the generator
    # did not draw. The oracle adds their expectation per product: the extra units' mean over
    # the stores and days that have them.
    extra = panel.sales - drawn
    extra_days = np.flatnonzero(np.abs(extra).sum(axis=0) > 0)
    print(
        f"panel: {panel.series_count} series, {panel.days_observed} days from "
        f"{panel.first_day}; sales not drawn by the generator: {extra.sum():.0f} units "
        f"({extra.sum() / panel.sales.sum() * 100:.2f}% of all, min per cell {extra.min():.0f}) "
        f"on {', '.join(panel.day(int(c)).isoformat() for c in extra_days)}"
    )
    if extra.min() < 0 or len(extra_days) > 7:
        sys.exit("the demo was not seeded with these options: no oracle")
    if len(extra_days):
        per_product = np.bincount(
            rows_product, weights=extra[:, extra_days].sum(axis=1), minlength=len(product_index)
        ) / (np.bincount(rows_product, minlength=len(product_index)).clip(1) * len(extra_days))
        for column in extra_days:
            if column in targets:
                oracle[:, column] += per_product[rows_product]
    overall: dict[str, fc.MethodScores] = {}
    categories: dict[int, dict[str, fc.MethodScores]] = {}
    segments: dict[str, dict[str, fc.MethodScores]] = {}
    promoted = panel.promoted()
    for origin in origins:
        window = slice(origin + 1, origin + fc.HORIZON + 1)
        forecasts = {
            ORACLE: oracle[:, window],
            ORACLE_MEDIAN: fc.poisson_median(oracle[:, window]),
            **fc.panel_baselines(panel, origin),
        }
        forecasts.update(fc.median_baselines(panel.sales, origin, forecasts))
        fc.score_forecasts(
            forecasts,
            panel.sales[:, window],
            fc.mase_scale(panel.sales, origin),
            panel.category_codes,
            promoted[:, window],
            overall=overall,
            categories=categories,
            segments=segments,
        )
    print(
        f"origins {', '.join(panel.day(o).isoformat() for o in origins)}, "
        f"{fc.HORIZON} days each, {args.replications} re-draws per target day"
    )
    sections = (
        ("all days", overall),
        ("promoted days", segments[fc.PROMOTED]),
        ("unpromoted days", segments[fc.UNPROMOTED]),
    )
    for label, scores in sections:
        print(f"{label}: WAPE (bias)")
        for method, score in scores.items():
            print(f"  {method:<20} {score.wape * 100:6.1f}% ({score.bias * 100:+5.1f}%)")
        best = fc.best_baseline(scores)
        gain = fc.improvement(scores[ORACLE].wape, best[1])
        print(
            f"  oracle mean {scores[ORACLE].wape * 100:.1f}% against the best baseline "
            f"{best[0]} {best[1] * 100:.1f}%: {gain * 100:.1f}% lower"
        )


if __name__ == "__main__":
    main()
