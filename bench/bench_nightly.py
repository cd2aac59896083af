"""Benchmark: the nightly decision run for 200 stores × 500 active products (target < 10 min
on 2 cores), reported as absolute time against the target.

Runs on PostgreSQL only, in a throwaway test database (`test_<your database name>`, created
and migrated here, dropped at the end unless --keepdb), so it never touches real data:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli python bench/bench_nightly.py
    ... --stores 50 --days 90 --orders-per-day 80      # a quicker, smaller run

Synthetic network (numpy, written with COPY): `--stores` stores in 10 regions over 3 cities,
`--products` active products (plus 20 inactive) in 50 categories, 20 of them new, a preferred
supplier for each, members with tags and usual shopping hours, `--days` days of orders
(≈ `--orders-per-day` per store, weekday and holiday factors, fruit selling more on hot days,
1 + Poisson(1.6) products per basket, 60 % with a member), stock levels, weather and chats.

Measured: `decisions_run` (rules for every scope, the model's backtest and training, then per
chunk of stores forecasts + order suggestions + hot/new lists + insight cards), then a forced
rerun, whose rows must equal the first run's. Reported as absolute times against the target
(there is no fair naive baseline for the whole night: an earlier version compared with a loop
issuing 28 aggregate queries per product per store, a straw man).
Exits 1 when the run exceeds the target or the rerun changed anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

TARGET_SECONDS = 600.0
CITIES = ("杭州", "上海", "苏州")
WEEKDAY = np.array([0.92, 0.90, 0.93, 0.96, 1.06, 1.25, 1.20])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--products", type=int, default=500, help="active products")
    parser.add_argument("--days", type=int, default=120, help="days of order history")
    parser.add_argument("--orders-per-day", type=float, default=120.0, help="per store")
    parser.add_argument("--members", type=int, default=60_000)
    parser.add_argument("--chunk-size", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keepdb", action="store_true", help="keep the test database")
    return parser.parse_args()


def copy_frame(model: type, frame: pd.DataFrame) -> None:
    """COPY a frame into the model's table; columns it lacks get the fields' defaults."""
    now = timezone.now()
    columns = []
    for field in model._meta.concrete_fields:
        if field.column not in frame.columns:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                frame[field.column] = now.isoformat()
            elif field.has_default():
                default = field.get_default()
                if isinstance(default, (list, dict)):
                    default = json.dumps(default)
                elif isinstance(default, dt.datetime):
                    default = default.isoformat()
                frame[field.column] = default
            elif field.null:
                frame[field.column] = None
            else:
                raise ValueError(f"{model.__name__}.{field.name} needs a value")
        columns.append(field.column)
    buffer = io.StringIO()
    frame[columns].to_csv(buffer, index=False, header=False, na_rep="\\N")
    data = buffer.getvalue().encode()
    table = model._meta.db_table
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY \"{table}\" ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"  # noqa: S608
        ) as copy:
            for start in range(0, len(data), 1 << 24):
                copy.write(data[start : start + (1 << 24)])
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
        )


def network_generate(args: argparse.Namespace) -> dict:
    """Write the synthetic network; returns what the report needs."""
    from apps.catalog.analytics.calendar import calendar_frame
    from apps.catalog.analytics.synthetic import city_weather
    from apps.catalog.models import Category, Product, WeatherObservation
    from apps.customers.models import (
        CommunityMessage,
        Member,
        MemberProfile,
        MemberTag,
        Tag,
        TagCategoryRule,
    )
    from apps.procurement.models import Supplier, SupplierProduct
    from apps.stores.models import Order, OrderLine, Region, StockLevel, Store

    rng = np.random.default_rng(args.seed)
    today = timezone.localdate()
    first_day = today - dt.timedelta(days=args.days)
    regions = Region.objects.bulk_create(
        [Region(code=f"BR{i:02d}", name=f"区{i}", city=CITIES[i % len(CITIES)]) for i in range(10)]
    )
    stores = Store.objects.bulk_create(
        [
            Store(code=f"B{i:04d}", name=f"基准店{i}", region=regions[i % len(regions)])
            for i in range(args.stores)
        ]
    )
    categories = Category.objects.bulk_create(
        [Category(code=f"BC{i:02d}", name=f"品类{i}", is_fresh=i < 10) for i in range(50)]
    )
    total_products = args.products + 20
    category_of = rng.integers(0, 50, size=total_products)
    products = Product.objects.bulk_create(
        [
            Product(
                sku=f"B-{i:05d}",
                name=f"商品{i}号 {100 + i}g",
                category=categories[int(category_of[i])],
                price="9.90",
                cost="6.00",
                is_new=args.products - 20 <= i < args.products,
                is_active=i < args.products,
            )
            for i in range(total_products)
        ]
    )
    product_ids = np.array([p.pk for p in products])
    suppliers = Supplier.objects.bulk_create(
        [Supplier(code=f"BS{i}", name=f"供应商{i}", kind=Supplier.Kind.FARM) for i in range(10)]
    )
    SupplierProduct.objects.bulk_create(
        [
            SupplierProduct(
                supplier=suppliers[i % 10],
                product=product,
                cost="5.00",
                lead_time_days=1 + i % 4,
                pack_size=int(rng.choice([1, 4, 6, 10, 12])),
                min_order_qty=int(rng.choice([1, 2, 3])),
            )
            for i, product in enumerate(products)
        ]
    )
    tags = Tag.objects.bulk_create(
        [Tag(name=name) for name in ("有孩家庭", "健身人群", "宠物主人")]
    )
    TagCategoryRule.objects.bulk_create(
        [TagCategoryRule(tag=tag, category=categories[20 + i]) for i, tag in enumerate(tags)]
    )
    temp, rain = city_weather(first_day, args.days + 14, len(CITIES), rng)
    WeatherObservation.objects.bulk_create(
        [
            WeatherObservation(
                city=city,
                day=first_day + dt.timedelta(days=d),
                kind="observed" if d < args.days else "forecast",
                temp_max_c=round(float(temp[c, d]), 1),
                temp_min_c=round(float(temp[c, d]) - 8, 1),
                precipitation_mm=round(float(rain[c, d]), 1),
            )
            for c, city in enumerate(CITIES)
            for d in range(args.days + 14)
        ]
    )

    store_ids = np.array([s.pk for s in stores])
    member_store = rng.integers(0, args.stores, size=args.members)
    members = pd.DataFrame(
        {
            "id": np.arange(1, args.members + 1),
            "member_no": [f"B{i:010d}" for i in range(args.members)],
            "phone": "",
            "home_store_id": store_ids[member_store],
            "joined_at": timezone.now().isoformat(),
        }
    )
    copy_frame(Member, members)
    tagged = rng.random((args.members, 3)) < np.array([0.15, 0.10, 0.12])
    who, which = np.nonzero(tagged)
    copy_frame(
        MemberTag,
        pd.DataFrame(
            {
                "id": np.arange(1, who.size + 1),
                "member_id": who + 1,
                "tag_id": np.array([t.pk for t in tags])[which],
                "source": "purchase",
            }
        ),
    )
    hours = rng.choice([8, 10, 12, 17, 18, 19, 20, 21], size=args.members)
    copy_frame(
        MemberProfile,
        pd.DataFrame(
            {
                "id": np.arange(1, args.members + 1),
                "member_id": np.arange(1, args.members + 1),
                "usual_hours": [f"[{h}]" for h in hours],
            }
        ),
    )

    # Orders, day by day for all stores at once.
    calendar = calendar_frame(first_day, args.days)
    size = np.exp(rng.normal(0, 0.3, size=args.stores))
    popularity = 1.0 / np.arange(1, args.products + 1) ** 0.8
    store_rank = np.argsort(rng.random((args.stores, args.products)), axis=1)
    store_popularity = popularity[store_rank]
    store_popularity /= store_popularity.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(store_popularity, axis=1)
    fruit = np.isin(category_of[: args.products], np.arange(10))
    new_product = np.arange(args.products) >= args.products - 20
    # Members sorted by home store: a store's members are one slice of `members_sorted`.
    members_sorted = np.argsort(member_store, kind="stable") + 1
    member_count = np.bincount(member_store, minlength=args.stores)
    member_offset = np.r_[0, np.cumsum(member_count)[:-1]]
    # Row s of `cumulative` rises from (0, 1]; shifted by s, all rows form one sorted array.
    flat = (cumulative + np.arange(args.stores)[:, None]).ravel()
    order_rows, line_rows = [], []
    next_order, next_line = 1, 1
    for d in range(args.days):
        day = first_day + dt.timedelta(days=d)
        factor = WEEKDAY[day.weekday()] * (1.35 if calendar["is_public_holiday"].iloc[d] else 1.0)
        counts = rng.poisson(args.orders_per_day * size * factor)
        n_orders = int(counts.sum())
        order_store = np.repeat(np.arange(args.stores), counts)
        hour = rng.choice(np.arange(8, 22), size=n_orders)
        minute = rng.integers(0, 60, size=n_orders)
        placed = (
            pd.Timestamp(day).tz_localize("Asia/Shanghai")
            + pd.to_timedelta(hour, unit="h")
            + pd.to_timedelta(minute, unit="m")
        )
        has_member = rng.random(n_orders) < 0.6
        pick = member_offset[order_store] + np.floor(
            rng.random(n_orders) * member_count[order_store]
        ).astype(np.int64)
        member = np.where(
            has_member & (member_count[order_store] > 0),
            members_sorted[np.minimum(pick, args.members - 1)],
            -1,
        )
        sizes = 1 + rng.poisson(1.6, size=n_orders)
        line_order = np.repeat(np.arange(n_orders), sizes)
        draw = rng.random(line_order.size)
        shifted = draw + order_store[line_order]
        picked = (np.searchsorted(flat, shifted) - order_store[line_order] * args.products).clip(
            0, args.products - 1
        )
        heat = 1 + 0.05 * max(float(temp[0, d]) - 28, 0)
        keep = ~(new_product[picked] & (d < args.days - 30))  # new products sell only lately
        keep &= ~(fruit[picked] & (rng.random(picked.size) > 1 / heat))
        line_order, picked = line_order[keep], picked[keep]
        pairs = pd.DataFrame({"o": line_order, "p": picked}).drop_duplicates()
        order_ids = np.arange(next_order, next_order + n_orders)
        order_rows.append(
            pd.DataFrame(
                {
                    "id": order_ids,
                    "store_id": store_ids[order_store],
                    "member_id": pd.array(np.where(member > 0, member, 0), dtype="Int64").astype(
                        "Int64"
                    ),
                    "channel": "pos",
                    "status": "completed",
                    "idempotency_key": [f"bench-{i}" for i in order_ids],
                    "placed_at": placed.strftime("%Y-%m-%d %H:%M:%S%z"),
                }
            )
        )
        order_rows[-1].loc[member <= 0, "member_id"] = pd.NA
        quantity = rng.choice([1, 1, 1, 2, 3], size=len(pairs))
        line_rows.append(
            pd.DataFrame(
                {
                    "id": np.arange(next_line, next_line + len(pairs)),
                    "order_id": order_ids[pairs["o"].to_numpy()],
                    "product_id": product_ids[pairs["p"].to_numpy()],
                    "quantity": quantity,
                    "unit_price": "9.90",
                    "line_total": np.round(quantity * 9.9, 2),
                }
            )
        )
        next_order += n_orders
        next_line += len(pairs)
    orders = pd.concat(order_rows, ignore_index=True)
    lines = pd.concat(line_rows, ignore_index=True)
    copy_frame(Order, orders)
    copy_frame(OrderLine, lines)
    stock = pd.DataFrame(
        {
            "id": np.arange(1, args.stores * args.products + 1),
            "store_id": np.repeat(store_ids, args.products),
            "product_id": np.tile(product_ids[: args.products], args.stores),
            "on_hand": rng.integers(0, 30, size=args.stores * args.products),
        }
    )
    copy_frame(StockLevel, stock)
    talk = rng.integers(0, args.stores, size=args.stores * 30)
    said = rng.integers(0, args.products, size=talk.size)
    copy_frame(
        CommunityMessage,
        pd.DataFrame(
            {
                "id": np.arange(1, talk.size + 1),
                "store_id": store_ids[talk],
                "group_name": "邻里群",
                "text": [f"商品{i}号今天还有吗" for i in said],
                "sent_at": [
                    (timezone.now() - dt.timedelta(days=int(rng.integers(1, 14)))).isoformat()
                    for _ in range(talk.size)
                ],
            }
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"orders": len(orders), "lines": len(lines), "stores": [s.pk for s in stores]}


def tables_fingerprint() -> dict[str, str]:
    """A hash of every decision table's rows (all columns, ordered by id)."""
    from apps.catalog.models import (
        CoPurchaseRule,
        DailyListEntry,
        DemandForecast,
        InsightCard,
        RuleRun,
    )

    result = {}
    for model in (DemandForecast, DailyListEntry, InsightCard, CoPurchaseRule, RuleRun):
        digest = hashlib.sha256()
        for row in model.objects.order_by("pk").values_list():
            digest.update(repr(row).encode())
        result[model.__name__] = f"{model.objects.count()} rows {digest.hexdigest()[:12]}"
    return result


def run(args: argparse.Namespace) -> bool:
    from apps.catalog.services.nightly import decisions_run
    from apps.catalog.sources import planning_sources

    started = time.perf_counter()
    network = network_generate(args)
    print(
        f"generated {args.stores} stores × {args.products} products, {network['orders']:,} "
        f"orders, {network['lines']:,} lines in {time.perf_counter() - started:.0f} s"
    )
    today = timezone.localdate()

    started = time.perf_counter()
    first = decisions_run(
        day=today,
        chunk_size=args.chunk_size,
        progress=lambda message: print(f"  [{time.perf_counter() - started:6.1f} s] {message}"),
        sources=planning_sources(),
    )
    total = time.perf_counter() - started
    timings = first.stats["timings"]
    print(
        f"nightly run: {total:.1f} s (rules {timings['rules']:.1f} s, model and network facts "
        f"{timings['model']:.1f} s, stores {timings['stores']:.1f} s)"
    )
    print(f"  counts: {first.stats['counts']}")
    before = tables_fingerprint()

    started = time.perf_counter()
    decisions_run(day=today, chunk_size=args.chunk_size, force=True, sources=planning_sources())
    rerun = time.perf_counter() - started
    after = tables_fingerprint()
    unchanged = before == after
    print(f"forced rerun: {rerun:.1f} s, rows {'unchanged' if unchanged else 'CHANGED'}")
    for name, value in after.items():
        print(f"  {name}: {value}")

    per_store = timings["stores"] / args.stores
    print(
        f"against the target: {total:.1f} s of {TARGET_SECONDS:.0f} s ({total / TARGET_SECONDS:.0%}"
        f" of the budget); the per-store phase {per_store:.2f} s per store (forecasts with order "
        f"quantities, hot + new lists, insight cards)"
    )
    met = total < TARGET_SECONDS and unchanged
    verdict = "met" if met else "NOT met"
    limit = f"{TARGET_SECONDS / 60:.0f} min"
    print(f"target: nightly run < {limit} and a rerun changes nothing — {verdict}")
    return met


def main() -> int:
    args = _arguments()
    if connection.vendor != "postgresql":
        print("bench_nightly needs PostgreSQL: set DATABASE_URL=postgres://…")
        return 2
    old = setup_databases(verbosity=0, interactive=False, keepdb=args.keepdb)
    try:
        return 0 if run(args) else 1
    finally:
        if not args.keepdb:
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    raise SystemExit(main())
