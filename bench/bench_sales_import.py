"""Benchmark: sales-history import (COPY while reading) against plain `bulk_create`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli python bench/bench_sales_import.py \
        [--lines 1000000] [--baseline-lines 200000]

Creates its own database (`<name>_bench_sales` next to DATABASE_URL's database), migrates it,
adds demo-like reference data (200 stores, 2,000 products, 50,000 members with phone
identities), writes a valid CSV of N lines, then times in the same run:

- the import service (`sales_history_import`: stream-parse, validate and group into orders;
  a sender thread COPYs each chunk's lines and orders straight into their tables while the
  next chunk is read; one transaction) on all N lines;
- the same service on the first `--baseline-lines` lines;
- a plain `bulk_create` of the same orders and lines from those first `--baseline-lines` lines
  (parse with the csv module, look up stores / products / members in dicts, build objects,
  `bulk_create` orders then lines; no validation beyond parsing) — the baseline.

The ratio compares the two runs over the same lines. When the baseline runs on fewer lines
than N, its rows/s is measured on that sample (not extrapolated from thin air) and the output
says so. Targets: ≥ 50,000 rows/s and ≥ 3× bulk_create. The bench database is dropped at the
end unless --keep.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
TARGET_ROWS_PER_SECOND = 50_000
TARGET_RATIO = 3.0
STORES = 200
PRODUCTS = 2_000
MEMBERS = 50_000


def bench_database(url: str) -> tuple[str, str]:
    """(bench database URL, its name) beside the database DATABASE_URL names."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit("DATABASE_URL must point at PostgreSQL for this benchmark.")
    name = f"{parsed.path.lstrip('/') or 'linli'}_bench_sales"
    return urlunparse(parsed._replace(path=f"/{name}")), name


def database_recreate(url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    admin_url = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reference_data_create(rng: random.Random) -> dict[str, list[str]]:
    from apps.catalog.models import Category, Product
    from apps.customers.models import Member, MemberIdentity
    from apps.stores.models import Region, Store

    region = Region.objects.create(code="BENCH", name="基准区", city="杭州")
    stores = Store.objects.bulk_create(
        [
            Store(code=f"HZ{n:04d}", name=f"邻里优选{n}号店", region=region)
            for n in range(1, STORES + 1)
        ]
    )
    category = Category.objects.create(code="BENCH", name="基准品类")
    products = Product.objects.bulk_create(
        [
            Product(
                sku=f"BENCH-{n:05d}",
                name=f"商品{n}",
                category=category,
                price=Decimal(rng.randrange(190, 9990)) / 100,  # above the largest discount
            )
            for n in range(1, PRODUCTS + 1)
        ],
        batch_size=2000,
    )
    phones = [f"+86138{n:08d}" for n in range(MEMBERS)]
    members = Member.objects.bulk_create(
        [Member(member_no=f"B{n:010d}", phone=phone) for n, phone in enumerate(phones)],
        batch_size=5000,
    )
    MemberIdentity.objects.bulk_create(
        [
            MemberIdentity(member=member, kind=MemberIdentity.Kind.PHONE, value=member.phone)
            for member in members
        ],
        batch_size=5000,
    )
    return {
        "stores": [store.code for store in stores],
        "products": [(product.sku, product.price) for product in products],
        "phones": [phone[3:] for phone in phones],
    }


def csv_write(path: Path, lines: int, reference: dict, rng: random.Random) -> int:
    """Write `lines` valid order lines (1–6 per order); returns the number of orders."""
    start = dt.datetime(2024, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    stores, products, phones = reference["stores"], reference["products"], reference["phones"]
    written = orders = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "store_code",
                "order_ref",
                "member_identity",
                "sku",
                "quantity",
                "unit_price",
                "discount",
                "sold_at",
            ]
        )
        while written < lines:
            orders += 1
            store = rng.choice(stores)
            draw = rng.random()
            if draw < 0.8:
                identity = f"phone:{rng.choice(phones)}"
            elif draw < 0.9:
                identity = f"phone:137{rng.randrange(10**8):08d}"  # not a member: anonymous
            else:
                identity = ""
            sold_at = (start + dt.timedelta(seconds=rng.randrange(365 * 86400))).isoformat()
            count = min(rng.randint(1, 6), lines - written)
            for sku, price in rng.sample(products, count):
                quantity = rng.randint(1, 5)
                discount = Decimal(rng.randrange(0, 150)) / 100 if rng.random() < 0.3 else 0
                writer.writerow(
                    [store, f"B{orders:08d}", identity, sku, quantity, price, discount, sold_at]
                )
            written += count
    return orders


def role_without_replication_use() -> None:
    """SET ROLE to a role with the tables' privileges but not session_replication_role."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS linli_bench_importer")
        cursor.execute("CREATE ROLE linli_bench_importer NOSUPERUSER")
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO linli_bench_importer")
        cursor.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO linli_bench_importer")
        cursor.execute("SET ROLE linli_bench_importer")
    print("running as a role without session_replication_role: per-row key triggers")


def role_drop(url: str) -> None:
    import psycopg

    admin_url = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS linli_bench_importer")


def orders_truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE stores_orderline, stores_order CASCADE")


def copy_path_run(path: Path, *, batch_size: int) -> tuple[float, object]:
    from apps.stores.services.sales_import import sales_history_import
    from linli.imports.contract import csv_table_open

    began = time.perf_counter()
    with csv_table_open(path) as table:
        report = sales_history_import(table=table, batch_size=batch_size)
    elapsed = time.perf_counter() - began
    if not report.is_valid:
        sys.exit(f"the generated file did not validate: {report.errors[:5]}")
    return elapsed, report


def bulk_create_run(path: Path) -> tuple[float, int, int]:
    """The plain way: parse, build model objects, bulk_create orders then lines."""
    from django.db import transaction
    from django.utils import timezone

    from apps.catalog.models import Product
    from apps.customers.models import MemberIdentity
    from apps.stores.models import Order, OrderLine, Store

    began = time.perf_counter()
    stores = dict(Store.objects.values_list("code", "pk"))
    products = dict(Product.objects.values_list("sku", "pk"))
    members = dict(
        MemberIdentity.objects.filter(kind=MemberIdentity.Kind.PHONE).values_list(
            "value", "member_id"
        )
    )
    orders: dict[tuple[int, str], Order] = {}
    lines: list[tuple[tuple[int, str], OrderLine]] = []
    now = timezone.now()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for store_code, ref, identity, sku, quantity, price, discount, sold_at in reader:
            store_id = stores[store_code]
            key = (store_id, ref)
            unit_price = Decimal(price)
            discount_value = Decimal(discount or "0")
            line_total = unit_price * int(quantity) - discount_value
            order = orders.get(key)
            if order is None:
                member_id = members.get("+86" + identity[6:]) if identity else None
                order = orders[key] = Order(
                    store_id=store_id,
                    member_id=member_id,
                    channel=Order.Channel.POS,
                    status=Order.Status.COMPLETED,
                    idempotency_key=f"import:{ref}",
                    reference=ref,
                    placed_at=dt.datetime.fromisoformat(sold_at),
                    total=Decimal("0.00"),
                    discount_total=Decimal("0.00"),
                    created_at=now,
                )
            order.total += line_total
            order.discount_total += discount_value
            lines.append(
                (
                    key,
                    OrderLine(
                        product_id=products[sku],
                        quantity=int(quantity),
                        unit_price=unit_price,
                        discount=discount_value,
                        line_total=line_total,
                    ),
                )
            )
    with transaction.atomic():
        Order.objects.bulk_create(list(orders.values()), batch_size=5000)
        for key, line in lines:
            line.order_id = orders[key].pk
        OrderLine.objects.bulk_create([line for _key, line in lines], batch_size=5000)
    return time.perf_counter() - began, len(orders), len(lines)


def head_copy(source: Path, target: Path, lines: int) -> None:
    """The first `lines` data lines of `source` (whole orders may be cut: that is fine)."""
    with source.open(encoding="utf-8") as reader, target.open("w", encoding="utf-8") as writer:
        for index, line in enumerate(reader):
            if index > lines:
                break
            writer.write(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--baseline-lines", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=20240701)
    parser.add_argument("--keep", action="store_true", help="Keep the bench database.")
    parser.add_argument(
        "--without-replication-role",
        action="store_true",
        help="Run both imports as a role that may not set session_replication_role, so the "
        "foreign keys are checked by PostgreSQL's per-row triggers.",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (a *_bench_sales database is created).")
    bench_url, name = bench_database(url)
    baseline_lines = min(args.baseline_lines, args.lines)
    rng = random.Random(args.seed)

    print(f"database {name}: creating and migrating …", flush=True)
    database_recreate(bench_url, name)
    try:
        django_setup(bench_url)
        reference = reference_data_create(rng)
        if args.without_replication_role:
            role_without_replication_use()
        with tempfile.TemporaryDirectory() as folder:
            full = Path(folder) / "sales.csv"
            sample = Path(folder) / "sample.csv"
            orders = csv_write(full, args.lines, reference, rng)
            head_copy(full, sample, baseline_lines)
            print(f"generated {args.lines:,} lines in {orders:,} orders", flush=True)

            memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            copy_seconds, report = copy_path_run(full, batch_size=args.batch_size)
            assert report.lines_created == args.lines, report
            copy_rate = args.lines / copy_seconds
            memory_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(
                f"COPY path, {args.lines:,} lines: {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s "
                f"({report.created:,} orders, {report.orders_without_member:,} anonymous)",
                flush=True,
            )
            print(
                f"  peak memory of this process: {memory_after / 1024:,.0f} MiB "
                f"(was {memory_before / 1024:,.0f} MiB before the import)",
                flush=True,
            )
            rerun_seconds, rerun = copy_path_run(full, batch_size=args.batch_size)
            assert rerun.created == 0, rerun
            assert rerun.lines_created == 0, rerun
            phases = ", ".join(
                f"{name} {seconds:.1f} s" for name, seconds in report.timings.items()
            )
            print(f"  phases: {phases}", flush=True)
            print(f"rerun of the same file: {rerun_seconds:.2f} s, 0 orders added", flush=True)

            orders_truncate()
            sample_seconds, _report = copy_path_run(sample, batch_size=args.batch_size)
            sample_rate = baseline_lines / sample_seconds
            print(
                f"COPY path, first {baseline_lines:,} lines: {sample_seconds:.2f} s = "
                f"{sample_rate:,.0f} rows/s",
                flush=True,
            )
            orders_truncate()
            bulk_seconds, _orders, bulk_lines = bulk_create_run(sample)
            assert bulk_lines == baseline_lines
            bulk_rate = baseline_lines / bulk_seconds
            print(
                f"bulk_create baseline, first {baseline_lines:,} lines: {bulk_seconds:.2f} s = "
                f"{bulk_rate:,.0f} rows/s",
                flush=True,
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(bench_url, name, drop_only=True)
            if args.without_replication_role:
                role_drop(bench_url)

    ratio = sample_rate / bulk_rate
    print()
    if baseline_lines < args.lines:
        print(
            f"note: bulk_create ran on the first {baseline_lines:,} of {args.lines:,} lines; "
            f"its rows/s is measured on that sample and compared with the COPY path on the "
            f"same sample (COPY on all {args.lines:,} lines: {copy_rate:,.0f} rows/s)."
        )
    print(f"COPY path:   {copy_rate:>12,.0f} rows/s  (target ≥ {TARGET_ROWS_PER_SECOND:,})")
    print(f"bulk_create: {bulk_rate:>12,.0f} rows/s")
    print(f"ratio:       {ratio:>12.2f} ×       (target ≥ {TARGET_RATIO:.0f}×)")
    met = copy_rate >= TARGET_ROWS_PER_SECOND and ratio >= TARGET_RATIO
    print("targets met" if met else "TARGETS NOT MET")


if __name__ == "__main__":
    main()
