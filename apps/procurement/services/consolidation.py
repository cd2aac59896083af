"""Consolidation (集单): paid member orders that need supply become purchase orders.

Every paid, not yet consolidated order line of an order that needs supply (channel group buy or
mini-program, fulfilment pickup or delivery; POS sales in the store are not consolidated),
placed before the cut-off, across all stores, goes to one purchase order per supplier and
delivery date: one line per product, an allocation per store, and a source link per order line.
A later run adds to the open purchase order of the same supplier and delivery date (sent, not
yet confirmed) rather than making a second one. The rules are in docs/purchasing.md.

The work is set-wise SQL: the candidate lines are selected once into a temporary table, then
purchase order lines, allocations and source links are each written by one
`INSERT … SELECT … GROUP BY` (lines and allocations as upserts, `ON CONFLICT … DO UPDATE`, so
an open order's lines and allocations grow). Purchase orders themselves (one per supplier and
delivery date) are a handful of rows: the open ones are locked, the missing ones bulk-created.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.notifications.services import (
    notification_drafts_worded,
    notifications_enqueue,
)
from apps.procurement.models import (
    ConsolidationRun,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Supplier,
)
from apps.procurement.notification_texts import (
    PURCHASE_ORDER_NEW_KIND,
    PURCHASE_ORDER_UPDATED_KIND,
    purchase_order_new_texts,
    purchase_order_updated_texts,
)
from apps.procurement.selectors.suppliers import purchase_order_day, supplier_user_ids
from apps.procurement.services.allocations import allocations_short_update
from apps.stores.models import Order

SUPPLY_CHANNELS = (Order.Channel.GROUP_BUY, Order.Channel.MINI_PROGRAM)
SUPPLY_FULFILMENTS = (Order.Fulfilment.PICKUP, Order.Fulfilment.DELIVERY)
# A run still `running` this long after it started belongs to a worker that died; its
# transaction was rolled back with it, so another worker may claim the run again.
STALE_RUN = dt.timedelta(minutes=30)
# pg_advisory_xact_lock key: one consolidation at a time, whatever its cut-off.
ADVISORY_LOCK_KEY = 7_413_001
CANDIDATES = "procurement_consolidation_candidate"
# Before the supplier confirms, a cancelled member order reduces the purchase order.
REDUCIBLE = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.SENT)
# After confirmation the purchase order stands; the cancellation is recorded as an exception.
CONFIRMED = (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.SHIPPED)
# The open consolidated purchase order of a supplier and delivery date, which a later run adds
# to: made by a run (`run` set) and not yet confirmed. At most one (a database constraint).
OPEN = PurchaseOrder.Status.SENT
NOTIFICATION_KIND = PURCHASE_ORDER_NEW_KIND
UPDATED_NOTIFICATION_KIND = PURCHASE_ORDER_UPDATED_KIND


def order_quantity_rounded(*, demanded: int, pack_size: int, min_order_qty: int) -> int:
    """What is ordered for `demanded` units: at least the minimum order, rounded up to whole
    packs; nothing for no demand. The SQL of the consolidation computes the same."""
    if demanded <= 0:
        return 0
    wanted = max(demanded, min_order_qty)
    return -(-wanted // pack_size) * pack_size


def consolidation_cutoff(*, now: dt.datetime | None = None) -> dt.datetime:
    """The cut-off a scheduled run uses: the current local hour, so that a second beat (or a
    redelivered task) in the same hour names the same run."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(minute=0, second=0, microsecond=0)


def purchase_orders_consolidate(
    *, cutoff: dt.datetime, run: ConsolidationRun | None = None
) -> ConsolidationRun:
    """Consolidate every eligible order line placed before `cutoff` into purchase orders
    (sent to their suppliers at once; each supplier user gets a portal notification).

    Per supplier and delivery date, the demand goes to the open consolidated purchase order
    (sent, not yet confirmed) when there is one — its lines grow and are rounded again on the
    total, new products get lines, store allocations grow, its revision goes up and the
    supplier's users are told what was added — and to a new purchase order otherwise. The
    open orders are locked (`SELECT … FOR UPDATE`, primary-key order) for the rest of the
    transaction, so a supplier confirming at the same moment either confirmed first (this run
    then makes a new order) or waits and confirms what the run left (and a confirmation naming
    the revision the supplier saw is refused as `changed`).

    Idempotent: the run is claimed by a conditional UPDATE (unique per cut-off, so a second
    call, beat or worker with the same cut-off returns the run without doing anything), the
    work holds a PostgreSQL advisory lock (one consolidation at a time, any cut-off), and each
    order line is linked at most once (`PurchaseOrderSource.order_line` is unique), so runs
    with later cut-offs pick up only what is new. Everything is one transaction: a crash
    leaves no half-made purchase order, and a run left `running` by a dead worker is claimed
    again after STALE_RUN. Returns the run, refreshed.
    """
    if run is None:
        run, _created = ConsolidationRun.objects.get_or_create(cutoff=cutoff)
    now = timezone.now()
    claimable = Q(status__in=[ConsolidationRun.Status.PENDING, ConsolidationRun.Status.FAILED]) | Q(
        status=ConsolidationRun.Status.RUNNING, started_at__lt=now - STALE_RUN
    )
    claimed = (
        ConsolidationRun.objects.filter(claimable, pk=run.pk).update(
            status=ConsolidationRun.Status.RUNNING, started_at=now, finished_at=None, error=""
        )
        == 1
    )
    if not claimed:
        run.refresh_from_db()
        return run
    try:
        with transaction.atomic():
            counts, written = _consolidate(run)
            _suppliers_notify(purchase_order_ids=written.created)
            _suppliers_notify_updated(additions=written.additions)
            ConsolidationRun.objects.filter(pk=run.pk, started_at=now).update(
                status=ConsolidationRun.Status.FINISHED, finished_at=timezone.now(), **counts
            )
    except Exception as error:
        ConsolidationRun.objects.filter(pk=run.pk, started_at=now).update(
            status=ConsolidationRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:300],
        )
        raise
    run.refresh_from_db()
    return run


def _sql_parts() -> tuple[str, str]:
    """(delivery-date expression, two-argument maximum) in this database's dialect."""
    if connection.vendor == "postgresql":
        return "CAST(%s AS date) + offer.lead_time_days", "GREATEST"
    return "date(%s, '+' || offer.lead_time_days || ' days')", "MAX"


def _rounded_sql(*, demanded: str, minimum: str, pack: str, greatest: str) -> str:
    """`order_quantity_rounded` in SQL, for a positive demand."""
    return f"((({greatest}({demanded}, {minimum})) + {pack} - 1) / {pack}) * {pack}"


@dataclass(frozen=True)
class _Written:
    """What a run wrote: the purchase orders it created, and per open purchase order it added
    to, the units added per product ({purchase order id: [(product id, units)]})."""

    created: list[int]
    additions: dict[int, list[tuple[int, int]]]


def _consolidate(run: ConsolidationRun) -> tuple[dict[str, int], _Written]:
    """The set-wise work of one claimed run, inside its transaction. Delivery date = the
    cut-off's local day + the chosen offer's lead time (`selectors.suppliers.delivery_date`,
    here in SQL per line: the campaign pack promises its pickup day from the same rule)."""
    ops = connection.ops
    cutoff_day = purchase_order_day(cutoff=run.cutoff)
    delivery, greatest = _sql_parts()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        cursor.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")  # noqa: S608
        # The offer per product: the preferred one of an active supplier, the cheapest, then
        # the lowest supplier id. Lines of products without one stay unconsolidated.
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE {CANDIDATES} AS
            SELECT ol.id AS order_line_id, o.store_id AS store_id, ol.product_id AS product_id,
                   ol.quantity AS quantity, offer.supplier_id AS supplier_id,
                   offer.cost AS cost, offer.pack_size AS pack_size,
                   offer.min_order_qty AS min_order_qty, {delivery} AS delivery_date
            FROM stores_orderline ol
            JOIN stores_order o ON o.id = ol.order_id
            LEFT JOIN (
                SELECT sp.product_id, sp.supplier_id, sp.cost, sp.pack_size, sp.min_order_qty,
                       sp.lead_time_days,
                       ROW_NUMBER() OVER (
                           PARTITION BY sp.product_id ORDER BY sp.cost, sp.supplier_id
                       ) AS preference
                FROM procurement_supplierproduct sp
                JOIN procurement_supplier s ON s.id = sp.supplier_id
                WHERE sp.is_preferred AND s.is_active
            ) offer ON offer.product_id = ol.product_id AND offer.preference = 1
            WHERE o.status = %s AND o.channel IN (%s, %s) AND o.fulfilment IN (%s, %s)
              AND o.placed_at < %s
              AND NOT EXISTS (
                  SELECT 1 FROM procurement_purchaseordersource src
                  WHERE src.order_line_id = ol.id
              )
            """,  # noqa: S608
            [
                ops.adapt_datefield_value(cutoff_day),
                Order.Status.PAID,
                *SUPPLY_CHANNELS,
                *SUPPLY_FULFILMENTS,
                ops.adapt_datetimefield_value(run.cutoff),
            ],
        )
        if connection.vendor == "postgresql":
            # Statistics for the joins below (without them the source insert takes twice as
            # long); a small sample is enough for a few thousand groups.
            cursor.execute("SET LOCAL default_statistics_target = 10")
            cursor.execute(f"ANALYZE {CANDIDATES}")
        cursor.execute(f"SELECT COUNT(*), COUNT(supplier_id) FROM {CANDIDATES}")  # noqa: S608
        total, supplied = cursor.fetchone()
        counts = {
            "source_line_count": supplied,
            "unsupplied_line_count": total - supplied,
            "purchase_order_count": 0,
            "purchase_order_updated_count": 0,
            "purchase_order_line_count": 0,
        }
        if not supplied:
            cursor.execute(f"DROP TABLE {CANDIDATES}")
            return counts, _Written(created=[], additions={})
        cursor.execute(
            f"SELECT DISTINCT supplier_id, delivery_date FROM {CANDIDATES} "  # noqa: S608
            "WHERE supplier_id IS NOT NULL ORDER BY supplier_id, delivery_date"
        )
        pairs = [(supplier_id, _as_date(day)) for supplier_id, day in cursor.fetchall()]
        # The open consolidated orders of these suppliers and days, locked in primary-key order
        # until the run commits. The supplier's confirmation (an UPDATE of the row), HQ's
        # cancel, a cancellation's recount and a shortage report wait for the lock; one that
        # committed first has taken the order out of `sent`, and PostgreSQL checks the
        # condition again on the row it waited for, so the run leaves that order alone and
        # makes a new one. (SQLite: the run's transaction holds the database's write lock.)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cursor.execute(
            f"""
            SELECT po.id, po.supplier_id, po.delivery_date FROM procurement_purchaseorder po
            WHERE po.run_id IS NOT NULL AND po.status = %s
              AND EXISTS (
                  SELECT 1 FROM {CANDIDATES} c
                  WHERE c.supplier_id = po.supplier_id AND c.delivery_date = po.delivery_date
              )
            ORDER BY po.id{lock}
            """,  # noqa: S608
            [OPEN],
        )
        open_orders = {
            (supplier_id, _as_date(day)): pk for pk, supplier_id, day in cursor.fetchall()
        }
        codes = dict(
            Supplier.objects.filter(pk__in={pair[0] for pair in pairs}).values_list("pk", "code")
        )
        now = timezone.now()
        purchase_orders = PurchaseOrder.objects.bulk_create(
            [
                PurchaseOrder(
                    number=f"PO{day:%Y%m%d}-{codes[supplier_id]}-{run.pk}",
                    supplier_id=supplier_id,
                    run=run,
                    delivery_date=day,
                    status=OPEN,
                    created_at=now,
                    sent_at=now,
                )
                for supplier_id, day in pairs
                if (supplier_id, day) not in open_orders
            ]
        )
        # From here every (supplier, delivery date) of the candidates has exactly one open
        # consolidated order (the one locked above or the one just made; the database allows
        # no second): the order the demand goes to.
        target = """
            JOIN procurement_purchaseorder po
              ON po.supplier_id = {table}.supplier_id AND po.delivery_date = {table}.delivery_date
             AND po.run_id IS NOT NULL AND po.status = %s
        """
        joined = f"""
            FROM {CANDIDATES} c {target.format(table="c")}
            JOIN procurement_purchaseorderline pol
              ON pol.purchase_order_id = po.id AND pol.product_id = c.product_id
        """  # noqa: S608
        # A new product gets a line on the offer's terms; a product the order already has
        # keeps its line's pack size, minimum and cost, and is rounded again on the total.
        # (`WHERE 1 = 1`: SQLite's upsert after a join needs a WHERE to parse.)
        line = "procurement_purchaseorderline"
        total_demand = f"{line}.demanded_quantity + excluded.demanded_quantity"
        rounded_total = _rounded_sql(
            demanded=total_demand,
            minimum=f"{line}.min_order_qty",
            pack=f"{line}.pack_size",
            greatest=greatest,
        )
        rounded_new = _rounded_sql(
            demanded="SUM(quantity)", minimum="min_order_qty", pack="pack_size", greatest=greatest
        )
        cursor.execute(
            f"""
            INSERT INTO {line}
                (purchase_order_id, product_id, demanded_quantity, ordered_quantity,
                 surplus_quantity, shortage_quantity, pack_size, min_order_qty, unit_cost)
            SELECT po.id, g.product_id, g.demanded, g.ordered, g.ordered - g.demanded, 0,
                   g.pack_size, g.min_order_qty, g.cost
            FROM (
                SELECT supplier_id, delivery_date, product_id, pack_size, min_order_qty, cost,
                       SUM(quantity) AS demanded, {rounded_new} AS ordered
                FROM {CANDIDATES}
                WHERE supplier_id IS NOT NULL
                GROUP BY supplier_id, delivery_date, product_id, pack_size, min_order_qty, cost
            ) g {target.format(table="g")}
            WHERE 1 = 1
            ON CONFLICT (purchase_order_id, product_id) DO UPDATE SET
                demanded_quantity = {total_demand},
                ordered_quantity = {rounded_total},
                surplus_quantity = {rounded_total} - ({total_demand})
            """,  # noqa: S608
            [OPEN],
        )
        counts["purchase_order_line_count"] = cursor.rowcount
        allocation = "procurement_purchaseorderallocation"
        cursor.execute(
            f"""
            INSERT INTO {allocation} (line_id, store_id, quantity)
            SELECT pol.id, c.store_id, SUM(c.quantity) {joined}
            WHERE 1 = 1
            GROUP BY pol.id, c.store_id
            ON CONFLICT (line_id, store_id) DO UPDATE SET
                quantity = {allocation}.quantity + excluded.quantity
            """,  # noqa: S608
            [OPEN],
        )
        cursor.execute(
            f"""
            INSERT INTO procurement_purchaseordersource
                (line_id, order_line_id, quantity, cancelled_at)
            SELECT pol.id, c.order_line_id, c.quantity, NULL {joined}
            """,  # noqa: S608
            [OPEN],
        )
        additions: dict[int, list[tuple[int, int]]] = defaultdict(list)
        if open_orders:
            cursor.execute(
                f"""
                SELECT po.id, c.product_id, SUM(c.quantity)
                FROM {CANDIDATES} c {target.format(table="c")}
                WHERE po.run_id <> %s
                GROUP BY po.id, c.product_id
                ORDER BY po.id, c.product_id
                """,  # noqa: S608
                [OPEN, run.pk],
            )
            for purchase_order_id, product_id, units in cursor.fetchall():
                additions[purchase_order_id].append((product_id, units))
        cursor.execute(f"DROP TABLE {CANDIDATES}")
    updated = sorted(open_orders.values())
    if updated:
        PurchaseOrder.objects.filter(pk__in=updated).update(
            updated_at=now, revision=F("revision") + 1
        )
        # The surplus and the member orders of the grown lines changed: a shortage the
        # supplier reported is shared out again (the newest member orders bear it first).
        allocations_short_update(
            line_ids=PurchaseOrderLine.objects.filter(
                purchase_order_id__in=updated, shortage_quantity__gt=0
            ).values_list("pk", flat=True)
        )
    counts["purchase_order_count"] = len(purchase_orders)
    counts["purchase_order_updated_count"] = len(updated)
    return counts, _Written(
        created=[purchase_order.pk for purchase_order in purchase_orders],
        additions=dict(additions),
    )


def _as_date(value: object) -> dt.date:
    """SQLite hands a computed date back as text."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _suppliers_notify(*, purchase_order_ids: list[int]) -> int:
    """A portal notification per new purchase order for each active user of its supplier
    (idempotent by dedupe key). Stored texts in the site's default language; the payload carries
    their parameters, so each reader sees them in theirs (`apps.procurement.notification_texts`)."""
    if not purchase_order_ids:
        return 0
    orders = list(
        PurchaseOrder.objects.filter(pk__in=purchase_order_ids).values_list(
            "pk", "number", "supplier_id", "delivery_date"
        )
    )
    users = supplier_user_ids(supplier_ids={row[2] for row in orders})
    drafts = []
    for pk, number, supplier_id, delivery_date in orders:
        payload = {
            "purchase_order_id": pk,
            "url": reverse("supplier:order", args=[pk]),
            "number": number,
            "delivery_date": delivery_date.isoformat(),
        }
        drafts.extend(
            notification_drafts_worded(
                kind=NOTIFICATION_KIND,
                payload=payload,
                words=purchase_order_new_texts,
                recipient_ids=users[supplier_id],
                dedupe_prefix=f"purchase-order:{pk}",
            )
        )
    return notifications_enqueue(drafts=drafts)


def _suppliers_notify_updated(*, additions: dict[int, list[tuple[int, int]]]) -> int:
    """A portal notification per purchase order a run added to, for each active user of its
    supplier: what was added per product and what is now ordered in all. One per revision
    (the dedupe key names it), so a rerun adds nothing. Stored texts in the site's default
    language; the payload carries their parameters, so each reader sees them in theirs."""
    if not additions:
        return 0
    orders = list(
        PurchaseOrder.objects.filter(pk__in=additions).values_list(
            "pk", "number", "supplier_id", "delivery_date", "revision"
        )
    )
    lines = {
        (purchase_order_id, product_id): (name, ordered)
        for purchase_order_id, product_id, name, ordered in PurchaseOrderLine.objects.filter(
            purchase_order_id__in=additions
        ).values_list("purchase_order_id", "product_id", "product__name", "ordered_quantity")
    }
    users = supplier_user_ids(supplier_ids={row[2] for row in orders})
    drafts = []
    for pk, number, supplier_id, delivery_date, revision in orders:
        payload = {
            "purchase_order_id": pk,
            "url": reverse("supplier:order", args=[pk]),
            "revision": revision,
            "number": number,
            "delivery_date": delivery_date.isoformat(),
            "added": [
                {
                    "product": lines[(pk, product_id)][0],
                    "units": units,
                    "ordered": lines[(pk, product_id)][1],
                }
                for product_id, units in additions[pk]
            ],
        }
        drafts.extend(
            notification_drafts_worded(
                kind=UPDATED_NOTIFICATION_KIND,
                payload=payload,
                words=purchase_order_updated_texts,
                recipient_ids=users[supplier_id],
                dedupe_prefix=f"purchase-order:{pk}:revision:{revision}",
            )
        )
    return notifications_enqueue(drafts=drafts)


def purchase_orders_notify(*, purchase_orders: list[PurchaseOrder]) -> int:
    """Tell the suppliers' users about these (just sent) purchase orders; idempotent."""
    return _suppliers_notify(purchase_order_ids=[po.pk for po in purchase_orders])


@dataclass(frozen=True)
class CancellationOutcome:
    """What a member order's cancellation did to supply: source lines taken off purchase
    orders that were not yet confirmed, and exceptions recorded on confirmed ones."""

    reduced: int = 0
    recorded: int = 0


def consolidation_lock_shared() -> None:
    """Take the consolidation's advisory lock in shared mode until the caller's transaction
    ends (PostgreSQL; SQLite has no advisory lock, and there a run holds the database's write
    lock from its start): wait for a running consolidation run to commit, and keep a new one
    from starting meanwhile. A member order's cancellation takes it first (the lock order,
    docs/purchasing.md), so a run never links the lines of an order cancelled while it ran:
    it either committed before (and the cancellation sees its links) or starts after (and
    finds the order cancelled). Cancellations do not wait for each other."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [ADVISORY_LOCK_KEY])


def order_purchase_order_ids(*, order_id: int) -> set[int]:
    """The purchase orders this member order's live (not cancelled) source links are on. A
    plain read: what a cancellation locks before it locks the order
    (`pickup._order_locked_after_supply`)."""
    return set(
        PurchaseOrderSource.objects.filter(
            order_line__order_id=order_id, cancelled_at__isnull=True
        ).values_list("line__purchase_order_id", flat=True)
    )


def purchase_orders_lock(*, ids: Iterable[int]) -> None:
    """Lock these purchase orders' rows (`SELECT … FOR UPDATE`) in primary-key order: the
    first step of the lock order (docs/purchasing.md, "Lock order"). Inside the caller's
    transaction; locks already held are taken again without waiting."""
    list(
        PurchaseOrder.objects.select_for_update()
        .filter(pk__in=set(ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def order_cancelled_for_supply(*, order: Order) -> CancellationOutcome:
    """Apply a cancelled (or refunded) member order to the purchase orders it fed.

    Before the supplier confirms (draft, sent): its source links are marked cancelled, and the
    lines and store allocations are recounted from the remaining links and re-rounded (a line
    keeps at least its minimum order while any demand is left; a purchase order left with no
    demand at all is cancelled). After confirmation (confirmed, shipped): the purchase order
    stands, a `PurchaseOrderException` is recorded per order line and a reported shortage is
    shared out again (the cancelled units bear it first). Cancelled purchase
    orders are left alone. Purchase orders are locked in primary-key order. Idempotent:
    calling it again changes nothing. Precondition: the caller has cancelled the order, and
    a caller that locked the order took these purchase orders' locks before it
    (`order_purchase_order_ids`, `purchase_orders_lock`; docs/purchasing.md, "Lock order"):
    locking them here after the order would close a cycle with store receiving, which holds
    the purchase order and then waits for the order.
    """
    if order.status not in (Order.Status.CANCELLED, Order.Status.REFUNDED):
        raise ValueError(f"order {order.pk} is {order.status}, not cancelled")
    with transaction.atomic():
        sources = list(
            PurchaseOrderSource.objects.filter(
                order_line__order_id=order.pk, cancelled_at__isnull=True
            ).values(
                "pk",
                "line_id",
                "line__purchase_order_id",
                "order_line_id",
                "order_line__order__store_id",
                "quantity",
            )
        )
        if not sources:
            return CancellationOutcome()
        statuses = dict(
            PurchaseOrder.objects.select_for_update()
            .filter(pk__in={source["line__purchase_order_id"] for source in sources})
            .order_by("pk")
            .values_list("pk", "status")
        )
        reducible = [s for s in sources if statuses[s["line__purchase_order_id"]] in REDUCIBLE]
        confirmed = [s for s in sources if statuses[s["line__purchase_order_id"]] in CONFIRMED]
        reduced = 0
        if reducible:
            reduced = PurchaseOrderSource.objects.filter(
                pk__in=[source["pk"] for source in reducible], cancelled_at__isnull=True
            ).update(cancelled_at=timezone.now())
            _lines_recount(line_ids=sorted({source["line_id"] for source in reducible}))
            _empty_orders_cancel(
                purchase_order_ids={source["line__purchase_order_id"] for source in reducible}
            )
        recorded = 0
        if confirmed:
            present = set(
                PurchaseOrderException.objects.filter(
                    order_line_id__in=[source["order_line_id"] for source in confirmed],
                    kind=PurchaseOrderException.Kind.CANCELLED_AFTER_CONFIRMATION,
                ).values_list("order_line_id", flat=True)
            )
            fresh = [
                PurchaseOrderException(
                    purchase_order_id=source["line__purchase_order_id"],
                    line_id=source["line_id"],
                    order_line_id=source["order_line_id"],
                    store_id=source["order_line__order__store_id"],
                    kind=PurchaseOrderException.Kind.CANCELLED_AFTER_CONFIRMATION,
                    quantity=source["quantity"],
                )
                for source in confirmed
                if source["order_line_id"] not in present
            ]
            PurchaseOrderException.objects.bulk_create(fresh, ignore_conflicts=True)
            recorded = len(fresh)
            # The cancelled order's units still come, and nobody waits for them: a reported
            # shortage falls on them before any waiting member order.
            allocations_short_update(line_ids=sorted({source["line_id"] for source in confirmed}))
    return CancellationOutcome(reduced=reduced, recorded=recorded)


def _lines_recount(*, line_ids: list[int]) -> None:
    """Set the lines' demand and store allocations to the sum of their live source links,
    re-round what is ordered and share a reported shortage out again over the stores
    (`allocations_short_update`: the surplus and the member orders have changed). Caller
    holds the purchase orders' locks."""
    live = (
        PurchaseOrderSource.objects.filter(line_id__in=line_ids, cancelled_at__isnull=True)
        .values("line_id", "order_line__order__store_id")
        .annotate(quantity=Sum("quantity"))
    )
    per_store = {
        (row["line_id"], row["order_line__order__store_id"]): row["quantity"] for row in live
    }
    per_line: dict[int, int] = defaultdict(int)
    for (line_id, _store_id), quantity in per_store.items():
        per_line[line_id] += quantity
    lines = list(PurchaseOrderLine.objects.filter(pk__in=line_ids).order_by("pk"))
    for line in lines:
        line.demanded_quantity = per_line[line.pk]
        line.ordered_quantity = order_quantity_rounded(
            demanded=line.demanded_quantity,
            pack_size=line.pack_size,
            min_order_qty=line.min_order_qty,
        )
        line.surplus_quantity = line.ordered_quantity - line.demanded_quantity
        line.shortage_quantity = min(line.shortage_quantity, line.ordered_quantity)
    PurchaseOrderLine.objects.bulk_update(
        lines,
        ["demanded_quantity", "ordered_quantity", "surplus_quantity", "shortage_quantity"],
    )
    allocations = list(PurchaseOrderAllocation.objects.filter(line_id__in=line_ids))
    emptied = [a.pk for a in allocations if not per_store.get((a.line_id, a.store_id))]
    changed = []
    for allocation in allocations:
        quantity = per_store.get((allocation.line_id, allocation.store_id))
        if quantity and quantity != allocation.quantity:
            allocation.quantity = quantity
            # Within the new quantity until the shortage is shared out again below.
            allocation.reported_short_quantity = min(allocation.reported_short_quantity, quantity)
            changed.append(allocation)
    PurchaseOrderAllocation.objects.filter(pk__in=emptied).delete()
    PurchaseOrderAllocation.objects.bulk_update(changed, ["quantity", "reported_short_quantity"])
    allocations_short_update(line_ids=line_ids)


def _empty_orders_cancel(*, purchase_order_ids: set[int]) -> int:
    """Cancel the not yet confirmed purchase orders among these that no demand is left on."""
    return (
        PurchaseOrder.objects.filter(pk__in=purchase_order_ids, status__in=REDUCIBLE)
        .exclude(lines__demanded_quantity__gt=0)
        .update(status=PurchaseOrder.Status.CANCELLED, cancelled_at=timezone.now())
    )
