"""Benchmark: consolidation of 100,000 order lines into purchase orders, against a per-line
Python loop and against one `INSERT … SELECT … GROUP BY` of the same lines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli python bench/bench_consolidation.py \
        [--lines 100000] [--loop-lines 10000] [--repeat 3] [--keep]

Creates its own database (`<name>_bench_consolidation` next to DATABASE_URL's database),
migrates it, adds 200 stores, 500 products and 25 suppliers (each product with one preferred
and one backup offer; packs of 1, 6, 10 or 12, minimum orders of one to three packs), then
COPYs N paid group-buy pickup order lines (3 per order) placed today, and times in the same run:

- the service, `purchase_orders_consolidate` (everything it writes: purchase orders, lines
  rounded per pack and minimum, the allocation per store, one source link per order line);
- a per-line Python loop — the baseline a competent engineer writes without thinking hard:
  offers, purchase orders and purchase-order lines cached in dicts, then per order line an
  `F()` update of the line, an upsert of the store allocation and the source link insert, all
  in one transaction, with the re-rounding done once at the end. It runs on the first
  `--loop-lines` lines (default 10,000: about a minute at several queries per line) and its
  per-line rate is compared with the service's per-line rate over all N lines;
- one `INSERT … SELECT … GROUP BY` of the same lines with the same supplier choice into a
  table of (supplier, store, product, quantity): the least work any consolidation must do.

The service and the single SQL run `--repeat` times each (the procurement tables truncated
between runs) and the best time of each is reported. Targets: the service under 5 s for
100,000 lines, ≥ 10× the loop, within 3× of the single SQL. The bench database is dropped at
the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0
TARGET_LOOP_RATIO = 10.0
TARGET_SQL_RATIO = 3.0
STORES = 200
PRODUCTS = 500
SUPPLIERS = 25
LINES_PER_ORDER = 3
PROCUREMENT_TABLES = (
    "procurement_purchaseorderexception",
    "procurement_purchaseordersource",
    "procurement_purchaseorderallocation",
    "procurement_purchaseorderline",
    "procurement_purchaseorder",
    "procurement_consolidationrun",
    "campaigns_notification",
)


def bench_database(url: str) -> tuple[str, str]:
    """(bench database URL, its name) beside the database DATABASE_URL names."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit("DATABASE_URL must point at PostgreSQL for this benchmark.")
    name = f"{parsed.path.lstrip('/') or 'linli'}_bench_consolidation"
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


def reference_data_create(rng: random.Random) -> tuple[list[int], list[int]]:
    """(store ids, product ids) after writing stores, products, suppliers and offers."""
    from apps.catalog.models import Category, Product
    from apps.procurement.models import Supplier, SupplierProduct
    from apps.stores.models import Region, Store

    region = Region.objects.create(code="R01", name="西湖", city="杭州")
    stores = Store.objects.bulk_create(
        [Store(code=f"HZ{n:04d}", name=f"邻里优选{n}号店", region=region) for n in range(STORES)]
    )
    category = Category.objects.create(code="FRUIT", name="水果")
    products = Product.objects.bulk_create(
        [
            Product(
                sku=f"SKU{n:05d}",
                name=f"商品{n}",
                category=category,
                price=Decimal("10.00"),
                cost=Decimal("6.00"),
            )
            for n in range(PRODUCTS)
        ]
    )
    suppliers = Supplier.objects.bulk_create(
        [Supplier(code=f"SUP{n:03d}", name=f"供应商{n}", kind="farm") for n in range(SUPPLIERS)]
    )
    offers = []
    for index, product in enumerate(products):
        pack = rng.choice((1, 6, 10, 12))
        for preferred, supplier in (
            (True, suppliers[index % SUPPLIERS]),
            (False, suppliers[(index + 7) % SUPPLIERS]),
        ):
            offers.append(
                SupplierProduct(
                    supplier=supplier,
                    product=product,
                    cost=Decimal(f"{rng.uniform(3, 9):.2f}"),
                    lead_time_days=rng.choice((1, 2, 3)),
                    pack_size=pack,
                    min_order_qty=pack * rng.randint(1, 3),
                    is_preferred=preferred,
                )
            )
    SupplierProduct.objects.bulk_create(offers)
    return [store.pk for store in stores], [product.pk for product in products]


def orders_copy(lines: int, stores: list[int], products: list[int], rng: random.Random) -> None:
    """COPY paid group-buy pickup orders (3 lines each, placed this morning) and their lines."""
    from django.db import connection
    from django.utils import timezone

    placed = timezone.now() - dt.timedelta(hours=2)
    orders = -(-lines // LINES_PER_ORDER)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY stores_order (id, store_id, channel, fulfilment, status, idempotency_key, "
            "reference, total, discount_total, placed_at, created_at) FROM STDIN"
        ) as copy:
            for order_id in range(1, orders + 1):
                copy.write_row(
                    (
                        order_id,
                        rng.choice(stores),
                        "group_buy",
                        "pickup",
                        "paid",
                        f"bench-{order_id}",
                        "",
                        Decimal("30.00"),
                        Decimal("0.00"),
                        placed,
                        placed,
                    )
                )
        with raw.copy(
            "COPY stores_orderline (id, order_id, product_id, quantity, unit_price, discount, "
            "line_total) FROM STDIN"
        ) as copy:
            for line_id in range(1, lines + 1):
                quantity = rng.randint(1, 5)
                copy.write_row(
                    (
                        line_id,
                        (line_id - 1) // LINES_PER_ORDER + 1,
                        rng.choice(products),
                        quantity,
                        Decimal("10.00"),
                        Decimal("0.00"),
                        Decimal("10.00") * quantity,
                    )
                )
        for table in ("stores_order", "stores_orderline"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "stores_order",
            "stores_orderline",
            "procurement_supplierproduct",
            *PROCUREMENT_TABLES,
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")


def procurement_truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PROCUREMENT_TABLES)} RESTART IDENTITY CASCADE")
    vacuum_analyze()


def service_run() -> tuple[float, object]:
    from django.utils import timezone

    from apps.procurement.services.consolidation import purchase_orders_consolidate

    started = time.perf_counter()
    run = purchase_orders_consolidate(cutoff=timezone.now())
    return time.perf_counter() - started, run


def single_sql_run() -> float:
    """One INSERT … SELECT … GROUP BY: the same lines, the same supplier choice, one table."""
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_grouped")
        cursor.execute(
            "CREATE TABLE bench_grouped (supplier_id bigint, store_id bigint, "
            "product_id bigint, quantity bigint)"
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bench_grouped (supplier_id, store_id, product_id, quantity)
            SELECT offer.supplier_id, o.store_id, ol.product_id, SUM(ol.quantity)
            FROM stores_orderline ol
            JOIN stores_order o ON o.id = ol.order_id
            JOIN (
                SELECT DISTINCT ON (sp.product_id) sp.product_id, sp.supplier_id
                FROM procurement_supplierproduct sp
                JOIN procurement_supplier s ON s.id = sp.supplier_id
                WHERE sp.is_preferred AND s.is_active
                ORDER BY sp.product_id, sp.cost, sp.supplier_id
            ) offer ON offer.product_id = ol.product_id
            WHERE o.status = 'paid' AND o.channel IN ('group_buy', 'mini_program')
              AND o.fulfilment IN ('pickup', 'delivery') AND o.placed_at < %s
            GROUP BY offer.supplier_id, o.store_id, ol.product_id
            """,
            [timezone.now()],
        )
    return time.perf_counter() - started


def loop_run(limit: int) -> float:
    """The per-line baseline on the first `limit` order lines (see the module docstring)."""
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from apps.procurement.models import (
        ConsolidationRun,
        PurchaseOrder,
        PurchaseOrderAllocation,
        PurchaseOrderLine,
        PurchaseOrderSource,
        SupplierProduct,
    )
    from apps.procurement.services.consolidation import order_quantity_rounded
    from apps.stores.models import OrderLine

    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        run = ConsolidationRun.objects.create(cutoff=now, status="running", started_at=now)
        offers: dict[int, SupplierProduct] = {}
        for offer in SupplierProduct.objects.filter(
            is_preferred=True, supplier__is_active=True
        ).order_by("product_id", "-cost", "-supplier_id"):
            offers[offer.product_id] = offer  # the cheapest comes last and wins
        purchase_orders: dict[tuple[int, dt.date], PurchaseOrder] = {}
        po_lines: dict[tuple[int, int], PurchaseOrderLine] = {}
        lines = (
            OrderLine.objects.filter(
                order__status="paid",
                order__channel__in=["group_buy", "mini_program"],
                order__fulfilment__in=["pickup", "delivery"],
                order__placed_at__lt=now,
                purchase_source__isnull=True,
            )
            .select_related("order")
            .order_by("pk")[:limit]
        )
        for line in lines:
            offer = offers.get(line.product_id)
            if offer is None:
                continue
            day = today + dt.timedelta(days=offer.lead_time_days)
            po = purchase_orders.get((offer.supplier_id, day))
            if po is None:
                po = PurchaseOrder.objects.create(
                    number=f"LOOP{day:%Y%m%d}-{offer.supplier_id}",
                    supplier_id=offer.supplier_id,
                    run=run,
                    delivery_date=day,
                    status="sent",
                    sent_at=now,
                )
                purchase_orders[(offer.supplier_id, day)] = po
            po_line = po_lines.get((po.pk, line.product_id))
            if po_line is None:
                po_line = PurchaseOrderLine.objects.create(
                    purchase_order=po,
                    product_id=line.product_id,
                    demanded_quantity=0,
                    ordered_quantity=0,
                    pack_size=offer.pack_size,
                    min_order_qty=offer.min_order_qty,
                    unit_cost=offer.cost,
                )
                po_lines[(po.pk, line.product_id)] = po_line
            PurchaseOrderLine.objects.filter(pk=po_line.pk).update(
                demanded_quantity=F("demanded_quantity") + line.quantity,
                ordered_quantity=F("ordered_quantity") + line.quantity,
            )
            allocation, created = PurchaseOrderAllocation.objects.get_or_create(
                line=po_line, store_id=line.order.store_id, defaults={"quantity": line.quantity}
            )
            if not created:
                PurchaseOrderAllocation.objects.filter(pk=allocation.pk).update(
                    quantity=F("quantity") + line.quantity
                )
            PurchaseOrderSource.objects.create(
                line=po_line, order_line_id=line.pk, quantity=line.quantity
            )
        for po_line in PurchaseOrderLine.objects.filter(purchase_order__run=run):
            ordered = order_quantity_rounded(
                demanded=po_line.demanded_quantity,
                pack_size=po_line.pack_size,
                min_order_qty=po_line.min_order_qty,
            )
            PurchaseOrderLine.objects.filter(pk=po_line.pk).update(
                ordered_quantity=ordered, surplus_quantity=ordered - po_line.demanded_quantity
            )
        ConsolidationRun.objects.filter(pk=run.pk).update(status="finished", finished_at=now)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--loop-lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    bench_url, name = bench_database(url)
    loop_lines = min(args.loop_lines, args.lines)
    print(f"bench database {name}: creating and migrating", flush=True)
    database_recreate(bench_url, name)
    try:
        django_setup(bench_url)
        rng = random.Random(args.seed)
        stores, products = reference_data_create(rng)
        started = time.perf_counter()
        orders_copy(args.lines, stores, products, rng)
        vacuum_analyze()
        print(f"data: {args.lines:,} order lines in {time.perf_counter() - started:.1f} s")

        service_times, sql_times = [], []
        for attempt in range(1, args.repeat + 1):
            sql_times.append(single_sql_run())
            procurement_truncate()
            seconds, run = service_run()
            service_times.append(seconds)
            assert run.status == "finished", run.error
            assert run.source_line_count == args.lines, run.source_line_count
            print(
                f"run {attempt}: service {seconds:.3f} s ({run.purchase_order_count} purchase "
                f"orders, {run.purchase_order_line_count} lines); single SQL "
                f"{sql_times[-1]:.3f} s",
                flush=True,
            )
            procurement_truncate()
        loop_seconds = loop_run(loop_lines)
        print(f"per-line loop on the first {loop_lines:,} lines: {loop_seconds:.2f} s", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_recreate(bench_url, name, drop_only=True)

    service = min(service_times)
    single_sql = min(sql_times)
    service_per_line = service / args.lines
    loop_per_line = loop_seconds / loop_lines
    loop_ratio = loop_per_line / service_per_line
    sql_ratio = service / single_sql
    print()
    if loop_lines < args.lines:
        print(
            f"note: the loop ran on the first {loop_lines:,} of {args.lines:,} lines; its "
            f"time per line is measured on that sample ({loop_per_line * 1e3:.3f} ms/line, "
            f"≈ {loop_per_line * args.lines:.0f} s for all lines)."
        )
    print(f"service:      {service:8.3f} s for {args.lines:,} lines  (target < {TARGET_SECONDS} s)")
    print(f"single SQL:   {single_sql:8.3f} s")
    print(f"loop / service per line: {loop_ratio:8.1f} ×  (target ≥ {TARGET_LOOP_RATIO:.0f}×)")
    print(f"service / single SQL:    {sql_ratio:8.2f} ×  (target ≤ {TARGET_SQL_RATIO:.0f}×)")
    met = (
        service < TARGET_SECONDS
        and loop_ratio >= TARGET_LOOP_RATIO
        and sql_ratio <= TARGET_SQL_RATIO
    )
    print("targets met" if met else "TARGETS NOT MET")


if __name__ == "__main__":
    main()
