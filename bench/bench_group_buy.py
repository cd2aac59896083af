"""Benchmark: a burst of joins on one hot group-buy offer, conditional UPDATE vs select_for_update.

Runs on PostgreSQL only, in a throwaway database of its own (`test_linli_bench_group_buy`,
created and migrated here, dropped at the end), never a real one:

    python bench/bench_group_buy.py                          # 8 clients, cap 1,500 per phase
    python bench/bench_group_buy.py --clients 16 --cap 3000 --rounds 3
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_bench_gb python bench/...

Each phase opens a fresh hot offer (cap `--cap` units, stock `--cap + --clients` so the cap,
not the stock, is what runs out) and releases `--clients` clients together, each joining one
unit at a time with unique idempotency keys until the offer refuses it. Clients are forked
processes (one database connection each), so Python's GIL does not serialise them. Both
variants send the live dashboard's change notice after commit, as the app does
(`--no-live-notice` leaves it out of both); with it on, the parent computes the broadcast's
live snapshot once before forking, so the clients start as warm as a process that has served
before (the first snapshot loads jieba's dictionary, about a second of CPU, which would
otherwise land in every client inside the timed burst). Phases alternate (conditional,
select_for_update, conditional, ...) for `--rounds` rounds, so both see the same machine.

- "conditional" is the app's `group_buy_join`. On PostgreSQL it is one SQL statement
  (apps/campaigns/services/group_buy_sql.py): the key looked up, the stock row locked, the
  offer's conditional UPDATE (open, deadline, cap), then on-hand, order, line, `sale` movement
  and join, committed by itself — one round trip, the hot rows locked only while it runs.
- "select_for_update" is what a competent engineer writes first (the baseline): look the key
  up, lock the offer row `SELECT ... FOR UPDATE` at the start of a transaction, check status,
  deadline and cap in Python, make the order through the order service (stock by the ledger's
  conditional UPDATE), the join, save the counters. Same rows, same refusals, same idempotency
  (tests/campaigns/test_group_buy_sql.py shows the app's statement writes exactly what the ORM
  join writes).

After every phase it checks: units_joined == sum of join quantities <= cap, participants ==
joins == orders, stock never negative and on-hand == initial - units. Prints joins/s for both,
the ratio, and exits 1 on any oversell or when the conditional path misses the targets
(>= 200 orders/s and >= 2x the baseline; `--no-targets` only reports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench_group_buy"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
# One plain connection per client process: a psycopg pool's worker threads do not survive a
# fork, and the join, not the pool, is what is measured.
os.environ.setdefault("DB_POOL", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

TARGET_PER_SECOND = 200
TARGET_RATIO = 2.0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent joining processes")
    parser.add_argument("--cap", type=int, default=1500, help="units per hot offer (per phase)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of both")
    parser.add_argument("--keepdb", action="store_true", help="keep the test database")
    parser.add_argument("--no-targets", action="store_true", help="report only")
    parser.add_argument(
        "--no-live-notice",
        action="store_true",
        help="leave out the live dashboard's change notice (in both variants)",
    )
    return parser.parse_args()


def join_select_for_update(*, offer, quantity: int, idempotency_key: str, display_name: str):
    """The baseline: the same join with the offer row locked first (check-then-act under a
    row lock). Raises GroupBuyRefused like the app's join."""
    from django.utils.translation import gettext as _

    import apps.campaigns.services.group_buys as group_buys
    from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
    from apps.campaigns.services.group_buys import (
        CLOSED,
        INSUFFICIENT_STOCK,
        SOLD_OUT,
        GroupBuyRefused,
        JoinResult,
        _order_key,
    )
    from apps.stores.models import Order
    from apps.stores.services.orders import LineInput, order_create
    from apps.stores.services.stock import InsufficientStock

    now = timezone.now()
    existing = GroupBuyJoin.objects.filter(offer=offer, idempotency_key=idempotency_key).first()
    if existing is not None:
        return JoinResult(join=existing, created=False)
    try:
        with transaction.atomic():
            locked = GroupBuyOffer.objects.select_for_update().get(pk=offer.pk)
            if locked.status != GroupBuyOffer.Status.OPEN or locked.deadline <= now:
                raise GroupBuyRefused(_("This group buy is closed."), code=CLOSED)
            if locked.units_joined + quantity > locked.cap:
                raise GroupBuyRefused(_("Sold out."), code=SOLD_OUT)
            try:
                order, _created = order_create(
                    store=offer.broadcast.store,
                    channel=Order.Channel.GROUP_BUY,
                    idempotency_key=_order_key(offer_id=offer.pk, idempotency_key=idempotency_key),
                    lines=[
                        LineInput(product=offer.product, quantity=quantity, unit_price=offer.price)
                    ],
                    fulfilment=Order.Fulfilment.PICKUP,
                    status=Order.Status.PENDING,
                    placed_at=now,
                )
            except InsufficientStock as error:
                raise GroupBuyRefused(str(error), code=INSUFFICIENT_STOCK) from error
            join = GroupBuyJoin.objects.create(
                offer=locked,
                display_name=display_name,
                quantity=quantity,
                source=GroupBuyJoin.Source.API,
                idempotency_key=idempotency_key,
                order=order,
                created_at=now,
            )
            locked.units_joined += quantity
            locked.participants += 1
            locked.save(update_fields=["units_joined", "participants"])
            group_buys.broadcast_changed(broadcast_id=offer.broadcast_id)
    except IntegrityError:
        existing = GroupBuyJoin.objects.filter(offer=offer, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return JoinResult(join=existing, created=False)
    return JoinResult(join=join, created=True)


def _hot_offer(*, label: str, cap: int, stock: int):
    import datetime as dt

    from apps.campaigns.models import (
        Broadcast,
        Campaign,
        GroupBuyOffer,
        ScenarioTemplate,
        StoreCampaign,
    )
    from apps.catalog.models import Category, Product
    from apps.stores.models import Region, StockLevel, Store

    region, _ = Region.objects.get_or_create(code="BENCH", defaults={"name": "Bench", "city": "B"})
    store = Store.objects.create(code=f"B-{label}"[:16], name=f"Bench {label}", region=region)
    category, _ = Category.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
    product = Product.objects.create(
        sku=f"BENCH-{label}"[:32],
        name="蓝莓",
        category=category,
        price=Decimal("25.00"),
        cost=Decimal("12.00"),
    )
    StockLevel.objects.create(store=store, product=product, on_hand=stock)
    template, _ = ScenarioTemplate.objects.get_or_create(
        code="bench", defaults={"name": "Bench", "suggested_hour": 20, "duration_days": 1}
    )
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        name=f"Bench {label}",
        template=template,
        origin=Campaign.Origin.HQ,
        starts_on=today,
        ends_on=today,
    )
    store_campaign = StoreCampaign.objects.create(
        campaign=campaign,
        store=store,
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    broadcast = Broadcast.objects.create(
        store_campaign=store_campaign, store=store, scheduled_at=timezone.now()
    )
    return GroupBuyOffer.objects.select_related("broadcast__store", "product").get(
        pk=GroupBuyOffer.objects.create(
            broadcast=broadcast,
            product=product,
            price=Decimal("19.90"),
            threshold=10,
            cap=cap,
            deadline=timezone.now() + dt.timedelta(hours=1),
        ).pk
    )


def _client_process(
    name: str, offer_id: int, index: int, barrier, counts, failures, live_notice: bool
) -> None:
    """One client (a forked process: no shared GIL, its own database connection)."""
    from django.db import connections

    connections.close_all()  # never reuse the parent's socket
    import apps.campaigns.services.group_buys as group_buys
    from apps.campaigns.models import GroupBuyOffer
    from apps.campaigns.services.group_buys import GroupBuyRefused

    if not live_notice:
        group_buys.broadcast_changed = _no_notice
    join = group_buys.group_buy_join if name == "conditional" else join_select_for_update
    local = GroupBuyOffer.objects.select_related("broadcast__store", "product").get(pk=offer_id)
    made = 0
    try:
        barrier.wait(timeout=120)
        attempt = 0
        while True:
            attempt += 1
            try:
                result = join(
                    offer=local,
                    quantity=1,
                    idempotency_key=f"{name}-{index}-{attempt}",
                    display_name=f"client {index}",
                )
            except GroupBuyRefused as refusal:
                if refusal.code in ("sold_out", "closed", "insufficient_stock"):
                    break
                raise
            made += int(result.created)
    except BaseException as error:  # noqa: BLE001 — reported and failed by the parent
        failures.put(f"client {index}: {type(error).__name__}: {error}")
    finally:
        counts[index] = made
        connections.close_all()


def _no_notice(**kwargs: object) -> None:
    """Stands in for the live dashboard's notice with --no-live-notice (both variants)."""


def _warm_up(offer) -> None:
    """Compute the broadcast's live snapshot once in the parent before forking the clients, as a
    web or worker process that has served before has: its first snapshot loads jieba's dictionary
    (about a second of CPU), which a fresh process per phase would otherwise pay in every client,
    inside the timed burst."""
    from apps.campaigns.selectors import live as live_selectors

    live_selectors.broadcast_snapshot(broadcast=offer.broadcast)


def _phase(*, name: str, clients: int, cap: int, label: str, live_notice: bool) -> dict:
    """One burst: `clients` processes join one unit at a time until refused. Returns figures."""
    import multiprocessing

    from django.db import connections

    from apps.campaigns.models import GroupBuyJoin
    from apps.stores.models import Order, StockLevel

    stock = cap + clients
    offer = _hot_offer(label=label, cap=cap, stock=stock)
    if live_notice:
        _warm_up(offer)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(clients + 1)
    counts = context.Array("i", clients)
    failures = context.Queue()
    processes = [
        context.Process(
            target=_client_process,
            args=(name, offer.pk, index, barrier, counts, failures, live_notice),
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - started
    errors = []
    while not failures.empty():
        errors.append(failures.get())
    made = sum(counts)
    offer.refresh_from_db()
    joins = GroupBuyJoin.objects.filter(offer=offer)
    units = sum(joins.values_list("quantity", flat=True))
    on_hand = StockLevel.objects.get(store=offer.broadcast.store, product=offer.product).on_hand
    orders = Order.objects.filter(store=offer.broadcast.store).count()
    checks = {
        "no errors": not errors and all(p.exitcode == 0 for p in processes),
        "units_joined == sum of joins": offer.units_joined == units,
        "units <= cap": units <= cap,
        "cap reached": units == cap,
        "orders == joins == participants == made": orders
        == joins.count()
        == offer.participants
        == made,
        "stock never negative": StockLevel.objects.filter(on_hand__lt=0).count() == 0,
        "on-hand == stock - units": on_hand == stock - units,
    }
    return {
        "name": name,
        "orders": made,
        "seconds": seconds,
        "per_second": made / seconds if seconds else 0.0,
        "checks": checks,
        "errors": errors[:3],
    }


def run(args: argparse.Namespace) -> bool:
    phases = []
    for round_no in range(1, args.rounds + 1):
        for name in ("conditional", "select_for_update"):
            result = _phase(
                name=name,
                clients=args.clients,
                cap=args.cap,
                label=f"{name[:4]}{round_no}-{os.getpid() % 100000}",  # unique with --keepdb
                live_notice=not args.no_live_notice,
            )
            phases.append(result)
            failed = [check for check, ok in result["checks"].items() if not ok]
            print(
                f"round {round_no} {name:18s} {result['orders']:6d} orders in "
                f"{result['seconds']:6.2f} s = {result['per_second']:7.1f} orders/s"
                f"  checks: {'ok' if not failed else 'FAILED ' + ', '.join(failed)}"
                + (f"  errors: {result['errors']}" if result["errors"] else "")
            )
    conditional = statistics.median(p["per_second"] for p in phases if p["name"] == "conditional")
    baseline = statistics.median(
        p["per_second"] for p in phases if p["name"] == "select_for_update"
    )
    ratio = conditional / baseline if baseline else float("inf")
    all_ok = all(all(p["checks"].values()) for p in phases)
    print(
        f"\nmedian conditional UPDATE: {conditional:.1f} orders/s; select_for_update: "
        f"{baseline:.1f} orders/s; ratio {ratio:.2f}x ({args.clients} client processes, "
        f"cap {args.cap}, live notice {'off' if args.no_live_notice else 'on'})"
    )
    print(f"no oversell, counters and ledger consistent in every phase: {all_ok}")
    targets_met = conditional >= TARGET_PER_SECOND and ratio >= TARGET_RATIO
    print(
        f"targets (>= {TARGET_PER_SECOND}/s and >= {TARGET_RATIO:.0f}x): "
        f"{'met' if targets_met else 'NOT met'}"
    )
    return all_ok and (targets_met or args.no_targets)


def main() -> int:
    args = _arguments()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("bench_group_buy needs PostgreSQL (BENCH_DATABASE_URL=postgres://...)")
        return 2
    if args.clients < 8:
        print("note: the issue asks for 8 or more concurrent clients")
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=args.keepdb)
    try:
        connection.ensure_connection()
        return 0 if run(args) else 1
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0, keepdb=args.keepdb)


if __name__ == "__main__":
    sys.exit(main())
